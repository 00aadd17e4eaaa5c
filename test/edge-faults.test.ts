/**
 * The edge degrades, it never fails: KV and the FlagStore made to throw or hang under the Worker's
 * own fetch handler (a wrapped `env`), against a project set up through the real bindings.
 */
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { resetEdgeState } from "../worker/edge-state";
import { callWithBindings, type EdgeAnswer } from "./edge-call";
import { call, evaluate, setupProject } from "./helpers";

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

/** Calls the Worker with `overrides` in its env (waiting on its `waitUntil` work only when asked). */
const send = callWithBindings;

const SINGLE = "/ofrep/v1/evaluate/flags/kill-switch";
const BULK = "/ofrep/v1/evaluate/flags";

/** Every value of OFREP metadata is a string, a number or a boolean. */
function expectOfrepMetadata(metadata: Record<string, unknown>): void {
  for (const value of Object.values(metadata)) expect(["string", "number", "boolean"]).toContain(typeof value);
}

function expectUnavailable(answer: EdgeAnswer): void {
  expect(answer.status).toBe(503);
  expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(answer.body.errorDetails).toMatch(/retry in \d+ s/);
}

describe("a cold isolate whose KV reads fail", () => {
  it.each(FAULTS)(
    "falls back to the FlagStore when KV %s",
    async (fault) => {
      const { key, version } = await setupProject(`cold-kv-${fault}`);
      expect((await evaluate(key, "kill-switch", {})).status).toBe(200); // the key is now known here
      resetEdgeState(["snapshots"]);
      const single = await send({ FLAGS_KV: faultyKv(fault) }, SINGLE, { key });
      expect(single.status).toBe(200);
      expect(single.body).toMatchObject({ value: true, metadata: { configVersion: version } });
      expect(single.body.metadata).not.toHaveProperty("stale");
      expect(single.headers.get("x-edgeflags-stale")).toBeNull();
      resetEdgeState(["snapshots"]);
      const bulk = await send({ FLAGS_KV: faultyKv(fault) }, BULK, { key });
      expect(bulk.status).toBe(200);
      expect(bulk.body.metadata.configVersion).toBe(version);
    },
    HANG_TIMEOUT_MS,
  );

  it.each(FAULTS)(
    "answers 503 with Retry-After when KV and the FlagStore both %s",
    async (fault) => {
      const { key } = await setupProject(`cold-both-${fault}`);
      expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
      resetEdgeState(["snapshots"]);
      const faults = { FLAGS_KV: faultyKv(fault), FLAG_STORE: faultyStore(fault) };
      const single = await send(faults, SINGLE, { key });
      expectUnavailable(single);
      expect(single.body).toMatchObject({ key: "kill-switch", errorCode: "GENERAL" });
      const bulk = await send(faults, BULK, { key });
      expectUnavailable(bulk);
      expect(bulk.body.errorCode).toBe("GENERAL");
    },
    HANG_TIMEOUT_MS,
  );
});

describe("a warm isolate whose FlagStore is unreachable", () => {
  it.each(FAULTS)(
    "serves its snapshot, marked stale, to a re-fetch naming a newer version when the FlagStore %s",
    async (fault) => {
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
    },
    HANG_TIMEOUT_MS,
  );

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
  it.each(FAULTS)(
    "keeps serving a key this isolate knows when KV %s",
    async (fault) => {
      const { key } = await setupProject(`known-key-${fault}`);
      expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
      resetEdgeState(["snapshots"]);
      // Refresh interval 0: the key is revalidated (and fails) on every request; the snapshot comes from the FlagStore.
      const answer = await send({ FLAGS_KV: faultyKv(fault), SNAPSHOT_REFRESH_SECONDS: "0" }, SINGLE, { key });
      expect(answer.status).toBe(200);
      expect(answer.body.value).toBe(true);
    },
    HANG_TIMEOUT_MS,
  );

  it.each(FAULTS)(
    "answers 503 with Retry-After, not 401, for a key never seen here when KV %s",
    async (fault) => {
      const { key } = await setupProject(`unseen-key-${fault}`);
      for (const path of [SINGLE, BULK]) expectUnavailable(await send({ FLAGS_KV: faultyKv(fault) }, path, { key }));
      // The key is fine: once KV answers it evaluates.
      expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    },
    HANG_TIMEOUT_MS,
  );
});

