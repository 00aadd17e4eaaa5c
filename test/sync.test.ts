import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { snapshotKvKey } from "../contracts/snapshot";
import { edgeState, environmentKey } from "../worker/edge-state";
import { BEACON_INTERVAL_MS } from "../worker/freshness-beacon";
import { callWithBindings } from "./edge-call";
import { call, demoFlags, drainOutbox, setupProject } from "./helpers";

describe("raw flag set for server-side evaluation", () => {
  it("serves the environment's flagd flag set to a server key, with ETag and 304", async () => {
    const { key, version } = await setupProject("sync-server", demoFlags, "server");
    const first = await call("GET", "/sync/v1/flagd", { token: key });
    expect(first.status).toBe(200);
    expect(first.body).toEqual(demoFlags);
    expect(first.headers.get("etag")).toBe(`"${version}"`);
    const again = await call("GET", "/sync/v1/flagd", { token: key, headers: { "if-none-match": `"${version}"` } });
    expect(again.status).toBe(304);
    await call("POST", "/admin/v1/projects/sync-server/environments/production/flags/kill-switch/toggle");
    const changed = await call("GET", "/sync/v1/flagd", { token: key, headers: { "if-none-match": `"${version}"` } });
    expect(changed.status).toBe(200);
    expect(changed.body.flags["kill-switch"].state).toBe("DISABLED");
    expect(changed.headers.get("etag")).toBe(`"${version + 1}"`);
  });

  it("never shows raw rules to a client key or an admin key", async () => {
    const { key } = await setupProject("sync-client");
    const client = await call("GET", "/sync/v1/flagd", { token: key });
    expect(client.status).toBe(403);
    expect(JSON.stringify(client.body)).not.toContain("fractional");
    const admin = await call("POST", "/admin/v1/projects/sync-client/keys", { body: { scope: "admin" } });
    await drainOutbox("sync-client");
    expect((await call("GET", "/sync/v1/flagd", { token: admin.body.key })).status).toBe(403);
    expect((await call("GET", "/sync/v1/flagd", { token: "ef_server_unknown" })).status).toBe(401);
    expect((await call("GET", "/sync/v1/flagd", { token: null })).status).toBe(401);
  });
});

describe("a syncing daemon and the kill switch's fast path", () => {
  /** FLAGS_KV that keeps answering the environment's snapshot as it was: a KV whose replicas lag. */
  async function laggingKv(project: string): Promise<KVNamespace> {
    const real = env.FLAGS_KV;
    const frozen = await real.getWithMetadata(snapshotKvKey(project, "production"), "text");
    return {
      get: real.get.bind(real),
      getWithMetadata: async (name: string) =>
        name === snapshotKvKey(project, "production") ? frozen : real.getWithMetadata(name, "text"),
      list: real.list.bind(real),
      put: real.put.bind(real),
      delete: real.delete.bind(real),
    } as unknown as KVNamespace;
  }

  it("answers a changed flag set within a beacon interval while KV still has the old one", async () => {
    const project = "sync-beacon";
    const { key, version } = await setupProject(project, demoFlags, "server");
    // No background KV revalidation: only the location's version beacon can bring the change.
    const overrides = { FLAGS_KV: await laggingKv(project), SNAPSHOT_REFRESH_SECONDS: "3600" };
    const poll = () =>
      callWithBindings(overrides, "/sync/v1/flagd", { key, method: "GET", wait: true, headers: { "if-none-match": `"${version}"` } });
    expect((await poll()).status).toBe(304);
    const toggled = await call("POST", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/toggle`);
    // Another isolate served the write: this one has not seen its version.
    edgeState.knownVersions.delete(environmentKey(project, "production"));
    expect((await poll()).status).toBe(304); // within the interval: the snapshot in memory
    await new Promise((resolve) => setTimeout(resolve, BEACON_INTERVAL_MS + 50));
    await poll(); // reads the beacon, refreshes it from the store after the response
    const changed = await poll();
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).toBe(`"${toggled.body.version}"`);
    expect(changed.body.flags["kill-switch"].state).toBe("DISABLED");
  });
});
