/**
 * The OFREP evaluation hot path: bulk bodies concatenated from cached per-result JSON, an ETag
 * from the result vector instead of a hash of the body, answers remembered per request body, and
 * the two evaluation routes answered without the router. Each must answer exactly what the
 * straightforward build (`JSON.stringify` of the mapped results, the router's CORS) would.
 */
import { describe, expect, it } from "vitest";
import { compileFlagSet } from "../engine/index";
import type { EvaluationResult, FlagSet } from "../engine/types";
import { bulkFlags, toOfrep, toOfrepBulk, toOfrepSingle, type OfrepBulkMetadata } from "../contracts/ofrep-wire";
import { call, demoFlags, evaluate, setupProject } from "./helpers";

const flagSet: FlagSet = {
  ...demoFlags,
  flags: {
    ...demoFlags.flags,
    // Targeting that yields an object is an error built for that one evaluation (not shared).
    "object-out": { state: "ENABLED", variants: { a: 1 }, defaultVariant: "a", targeting: { var: "shape" } },
    broken: { state: "ENABLED", variants: { a: 1 }, defaultVariant: "a", targeting: { nope: [1] } },
    'with-quote"': { state: "ENABLED", variants: { a: 'say "hi"\n' }, defaultVariant: "a" },
  },
};
const metadata: OfrepBulkMetadata = { project: "p", environment: "production", configVersion: 7, updatedAt: "2026-12-02T00:00:00.000Z" };
const streams = [{ type: "sse" as const, url: "https://edge.example/ofrep/v1/event-stream?token=t&since=7", inactivityDelaySec: 120 }];

/** The bulk body as the plain build writes it. */
const plain = (results: readonly EvaluationResult[], eventStreams: typeof streams | undefined, meta: OfrepBulkMetadata) =>
  JSON.stringify({ flags: results.map((r) => toOfrep(r)), ...(eventStreams ? { eventStreams } : {}), metadata: meta });

describe("bulk bodies built from cached fragments", () => {
  const compiled = compileFlagSet(flagSet);
  const contexts = [{}, { targetingKey: "u1", country: "US" }, { targetingKey: "u2", country: "FR", shape: { x: 1 } }];

  it.each(contexts)("is byte for byte the JSON.stringify of the mapped results (%j), twice", (context) => {
    const results = compiled.evaluateAll(context);
    for (let i = 0; i < 2; i++) {
      expect(toOfrepBulk(bulkFlags(results), streams, metadata).body).toBe(plain(results, streams, metadata));
      expect(toOfrepBulk(bulkFlags(results), undefined, metadata).body).toBe(plain(results, undefined, metadata));
    }
  });

  it("gives the same ETag for the same results in another compilation (another isolate)", () => {
    const context = { targetingKey: "u1", country: "US" };
    const here = toOfrepBulk(bulkFlags(compiled.evaluateAll(context)), streams, metadata).etag;
    const there = toOfrepBulk(bulkFlags(compileFlagSet(flagSet).evaluateAll(context)), streams, metadata).etag;
    expect(there).toBe(here);
    expect(here).toMatch(/^"7-[0-9a-f]{24}"$/);
  });

  it("changes the ETag whenever the body changes: a result, the metadata, the event streams", () => {
    const results = compiled.evaluateAll({ targetingKey: "u1", country: "US" });
    const base = toOfrepBulk(bulkFlags(results), streams, metadata).etag;
    const otherResult = toOfrepBulk(bulkFlags(compiled.evaluateAll({ targetingKey: "u1", country: "FR" })), streams, metadata).etag;
    const reordered = toOfrepBulk(bulkFlags([...results].reverse()), streams, metadata).etag;
    const stale = toOfrepBulk(bulkFlags(results), streams, { ...metadata, stale: true, staleReason: "KV failed" }).etag;
    const newToken = toOfrepBulk(bulkFlags(results), [{ ...streams[0]!, url: `${streams[0]!.url}x` }], metadata).etag;
    const noStreams = toOfrepBulk(bulkFlags(results), undefined, metadata).etag;
    expect(new Set([base, otherResult, reordered, stale, newToken, noStreams]).size).toBe(6);
  });
});

describe("single-flag bodies", () => {
  it("are the mapped result with the version (and stale fields) in the metadata, at each version", () => {
    const compiled = compileFlagSet(flagSet);
    const result = compiled.evaluate("banner-color", { country: "US" });
    expect(toOfrepSingle(result, 3)).toBe(JSON.stringify(toOfrep(result, { configVersion: 3 })));
    expect(toOfrepSingle(result, 4)).toBe(JSON.stringify(toOfrep(result, { configVersion: 4 })));
    const stale = { stale: true as const, staleReason: "KV failed" };
    expect(toOfrepSingle(result, 4, stale)).toBe(JSON.stringify(toOfrep(result, { configVersion: 4, ...stale })));
  });
});

describe("the evaluation routes without the router", () => {
  it("answers the same body to two projects' keys from each project's own flags", async () => {
    const a = await setupProject("hot-memo-a");
    const b = await setupProject("hot-memo-b", { flags: { only: { state: "ENABLED", variants: { x: 1 }, defaultVariant: "x" } } });
    const context = { targetingKey: "same-visitor" };
    for (let i = 0; i < 2; i++) {
      const fromA = await evaluate(a.key, null, context);
      const fromB = await evaluate(b.key, null, context);
      expect(fromA.body.flags.map((f: { key: string }) => f.key)).toContain("kill-switch");
      expect(fromB.body.flags.map((f: { key: string }) => f.key)).toEqual(["only"]);
      expect(fromB.body.metadata.project).toBe("hot-memo-b");
    }
  });

  it("keeps the CORS headers on every answer: success, 304, refusals", async () => {
    const { key } = await setupProject("hot-cors");
    const origin = { origin: "https://app.example" };
    const ok = await evaluate(key, null, {}, origin);
    const notModified = await evaluate(key, null, {}, { ...origin, "if-none-match": ok.headers.get("etag")! });
    const single = await evaluate(key, "kill-switch", {}, origin);
    const missing = await evaluate(key, "no-such-flag", {}, origin);
    const unauthenticated = await call("POST", "/ofrep/v1/evaluate/flags", { token: null, body: {}, headers: origin });
    const invalid = await call("POST", "/ofrep/v1/evaluate/flags", { token: key, body: "{", headers: origin });
    expect([ok, notModified, single, missing, unauthenticated, invalid].map((r) => r.status)).toEqual([200, 304, 200, 404, 401, 400]);
    for (const answer of [ok, notModified, single, missing, unauthenticated, invalid]) {
      expect(answer.headers.get("access-control-allow-origin")).toBe("*");
      expect(answer.headers.get("access-control-expose-headers")).toBe("ETag,Retry-After,X-Edgeflags-Config-Version,X-Edgeflags-Stale");
    }
    expect(ok.headers.get("content-type")).toBe("application/json");
    expect(single.headers.get("content-type")).toBe("application/json");
    expect(notModified.headers.get("etag")).toBe(ok.headers.get("etag"));
  });

  it("leaves a percent-encoded flag key to the router, which decodes it", async () => {
    const { key } = await setupProject("hot-encoded");
    const res = await call("POST", "/ofrep/v1/evaluate/flags/kill%2Dswitch", { token: key, body: {} });
    expect(res.status).toBe(200);
    expect(res.body.key).toBe("kill-switch");
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });
});
