/**
 * The kill switch's fast path: the location's version beacon (Cache API) brings a change to an
 * isolate holding an old snapshot within a beacon interval while KV still serves the old one; a
 * hanging FlagStore does not hold answers up; a down one leaves the edge on KV, and says so.
 * Writes are committed through the admin API, then the version this isolate noted is forgotten,
 * as if another isolate had served the write.
 */
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { edgeState, environmentKey, resetEdgeState } from "../worker/edge-state";
import { BEACON_INTERVAL_MS } from "../worker/freshness-beacon";
import { FreshnessSchema } from "../contracts/edge-freshness";
import { AUTH_FAILURE_BUDGET, resetAuthThrottle } from "../lib/auth-throttle";
import { snapshotKvKey } from "../contracts/snapshot";
import { callWithBindings, type EdgeAnswer } from "./edge-call";
import { call, drainOutbox, setupProject, store } from "./helpers";

const SINGLE = "/ofrep/v1/evaluate/flags/kill-switch";

/** Calls the Worker with `overrides` in its env; waits for its `waitUntil` work unless told not to (then `settled` does). */
function send(overrides: { [K in keyof Env]?: unknown }, key: string, wait = true, path = SINGLE): Promise<EdgeAnswer> {
  return callWithBindings(overrides, path, { key, wait, method: path.startsWith("/edge/") ? "GET" : "POST" });
}

/** FLAGS_KV that keeps answering with what it held when it was made: a KV whose replicas lag. */
async function laggingKv(project: string): Promise<KVNamespace> {
  const real = env.FLAGS_KV;
  const frozen = await real.getWithMetadata(snapshotKvKey(project, "production"), "text");
  return {
    get: real.get.bind(real),
    getWithMetadata: async (name: string) => (name === snapshotKvKey(project, "production") ? frozen : real.getWithMetadata(name, "text")),
    list: real.list.bind(real),
    put: real.put.bind(real),
    delete: real.delete.bind(real),
  } as unknown as KVNamespace;
}

/** FLAG_STORE whose objects count snapshot calls and pass everything else through. */
function countingStore(): { store: Env["FLAG_STORE"]; snapshotCalls: () => number } {
  let calls = 0;
  const namespace = env.FLAG_STORE;
  const store = {
    idFromName: namespace.idFromName.bind(namespace),
    get: (id: DurableObjectId) =>
      new Proxy(namespace.get(id), {
        get: (target, prop) => {
          if (prop === "getSnapshot") calls++;
          return Reflect.get(target, prop);
        },
      }),
  } as unknown as Env["FLAG_STORE"];
  return { store, snapshotCalls: () => calls };
}

/** FLAG_STORE whose objects fail every call but telemetry (`throws`) or never answer (`hangs`), with the methods called. */
function failingStore(fault: "throws" | "hangs"): { store: Env["FLAG_STORE"]; called: string[] } {
  const called: string[] = [];
  const fail = (method: string) => () => {
    called.push(method);
    return fault === "throws" ? Promise.reject(new Error("injected fault")) : new Promise<never>(() => {});
  };
  const real = env.FLAG_STORE;
  // Telemetry is accepted, so a test does not wait out its retries.
  const accepted = async () => ({ ok: true, value: { exposures: 0 } });
  const stub = new Proxy(
    {},
    { get: (_target, prop) => (prop === "then" ? undefined : prop === "recordTelemetry" ? accepted : fail(String(prop))) },
  );
  return {
    store: { idFromName: real.idFromName.bind(real), get: () => stub, getByName: () => stub } as unknown as Env["FLAG_STORE"],
    called,
  };
}

