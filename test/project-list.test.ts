/**
 * `GET /admin/v1/projects`: the bootstrap token lists the registry a page at a time, an admin key
 * its own project, a person signed in through Cloudflare Access every project whose single sign-on
 * gives them a role — from the single sign-on index in KV, without waking any FlagStore; a registry
 * or index that fails or hangs is a 503 with Retry-After, never a crash.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { certsUrl, useCertsFetch } from "../admin/access";
import { accessIndexWrite } from "../contracts/access-index";
import { resetAuthThrottle } from "../lib/auth-throttle";
import worker from "../worker/index";
import { call, drainOutbox } from "./helpers";

const TEAM = "lists.cloudflareaccess.com";
const AUDIENCE = "project-list-aud";
let signing: CryptoKey;
let stranger: CryptoKey;

/** An identity token as Access issues it, for `email` in `groups`. */
function person(email: string, groups: string[] = [], key?: CryptoKey) {
  return new SignJWT({ email, groups })
    .setProtectedHeader({ alg: "RS256", kid: "l1" })
    .setIssuer(`https://${TEAM}`)
    .setAudience(AUDIENCE)
    .setExpirationTime("10m")
    .sign(key ?? signing);
}

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
  const pair = await generateKeyPair("RS256", { extractable: true });
  signing = pair.privateKey;
  stranger = (await generateKeyPair("RS256")).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "l1", alg: "RS256" };
  useCertsFetch(async (url) => (url === certsUrl(TEAM) ? Response.json({ keys: [jwk] }) : new Response("", { status: 404 })));
  // pl-alpha: the QA group edits, vic views; pl-bravo: vic is admin; pl-charlie has no single sign-on.
  const members = {
    "pl-alpha": [
      { group: "qa-team", role: "editor" },
      { email: "vic@example.com", role: "viewer" },
    ],
    "pl-bravo": [{ email: "Vic@example.com", role: "admin" }],
  };
  for (const [project, list] of Object.entries(members)) {
    const put = await call("PUT", `/admin/v1/projects/${project}/access`, {
      body: { teamDomain: TEAM, audience: AUDIENCE, members: list },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    await publishAccessIndex(project);
  }
});

/**
 * Writes `project`'s single sign-on index entry as the FlagStore's outbox does after its single
 * sign-on changes (`accessIndexWrite`), from the settings the admin API answers.
 */
async function publishAccessIndex(project: string): Promise<void> {
  const read = await call("GET", `/admin/v1/projects/${project}/access`);
  const write = await accessIndexWrite(project, read.status === 200 ? read.body : null);
  if ("delete" in write) await env.FLAGS_KV.delete(write.key);
  else await env.FLAGS_KV.put(write.key, write.value, { metadata: write.metadata });
}

