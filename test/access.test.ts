/**
 * Single sign-on through Cloudflare Access: a project's settings (admin, audited), and identity
 * tokens verified against the team's key set, served here from a local key pair through the
 * injectable fetch. A token with a wrong audience or issuer, an expired one or one signed by an
 * unknown key is refused; an email or a group maps to its role; the audit log names the person.
 */
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { certsUrl, useCertsFetch, verifyAccess } from "../admin/access";
import { resetAuthThrottle } from "../lib/auth-throttle";
import { env } from "cloudflare:workers";
import { accessIndexKvKey, AccessIndexMetadataSchema, memberTag } from "../contracts/access-index";
import { call, drainOutbox, setupProject } from "./helpers";

const PROJECT = "sso";
const TEAM = "acme.cloudflareaccess.com";
const AUDIENCE = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
const ORIGIN = "http://edgeflags.test";
const MEMBERS = [
  { email: "Ana@example.com", role: "admin" },
  { email: "vic@example.com", role: "viewer" },
  { group: "qa-team", role: "editor", environments: ["staging"] },
];

let signing: CryptoKey;
let stranger: CryptoKey;
let published: JWK[];
let certFetches = 0;
let certsDown: "no" | "throw" | "hang" = "no";

/** A token as Access issues it, with the claims overridden. */
async function token(
  claims: Record<string, unknown> = {},
  options: { key?: CryptoKey; kid?: string; iss?: string; aud?: string; exp?: number } = {},
) {
  return new SignJWT({ email: "ana@example.com", type: "app", ...claims })
    .setProtectedHeader({ alg: "RS256", kid: options.kid ?? "k1" })
    .setIssuer(options.iss ?? `https://${TEAM}`)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 600)
    .sign(options.key ?? signing);
}

/** An admin call carrying an Access token instead of a Bearer credential. */
function asPerson(method: string, path: string, jwt: string, body?: unknown) {
  return call(method, `/admin/v1/projects/${PROJECT}${path}`, {
    token: null,
    body,
    headers: { "cf-access-jwt-assertion": jwt, origin: ORIGIN },
  });
}

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  signing = pair.privateKey;
  stranger = (await generateKeyPair("RS256")).privateKey;
  published = [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" }];
  useCertsFetch(async (url) => {
    certFetches++;
    if (certsDown === "throw") throw new Error("connection reset");
    if (certsDown === "hang") return new Promise<Response>(() => {});
    return url === certsUrl(TEAM) ? Response.json({ keys: published }) : new Response("not found", { status: 404 });
  });
  await setupProject(PROJECT);
  const put = await call("PUT", `/admin/v1/projects/${PROJECT}/access`, {
    body: { teamDomain: TEAM, audience: AUDIENCE, members: MEMBERS },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
});
afterAll(() => useCertsFetch(null));
beforeEach(() => {
  resetAuthThrottle();
  certsDown = "no";
});

describe("single sign-on settings", () => {
  it("are stored, read back and audited; the same settings again change nothing", async () => {
    const read = await call("GET", `/admin/v1/projects/${PROJECT}/access`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ teamDomain: TEAM, audience: AUDIENCE, members: MEMBERS, updatedBy: "token:bootstrap" });
    const audit = await call("GET", `/admin/v1/projects/${PROJECT}/audit?action=access.configured`);
    expect(audit.body.entries).toHaveLength(1);
    const again = await call("PUT", `/admin/v1/projects/${PROJECT}/access`, {
      body: { teamDomain: TEAM, audience: AUDIENCE, members: MEMBERS },
    });
    expect(again.body.changed).toBe(false);
    expect((await call("GET", `/admin/v1/projects/${PROJECT}/audit?action=access.configured`)).body.entries).toHaveLength(1);
  });

  it("reach the single sign-on index in KV through the outbox, and leave it when removed", async () => {
    const other = "sso-indexed";
    await setupProject(other);
    const settings = { teamDomain: TEAM, audience: AUDIENCE, members: [{ email: "Bo@example.com", role: "viewer" }] };
    expect((await call("PUT", `/admin/v1/projects/${other}/access`, { body: settings })).status).toBe(200);
    await drainOutbox(other);
    const entry = await env.FLAGS_KV.getWithMetadata(accessIndexKvKey(other), "json");
    expect(entry.value).toMatchObject({ project: other, ...settings });
    const metadata = AccessIndexMetadataSchema.parse(entry.metadata);
    expect(metadata).toEqual({ teamDomain: TEAM, audience: AUDIENCE, who: [await memberTag({ email: "bo@example.com" })] });
    expect((await call("DELETE", `/admin/v1/projects/${other}/access`)).status).toBeLessThan(300);
    await drainOutbox(other);
    expect(await env.FLAGS_KV.get(accessIndexKvKey(other))).toBeNull();
  });

  it.each([
    [{ teamDomain: `https://${TEAM}`, audience: AUDIENCE, members: [] }, "without https://"],
    [{ teamDomain: TEAM, audience: AUDIENCE, members: [{ email: "a@b.c", group: "g", role: "admin" }] }, "either an email or a group"],
    [
      { teamDomain: TEAM, audience: AUDIENCE, members: [{ email: "a@b.c", role: "viewer", environments: ["qa"] }] },
      "only an editor or approver",
    ],
    [{ teamDomain: TEAM, audience: AUDIENCE, members: [{ group: "g", role: "editor", environments: ["nowhere"] }] }, '"nowhere"'],
    [{ teamDomain: TEAM, members: [] }, "audience"],
  ])("refuses %j, changing nothing", async (body, detail) => {
    const res = await call("PUT", `/admin/v1/projects/${PROJECT}/access`, { body });
    expect(res.status).toBe(400);
    expect(res.body.detail).toContain(detail);
    expect((await call("GET", `/admin/v1/projects/${PROJECT}/access`)).body.members).toEqual(MEMBERS);
  });
});

