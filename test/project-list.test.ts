/**
 * `GET /admin/v1/projects`: the bootstrap token lists the registry a page at a time, an admin key
 * its own project; a registry that fails or hangs is a 503 with Retry-After, never a crash.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../worker/index";
import { call, drainOutbox } from "./helpers";

const PROJECTS = ["pl-alpha", "pl-bravo", "pl-charlie"];
let adminKey: string;
let clientKey: string;

beforeAll(async () => {
  for (const project of PROJECTS) {
    const created = await call("PUT", `/admin/v1/projects/${project}`, { body: { environments: ["production"] } });
    expect(created.status).toBe(201);
  }
  adminKey = (await call("POST", "/admin/v1/projects/pl-bravo/keys", { body: { scope: "admin" } })).body.key;
  clientKey = (await call("POST", "/admin/v1/projects/pl-bravo/environments/production/keys", { body: { scope: "client" } })).body.key;
  // The key index reaches KV through the outbox.
  await drainOutbox("pl-bravo");
});

/** Calls the Worker with FLAGS_KV's `list` replaced (a thrown error, or a call that never settles). */
async function withFailingList(fault: "throws" | "hangs") {
  const kv = new Proxy(env.FLAGS_KV, {
    get(target, prop) {
      if (prop === "list") return () => (fault === "throws" ? Promise.reject(new Error("injected fault")) : new Promise<never>(() => {}));
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const request = new Request("http://edgeflags.test/admin/v1/projects", { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } });
  // A test double stands in for the binding.
  const response = await worker.fetch(request, { ...env, FLAGS_KV: kv } as Env, createExecutionContext());
  return { status: response.status, headers: response.headers, body: await response.json<any>() };
}

describe("GET /admin/v1/projects", () => {
  it("lists every registered project to the bootstrap token, one page at a time", async () => {
    const first = await call("GET", "/admin/v1/projects?limit=2");
    expect(first.status).toBe(200);
    expect(first.body.source).toBe("registry");
    expect(first.body.projects).toHaveLength(2);
    expect(first.body.cursor).toEqual(expect.any(String));
    const second = await call("GET", `/admin/v1/projects?limit=2&cursor=${encodeURIComponent(first.body.cursor)}`);
    expect(second.status).toBe(200);
    expect(second.body.cursor).toBeNull();
    const names = [...first.body.projects, ...second.body.projects].map((p: { name: string }) => p.name);
    expect(names.sort()).toEqual(PROJECTS);
  });

  it("lists only its own project to an admin key", async () => {
    const listed = await call("GET", "/admin/v1/projects", { token: adminKey });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ projects: [{ name: "pl-bravo" }], cursor: null, source: "credential" });
  });

  it.each([
    ["a client key", (): string | null => clientKey, 403],
    ["a made-up token", (): string | null => "not-a-real-token", 401],
    ["a key-shaped credential nobody issued", (): string | null => `ef_admin_${"x".repeat(32)}`, 401],
    ["no credential", (): string | null => null, 401],
  ] as const)("refuses %s", async (_label, token, status) => {
    const refused = await call("GET", "/admin/v1/projects", { token: token() });
    expect(refused.status).toBe(status);
    expect(refused.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(JSON.stringify(refused.body)).not.toContain("(projects)");
  });

  it.each([
    ["limit=0", "?limit=0"],
    ["limit=5000", "?limit=5000"],
    ["a cursor with spaces", "?cursor=a%20b"],
  ])("refuses %s with a 400 saying what it takes", async (_label, query) => {
    const refused = await call("GET", `/admin/v1/projects${query}`);
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toContain("?limit=1..1000");
  });

  it.each(["throws", "hangs"] as const)(
    "answers 503 with Retry-After when the registry list %s",
    async (fault) => {
      const answer = await withFailingList(fault);
      expect(answer.status).toBe(503);
      expect(answer.headers.get("retry-after")).toBe("5");
      expect(answer.headers.get("content-type")).toMatch(/application\/problem\+json/);
      expect(answer.body.detail).toContain("could not be listed");
      // A hang is waited out through the list's deadline.
    },
    15_000,
  );
});
