/**
 * The one size rule of the edge's isolate caches (`edge-state.ts`): a `Map` that holds at most
 * `capacity` entries. Adding a new key to a full map first evicts the entry written least
 * recently; writing an existing key moves it to the back. Reads do not reorder, so a lookup on the
 * hot path costs what a plain `Map` lookup costs; an entry stays by being rewritten, which every
 * cache here does when it revalidates or refreshes what it holds.
 *
 * @example
 * const seen = new BoundedMap<string, number>(10_000);
 * seen.set(key, Date.now()); // the oldest write goes once 10,000 keys are held
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly capacity: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.has(key)) this.delete(key);
    else if (this.size >= this.capacity) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}
