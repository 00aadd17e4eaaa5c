/**
 * The edge degrades, it never fails: KV and the FlagStore made to throw or hang under the Worker's
 * own fetch handler (a wrapped `env`), against a project set up through the real bindings.
 */
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import worker from "../worker/index";
import { clearSnapshotCache } from "../worker/snapshot-cache";
import { evaluate, setupProject } from "./helpers";

type Fault = "throws" | "hangs";
const FAULTS: Fault[] = ["throws", "hangs"];
/** A hang is waited out through both deadlines (KV, then the FlagStore). */
const HANG_TIMEOUT_MS = 30_000;

function failing(fault: Fault): Promise<never> {
  return fault === "throws" ? Promise.reject(new Error("injected fault")) : new Promise<never>(() => {});
}

/** FLAGS_KV whose reads fail; writes still reach the real namespace. */
function faultyKv(fault: Fault): KVNamespace {
  const real = env.FLAGS_KV;
  return {
    get: () => failing(fault),
    getWithMetadata: () => failing(fault),
    list: () => failing(fault),
    put: real.put.bind(real),
    delete: real.delete.bind(real),
  } as unknown as KVNamespace;
}

/** FLAG_STORE whose objects fail every call. */
function faultyStore(fault: Fault): Env["FLAG_STORE"] {
  const real = env.FLAG_STORE;
  const stub = new Proxy({}, { get: (_target, prop) => (prop === "then" ? undefined : () => failing(fault)) });
  return {
    idFromName: real.idFromName.bind(real),
    get: () => stub,
    getByName: () => stub,
  } as unknown as Env["FLAG_STORE"];
}

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/**
 * Calls the Worker with `overrides` in its env. A hang leaves calls pending in `waitUntil`, so the
 * execution context is only waited on when asked.
 */
async function send(overrides: { [K in keyof Env]?: unknown }, path: string, options: { key?: string; method?: string; body?: unknown; wait?: boolean } = {}): Promise<Answer> {
  const ctx = createExecutionContext();
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  const method = options.method ?? "POST";
  const request = new Request(`http://edgeflags.test${path}`, {
    method,
    headers,
    body: method === "GET" ? undefined : JSON.stringify(options.body ?? { context: { targetingKey: "u1" } }),
  });
  // Test doubles stand in for bindings, and the refresh interval for a deployed setting.
  const response = await worker.fetch(request, { ...env, ...overrides } as Env, ctx);
  if (options.wait) await waitOnExecutionContext(ctx);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

const SINGLE = "/ofrep/v1/evaluate/flags/kill-switch";
const BULK = "/ofrep/v1/evaluate/flags";

/** Every value of OFREP metadata is a string, a number or a boolean. */
function expectOfrepMetadata(metadata: Record<string, unknown>): void {
  for (const value of Object.values(metadata)) expect(["string", "number", "boolean"]).toContain(typeof value);
}

function expectUnavailable(answer: Answer): void {
  expect(answer.status).toBe(503);
  expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(answer.body.errorDetails).toMatch(/retry in \d+ s/);
}

describe("a cold isolate whose KV reads fail", () => {
  it.each(FAULTS)("falls back to the FlagStore when KV %s", async (fault) => {
    const { key, version } = await setupProject(`cold-kv-${fault}`);
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200); // the key is now known here
    clearSnapshotCache();
    const single = await send({ FLAGS_KV: faultyKv(fault) }, SINGLE, { key });
    expect(single.status).toBe(200);
    expect(single.body).toMatchObject({ value: true, metadata: { configVersion: version } });
    expect(single.body.metadata).not.toHaveProperty("stale");
    expect(single.headers.get("x-edgeflags-stale")).toBeNull();
    clearSnapshotCache();
    const bulk = await send({ FLAGS_KV: faultyKv(fault) }, BULK, { key });
    expect(bulk.status).toBe(200);
    expect(bulk.body.metadata.configVersion).toBe(version);
  }, HANG_TIMEOUT_MS);

  it.each(FAULTS)("answers 503 with Retry-After when KV and the FlagStore both %s", async (fault) => {
    const { key } = await setupProject(`cold-both-${fault}`);
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    clearSnapshotCache();
    const faults = { FLAGS_KV: faultyKv(fault), FLAG_STORE: faultyStore(fault) };
    const single = await send(faults, SINGLE, { key });
    expectUnavailable(single);
    expect(single.body).toMatchObject({ key: "kill-switch", errorCode: "GENERAL" });
    const bulk = await send(faults, BULK, { key });
    expectUnavailable(bulk);
    expect(bulk.body.errorCode).toBe("GENERAL");
  }, HANG_TIMEOUT_MS);
});

