/**
 * What the console's "live at the edge" line reads (`/console/p/:project/edge-status`): queued,
 * with the last error, while the FlagStore cannot write the snapshot to KV; live once it has.
 * And `GET /admin/v1/projects` for a console session: its own project for an admin key's.
 */
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { consoleSignIn } from "./console-helpers";
import { describe, expect, it } from "vitest";
import { EdgeStatusSchema } from "../contracts/edge-status";
import { ADMIN_TOKEN, call, drainOutbox, setupProject, store } from "./helpers";

const ORIGIN = "http://edgeflags.test";

const signIn = consoleSignIn;

async function get(path: string, cookie: string) {
  const response = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { headers: { cookie } }));
  return { status: response.status, body: await response.json<unknown>() };
}

describe("the console's edge status", () => {
  it("says queued with the last error while KV refuses the snapshot, and live once it is written", async () => {
    await setupProject("edge-status");
    const cookie = await signIn("edge-status", ADMIN_TOKEN);
    await runInDurableObject(store("edge-status"), (instance) => {
      const failing = Object.create(env.FLAGS_KV) as KVNamespace;
      failing.put = async () => {
        throw new Error("KV is unavailable");
      };
      Object.assign(instance, { env: { ...env, FLAGS_KV: failing } });
    });
    const toggled = await call("POST", "/admin/v1/projects/edge-status/environments/production/flags/kill-switch/toggle", {
      body: { state: "DISABLED", reason: "edge status test" },
    });
    expect(toggled.status).toBe(200);
    const version: number = toggled.body.version;
    await drainOutbox("edge-status");
    const path = `/console/p/edge-status/edge-status?env=production&version=${version}`;

    const queued = await get(path, cookie);
    expect(queued.status).toBe(200);
    expect(EdgeStatusSchema.parse(queued.body)).toMatchObject({
      state: "queued",
      version,
      committed: version,
      published: version - 1,
      pending: { attempts: expect.any(Number), lastError: "KV is unavailable" },
    });

    await runInDurableObject(store("edge-status"), (instance) => {
      Object.assign(instance, { env });
    });
    await drainOutbox("edge-status");
    const live = await get(path, cookie);
    expect(EdgeStatusSchema.parse(live.body)).toMatchObject({ state: "live", version, published: version, pending: null });
  });

  it("answers 404 for an environment the project does not have", async () => {
    await setupProject("edge-status-404");
    const cookie = await signIn("edge-status-404", ADMIN_TOKEN);
    const missing = await get("/console/p/edge-status-404/edge-status?env=nowhere", cookie);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ detail: expect.stringContaining("nowhere") });
  });

  it("lists only its own project to an admin key's console session", async () => {
    await setupProject("edge-status-key");
    const key = await call("POST", "/admin/v1/projects/edge-status-key/keys", { body: { scope: "admin" } });
    await drainOutbox("edge-status-key");
    const cookie = await signIn("edge-status-key", key.body.key);
    const listed = await get("/admin/v1/projects", cookie);
    expect(listed).toEqual({ status: 200, body: { projects: [{ name: "edge-status-key" }], cursor: null, source: "credential" } });
  });
});