/** Calls the Worker as a person behind Access with no FlagStore reachable and FLAGS_KV's reads counted (or made to hang). */
async function withoutStores(jwt: string, options: { hangOnGet?: boolean } = {}) {
  const reads: string[] = [];
  const kv = new Proxy(env.FLAGS_KV, {
    get(target, prop) {
      if (prop === "get") {
        return (key: string, type: unknown) => {
          reads.push(key);
          return options.hangOnGet && key.startsWith("access:") ? new Promise<never>(() => {}) : target.get(key, type as "json");
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const noStore = {
    idFromName: () => {
      throw new Error("the project list asked a FlagStore");
    },
    get: () => {
      throw new Error("the project list asked a FlagStore");
    },
  };
  const request = new Request("http://edgeflags.test/admin/v1/projects", { headers: { "cf-access-jwt-assertion": jwt } });
  // Test doubles stand in for the bindings.
  const response = await worker.fetch(request, { ...env, FLAGS_KV: kv, FLAG_STORE: noStore } as unknown as Env, createExecutionContext());
  return { status: response.status, headers: response.headers, body: await response.json<any>(), reads };
}
afterAll(() => useCertsFetch(null));
beforeEach(() => resetAuthThrottle());

/** GET /admin/v1/projects as a person behind Access: no key, no cookie. */
const asPerson = async (jwt: string, query = "") =>
  call("GET", `/admin/v1/projects${query}`, { token: null, headers: { "cf-access-jwt-assertion": jwt } });

/** Calls the Worker with FLAGS_KV's `list` replaced (a thrown error, or a call that never settles). */
async function withFailingList(
  fault: "throws" | "hangs",
  headers: Record<string, string> = { authorization: `Bearer ${env.ADMIN_TOKEN}` },
) {
  const kv = new Proxy(env.FLAGS_KV, {
    get(target, prop) {
      if (prop === "list") return () => (fault === "throws" ? Promise.reject(new Error("injected fault")) : new Promise<never>(() => {}));
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const request = new Request("http://edgeflags.test/admin/v1/projects", { headers });
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

describe("GET /admin/v1/projects for a person signed in through Cloudflare Access", () => {
  it.each([
    ["a group's editor", () => person("qa@example.com", ["qa-team"]), ["pl-alpha"]],
    ["a person with roles in two projects (email matched without case)", () => person("vic@example.com"), ["pl-alpha", "pl-bravo"]],
    ["a person with no role anywhere", () => person("eve@example.com"), []],
  ] as const)("lists the projects where %s holds a role", async (_label, jwt, projects) => {
    const listed = await asPerson(await jwt());
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    expect(listed.body).toEqual({ projects: projects.map((name) => ({ name })), cursor: null, source: "access" });
  });

  it("pages through the registry with the cursor", async () => {
    const jwt = await person("vic@example.com");
    const first = await asPerson(jwt, "?limit=1");
    expect(first.body).toEqual({ projects: [{ name: "pl-alpha" }], cursor: expect.any(String), source: "access" });
    const second = await asPerson(jwt, `?limit=2&cursor=${encodeURIComponent(first.body.cursor)}`);
    expect(second.body).toEqual({ projects: [{ name: "pl-bravo" }], cursor: null, source: "access" });
  });

  it("refuses a token no project's single sign-on accepts with a 401", async () => {
    const forged = await asPerson(await person("vic@example.com", [], stranger));
    expect(forged.status).toBe(401);
    expect(forged.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(forged.body.detail).toContain("not accepted by any project");
  });

  it("is built from the single sign-on index alone: no FlagStore asked, only the projects the token may be in read", async () => {
    const vic = await withoutStores(await person("vic@example.com"));
    expect(vic.status, JSON.stringify(vic.body)).toBe(200);
    expect(vic.body).toEqual({ projects: [{ name: "pl-alpha" }, { name: "pl-bravo" }], cursor: null, source: "access" });
    expect(vic.reads.filter((key) => key.startsWith("access:")).sort()).toEqual(["access:pl-alpha", "access:pl-bravo"]);
    // The QA group is tagged in pl-alpha only: pl-bravo's entry is not read.
    const qa = await withoutStores(await person("qa@example.com", ["qa-team"]));
    expect(qa.body.projects).toEqual([{ name: "pl-alpha" }]);
    expect(qa.reads.filter((key) => key.startsWith("access:"))).toEqual(["access:pl-alpha"]);
    // Nobody's tag: one entry is read to tell a valid token with no role (200, empty) from a bad one (401).
    const eve = await withoutStores(await person("eve@example.com"));
    expect(eve.body).toEqual({ projects: [], cursor: null, source: "access" });
    expect(eve.reads.filter((key) => key.startsWith("access:"))).toHaveLength(1);
  });

  it("reads an entry whose members are too many to tag, and follows a project's single sign-on being removed", async () => {
    const project = "pl-delta";
    expect((await call("PUT", `/admin/v1/projects/${project}`, { body: { environments: ["production"] } })).status).toBe(201);
    const members = [
      ...Array.from({ length: 200 }, (_, i) => ({ email: `person-${i}@example.com`, role: "viewer" })),
      { group: "qa-team", role: "viewer" },
    ];
    const put = await call("PUT", `/admin/v1/projects/${project}/access`, { body: { teamDomain: TEAM, audience: AUDIENCE, members } });
    expect(put.status).toBe(200);
    await publishAccessIndex(project);
    const write = await accessIndexWrite(project, put.body);
    expect("metadata" in write && write.metadata.who).toBeUndefined();
    const qa = await withoutStores(await person("qa@example.com", ["qa-team"]));
    expect(qa.body.projects).toEqual([{ name: "pl-alpha" }, { name: "pl-delta" }]);
    expect((await call("DELETE", `/admin/v1/projects/${project}/access`)).status).toBeLessThan(300);
    await publishAccessIndex(project);
    expect((await withoutStores(await person("qa@example.com", ["qa-team"]))).body.projects).toEqual([{ name: "pl-alpha" }]);
  });

  it("answers 503 with Retry-After when an index entry is not read in time", async () => {
    const answer = await withoutStores(await person("vic@example.com"), { hangOnGet: true });
    expect(answer.status).toBe(503);
    expect(answer.headers.get("retry-after")).toBe("5");
    expect(answer.body.detail).toContain("could not be read just now");
  });

  it.each(["throws", "hangs"] as const)(
    "answers 503 with Retry-After when the single sign-on index list %s",
    async (fault) => {
      const answer = await withFailingList(fault, { "cf-access-jwt-assertion": await person("vic@example.com") });
      expect(answer.status).toBe(503);
      expect(answer.headers.get("retry-after")).toBe("5");
      expect(answer.headers.get("content-type")).toMatch(/application\/problem\+json/);
      expect(answer.body.detail).toBe("the single sign-on index (KV) could not be listed just now; retry shortly");
      // A hang is waited out through the list's deadline.
    },
    15_000,
  );
});
