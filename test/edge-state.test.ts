/**
 * The edge's isolate memory: one size rule for every cache (`BoundedMap`), and a flood of made-up
 * keys that cannot push a real key out of memory and onto KV.
 */
import { describe, expect, it } from "vitest";
import { BoundedMap } from "../worker/bounded-map";
import { edgeState, resetEdgeState } from "../worker/edge-state";
import { resolveKey } from "../worker/keys";

describe("BoundedMap", () => {
  it("evicts the entry written least recently once full; a rewrite moves an entry to the back, a read does not", () => {
    const map = new BoundedMap<string, number>(3);
    map.set("a", 1).set("b", 2).set("c", 3);
    expect(map.get("a")).toBe(1); // a read: "a" is still the oldest write
    map.set("d", 4);
    expect([...map.keys()]).toEqual(["b", "c", "d"]);
    map.set("b", 20); // a rewrite: "c" is now the oldest
    map.set("e", 5);
    expect([...map.entries()]).toEqual([
      ["d", 4],
      ["b", 20],
      ["e", 5],
    ]);
    expect(map.size).toBe(3);
  });
});

describe("key identities in isolate memory", () => {
  it("keeps a known key through a flood of made-up keys, at no further KV read", async () => {
    resetEdgeState(["keys"]);
    const good = `ef_client_${"g".repeat(32)}`;
    const reads: string[] = [];
    // The key index answers one key; every other one is unknown.
    const kv = {
      get: async (name: string) => {
        reads.push(name);
        return reads.length === 1 ? { id: "key-1", project: "flood", environment: "production", scope: "client", expiresAt: null } : null;
      },
    } as unknown as KVNamespace;
    const waitUntil = () => {};
    expect(await resolveKey(kv, waitUntil, good, 60_000)).toMatchObject({ kind: "known" });
    const flood = edgeState.unknownKeys.capacity + 10;
    for (let i = 0; i < flood; i++) {
      expect(await resolveKey(kv, waitUntil, `ef_client_${String(i).padStart(32, "x")}`, 60_000)).toEqual({ kind: "unknown" });
    }
    expect(edgeState.unknownKeys.size).toBe(edgeState.unknownKeys.capacity);
    expect(await resolveKey(kv, waitUntil, good, 60_000)).toMatchObject({ kind: "known", identity: { id: "key-1" } });
    expect(reads).toHaveLength(1 + flood);
  });

  it("forgets only the parts a reset names", async () => {
    edgeState.knownVersions.set("p\u0000e", 7);
    edgeState.unknownKeys.set("k", Date.now());
    resetEdgeState(["keys"]);
    expect(edgeState.unknownKeys.size).toBe(0);
    expect(edgeState.knownVersions.get("p\u0000e")).toBe(7);
    resetEdgeState();
    expect(edgeState.knownVersions.size).toBe(0);
  });
});
