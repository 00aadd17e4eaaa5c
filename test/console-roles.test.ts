/**
 * Roles in the console: the header names the person and their role; a viewer is offered no
 * control that changes anything, and every form route of the console refuses them (it calls the
 * admin API in-process, whose routes check the role); a person signed in through Cloudflare
 * Access gets their role with no key and no cookie.
 */
import { exports } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certsUrl, useCertsFetch } from "../admin/access";
import { createConsole } from "../admin/ui/index";
import { call, setupProject } from "./helpers";

const ORIGIN = "http://edgeflags.test";
const PROJECT = "console-roles";
const TEAM = "team.cloudflareaccess.com";
const AUDIENCE = "console-roles-aud";

async function request(method: string, path: string, headers: Record<string, string> = {}, form?: Record<string, string>) {
  const init: RequestInit = { method, headers: { ...headers }, redirect: "manual" };
  if (form) {
    init.body = new URLSearchParams(form).toString();
    (init.headers as Record<string, string>)["content-type"] = "application/x-www-form-urlencoded";
  }
  const response = await exports.default.fetch(new Request(`${ORIGIN}${path}`, init));
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function signInWith(role: string): Promise<string> {
  const created = await call("POST", `/admin/v1/projects/${PROJECT}/keys`, { body: { scope: "admin", role, name: `${role} person` } });
  expect(created.status).toBe(201);
  const res = await request("POST", "/console/sign-in", { origin: ORIGIN }, { project: PROJECT, credential: created.body.key });
  expect(res.status, res.text).toBe(303);
  return (res.headers.get("set-cookie") ?? "").split(";")[0]!;
}

const auditLength = async () => (await call("GET", `/admin/v1/projects/${PROJECT}/audit?limit=500`)).body.entries.length;

let signing: CryptoKey;

beforeAll(async () => {
  await setupProject(PROJECT);
  const pair = await generateKeyPair("RS256", { extractable: true });
  signing = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "c1", alg: "RS256" };
  useCertsFetch(async (url) => (url === certsUrl(TEAM) ? Response.json({ keys: [jwk] }) : new Response("", { status: 404 })));
  const members = [
    { email: "ana@example.com", role: "admin" },
    { group: "support", role: "viewer" },
  ];
  expect(
    (await call("PUT", `/admin/v1/projects/${PROJECT}/access`, { body: { teamDomain: TEAM, audience: AUDIENCE, members } })).status,
  ).toBe(200);
});
afterAll(() => useCertsFetch(null));

