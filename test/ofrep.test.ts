import { describe, expect, it } from "vitest";
import { env, exports } from "cloudflare:workers";
import { snapshotKvKey } from "../contracts/snapshot";
import { resetEdgeState } from "../worker/edge-state";
import { call, drainOutbox, evaluate, setupProject } from "./helpers";

describe("OFREP single-flag evaluation", () => {
  it.each([
    { id: 1, flag: "kill-switch", context: { targetingKey: "u1" }, value: true, variant: "on", reason: "STATIC" },
    {
      id: 2,
      flag: "banner-color",
      context: { targetingKey: "u1", country: "CA" },
      value: "#0a0",
      variant: "green",
      reason: "TARGETING_MATCH",
    },
    { id: 3, flag: "banner-color", context: { targetingKey: "u1", country: "FR" }, value: "#c00", variant: "red", reason: "DEFAULT" },
    { id: 4, flag: "banner-color", context: undefined, value: "#c00", variant: "red", reason: "DEFAULT" },
  ])("$flag with $context → $variant ($reason)", async ({ id, flag, context, value, variant, reason }) => {
    const { key, version } = await setupProject(`single-${id}`);
    const res = await evaluate(key, flag, context);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ key: flag, value, variant, reason });
    expect(res.body.metadata.configVersion).toBe(version);
    expect(res.headers.get("x-edgeflags-config-version")).toBe(String(version));
  });

  it("serves flag metadata with the result", async () => {
    const { key } = await setupProject("single-metadata");
    const res = await evaluate(key, "banner-color", { targetingKey: "u1" });
    expect(res.body.metadata).toMatchObject({ owner: "web-team" });
  });

  it("answers a disabled flag with reason DISABLED and no value, so the SDK uses its code default", async () => {
    const { key } = await setupProject("single-disabled");
    const res = await evaluate(key, "dark-launch", { targetingKey: "u1" });
    expect(res.status).toBe(200);
    expect(res.body.reason).toBe("DISABLED");
    expect(res.body).not.toHaveProperty("value");
  });

  it("answers no value when there is no default variant and no rule matched", async () => {
    const { key } = await setupProject("single-no-default");
    const miss = await evaluate(key, "no-default", { targetingKey: "u1", plan: "free" });
    expect(miss.status).toBe(200);
    expect(miss.body).not.toHaveProperty("value");
    const hit = await evaluate(key, "no-default", { targetingKey: "u1", plan: "enterprise" });
    expect(hit.body).toMatchObject({ value: "B", variant: "b", reason: "TARGETING_MATCH" });
  });

  it("buckets a fractional rollout deterministically per targeting key", async () => {
    const { key } = await setupProject("single-fractional");
    const seen = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const res = await evaluate(key, "new-checkout", { targetingKey: `user-${i}` });
      expect(res.body.reason).toBe("TARGETING_MATCH");
      seen.set(`user-${i}`, res.body.variant);
    }
    expect(new Set(seen.values())).toEqual(new Set(["on", "off"]));
    for (const [user, variant] of seen) {
      expect((await evaluate(key, "new-checkout", { targetingKey: user })).body.variant).toBe(variant);
    }
  });

  it("answers 404 FLAG_NOT_FOUND for an unknown flag", async () => {
    const { key } = await setupProject("single-missing");
    const res = await evaluate(key, "nope", { targetingKey: "u1" });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ key: "nope", errorCode: "FLAG_NOT_FOUND" });
  });

  it.each([
    { id: 1, body: "not json", detail: /not valid JSON/ },
    { id: 2, body: JSON.stringify({ context: [1, 2] }), detail: /context must be a JSON object/ },
    { id: 3, body: JSON.stringify({ context: { targetingKey: 42 } }), detail: /targetingKey must be a string/ },
    { id: 4, body: JSON.stringify([]), detail: /must be a JSON object/ },
  ])("answers 400 INVALID_CONTEXT for body $body", async ({ id, body, detail }) => {
    const { key } = await setupProject(`single-bad-${id}`);
    const res = await call("POST", "/ofrep/v1/evaluate/flags/kill-switch", { token: key, body });
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe("INVALID_CONTEXT");
    expect(res.body.errorDetails).toMatch(detail);
  });

  it("accepts an empty body as an empty context", async () => {
    const { key } = await setupProject("single-empty-body");
    const res = await call("POST", "/ofrep/v1/evaluate/flags/kill-switch", { token: key });
    expect(res.status).toBe(200);
    expect(res.body.value).toBe(true);
  });

  it("returns PARSE_ERROR for a flag whose rule cannot compile, and the rest of the set still works", async () => {
    // A snapshot the admin API would refuse (an unknown operator), as a foreign or older writer
    // could have left in KV: the edge must isolate the bad flag, not fail the set.
    const { key, version } = await setupProject("single-parse-error");
    const snapshot = JSON.parse((await env.FLAGS_KV.get(snapshotKvKey("single-parse-error", "production")))!);
    snapshot.version = version + 1;
    snapshot.flagSet.flags["broken"] = { state: "ENABLED", variants: { a: 1 }, defaultVariant: "a", targeting: { no_such_operator: [1] } };
    await env.FLAGS_KV.put(snapshotKvKey("single-parse-error", "production"), JSON.stringify(snapshot), {
      metadata: { version: version + 1 },
    });
    resetEdgeState(["snapshots"]);
    const broken = await evaluate(key, "broken", { targetingKey: "u" });
    expect(broken.status).toBe(400);
    expect(broken.body.errorCode).toBe("PARSE_ERROR");
    const fine = await evaluate(key, "kill-switch", { targetingKey: "u" });
    expect(fine.status).toBe(200);
    expect(fine.body.metadata.configVersion).toBe(version + 1);
    const bulk = await evaluate(key, null, { targetingKey: "u" });
    expect(bulk.body.flags.find((f: { key: string }) => f.key === "broken")).toMatchObject({ errorCode: "PARSE_ERROR" });
  });
});