describe("server sync and event streams under faults", () => {
  it.each(FAULTS)(
    "answers /sync/v1/flagd with 503 and Retry-After when the FlagStore %s",
    async (fault) => {
      const { key } = await setupProject(`sync-store-${fault}`, undefined, "server");
      const answer = await send({ FLAG_STORE: faultyStore(fault) }, "/sync/v1/flagd", { key, method: "GET" });
      expectUnavailable(answer);
    },
    HANG_TIMEOUT_MS,
  );

  it.each(FAULTS)(
    "answers 503 with Retry-After to a stream whose key cannot be checked when KV %s",
    async (fault) => {
      const { key } = await setupProject(`stream-kv-${fault}`);
      const bulk = await evaluate(key, null, {});
      const url = new URL(bulk.body.eventStreams[0].url);
      const answer = await send({ FLAGS_KV: faultyKv(fault) }, `${url.pathname}${url.search}`, { method: "GET" });
      expectUnavailable(answer);
    },
    HANG_TIMEOUT_MS,
  );
});

describe("the client rate limiter under faults", () => {
  it.each(FAULTS)(
    "limits nothing when the limiter %s, rather than failing the evaluation",
    async (fault) => {
      const { key } = await setupProject(`limiter-${fault}`);
      const limiter = { limit: () => failing(fault) };
      const answer = await send({ CLIENT_RATE_LIMITER: limiter }, SINGLE, { key, headers: { "cf-connecting-ip": "203.0.113.50" } });
      expect(answer.status).toBe(200);
    },
    HANG_TIMEOUT_MS,
  );
});

describe("a client rate limiter that answers late", () => {
  // The verdict is asked for as the request starts and read once the body is in: a "no" that
  // comes after that, within the deadline (500 ms), is still obeyed; one after it limits nothing.
  const slowNo = (ms: number) => ({
    limit: () => new Promise<{ success: boolean }>((resolve) => setTimeout(() => resolve({ success: false }), ms)),
  });

  it.each([
    { path: SINGLE, ms: 150, status: 429 },
    { path: BULK, ms: 150, status: 429 },
    { path: SINGLE, ms: 1_500, status: 200 },
    { path: BULK, ms: 1_500, status: 200 },
  ])("$path, a refusal after $ms ms: $status", async ({ path, ms, status }) => {
    const { key } = await setupProject(`limiter-late-${ms}-${path === SINGLE ? "one" : "all"}`);
    const answer = await send({ CLIENT_RATE_LIMITER: slowNo(ms) }, path, { key, headers: { "cf-connecting-ip": "203.0.113.51" } });
    expect(answer.status).toBe(status);
    if (status === 429) expect(answer.headers.get("retry-after")).toBe("60");
  });
});

describe("no 5xx but 503 from the evaluation routes under any fault", () => {
  const cases = FAULTS.flatMap((fault) => [
    { name: `KV ${fault}`, fault, overrides: () => ({ FLAGS_KV: faultyKv(fault) }) },
    { name: `FlagStore ${fault}`, fault, overrides: () => ({ FLAG_STORE: faultyStore(fault) }) },
  ]);
  it.each(cases)(
    "$name: cold and warm, single and bulk, with and without a named version",
    async ({ name, overrides }) => {
      const { key, version } = await setupProject(`sweep-${name.toLowerCase().replace(/\s/g, "-")}`);
      expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
      for (const cold of [true, false]) {
        for (const path of [
          SINGLE,
          BULK,
          `${SINGLE}?flagConfigEtag=${version + 5}`,
          `${BULK}?flagConfigLastModified=${Math.floor(Date.now() / 1000)}`,
        ]) {
          if (cold) resetEdgeState(["snapshots"]);
          const answer = await send(overrides(), path, { key });
          if (answer.status >= 500) expectUnavailable(answer);
          else expect(answer.status).toBe(200);
        }
      }
    },
    120_000,
  );
});

/** FLAGS_KV and FLAG_STORE that count the reads and snapshot calls the edge makes. */
function counted(): {
  overrides: { FLAGS_KV: KVNamespace; FLAG_STORE: Env["FLAG_STORE"]; SNAPSHOT_REFRESH_SECONDS: string };
  kvReads: () => number;
  storeCalls: () => number;
} {
  let kvReads = 0;
  let storeCalls = 0;
  const kv = env.FLAGS_KV;
  const namespace = env.FLAG_STORE;
  const countingKv = {
    get: (...args: Parameters<KVNamespace["get"]>) => {
      kvReads++;
      return kv.get(...args);
    },
    getWithMetadata: (...args: Parameters<KVNamespace["getWithMetadata"]>) => {
      kvReads++;
      return kv.getWithMetadata(...args);
    },
    put: kv.put.bind(kv),
    delete: kv.delete.bind(kv),
    list: kv.list.bind(kv),
  } as unknown as KVNamespace;
  const countingStore = {
    idFromName: namespace.idFromName.bind(namespace),
    get: (id: DurableObjectId) => {
      const stub = namespace.get(id);
      return new Proxy(stub, {
        get: (target, prop) => {
          if (prop === "getSnapshot" || prop === "getFlagSet") storeCalls++;
          return Reflect.get(target, prop);
        },
      });
    },
  } as unknown as Env["FLAG_STORE"];
  // A long refresh interval: only requests, not background revalidation, can cause a read.
  return {
    overrides: { FLAGS_KV: countingKv, FLAG_STORE: countingStore, SNAPSHOT_REFRESH_SECONDS: "3600" },
    kvReads: () => kvReads,
    storeCalls: () => storeCalls,
  };
}

