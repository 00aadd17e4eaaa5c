/**
 * The one rule for flag keys, shared by the validator (imports, `PUT …/flagd`) and the admin
 * routes' schema, and the helpers the engine reads user objects with. A flag key ends up as an
 * object key in every flag set, in URLs and in KV: `__proto__` would silently become an object's
 * prototype, `constructor` and `prototype` read through to built-ins, and a key of thousands of
 * characters is unusable in a path. Such keys are refused, never stored.
 */

/** The longest flag key accepted. */
export const MAX_FLAG_KEY_LENGTH = 256;

/** Names that mean something to every JavaScript object; refused as flag keys. */
export const RESERVED_FLAG_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** Characters a flag key may hold: anything but whitespace, control characters and `/ ? # %` (URL syntax). */
export const FLAG_KEY_CHARACTERS = /^[^\s/?#%\u0000-\u001f\u007f]+$/;

/**
 * Why `key` cannot be a flag key, or null when it can.
 *
 * @example
 * flagKeyProblem("new-checkout"); // null
 * flagKeyProblem("__proto__");    // 'flag key "__proto__" is reserved (…); choose another key'
 */
export function flagKeyProblem(key: string): string | null {
  if (key === "") return "a flag key must not be empty";
  if (key.length > MAX_FLAG_KEY_LENGTH)
    return `a flag key is at most ${MAX_FLAG_KEY_LENGTH} characters, got ${key.length} ("${key.slice(0, 32)}…")`;
  if (!FLAG_KEY_CHARACTERS.test(key))
    return `flag key ${JSON.stringify(key)} cannot contain spaces, control characters, '/', '?', '#' or '%'`;
  if (RESERVED_FLAG_KEYS.has(key))
    return `flag key "${key}" is reserved (${[...RESERVED_FLAG_KEYS].join(", ")} are JavaScript object names); choose another key`;
  return null;
}

/** The one name no JSON object can hold as a plain property; refused for variants, metadata and evaluators. */
export const PROTO_NAME = "__proto__";

/** An empty object with no prototype: any key, `__proto__` included, is an ordinary own property. */
export function emptyRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/**
 * Sets `record[key]` as an own data property, so `__proto__` is stored as a key rather than
 * replacing the prototype. For ordinary objects the engine hands on (a snapshot's flag set crosses
 * Durable Object RPC, whose serializer refuses null-prototype objects).
 */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `record[key]` when it is an own property, else undefined (never a built-in such as `constructor`). */
export function ownValue<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