/** Toggles the kill switch, then forgets that this isolate saw the write (another isolate served it). */
async function toggleElsewhere(project: string): Promise<number> {
  const toggled = await call("POST", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/toggle`);
  expect(toggled.status).toBe(200);
  edgeState.knownVersions.delete(environmentKey(project, "production"));
  return toggled.body.version;
}

/** Lets a beacon interval pass, so the next request reads (and may refresh) the location's beacon. */
const waitOutInterval = () => new Promise((resolve) => setTimeout(resolve, BEACON_INTERVAL_MS + 50));

describe("the location's version beacon", () => {
  it("serves a change to an isolate holding the old snapshot within a beacon interval while KV still has the old one", async () => {
    const project = "beacon-kv-lag";
    const { key, version } = await setupProject(project, undefined, "server");
    const kv = await laggingKv(project);
    // No background KV revalidation in this test: only the beacon can bring the change.
    const overrides = { FLAGS_KV: kv, SNAPSHOT_REFRESH_SECONDS: "3600" };
    expect((await send(overrides, key)).body).toMatchObject({ value: true, metadata: { configVersion: version } });
    const changed = await toggleElsewhere(project);
    expect((await send(overrides, key)).body.metadata.configVersion).toBe(version); // within the interval: memory
    await waitOutInterval();
    await send(overrides, key); // reads the beacon, refreshes it from the store after the response
    const after = await send(overrides, key);
    expect(after.body).toMatchObject({ reason: "DISABLED", metadata: { configVersion: changed } });
    expect(after.body.metadata).not.toHaveProperty("stale");
    // KV still has the old version.
    expect((await kv.getWithMetadata<{ version: number }>(snapshotKvKey(project, "production"), "text")).metadata?.version).toBe(version);
  });

  it("lets the location's other isolates load the beacon's version from the location's cache, not the FlagStore, while KV lags", async () => {
    const project = "beacon-location-cache";
    const { key, version } = await setupProject(project, undefined, "server");
    const kv = await laggingKv(project);
    const overrides = { FLAGS_KV: kv, SNAPSHOT_REFRESH_SECONDS: "3600" };
    await send(overrides, key);
    const changed = await toggleElsewhere(project);
    await waitOutInterval();
    await send(overrides, key); // this isolate refreshes the beacon and puts the new snapshot beside it
    // A fresh isolate of the same location: KV gives it the old version, the beacon names the new one.
    resetEdgeState(["snapshots"]);
    const { store: counted, snapshotCalls } = countingStore();
    const fresh = await send({ ...overrides, FLAG_STORE: counted }, key);
    expect(fresh.body.metadata.configVersion).toBe(changed);
    expect(fresh.body.metadata.configVersion).toBeGreaterThan(version);
    expect(snapshotCalls()).toBe(0);
    const seen = await send({ ...overrides, FLAG_STORE: counted }, key, true, "/edge/v1/freshness");
    expect(seen.body.environments[0].snapshot).toMatchObject({ version: changed, source: "location-cache" });
  });

  it("does not hold an answer up while the FlagStore hangs: the refresh runs after the response, bounded", async () => {
    const project = "beacon-hang";
    const { key, version } = await setupProject(project, undefined, "server");
    await send({}, key);
    await waitOutInterval();
    const { store: hanging, called } = failingStore("hangs");
    const answer = await send({ FLAG_STORE: hanging }, key, false);
    expect(answer.status).toBe(200);
    expect(answer.body.metadata.configVersion).toBe(version);
    const beacon = () => edgeState.beacons.get(environmentKey(project, "production"))?.seen;
    // Answered before the refresh had failed; the refresh then ran into the hanging store and gave up at its deadline.
    expect(beacon()?.failure).toBeNull();
    await answer.settled();
    expect(called).toContain("edgeVersion");
    expect(beacon()?.failure?.detail).toMatch(/FlagStore version beacon did not answer within \d+ ms/);
  });

  it("leaves the edge on KV when the FlagStore is down, and says so in the answer", async () => {
    const project = "beacon-down";
    const { key, version } = await setupProject(project, undefined, "server");
    await send({}, key);
    // Past the time an unconfirmed beacon is tolerated (three intervals) before answers say so.
    await new Promise((resolve) => setTimeout(resolve, 3 * BEACON_INTERVAL_MS + 100));
    const { store: down } = failingStore("throws");
    const overrides = { FLAG_STORE: down, SNAPSHOT_REFRESH_SECONDS: "0" };
    await send(overrides, key); // the refresh fails
    const degraded = await send(overrides, key);
    expect(degraded.status).toBe(200);
    expect(degraded.body.metadata).toMatchObject({ configVersion: version, stale: true });
    expect(degraded.body.metadata.staleReason).toMatch(/version beacon \(injected fault\); changes reach this isolate through KV alone/);
    expect(degraded.headers.get("x-edgeflags-stale")).toBe("beacon-unavailable");
    // KV still brings changes.
    const toggled = await call("POST", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/toggle`);
    edgeState.knownVersions.delete(environmentKey(project, "production"));
    await drainOutbox(project);
    await send(overrides, key); // revalidates against KV after the response
    const fromKv = await send(overrides, key);
    expect(fromKv.body).toMatchObject({ reason: "DISABLED", metadata: { configVersion: toggled.body.version, stale: true } });
    const seen = FreshnessSchema.parse((await send(overrides, key, true, "/edge/v1/freshness")).body);
    expect(seen.environments[0]).toMatchObject({ snapshot: { source: "kv", stale: { reason: "beacon-unavailable" } } });
  });
});

