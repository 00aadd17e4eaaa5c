import { describe, expect, it } from "vitest";
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