describe("a viewer in the console", () => {
  it("sees who they are and their role, and is offered no control that changes anything", async () => {
    const cookie = await signInWith("viewer");
    for (const screen of [
      "flags",
      "flags/kill-switch",
      "keys",
      "webhooks",
      "triggers",
      "segments",
      "drafts",
      "environments",
      "migration",
    ]) {
      const page = await request("GET", `/console/p/${PROJECT}/${screen}`, { cookie });
      expect(page.status, screen).toBe(200);
      expect(page.text, screen).toContain("viewer person");
      expect(page.text, screen).toContain("· viewer");
      // Every form that posts is sign-out or "try a context" (an evaluation, a read).
      const posts = [...page.text.matchAll(/<form[^>]*method="post"[^>]*action="([^"]*)"/g)].map((m) => m[1]!);
      expect(
        posts.filter((action) => !action.endsWith("/sign-out") && !action.endsWith("/try")),
        screen,
      ).toEqual([]);
      expect(page.text, screen).not.toMatch(/href="[^"]*\/toggle\?/);
      expect(page.text, screen).not.toContain("data-toggle");
    }
  });

  it("every form route of the console refuses them, changing nothing", async () => {
    const cookie = await signInWith("viewer");
    const before = await auditLength();
    const posts = createConsole(() => new Response(null))
      .routes.filter((r) => r.method === "POST" && r.path.startsWith("/p/:project/"))
      .map((r) => r.path);
    expect(posts.length).toBeGreaterThan(15);
    const params: Record<string, string> = { project: PROJECT, flag: "kill-switch", id: "x", action: "pause", name: "s", delivery: "d" };
    const form = {
      env: "production",
      state: "DISABLED",
      version: "1",
      reason: "test",
      key: "new-flag",
      definition: "{}",
      scope: "admin",
      role: "admin",
    };
    for (const path of posts) {
      const url = `/console${path.replace(/:([A-Za-z]+)/g, (_, name: string) => params[name]!)}`;
      const res = await request("POST", url, { cookie, origin: ORIGIN }, form);
      expect(res.status, url).not.toBe(500);
    }
    expect(await auditLength()).toBe(before);
    const toggle = await request("POST", `/console/p/${PROJECT}/flags/kill-switch/toggle`, { cookie, origin: ORIGIN }, form);
    expect(toggle.status).toBe(403);
    expect(toggle.text).toContain("needs the editor role");
  });

  it("an editor is offered the flag controls but not the keys", async () => {
    const cookie = await signInWith("editor");
    const flags = await request("GET", `/console/p/${PROJECT}/flags`, { cookie });
    expect(flags.text).toMatch(/\/toggle/);
    const keys = await request("GET", `/console/p/${PROJECT}/keys`, { cookie });
    expect(keys.text).not.toMatch(/<form[^>]*method="post"[^>]*action="[^"]*\/keys"/);
  });
});

describe("a person signed in through Cloudflare Access", () => {
  const assertion = (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: "c1" })
      .setIssuer(`https://${TEAM}`)
      .setAudience(AUDIENCE)
      .setExpirationTime("10m")
      .sign(signing);

  it("opens the console with the role their email maps to, with no key and no cookie", async () => {
    const page = await request("GET", `/console/p/${PROJECT}/flags`, {
      "cf-access-jwt-assertion": await assertion({ email: "ana@example.com" }),
    });
    expect(page.status, page.text).toBe(200);
    expect(page.text).toContain("ana@example.com · admin");
    expect(page.headers.get("set-cookie")).toBeNull();
  });

  it("a change made through the console is audited under their name", async () => {
    const jwt = await assertion({ email: "ana@example.com" });
    const headers = { "cf-access-jwt-assertion": jwt, origin: ORIGIN };
    const flag = await call("GET", `/admin/v1/projects/${PROJECT}/environments/production/flags/dark-launch`);
    const res = await request("POST", `/console/p/${PROJECT}/flags/dark-launch/toggle`, headers, {
      env: "production",
      state: "ENABLED",
      version: String(flag.body.version),
      reason: "launch",
      return: `/console/p/${PROJECT}/flags`,
    });
    expect(res.status, res.text).toBe(303);
    const audit = await call("GET", `/admin/v1/projects/${PROJECT}/audit?limit=1`);
    expect(audit.body.entries[0]).toMatchObject({ actor: "user:ana@example.com", reason: "launch" });
  });

  it("a group member gets the group's role; someone with none is told whom to ask", async () => {
    const support = await request("GET", `/console/p/${PROJECT}/flags`, {
      "cf-access-jwt-assertion": await assertion({ email: "sam@example.com", groups: ["support"] }),
    });
    expect(support.text).toContain("sam@example.com · viewer");
    const stranger = await request("GET", `/console/p/${PROJECT}/flags`, {
      "cf-access-jwt-assertion": await assertion({ email: "eve@example.com" }),
    });
    expect(stranger.status).toBe(403);
    expect(stranger.text).toContain("eve@example.com has no role");
    expect(stranger.text).toContain("ana@example.com");
  });

  it("the sign-in page offers to open a project instead of asking for a key", async () => {
    const page = await request("GET", "/console/sign-in", { "cf-access-jwt-assertion": await assertion({ email: "ana@example.com" }) });
    expect(page.text).toContain("signed in through Cloudflare Access");
  });
});
