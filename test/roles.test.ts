/**
 * Roles per project: every admin route declares the permission it needs, and `defineRoute`
 * refuses (403, naming the role and environment needed, changing nothing) a key whose role does
 * not allow it. The write routes are taken from the OpenAPI document, so a new route is covered
 * the day it is added.
 */
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { adminOpenApiDocument } from "../admin/routes";
import { can } from "../contracts/roles";
import { call, drainOutbox, setupProject, store } from "./helpers";

const METHODS = ["get", "put", "post", "patch", "delete"] as const;
type Operation = { security?: unknown[]; "x-edgeflags-role"?: string };

/** Every credentialed operation of the document, with the role it declares and its Hono path. */
function operations() {
  const paths = adminOpenApiDocument().paths as Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
  return Object.entries(paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method] && item[method]!.security?.length !== 0).map((method) => ({
      method,
      path,
      role: item[method]!["x-edgeflags-role"],
    })),
  );
}

const PROJECT = "roles";
const PARAMS: Record<string, string> = { project: PROJECT, env: "production", flag: "kill-switch", id: "x", name: "s", delivery: "d" };
const url = (path: string) => `/admin/v1${path.replace(/\{([A-Za-z]+)\}/g, (_, name: string) => PARAMS[name]!)}`;

/** A new admin-API key of the project with `role` (and environments). */
async function keyWith(role: string, environments?: string[]): Promise<{ key: string; id: string }> {
  const res = await call("POST", `/admin/v1/projects/${PROJECT}/keys`, {
    body: { scope: "admin", role, ...(environments ? { environments } : {}) },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  // Published to the edge's key index, as it is moments after creation (GET /projects finds a
  // key's project there: it has no project in its path).
  await drainOutbox(PROJECT);
  return { key: res.body.key, id: res.body.id };
}

const auditLength = async () => (await call("GET", `/admin/v1/projects/${PROJECT}/audit?limit=500`)).body.entries.length;

beforeAll(async () => {
  await setupProject(PROJECT);
  const qa = await call("PUT", `/admin/v1/projects/${PROJECT}`, { body: { environments: ["development", "staging", "production", "qa"] } });
  expect(qa.status).toBeLessThan(300);
});

describe("the permission table", () => {
  it.each([
    ["viewer", null, "view", "production", true],
    ["viewer", null, "edit", "production", false],
    ["editor", null, "edit", "production", true],
    ["editor", ["qa"], "edit", "qa", true],
    ["editor", ["qa"], "edit", "production", false],
    ["editor", ["qa"], "edit", null, false],
    ["editor", ["qa"], "view", "production", true],
    ["editor", null, "approve", "production", false],
    ["approver", ["qa"], "approve", "qa", true],
    ["approver", ["qa"], "approve", "production", false],
    ["approver", null, "admin", null, false],
    ["admin", null, "admin", null, true],
  ] as const)("%s %j may %s in %s: %s", (role, environments, permission, environment, allowed) => {
    expect(can({ role, environments: environments ? [...environments] : null }, permission, environment)).toBe(allowed);
  });

  it("declares a role on every credentialed operation, and admin on keys, webhooks, triggers, environments, cut-over", () => {
    const ops = operations();
    expect(ops.filter((op) => !op.role)).toEqual([]);
    const role = (method: string, path: string) => ops.find((op) => op.method === method && op.path === path)?.role;
    expect(role("post", "/projects/{project}/keys")).toBe("admin");
    expect(role("post", "/projects/{project}/webhooks")).toBe("admin");
    expect(role("post", "/projects/{project}/triggers")).toBe("admin");
    expect(role("put", "/projects/{project}")).toBe("admin");
    expect(role("post", "/projects/{project}/environments/{env}/migration/cut-over")).toBe("admin");
    expect(role("put", "/projects/{project}/environments/{env}/flags/{flag}")).toBe("editor");
    expect(role("get", "/projects/{project}/keys")).toBe("viewer");
  });
});

describe("a viewer key", () => {
  it("is refused 403 on every operation that needs more than viewer, naming the role, and changes nothing", async () => {
    const { key } = await keyWith("viewer");
    const before = await auditLength();
    const writes = operations().filter((op) => op.role !== "viewer");
    expect(writes.length).toBeGreaterThan(30);
    for (const op of writes) {
      const res = await call(op.method.toUpperCase(), url(op.path), {
        token: key,
        body: op.method === "get" || op.method === "delete" ? undefined : {},
      });
      expect(res.status, `${op.method} ${op.path}`).toBe(403);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.body.detail, `${op.method} ${op.path}`).toMatch(new RegExp(`needs the ${op.role} role`));
    }
    expect(await auditLength()).toBe(before);
  });

  it("reads everything a viewer may read", async () => {
    const { key } = await keyWith("viewer");
    for (const op of operations().filter((op) => op.role === "viewer")) {
      const res = await call(op.method.toUpperCase(), url(op.path), {
        token: key,
        body: op.method === "get" ? undefined : { context: {} },
      });
      expect([401, 403], `${op.method} ${op.path}: ${JSON.stringify(res.body)}`).not.toContain(res.status);
    }
    expect((await call("GET", `/admin/v1/projects/${PROJECT}/environments/production/flags`, { token: key })).status).toBe(200);
    expect((await call("GET", `/admin/v1/projects/${PROJECT}/audit`, { token: key })).status).toBe(200);
    const evaluated = await call("POST", `/admin/v1/projects/${PROJECT}/environments/production/evaluate`, {
      token: key,
      body: { context: {} },
    });
    expect(evaluated.status).toBe(200);
  });
});

describe("an editor limited to qa", () => {
  const flag = { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off" };

  it("changes qa, is refused production and project-wide changes with the role and environment named", async () => {
    const { key, id } = await keyWith("editor", ["qa"]);
    const qa = await call("POST", `/admin/v1/projects/${PROJECT}/environments/qa/flags`, { token: key, body: { key: "qa-only", ...flag } });
    expect(qa.status, JSON.stringify(qa.body)).toBe(201);
    const audit = await call("GET", `/admin/v1/projects/${PROJECT}/audit?limit=1`);
    expect(audit.body.entries[0].actor).toBe(`key:${id}`);

    const before = await auditLength();
    const production = await call("POST", `/admin/v1/projects/${PROJECT}/environments/production/flags/kill-switch/toggle`, { token: key });
    expect(production.status).toBe(403);
    expect(production.body.detail).toContain('needs the editor role for environment "production"');
    expect(production.body.detail).toContain("editor for qa");
    const segment = await call("PUT", `/admin/v1/projects/${PROJECT}/segments/staff`, { token: key, body: { rule: { "==": [1, 1] } } });
    expect(segment.status).toBe(403);
    expect(segment.body.detail).toContain("every environment");
    const webhook = await call("POST", `/admin/v1/projects/${PROJECT}/webhooks`, { token: key, body: { url: "https://example.com/h" } });
    expect(webhook.status).toBe(403);
    expect(webhook.body.detail).toContain("needs the admin role");
    expect(await auditLength()).toBe(before);
  });
});

describe("an approver and an admin key", () => {
  it("an approver edits every environment but cannot manage keys", async () => {
    const { key } = await keyWith("approver");
    expect(
      (await call("POST", `/admin/v1/projects/${PROJECT}/environments/production/flags/dark-launch/toggle`, { token: key })).status,
    ).toBe(200);
    const refused = await call("POST", `/admin/v1/projects/${PROJECT}/keys`, { token: key, body: { scope: "admin", role: "admin" } });
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toContain("needs the admin role");
  });

  it("an admin key creates keys and webhooks", async () => {
    const { key } = await keyWith("admin");
    const created = await call("POST", `/admin/v1/projects/${PROJECT}/keys`, { token: key, body: { scope: "admin", role: "viewer" } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ role: "viewer", environments: null });
    const hook = await call("POST", `/admin/v1/projects/${PROJECT}/webhooks`, {
      token: key,
      body: { url: "https://example.com/h", events: ["trigger.fired"] },
    });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  });
});

describe("keys with roles", () => {
  it("an admin key made before roles (no role row) keeps admin", async () => {
    const { key, id } = await keyWith("viewer");
    expect((await call("POST", `/admin/v1/projects/${PROJECT}/environments/qa/flags/qa-only/toggle`, { token: key })).status).toBe(403);
    await runInDurableObject(store(PROJECT), (_instance, state) => {
      state.storage.sql.exec("DELETE FROM key_grants WHERE key_id = ?", id);
    });
    expect((await call("POST", `/admin/v1/projects/${PROJECT}/environments/qa/flags/qa-only/toggle`, { token: key })).status).toBe(200);
    const listed = await call("GET", `/admin/v1/projects/${PROJECT}/keys`);
    expect(listed.body.find((k: { id: string }) => k.id === id)).toMatchObject({ role: "admin", environments: null });
  });

  it("a rotated key keeps its role and environments", async () => {
    const { id } = await keyWith("editor", ["qa"]);
    const rotated = await call("POST", `/admin/v1/projects/${PROJECT}/keys/${id}/rotate`, { body: {} });
    expect(rotated.status).toBe(201);
    expect(rotated.body.key).toMatchObject({ role: "editor", environments: ["qa"] });
    const production = await call("POST", `/admin/v1/projects/${PROJECT}/environments/production/flags/kill-switch/toggle`, {
      token: rotated.body.key.key,
    });
    expect(production.status).toBe(403);
  });

  it.each([
    [{ role: "viewer", environments: ["qa"] }, "only an editor or approver"],
    [{ role: "admin", environments: ["qa"] }, "only an editor or approver"],
    [{ role: "editor", environments: ["nowhere"] }, 'environments name "nowhere"'],
    [{ role: "editor", environments: [] }, "at least one environment"],
    [{ role: "owner" }, "role"],
  ])("refuses %j, creating nothing", async (body, detail) => {
    const before = (await call("GET", `/admin/v1/projects/${PROJECT}/keys`)).body.length;
    const res = await call("POST", `/admin/v1/projects/${PROJECT}/keys`, { body: { scope: "admin", ...body } });
    expect(res.status).toBe(400);
    expect(res.body.detail).toContain(detail);
    expect((await call("GET", `/admin/v1/projects/${PROJECT}/keys`)).body.length).toBe(before);
  });
});