describe("a warm isolate whose FlagStore is unreachable", () => {
  it.each(FAULTS)("serves its snapshot, marked stale, to a re-fetch naming a newer version when the FlagStore %s", async (fault) => {
    const { key, version } = await setupProject(`warm-store-${fault}`);
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    // KV has `version` (it lags); the caller was told of the next one.
    const query = `?flagConfigEtag=${encodeURIComponent(`"${version + 1}"`)}`;
    const single = await send({ FLAG_STORE: faultyStore(fault) }, `${SINGLE}${query}`, { key });
    expect(single.status).toBe(200);
    expect(single.body).toMatchObject({ key: "kill-switch", value: true, metadata: { configVersion: version, stale: true } });
    expect(single.body.metadata.staleReason).toMatch(new RegExp(`version ${version + 1} or later could not be loaded`));
    expect(single.headers.get("x-edgeflags-stale")).toBe("newer-version-unavailable");
    expectOfrepMetadata(single.body.metadata);
    const bulk = await send({ FLAG_STORE: faultyStore(fault) }, `${BULK}${query}`, { key });
    expect(bulk.status).toBe(200);
    expect(bulk.body.metadata).toMatchObject({ configVersion: version, stale: true });
    expect(bulk.headers.get("x-edgeflags-stale")).toBe("newer-version-unavailable");
    expectOfrepMetadata(bulk.body.metadata);
  }, HANG_TIMEOUT_MS);

  it("serves its snapshot, marked stale, once revalidating it against KV and the FlagStore has failed", async () => {
    const { key, version } = await setupProject("warm-revalidation");
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    const faults = { FLAGS_KV: faultyKv("throws"), FLAG_STORE: faultyStore("throws"), SNAPSHOT_REFRESH_SECONDS: "0" };
    const first = await send(faults, SINGLE, { key, wait: true });
    expect(first.status).toBe(200);
    const second = await send(faults, SINGLE, { key });
    expect(second.status).toBe(200);
    expect(second.body.metadata).toMatchObject({ configVersion: version, stale: true });
    expect(second.headers.get("x-edgeflags-stale")).toBe("revalidation-failed");
    // Sources back: the next revalidation clears the mark.
    await send({ SNAPSHOT_REFRESH_SECONDS: "0" }, SINGLE, { key, wait: true });
    const healthy = await send({ SNAPSHOT_REFRESH_SECONDS: "0" }, SINGLE, { key });
    expect(healthy.body.metadata).not.toHaveProperty("stale");
  });
});

describe("key lookups while the KV key index fails", () => {
  it.each(FAULTS)("keeps serving a key this isolate knows when KV %s", async (fault) => {
    const { key } = await setupProject(`known-key-${fault}`);
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    clearSnapshotCache();
    // Refresh interval 0: the key is revalidated (and fails) on every request; the snapshot comes from the FlagStore.
    const answer = await send({ FLAGS_KV: faultyKv(fault), SNAPSHOT_REFRESH_SECONDS: "0" }, SINGLE, { key });
    expect(answer.status).toBe(200);
    expect(answer.body.value).toBe(true);
  }, HANG_TIMEOUT_MS);

  it.each(FAULTS)("answers 503 with Retry-After, not 401, for a key never seen here when KV %s", async (fault) => {
    const { key } = await setupProject(`unseen-key-${fault}`);
    for (const path of [SINGLE, BULK]) expectUnavailable(await send({ FLAGS_KV: faultyKv(fault) }, path, { key }));
    // The key is fine: once KV answers it evaluates.
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
  }, HANG_TIMEOUT_MS);
});

describe("server sync and event streams under faults", () => {
  it.each(FAULTS)("answers /sync/v1/flagd with 503 and Retry-After when the FlagStore %s", async (fault) => {
    const { key } = await setupProject(`sync-store-${fault}`, undefined, "server");
    const answer = await send({ FLAG_STORE: faultyStore(fault) }, "/sync/v1/flagd", { key, method: "GET" });
    expectUnavailable(answer);
  }, HANG_TIMEOUT_MS);

  it.each(FAULTS)("answers 503 with Retry-After to a stream whose key cannot be checked when KV %s", async (fault) => {
    const { key } = await setupProject(`stream-kv-${fault}`);
    const bulk = await evaluate(key, null, {});
    const url = new URL(bulk.body.eventStreams[0].url);
    const answer = await send({ FLAGS_KV: faultyKv(fault) }, `${url.pathname}${url.search}`, { method: "GET" });
    expectUnavailable(answer);
  }, HANG_TIMEOUT_MS);
});

describe("no 5xx but 503 from the evaluation routes under any fault", () => {
  const cases = FAULTS.flatMap((fault) => [
    { name: `KV ${fault}`, fault, overrides: () => ({ FLAGS_KV: faultyKv(fault) }) },
    { name: `FlagStore ${fault}`, fault, overrides: () => ({ FLAG_STORE: faultyStore(fault) }) },
  ]);
  it.each(cases)("$name: cold and warm, single and bulk, with and without a named version", async ({ name, overrides }) => {
    const { key, version } = await setupProject(`sweep-${name.toLowerCase().replace(/\s/g, "-")}`);
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    for (const cold of [true, false]) {
      for (const path of [SINGLE, BULK, `${SINGLE}?flagConfigEtag=${version + 5}`, `${BULK}?flagConfigLastModified=${Math.floor(Date.now() / 1000)}`]) {
        if (cold) clearSnapshotCache();
        const answer = await send(overrides(), path, { key });
        if (answer.status >= 500) expectUnavailable(answer);
        else expect(answer.status).toBe(200);
      }
    }
  }, 120_000);
});