describe("OFREP bulk evaluation", () => {
  it("evaluates every flag and reports the config version", async () => {
    const { key, version } = await setupProject("bulk-all");
    const res = await evaluate(key, null, { targetingKey: "u1", country: "US" });
    expect(res.status).toBe(200);
    const byKey = Object.fromEntries(res.body.flags.map((f: { key: string }) => [f.key, f]));
    expect(Object.keys(byKey).sort()).toEqual(["banner-color", "dark-launch", "kill-switch", "new-checkout", "no-default"]);
    expect(byKey["banner-color"]).toMatchObject({ value: "#0a0", variant: "green", reason: "TARGETING_MATCH" });
    expect(byKey["dark-launch"]).toMatchObject({ reason: "DISABLED" });
    expect(res.body.metadata).toMatchObject({ project: "bulk-all", environment: "production", configVersion: version });
    expect(res.headers.get("x-edgeflags-config-version")).toBe(String(version));
  });

  it("answers 304 to a matching If-None-Match and 200 with a new ETag when the result changes", async () => {
    const { key } = await setupProject("bulk-etag");
    const first = await evaluate(key, null, { targetingKey: "u1", country: "US" });
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^".+"$/);
    const again = await evaluate(key, null, { targetingKey: "u1", country: "US" }, { "if-none-match": etag! });
    expect(again.status).toBe(304);
    expect(again.body).toBeNull();
    // Same key, another context: the result differs, so the old ETag must not match.
    const other = await evaluate(key, null, { targetingKey: "u1", country: "FR" }, { "if-none-match": etag! });
    expect(other.status).toBe(200);
    expect(other.headers.get("etag")).not.toBe(etag);
  });

  it("changes the ETag when a flag changes", async () => {
    const { key } = await setupProject("bulk-etag-change");
    const first = await evaluate(key, null, { targetingKey: "u1" });
    const toggled = await call("POST", "/admin/v1/projects/bulk-etag-change/environments/production/flags/kill-switch/toggle");
    expect(toggled.status).toBe(200);
    const after = await evaluate(key, null, { targetingKey: "u1" }, { "if-none-match": first.headers.get("etag")! });
    expect(after.status).toBe(200);
    expect(after.body.flags.find((f: { key: string }) => f.key === "kill-switch").reason).toBe("DISABLED");
  });

  it("answers 400 INVALID_CONTEXT for a malformed body", async () => {
    const { key } = await setupProject("bulk-bad");
    const res = await call("POST", "/ofrep/v1/evaluate/flags", { token: key, body: "{" });
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe("INVALID_CONTEXT");
  });
});