describe("an Access identity token", () => {
  it("signs a person in with the role their email maps to, and the audit log names them", async () => {
    const jwt = await token();
    expect((await asPerson("GET", "", jwt)).status).toBe(200);
    const toggled = await asPerson("POST", "/environments/production/flags/dark-launch/toggle", jwt);
    expect(toggled.status, JSON.stringify(toggled.body)).toBe(200);
    const audit = await call("GET", `/admin/v1/projects/${PROJECT}/audit?limit=1`);
    expect(audit.body.entries[0]).toMatchObject({ actor: "user:ana@example.com", action: expect.stringMatching(/^flag\./) });
  });

  it("maps a group to its role: an editor of staging changes staging, not production", async () => {
    const jwt = await token({ email: "qa@example.com", groups: ["qa-team"] });
    const staging = await asPerson("POST", "/environments/staging/flags", jwt, {
      key: "qa-flag",
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
    });
    expect(staging.status, JSON.stringify(staging.body)).toBe(201);
    const production = await asPerson("POST", "/environments/production/flags/kill-switch/toggle", jwt);
    expect(production.status).toBe(403);
    expect(production.body.detail).toContain('needs the editor role for environment "production"');
  });

  it("a viewer reads and is refused every change", async () => {
    const jwt = await token({ email: "vic@example.com" });
    expect((await asPerson("GET", "/environments/production/flags", jwt)).status).toBe(200);
    const refused = await asPerson("POST", "/environments/production/flags/kill-switch/toggle", jwt);
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toContain("user:vic@example.com is viewer");
  });

  it("a person with no role is refused 403 saying whom to ask", async () => {
    const res = await asPerson("GET", "", await token({ email: "eve@example.com" }));
    expect(res.status).toBe(403);
    expect(res.body.detail).toContain('eve@example.com has no role in project "sso"');
    expect(res.body.detail).toContain("Ana@example.com");
  });

  it.each([
    ["another audience", () => token({}, { aud: "someone-else" }), "another application"],
    ["another issuer", () => token({}, { iss: "https://evil.cloudflareaccess.com" }), "not issued by https://acme.cloudflareaccess.com"],
    ["an expired token", () => token({}, { exp: Math.floor(Date.now() / 1000) - 120 }), "expired"],
    ["a key the team does not publish", () => token({}, { key: stranger, kid: "k-unknown" }), "does not publish"],
    ["a forged signature under a published key id", () => token({}, { key: stranger }), "signature does not verify"],
    ["no email (a service token)", () => token({ email: undefined, common_name: "ci" }), "names no email"],
    ["not a token at all", async () => "not-a-jwt", "not a valid Cloudflare Access token"],
  ])("refuses %s with 401, changing nothing", async (_label, make, detail) => {
    const before = (await call("GET", `/admin/v1/projects/${PROJECT}/audit?limit=500`)).body.entries.length;
    const res = await asPerson("POST", "/environments/production/flags/kill-switch/toggle", await make());
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.detail).toContain(detail);
    expect((await call("GET", `/admin/v1/projects/${PROJECT}/audit?limit=500`)).body.entries.length).toBe(before);
  });

  it("a write from another origin is refused even with a valid token", async () => {
    const res = await call("POST", `/admin/v1/projects/${PROJECT}/environments/production/flags/kill-switch/toggle`, {
      token: null,
      headers: { "cf-access-jwt-assertion": await token(), origin: "https://evil.example" },
    });
    expect(res.status).toBe(403);
  });

  it("a project without single sign-on refuses tokens", async () => {
    await setupProject("no-sso");
    const res = await call("GET", "/admin/v1/projects/no-sso", { token: null, headers: { "cf-access-jwt-assertion": await token() } });
    expect(res.status).toBe(401);
    expect(res.body.detail).toContain("single sign-on is not set up");
  });
});