describe("the FlagStore's edgeVersion", () => {
  it("answers the version, with the snapshot only when it is newer than the one the edge has", async () => {
    const { version } = await setupProject("beacon-rpc");
    expect(await store("beacon-rpc").edgeVersion("production", version)).toMatchObject({ version, snapshot: null });
    const newer = await store("beacon-rpc").edgeVersion("production", version - 1);
    expect(newer?.snapshot?.version).toBe(version);
    expect(await store("beacon-rpc").edgeVersion("nowhere", 0)).toBeNull();
  });
});

describe("GET /edge/v1/freshness", () => {
  it("shows a server key its environment, the admin token every environment held, and refuses a client key or no credential", async () => {
    const project = "freshness-route";
    const { key, version } = await setupProject(project, undefined, "server");
    await send({}, key);
    const own = FreshnessSchema.parse((await send({}, key, true, "/edge/v1/freshness")).body);
    expect(own.environments).toHaveLength(1);
    expect(own.environments[0]).toMatchObject({
      project,
      environment: "production",
      snapshot: { version, source: expect.stringMatching(/^(kv|store|location-cache)$/), stale: null },
      behind: false,
    });
    expect(own.environments[0]!.snapshot!.ageMs).toBeGreaterThanOrEqual(0);
    const all = FreshnessSchema.parse((await send({}, env.ADMIN_TOKEN, true, "/edge/v1/freshness")).body);
    expect(all.environments.map((e) => e.project)).toContain(project);
    const client = await call("POST", `/admin/v1/projects/${project}/environments/production/keys`, { body: { scope: "client" } });
    await drainOutbox(project);
    expect((await send({}, client.body.key, true, "/edge/v1/freshness")).status).toBe(403);
    expect((await call("GET", "/edge/v1/freshness", { token: null })).status).toBe(401);
    expect((await send({}, "ef_not_a_real_key_0000000000000000", true, "/edge/v1/freshness")).status).toBe(401);
  });

  it("throttles guesses at the admin token or a server key per address (429, Retry-After), never a clean address", async () => {
    const from = (address: string, token: string) => call("GET", "/edge/v1/freshness", { token, headers: { "cf-connecting-ip": address } });
    try {
      expect((await from("203.0.113.7", `guess-0-${"x".repeat(32)}`)).status).toBe(401);
      // Within the budget of failures (fewer when the route's guesses from elsewhere count too), a 429.
      let last = await from("203.0.113.7", `guess-1-${"x".repeat(32)}`);
      for (let i = 2; last.status === 401 && i <= AUTH_FAILURE_BUDGET; i++)
        last = await from("203.0.113.7", `guess-${i}-${"x".repeat(32)}`);
      expect(last.status).toBe(429);
      expect(Number(last.headers.get("retry-after"))).toBeGreaterThan(0);
      // Blocked before the credential is checked: the right token from that address learns nothing.
      expect((await from("203.0.113.7", env.ADMIN_TOKEN)).status).toBe(429);
      // Another address with the right token is served.
      expect((await from("198.51.100.9", env.ADMIN_TOKEN)).status).toBe(200);
    } finally {
      resetAuthThrottle();
    }
  });
});