describe("a made-up newer version costs the FlagStore and KV nothing per request", () => {
  it('answers 50 concurrent bulk requests with flagConfigEtag="99999999" with at most one FlagStore call and one KV read', async () => {
    const { key, version } = await setupProject("amplify-etag");
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    const { overrides, kvReads, storeCalls } = counted();
    const query = `?flagConfigEtag=${encodeURIComponent('"99999999"')}`;
    const answers = await Promise.all(Array.from({ length: 50 }, () => send(overrides, `${BULK}${query}`, { key })));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.metadata.configVersion).toBe(version);
      expect(answer.body.metadata).not.toHaveProperty("stale");
    }
    expect(storeCalls()).toBeLessThanOrEqual(1);
    expect(kvReads()).toBeLessThanOrEqual(1);
  });

  it("answers 50 single requests with a future flagConfigLastModified with at most one FlagStore call and one KV read", async () => {
    const { key, version } = await setupProject("amplify-last-modified");
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    const { overrides, kvReads, storeCalls } = counted();
    // Within the allowed clock skew, so it is not ignored outright.
    const query = `?flagConfigLastModified=${Math.floor(Date.now() / 1000) + 30}`;
    for (let i = 0; i < 50; i++) {
      const answer = await send(overrides, `${SINGLE}${query}`, { key });
      expect(answer.status).toBe(200);
      expect(answer.body.metadata.configVersion).toBe(version);
    }
    expect(storeCalls()).toBeLessThanOrEqual(1);
    expect(kvReads()).toBeLessThanOrEqual(1);
  });

  it("shares one cold load among concurrent requests", async () => {
    const { key, version } = await setupProject("amplify-cold");
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    resetEdgeState(["snapshots"]);
    const { overrides, kvReads, storeCalls } = counted();
    const answers = await Promise.all(Array.from({ length: 50 }, () => send(overrides, SINGLE, { key })));
    for (const answer of answers) expect(answer.body.metadata.configVersion).toBe(version);
    expect(kvReads()).toBe(1);
    expect(storeCalls()).toBe(0);
  });

  it("still serves a version committed through this isolate at once after a caller spent the look", async () => {
    const { key, version } = await setupProject("amplify-then-write");
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    const { overrides } = counted();
    const bogus = `?flagConfigEtag=${encodeURIComponent('"99999999"')}`;
    expect((await send(overrides, `${SINGLE}${bogus}`, { key })).body.metadata.configVersion).toBe(version);
    const toggled = await evaluateAfterToggle(key, "amplify-then-write");
    expect(toggled).toMatchObject({ reason: "DISABLED", metadata: { configVersion: version + 1 } });
  });
});

/** Toggles the kill switch through the admin API (this isolate), then evaluates it before KV has the change. */
async function evaluateAfterToggle(key: string, project: string): Promise<any> {
  const toggled = await call("POST", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/toggle`);
  expect(toggled.status).toBe(200);
  return (await evaluate(key, "kill-switch", {})).body;
}

describe("a caller-named version is looked for again after the refresh interval", () => {
  it("serves a version the FlagStore got after an earlier look, once the interval has passed", async () => {
    const { key, version } = await setupProject("amplify-rearm");
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    // The FlagStore answers one version ahead of KV once `ahead` is set: a commit KV has not had yet.
    let ahead = 0;
    const namespace = env.FLAG_STORE;
    const store = {
      idFromName: namespace.idFromName.bind(namespace),
      get: (id: DurableObjectId) => ({
        getSnapshot: async (environment: string) => {
          const snapshot = await namespace.get(id).getSnapshot(environment);
          return snapshot && { ...snapshot, version: snapshot.version + ahead, etag: `"${snapshot.version + ahead}"` };
        },
        recordTelemetry: async () => ({ ok: true, value: { exposures: 0 } }),
      }),
    };
    const overrides = { FLAG_STORE: store, SNAPSHOT_REFRESH_SECONDS: "1" };
    const named = (v: number) => `${SINGLE}?flagConfigEtag=${encodeURIComponent(`"${v}"`)}`;
    expect((await send(overrides, named(99999999), { key })).body.metadata.configVersion).toBe(version);
    ahead = 1;
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // waits out the interval
    expect((await send(overrides, named(version + 1), { key })).body.metadata.configVersion).toBe(version + 1);
  });
});