describe("the team's key set", () => {
  it("is cached, and fetched again when a token names a key it does not hold (rotation)", async () => {
    useCertsFetch(null);
    useCertsFetch(async (url) => {
      certFetches++;
      return url === certsUrl(TEAM) ? Response.json({ keys: published }) : new Response("", { status: 404 });
    });
    certFetches = 0;
    await asPerson("GET", "", await token());
    await asPerson("GET", "", await token());
    expect(certFetches).toBe(1);
    // Access rotates: a new key appears in the set; the first token signed by it refetches.
    const next = await generateKeyPair("RS256", { extractable: true });
    published = [...published, { ...(await exportJWK(next.publicKey)), kid: "k2", alg: "RS256", use: "sig" }];
    const rotated = await asPerson("GET", "", await token({}, { key: next.privateKey, kid: "k2" }));
    // The cached set is younger than the refetch cool-down: refused, not fetched again on every unknown key.
    expect(rotated.status).toBe(401);
    expect(certFetches).toBe(1);
    // Past the cool-down, the unknown key fetches the set again, and the token verifies.
    const settings = (await call("GET", `/admin/v1/projects/${PROJECT}/access`)).body;
    const later = await verifyAccess(await token({}, { key: next.privateKey, kid: "k2" }), settings, PROJECT, Date.now() + 31_000);
    expect(later).toMatchObject({ name: "user:ana@example.com", role: "admin" });
    expect(certFetches).toBe(2);
  });

  it.each(["throw", "hang"] as const)(
    "answers 503 with Retry-After when it cannot be fetched (%s) and none is cached",
    async (fault) => {
      useCertsFetch(async () => {
        if (fault === "throw") throw new Error("connection reset");
        return new Promise<Response>(() => {});
      });
      const res = await asPerson("GET", "", await token());
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBeTruthy();
      expect(res.body.detail).toContain(certsUrl(TEAM));
    },
    15_000,
  );
});