describe("OFREP authentication and CORS", () => {
  it.each([
    { name: "no credential", headers: {} as Record<string, string>, status: 401 },
    { name: "unknown bearer key", headers: { authorization: "Bearer ef_client_nope" }, status: 401 },
    { name: "well-formed unknown key", headers: { authorization: `Bearer ef_client_${"A".repeat(32)}` }, status: 401 },
    { name: "malformed authorization", headers: { authorization: "Basic abc" }, status: 401 },
  ])("answers $status for $name", async ({ headers, status }) => {
    const res = await call("POST", "/ofrep/v1/evaluate/flags", { token: null, headers, body: {} });
    expect(res.status).toBe(status);
  });

  it("accepts the key in X-API-Key", async () => {
    const { key } = await setupProject("auth-x-api-key");
    const res = await call("POST", "/ofrep/v1/evaluate/flags/kill-switch", { token: null, headers: { "x-api-key": key }, body: {} });
    expect(res.status).toBe(200);
  });

  it("refuses admin keys and the bootstrap token for evaluation", async () => {
    await setupProject("auth-admin-key");
    const adminKey = await call("POST", "/admin/v1/projects/auth-admin-key/keys", { body: { scope: "admin" } });
    expect(adminKey.status).toBe(201);
    await drainOutbox("auth-admin-key");
    expect((await evaluate(adminKey.body.key, "kill-switch", {})).status).toBe(403);
    expect((await call("POST", "/ofrep/v1/evaluate/flags", { body: {} })).status).toBe(401);
  });

  it("stops accepting a revoked key", async () => {
    const { key, keyId } = await setupProject("auth-revoked");
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    const revoked = await call("DELETE", `/admin/v1/projects/auth-revoked/keys/${keyId}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    await drainOutbox("auth-revoked");
    resetEdgeState(["keys"]); // a fresh isolate, or this one after its refresh interval
    expect((await evaluate(key, "kill-switch", {})).status).toBe(401);
  });

  it("answers CORS preflight for browsers and exposes ETag", async () => {
    const res = await call("OPTIONS", "/ofrep/v1/evaluate/flags", {
      token: null,
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,if-none-match",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("if-none-match");
    const { key } = await setupProject("cors-expose");
    const eval_ = await call("POST", "/ofrep/v1/evaluate/flags", { token: key, body: {}, headers: { origin: "https://app.example" } });
    expect(eval_.headers.get("access-control-expose-headers")).toContain("ETag");
  });
});

describe("rate limiting of client keys", () => {
  const from = (address: string) => ({ "cf-connecting-ip": address, origin: "https://app.example" });

  it("answers 429 with Retry-After past the limit, per key and address, readable by a browser", async () => {
    const { key } = await setupProject("rate-client");
    for (let i = 0; i < 5; i++) expect((await evaluate(key, null, {}, from("203.0.113.7"))).status).toBe(200);
    const limited = await evaluate(key, null, {}, from("203.0.113.7"));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(limited.headers.get("access-control-allow-origin")).toBe("*");
    expect(limited.headers.get("access-control-expose-headers")).toContain("Retry-After");
    expect(limited.body.errorDetails).toMatch(/retry in 60 s/);
    expect((await evaluate(key, "kill-switch", {}, from("203.0.113.7"))).status).toBe(429);
    // Another address with the same key, and the same address with another key, are unaffected.
    expect((await evaluate(key, null, {}, from("198.51.100.2"))).status).toBe(200);
    const other = await setupProject("rate-client-other");
    expect((await evaluate(other.key, null, {}, from("203.0.113.7"))).status).toBe(200);
  });

  it("does not limit server keys", async () => {
    const { key } = await setupProject("rate-server", undefined, "server");
    for (let i = 0; i < 8; i++) expect((await evaluate(key, null, {}, from("203.0.113.8"))).status).toBe(200);
  });
});

describe("OFREP request bodies are bounded at 64 KiB", () => {
  const LIMIT = 64 * 1024;
  const FIFTY_MB = 50 * 1024 * 1024;

  /** A body streamed in 64 KiB chunks on demand, counting what the Worker pulled. */
  function streamedBody(total: number): { body: ReadableStream<Uint8Array>; pulled: () => number } {
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= total) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    return { body, pulled: () => sent };
  }

  /** `{"context":{"targetingKey":"u1"}}` padded with spaces to exactly `size` bytes. */
  function paddedContext(size: number): string {
    const json = JSON.stringify({ context: { targetingKey: "u1" } });
    return json + " ".repeat(size - json.length);
  }

  const post = (path: string, key: string, body: BodyInit, headers: Record<string, string> = {}) =>
    exports.default.fetch(
      new Request(`http://edgeflags.test${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
        body,
      }),
    );

  it.each([
    { route: "single", path: "/ofrep/v1/evaluate/flags/kill-switch", key: { key: "kill-switch", errorCode: "GENERAL" } },
    { route: "bulk", path: "/ofrep/v1/evaluate/flags", key: { errorCode: "GENERAL" } },
  ])("answers 413 to a streamed 50 MB body on the $route route, reading no more than the limit", async ({ route, path, key: shape }) => {
    const { key } = await setupProject(`limit-stream-${route}`);
    const { body, pulled } = streamedBody(FIFTY_MB);
    const res = await post(path, key, body);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ ...shape, errorDetails: expect.stringMatching(/over 65536 bytes/) });
    // Refused while reading: a couple of chunks past the limit at most, never the 50 MB.
    expect(pulled()).toBeLessThan(LIMIT * 4);
  });

  it.each([
    { route: "single", path: "/ofrep/v1/evaluate/flags/kill-switch" },
    { route: "bulk", path: "/ofrep/v1/evaluate/flags" },
  ])("answers 413 from a declared Content-Length over the limit on the $route route, before reading", async ({ route, path }) => {
    const { key } = await setupProject(`limit-declared-${route}`);
    const { body, pulled } = streamedBody(FIFTY_MB);
    const res = await post(path, key, body, { "content-length": String(FIFTY_MB) });
    expect(res.status).toBe(413);
    expect(pulled()).toBeLessThan(LIMIT * 4);
  });

  it.each([
    { route: "single", path: "/ofrep/v1/evaluate/flags/kill-switch" },
    { route: "bulk", path: "/ofrep/v1/evaluate/flags" },
  ])("evaluates a body of exactly 64 KiB on the $route route, and refuses one byte more", async ({ route, path }) => {
    const { key } = await setupProject(`limit-exact-${route}`);
    const exact = await post(path, key, paddedContext(LIMIT));
    expect(exact.status).toBe(200);
    const over = await post(path, key, paddedContext(LIMIT + 1));
    expect(over.status).toBe(413);
  });
});
