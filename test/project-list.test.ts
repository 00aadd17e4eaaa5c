/**
 * `GET /admin/v1/projects`: the bootstrap token lists the registry a page at a time, an admin key
 * its own project, a person signed in through Cloudflare Access every project whose single sign-on
 * gives them a role; a registry that fails or hangs is a 503 with Retry-After, never a crash.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { certsUrl, useCertsFetch } from "../admin/access";
import { resetAuthThrottle } from "../admin/throttle";
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
  }
});
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

  it("answers 503 with Retry-After when the registry list fails (a hang is the same deadline, tested above)", async () => {
    const answer = await withFailingList("throws", { "cf-access-jwt-assertion": await person("vic@example.com") });
    expect(answer.status).toBe(503);
    expect(answer.headers.get("retry-after")).toBe("5");
  });
});
