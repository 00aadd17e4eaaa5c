/**
 * The operator console at the route level (inside workerd): sessions, the Origin check, CSP and
 * escaping. The browser suite (`test/browser/`) drives the same pages in headless Chromium.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openSession, sealSession, SESSION_MAX_SECONDS } from "../admin/session";
import { diffJson, summarizeDiff } from "../admin/ui/diff";
import { ADMIN_TOKEN, advanceRamps, call, setupProject, store } from "./helpers";

const ORIGIN = "http://edgeflags.test";

interface Page {
  status: number;
  headers: Headers;
  text: string;
}

async function request(
  method: string,
  path: string,
  options: { form?: Record<string, string>; cookie?: string; origin?: string | null; base?: string; headers?: Record<string, string> } = {},
): Promise<Page> {
  const base = options.base ?? ORIGIN;
  const headers: Record<string, string> = { ...options.headers };
  if (options.cookie) headers.cookie = options.cookie;
  const origin = options.origin === undefined ? (method === "GET" ? null : base) : options.origin;
  if (origin) headers.origin = origin;
  let body: string | undefined;
  if (options.form) {
    body = new URLSearchParams(options.form).toString();
    headers["content-type"] = "application/x-www-form-urlencoded";
  }
  const response = await exports.default.fetch(new Request(`${base}${path}`, { method, headers, body, redirect: "manual" }));
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Signs in and returns the `name=value` of the session cookie. */
async function signIn(project: string, credential: string, base = ORIGIN): Promise<string> {
  const res = await request("POST", "/console/sign-in", { form: { project, credential }, base });
  expect(res.status, res.text).toBe(303);
  const cookie = res.headers.get("set-cookie") ?? "";
  return cookie.split(";")[0]!;
}

async function adminKey(project: string): Promise<{ key: string; id: string }> {
  const created = await call("POST", `/admin/v1/projects/${project}/keys`, { body: { scope: "admin", name: "console test" } });
  expect(created.status).toBe(201);
  return { key: created.body.key, id: created.body.id };
}

describe("console sign-in", () => {
  it("exchanges an admin key for an HttpOnly, Secure, SameSite=Strict session cookie", async () => {
    await setupProject("ui-signin");
    const { key } = await adminKey("ui-signin");
    const res = await request("POST", "/console/sign-in", { form: { project: "ui-signin", credential: key } });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/console/p/ui-signin/flags");
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^__Host-edgeflags_session=/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toContain(key);
    const maxAge = Number(/Max-Age=(\d+)/.exec(cookie)![1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(3600);
  });

  it("leaves out Secure on http://localhost only", async () => {
    await setupProject("ui-local");
    const res = await request("POST", "/console/sign-in", {
      form: { project: "ui-local", credential: ADMIN_TOKEN },
      base: "http://localhost:8787",
    });
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^edgeflags_session=/);
    expect(cookie).not.toMatch(/Secure/);
    expect(cookie).toMatch(/HttpOnly; SameSite=Strict/);
  });

  it.each([
    { scope: "client" as const, status: 403, message: /client key/ },
    { scope: "server" as const, status: 403, message: /server key/ },
  ])("refuses a $scope key", async ({ scope, status, message }) => {
    const { key } = await setupProject(`ui-refuse-${scope}`, undefined, scope);
    const res = await request("POST", "/console/sign-in", { form: { project: `ui-refuse-${scope}`, credential: key } });
    expect(res.status).toBe(status);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(res.text).toMatch(message);
  });

  it("refuses an unknown credential and a cross-origin sign-in", async () => {
    await setupProject("ui-unknown");
    const wrong = await request("POST", "/console/sign-in", { form: { project: "ui-unknown", credential: "ef_admin_nope" } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    const cross = await request("POST", "/console/sign-in", {
      form: { project: "ui-unknown", credential: ADMIN_TOKEN },
      origin: "https://evil.example",
    });
    expect(cross.status).toBe(403);
    expect(cross.headers.get("set-cookie")).toBeNull();
  });
});

describe("the session as an admin API credential", () => {
  it("reads with the cookie, and changes only from the same origin", async () => {
    await setupProject("ui-origin");
    const cookie = await signIn("ui-origin", ADMIN_TOKEN);
    const read = await request("GET", "/admin/v1/projects/ui-origin", { cookie });
    expect(read.status).toBe(200);
    const path = "/admin/v1/projects/ui-origin/environments/production/flags/kill-switch/toggle";
    const noOrigin = await request("POST", path, { cookie, origin: null });
    expect(noOrigin.status).toBe(403);
    const evil = await request("POST", path, { cookie, origin: "https://evil.example" });
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.text).detail).toMatch(/another origin/);
    const same = await request("POST", path, { cookie });
    expect(same.status).toBe(200);
  });

  it("ends when its key is revoked", async () => {
    await setupProject("ui-revoke");
    const { key, id } = await adminKey("ui-revoke");
    const cookie = await signIn("ui-revoke", key);
    expect((await request("GET", "/console/p/ui-revoke/flags", { cookie })).status).toBe(200);
    expect((await call("DELETE", `/admin/v1/projects/ui-revoke/keys/${id}`)).status).toBe(200);
    const after = await request("GET", "/console/p/ui-revoke/flags", { cookie });
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toBe("/console/sign-in?expired=1");
    expect((await request("GET", "/admin/v1/projects/ui-revoke", { cookie })).status).toBe(401);
  });

  it("is bound to its key's project", async () => {
    await setupProject("ui-bound-a");
    await setupProject("ui-bound-b");
    const { key } = await adminKey("ui-bound-a");
    const cookie = await signIn("ui-bound-a", key);
    expect((await request("GET", "/admin/v1/projects/ui-bound-b", { cookie })).status).toBe(403);
    const page = await request("GET", "/console/p/ui-bound-b/flags", { cookie });
    expect(page.headers.get("location")).toBe("/console/p/ui-bound-a/flags");
  });

  it("rejects a tampered, foreign or expired cookie", async () => {
    await setupProject("ui-tamper");
    const cookie = await signIn("ui-tamper", ADMIN_TOKEN);
    const [name, value] = cookie.split("=") as [string, string];
    const [payload, signature] = value.split(".") as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), expiresAt: 9e9 })).toString(
      "base64url",
    );
    for (const bad of [`${name}=${forged}.${signature}`, `${name}=${payload}.AAAA`, `${name}=garbage`]) {
      expect((await request("GET", "/admin/v1/projects/ui-tamper", { cookie: bad })).status).toBe(401);
    }
    const session = (await openSession(value, env))!;
    expect(session).not.toBeNull();
    const old = (await sealSession({ ...session, issuedAt: session.issuedAt - SESSION_MAX_SECONDS, expiresAt: session.expiresAt }, env))!;
    expect(await openSession(old, env)).toBeNull();
    const lapsed = (await sealSession({ ...session, expiresAt: session.issuedAt - 1 }, env))!;
    expect((await request("GET", "/admin/v1/projects/ui-tamper", { cookie: `${name}=${lapsed}` })).status).toBe(401);
  });

  it("signs out by clearing the cookie", async () => {
    await setupProject("ui-signout");
    const cookie = await signIn("ui-signout", ADMIN_TOKEN);
    const res = await request("POST", "/console/sign-out", { cookie });
    expect(res.status).toBe(303);
    expect(res.headers.get("set-cookie")).toMatch(/Max-Age=0/);
  });
});

describe("console pages", () => {
  it("send a strict CSP and no inline script or style", async () => {
    await setupProject("ui-csp");
    const cookie = await signIn("ui-csp", ADMIN_TOKEN);
    const screens = [
      "flags",
      "flags/banner-color",
      "new-flag",
      "keys",
      "audit",
      "environments",
      "segments",
      "experiments",
      "drafts",
      "webhooks",
      "triggers",
    ];
    for (const path of ["/console/sign-in", ...screens.map((screen) => `/console/p/ui-csp/${screen}`)]) {
      const page = await request("GET", path, { cookie });
      expect(page.status, path).toBe(200);
      const csp = page.headers.get("content-security-policy")!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
      expect(page.headers.get("x-frame-options")).toBe("DENY");
      expect(page.headers.get("cache-control")).toBe("no-store");
      expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(page.text).not.toMatch(/\sstyle=|\son[a-z]+=/);
    }
  });

  it("redirect to sign-in without a session", async () => {
    const res = await request("GET", "/console/p/whatever/flags");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toMatch(/^\/console\/sign-in\?next=/);
  });

  it("show a description containing markup as text", async () => {
    const evil = `<script>alert("x")</script><img src=x onerror=alert(1)>`;
    await setupProject("ui-xss", {
      flags: {
        "xss-flag": {
          state: "ENABLED",
          variants: { on: true, off: false },
          defaultVariant: "on",
          metadata: { description: evil, tags: "<b>bold</b>" },
        },
      },
    });
    const cookie = await signIn("ui-xss", ADMIN_TOKEN);
    for (const path of ["/console/p/ui-xss/flags", "/console/p/ui-xss/flags/xss-flag"]) {
      const page = await request("GET", path, { cookie });
      expect(page.text).not.toContain(evil);
      expect(page.text).not.toContain("<b>bold</b>");
      expect(page.text).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;");
    }
  });

  it("page 500 flags 50 at a time and search them on the server", async () => {
    const flags = Object.fromEntries(
      Array.from({ length: 500 }, (_, i) => [
        `flag-${String(i).padStart(3, "0")}`,
        {
          state: "ENABLED" as const,
          variants: { on: true, off: false },
          defaultVariant: "off",
          metadata: { description: `flag number ${i}`, tags: i % 2 ? "odd" : "even" },
        },
      ]),
    );
    await setupProject("ui-many", { flags });
    const cookie = await signIn("ui-many", ADMIN_TOKEN);
    const first = await request("GET", "/console/p/ui-many/flags", { cookie });
    expect(first.text).toContain("500 flags");
    expect(first.text.match(/class="flag-key"/g)).toHaveLength(50);
    const last = await request("GET", "/console/p/ui-many/flags?page=10", { cookie });
    expect(last.text).toContain("flag-499");
    const search = await request("GET", "/console/p/ui-many/flags?q=flag-042&tag=even", { cookie });
    expect(search.text).toContain("1 of 500 flags match");
    expect(search.text).toContain("flag-042");
  });

  it("toggle with a reason: audited, and refused without one", async () => {
    await setupProject("ui-toggle");
    const cookie = await signIn("ui-toggle", ADMIN_TOKEN);
    const flag = await call("GET", "/admin/v1/projects/ui-toggle/environments/production/flags/kill-switch");
    const path = "/console/p/ui-toggle/flags/kill-switch/toggle";
    const form = {
      env: "production",
      state: "DISABLED",
      version: String(flag.body.version),
      return: "/console/p/ui-toggle/flags?env=production",
    };
    const noReason = await request("POST", path, { cookie, form: { ...form, reason: " " } });
    expect(noReason.status).toBe(400);
    expect(noReason.text).toContain("reason");
    const done = await request("POST", path, { cookie, form: { ...form, reason: "checkout errors" } });
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toMatch(/done=toggled/);
    const audit = await call("GET", "/admin/v1/projects/ui-toggle/audit?flag=kill-switch&limit=1");
    expect(audit.body.entries[0]).toMatchObject({ action: "flag.disabled", reason: "checkout errors", actor: "token:bootstrap" });
    const stale = await request("POST", path, { cookie, form: { ...form, state: "ENABLED", reason: "again" } });
    expect(stale.status).toBe(412);
    expect(stale.text).toContain("was changed by token:bootstrap");
  });

  it("says so when a kill switch is already in the state asked for, and writes nothing", async () => {
    await setupProject("ui-toggle-again");
    const cookie = await signIn("ui-toggle-again", ADMIN_TOKEN);
    const path = "/console/p/ui-toggle-again/flags/kill-switch/toggle";
    const form = { env: "production", state: "DISABLED", reason: "incident", return: "/console/p/ui-toggle-again/flags?env=production" };
    expect((await request("POST", path, { cookie, form })).headers.get("location")).toMatch(/done=toggled/);
    const version = (await call("GET", "/admin/v1/projects/ui-toggle-again/environments/production/flags/kill-switch")).body.version;
    const again = await request("POST", path, { cookie, form });
    const location = again.headers.get("location") ?? "";
    expect(location).toMatch(/done=already/);
    expect((await call("GET", "/admin/v1/projects/ui-toggle-again/environments/production/flags/kill-switch")).body.version).toBe(version);
    const page = await request("GET", location.replace(/^https?:\/\/[^/]+/, ""), { cookie });
    expect(page.text).toContain("was already off in production: nothing changed, nothing was written.");
  });
});

describe("audit diffs", () => {
  it.each([
    {
      before: { state: "ENABLED" },
      after: { state: "DISABLED" },
      lines: [{ path: "state", change: "changed", before: '"ENABLED"', after: '"DISABLED"' }],
    },
    { before: null, after: { a: 1 }, lines: [{ path: "a", change: "added", before: null, after: "1" }] },
    { before: { flags: {} }, after: { flags: { x: true } }, lines: [{ path: "flags.x", change: "added", before: null, after: "true" }] },
    {
      before: { ids: ["a", "b"] },
      after: { ids: ["a", "c"] },
      lines: [{ path: "ids", change: "changed", before: '["a","b"]', after: '["a","c"]' }],
    },
    { before: { t: { if: [1, "on", null] } }, after: { t: { if: [1, "on", null] } }, lines: [] },
  ])("diffs $before → $after", ({ before, after, lines }) => {
    expect(diffJson(before, after)).toEqual(lines);
  });

  it("folds a flag set replacement to one line per flag", () => {
    const flag = { state: "ENABLED", variants: { on: true } };
    const lines = summarizeDiff(diffJson({ flags: { a: flag, b: flag } }, { flags: { b: { ...flag, state: "DISABLED" }, c: flag } }), 2);
    expect(lines.map((l) => `${l.path} ${l.change}`)).toEqual(["flags.a removed", "flags.b changed", "flags.c added"]);
  });
});

/** The text of a page with tags dropped and entities decoded, for readable assertions. */
function textOf(html: string): string {
  return html
    .replace(/<[^>]+>/g, " ")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ");
}

describe("flags list: all environments, last evaluated, stale", () => {
  it("shows last-evaluated times and stale markers, and filters to stale flags", async () => {
    await setupProject("ui-stale");
    const cookie = await signIn("ui-stale", ADMIN_TOKEN);
    const now = Date.now();
    await store("ui-stale").recordTelemetry({
      usage: [{ environment: "production", flag: "banner-color", variant: "red", evaluations: 42, firstAt: now - 1000, lastAt: now }],
      exposures: [],
      shadow: [],
    });
    const old = await call("POST", "/admin/v1/projects/ui-stale/flags", {
      body: {
        key: "old-promo",
        description: "spring promo",
        owner: "growth",
        tags: ["promo"],
        lifetime: "temporary",
        expectedRemovalAt: "2020-01-01T00:00:00Z",
        variants: { on: true, off: false },
        defaultVariant: "off",
      },
    });
    expect(old.status, JSON.stringify(old.body)).toBe(201);
    const page = await request("GET", "/console/p/ui-stale/flags?env=production", { cookie });
    expect(page.status).toBe(200);
    const text = textOf(page.text);
    expect(text).toContain("42 evaluations");
    expect(text).toContain("Only stale (1)");
    expect(text).toMatch(/old-promo stale\s*: past its removal date \(2020-01-01\)/);
    // Project-level facts come from GET /projects/{p}/flags.
    expect(text).toContain("spring promo");
    expect(text).toContain("owner growth");
    const stale = await request("GET", "/console/p/ui-stale/flags?env=production&stale=1", { cookie });
    expect(textOf(stale.text)).toContain("1 of 6 flags match");
    expect(stale.text.match(/class="flag-key"/g)).toHaveLength(1);
  });

  it("creates a flag in every environment, each with its own state", async () => {
    await setupProject("ui-create");
    const cookie = await signIn("ui-create", ADMIN_TOKEN);
    const form = {
      key: "new-search",
      description: "Semantic search",
      owner: "search",
      tags: "search, web",
      lifetime: "temporary",
      expectedRemovalAt: "2030-06-01",
      variants: '{"on": true, "off": false}',
      defaultVariant: "off",
      "state-development": "ENABLED",
      "state-staging": "ENABLED",
      "state-production": "DISABLED",
      reason: "search v2",
    };
    const created = await request("POST", "/console/p/ui-create/new-flag", { cookie, form });
    expect(created.status, created.text).toBe(303);
    expect(created.headers.get("location")).toBe("/console/p/ui-create/flags/new-search?done=created&flag=new-search");
    const flag = await call("GET", "/admin/v1/projects/ui-create/flags/new-search");
    expect(flag.body.info).toMatchObject({
      description: "Semantic search",
      owner: "search",
      tags: ["search", "web"],
      lifetime: "temporary",
      expectedRemovalAt: "2030-06-01T00:00:00.000Z",
    });
    expect(Object.fromEntries(Object.entries(flag.body.environments).map(([env, r]: [string, any]) => [env, r.definition.state]))).toEqual({
      development: "ENABLED",
      staging: "ENABLED",
      production: "DISABLED",
    });
  });

  it("shows a rejected creation next to the field and creates nothing", async () => {
    await setupProject("ui-create-bad");
    const cookie = await signIn("ui-create-bad", ADMIN_TOKEN);
    const form = {
      key: "half-made",
      variants: '{"on": true, "off": false}',
      defaultVariant: "maybe",
      lifetime: "permanent",
      "state-production": "ENABLED",
    };
    const rejected = await request("POST", "/console/p/ui-create-bad/new-flag", { cookie, form });
    expect(rejected.status).toBe(400);
    expect(rejected.text).toMatch(/id="nf-default-error"[^>]*>[^<]*maybe/);
    expect(rejected.text).toContain('value="half-made"');
    expect((await call("GET", "/admin/v1/projects/ui-create-bad/flags/half-made")).status).toBe(404);
    const notJson = await request("POST", "/console/p/ui-create-bad/new-flag", { cookie, form: { ...form, variants: "{on" } });
    expect(notJson.status).toBe(400);
    expect(notJson.text).toContain("This is not valid JSON");
  });
});

describe("environments: compare and promote", () => {
  it("compares two environments as a readable diff", async () => {
    await setupProject("ui-compare");
    const cookie = await signIn("ui-compare", ADMIN_TOKEN);
    const page = await request("GET", "/console/p/ui-compare/environments?from=production&to=staging", { cookie });
    expect(page.status).toBe(200);
    const text = textOf(page.text);
    expect(text).toContain("production → staging");
    expect(text).toContain("5 only in production");
    expect(text).toContain("only in production: would be added to staging");
    const one = await request("GET", "/console/p/ui-compare/environments?from=production&to=staging&flag=banner-color", { cookie });
    expect(one.text.match(/<li>\s*<div class="audit-head">/g) ?? []).toHaveLength(1);
  });

  it("previews a promotion (dry run, nothing changed), then applies it with If-Match", async () => {
    await setupProject("ui-promote");
    const cookie = await signIn("ui-promote", ADMIN_TOKEN);
    const before = await call("GET", "/admin/v1/projects/ui-promote");
    const stagingVersion = before.body.environments.find((e: any) => e.name === "staging").version;
    const preview = await request("POST", "/console/p/ui-promote/environments/promote", {
      cookie,
      form: { from: "production", to: "staging", step: "preview", flags: "banner-color", reason: "ship it" },
    });
    expect(preview.status).toBe(200);
    expect(textOf(preview.text)).toContain("Dry run: promoting production → staging");
    expect(textOf(preview.text)).toContain("1 flag(s) in staging would change. Nothing has been changed yet.");
    expect(preview.text).toContain(`name="version" value="${stagingVersion}"`);
    expect((await call("GET", "/admin/v1/projects/ui-promote/environments/staging/flags/banner-color")).status).toBe(404);

    const stale = await request("POST", "/console/p/ui-promote/environments/promote", {
      cookie,
      form: { from: "production", to: "staging", step: "apply", flags: "banner-color", version: String(stagingVersion - 1) },
    });
    expect(stale.status).toBe(412);
    expect(textOf(stale.text)).toContain("Not promoted");
    expect((await call("GET", "/admin/v1/projects/ui-promote/environments/staging/flags/banner-color")).status).toBe(404);

    const applied = await request("POST", "/console/p/ui-promote/environments/promote", {
      cookie,
      form: { from: "production", to: "staging", step: "apply", flags: "banner-color", version: String(stagingVersion), reason: "ship it" },
    });
    expect(applied.status, applied.text).toBe(303);
    expect(applied.headers.get("location")).toMatch(/done=promoted.*count=1/);
    expect((await call("GET", "/admin/v1/projects/ui-promote/environments/staging/flags/banner-color")).body.defaultVariant).toBe("red");
    const audit = await call("GET", "/admin/v1/projects/ui-promote/audit?limit=1");
    expect(audit.body.entries[0]).toMatchObject({ action: "flags.promoted", reason: "ship it" });
  });
});

describe("segments", () => {
  it("creates, edits, refuses to delete one in use (naming the users), then deletes it", async () => {
    await setupProject("ui-segments");
    const cookie = await signIn("ui-segments", ADMIN_TOKEN);
    const created = await request("POST", "/console/p/ui-segments/segments", {
      cookie,
      form: { name: "beta-users", description: "beta", kind: "members", members: "u1\nu2, u3", attribute: "targetingKey", version: "0" },
    });
    expect(created.status, created.text).toBe(303);
    const segment = await call("GET", "/admin/v1/projects/ui-segments/segments/beta-users");
    expect(segment.body).toMatchObject({ memberCount: 3, members: ["u1", "u2", "u3"], version: 1 });
    const again = await request("POST", "/console/p/ui-segments/segments", {
      cookie,
      form: { name: "beta-users", kind: "rule", rule: "true", version: "0" },
    });
    expect(again.status).toBe(412);
    expect(textOf(again.text)).toContain('A segment named "beta-users" already exists');

    const edit = await request("GET", "/console/p/ui-segments/segments/beta-users", { cookie });
    expect(edit.text).toContain("u1\nu2\nu3");
    const saved = await request("POST", "/console/p/ui-segments/segments/beta-users", {
      cookie,
      form: { description: "beta testers", kind: "members", members: "u1\nu4", attribute: "userId", version: "1" },
    });
    expect(saved.status).toBe(303);
    expect((await call("GET", "/admin/v1/projects/ui-segments/segments/beta-users")).body).toMatchObject({
      description: "beta testers",
      attribute: "userId",
      memberCount: 2,
      version: 2,
    });

    const flag = await call("GET", "/admin/v1/projects/ui-segments/environments/production/flags/dark-launch");
    const { key: _k, environment: _e, version, updatedAt: _u, updatedBy: _b, ...definition } = flag.body;
    const used = await call("PUT", "/admin/v1/projects/ui-segments/environments/production/flags/dark-launch", {
      body: { ...definition, targeting: { if: [{ $ref: "beta-users" }, "on", null] } },
      headers: { "if-match": `"${version}"` },
    });
    expect(used.status, JSON.stringify(used.body)).toBe(200);
    const refused = await request("POST", "/console/p/ui-segments/segments/beta-users/delete", { cookie });
    expect(refused.status).toBe(409);
    expect(textOf(refused.text)).toContain('Not deleted: segment "beta-users" is in use by production/dark-launch');
    expect((await call("GET", "/admin/v1/projects/ui-segments/segments/beta-users")).status).toBe(200);
  });

  it("shows a rejected rule next to the field and changes nothing", async () => {
    await setupProject("ui-segments-bad");
    const cookie = await signIn("ui-segments-bad", ADMIN_TOKEN);
    const bad = await request("POST", "/console/p/ui-segments-bad/segments", {
      cookie,
      form: { name: "broken", kind: "rule", rule: '{"no_such_op": [1]}', version: "0" },
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/aria-invalid="true"/);
    expect(textOf(bad.text)).toMatch(/no_such_op/);
    expect((await call("GET", "/admin/v1/projects/ui-segments-bad/segments/broken")).status).toBe(404);
    const badName = await request("POST", "/console/p/ui-segments-bad/segments", {
      cookie,
      form: { name: "Not OK", kind: "rule", rule: "true", version: "0" },
    });
    expect(badName.status).toBe(400);
    expect(badName.text).toContain('id="sg-name-error"');
  });
});

describe("keys, webhooks and triggers", () => {
  it("rotates a key: the new key shown once, the old one kept for the overlap", async () => {
    await setupProject("ui-rotate");
    const cookie = await signIn("ui-rotate", ADMIN_TOKEN);
    const old = await call("POST", "/admin/v1/projects/ui-rotate/environments/staging/keys", {
      body: { scope: "server", name: "billing" },
    });
    const rotated = await request("POST", `/console/p/ui-rotate/keys/${old.body.id}/rotate`, { cookie, form: { overlap: "3600" } });
    expect(rotated.status).toBe(201);
    const secret = /id="new-key"[^>]*value="([^"]+)"/.exec(rotated.text)?.[1] ?? /value="(ef_server_[^"]+)"/.exec(rotated.text)?.[1];
    expect(secret).toMatch(/^ef_server_/);
    expect(textOf(rotated.text)).toContain(`It replaces ${old.body.id}, which keeps working until`);
    const keys = await call("GET", "/admin/v1/projects/ui-rotate/keys");
    const previous = keys.body.find((k: any) => k.id === old.body.id);
    expect(Date.parse(previous.expiresAt) - Date.now()).toBeGreaterThan(3500_000);
    const list = await request("GET", "/console/p/ui-rotate/keys", { cookie });
    expect(list.text).not.toContain(secret!);
  });

  it("creates a webhook (secret once), edits it, pings it into the delivery log, and deletes it", async () => {
    await setupProject("ui-webhooks");
    const cookie = await signIn("ui-webhooks", ADMIN_TOKEN);
    const bad = await request("POST", "/console/p/ui-webhooks/webhooks", { cookie, form: { url: "ftp://nope", events: "flag.toggled" } });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/id="wh-url-error"[^>]*>must be an http or https URL/);
    expect((await call("GET", "/admin/v1/projects/ui-webhooks/webhooks")).body).toEqual([]);

    const created = await request("POST", "/console/p/ui-webhooks/webhooks", {
      cookie,
      form: { url: "https://hooks.example/edgeflags", description: "chat", events: "flag.toggled" },
    });
    expect(created.status).toBe(201);
    expect(created.text).toMatch(/id="new-webhook-secret"[^>]*value="[^"]{16,}"/);
    expect(created.text).toMatch(/id="new-webhook-standard-secret"[^>]*value="whsec_[^"]+"/);
    const [hook] = (await call("GET", "/admin/v1/projects/ui-webhooks/webhooks")).body;
    expect(hook.format).toBe("edgeflags");
    // A chat channel: the Slack-compatible format, chosen in the form and kept when saved.
    await request("POST", `/console/p/ui-webhooks/webhooks/${hook.id}`, {
      cookie,
      form: { url: hook.url, description: "chat", events: "flag.toggled", active: "1", format: "slack" },
    });
    expect((await call("GET", "/admin/v1/projects/ui-webhooks/webhooks")).body[0].format).toBe("slack");
    expect((await request("GET", `/console/p/ui-webhooks/webhooks/${hook.id}`, { cookie })).text).toMatch(
      /<input type="radio" name="format" value="slack" checked/,
    );
    const saved = await request("POST", `/console/p/ui-webhooks/webhooks/${hook.id}`, {
      cookie,
      form: { url: hook.url, description: "chat", events: "flag.updated" },
    });
    expect(saved.status).toBe(303);
    expect((await call("GET", "/admin/v1/projects/ui-webhooks/webhooks")).body[0]).toMatchObject({
      active: false,
      events: ["flag.updated"],
    });
    await request("POST", `/console/p/ui-webhooks/webhooks/${hook.id}`, {
      cookie,
      form: { url: hook.url, description: "chat", events: "flag.updated", active: "1" },
    });
    expect((await request("POST", `/console/p/ui-webhooks/webhooks/${hook.id}/ping`, { cookie })).status).toBe(303);
    const detail = await request("GET", `/console/p/ui-webhooks/webhooks/${hook.id}`, { cookie });
    expect(textOf(detail.text)).toMatch(/Recent deliveries \(1\)/);
    expect(detail.text).toContain("<code>ping</code>");
    expect((await request("POST", `/console/p/ui-webhooks/webhooks/${hook.id}/delete`, { cookie })).status).toBe(303);
    expect((await call("GET", "/admin/v1/projects/ui-webhooks/webhooks")).body).toEqual([]);
  });

  it("creates a trigger (URL, signed URL and secret once), disables, rotates and deletes it", async () => {
    await setupProject("ui-triggers");
    const cookie = await signIn("ui-triggers", ADMIN_TOKEN);
    const missing = await request("POST", "/console/p/ui-triggers/triggers", {
      cookie,
      form: { name: "oops", environment: "production", flag: "no-such-flag", action: "disable" },
    });
    expect(missing.status).toBe(404);
    expect(textOf(missing.text)).toContain("no-such-flag");
    expect((await call("GET", "/admin/v1/projects/ui-triggers/triggers")).body).toEqual([]);

    const created = await request("POST", "/console/p/ui-triggers/triggers", {
      cookie,
      form: { name: "errors-high", environment: "production", flag: "kill-switch", action: "disable" },
    });
    expect(created.status).toBe(201);
    const url = /id="trigger-url"[^>]*value="([^"]+)"/.exec(created.text)![1]!;
    expect(url).toMatch(/\/admin\/v1\/hooks\/projects\/ui-triggers\/triggers\/eft_/);
    expect(created.text).toMatch(/id="trigger-signed-url"[^>]*value="[^"]+\/signed"/);
    expect(created.text).toMatch(/id="trigger-secret"[^>]*value="trsec_/);
    const [trigger] = (await call("GET", "/admin/v1/projects/ui-triggers/triggers")).body;
    expect((await request("POST", `/console/p/ui-triggers/triggers/${trigger.id}/active`, { cookie, form: { active: "0" } })).status).toBe(
      303,
    );
    expect((await call("GET", "/admin/v1/projects/ui-triggers/triggers")).body[0].active).toBe(false);
    const rotated = await request("POST", `/console/p/ui-triggers/triggers/${trigger.id}/rotate`, { cookie });
    expect(rotated.status).toBe(200);
    const newUrl = /id="trigger-url"[^>]*value="([^"]+)"/.exec(rotated.text)![1]!;
    expect(newUrl).not.toBe(url);
    expect((await request("POST", `/console/p/ui-triggers/triggers/${trigger.id}/delete`, { cookie })).status).toBe(303);
    expect((await call("GET", "/admin/v1/projects/ui-triggers/triggers")).body).toEqual([]);
  });
});

describe("ramps and experiments", () => {
  const steps = {
    variant: "on",
    baseline: "off",
    "percent-0": "10",
    "delay-0": "0",
    "unit-0": "minutes",
    "percent-1": "50",
    "delay-1": "1",
    "unit-1": "hours",
    "percent-2": "100",
    "delay-2": "1",
    "unit-2": "days",
  };

  it("starts a ramp from the flag page and shows its steps as a timeline", async () => {
    await setupProject("ui-ramp");
    const cookie = await signIn("ui-ramp", ADMIN_TOKEN);
    const started = await request("POST", "/console/p/ui-ramp/flags/dark-launch/ramp", {
      cookie,
      form: { env: "production", ...steps, reason: "gradual" },
    });
    expect(started.status, started.text).toBe(303);
    const ramp = await call("GET", "/admin/v1/projects/ui-ramp/environments/production/flags/dark-launch/ramp");
    expect(ramp.body).toMatchObject({ variant: "on", baseline: "off", status: "running", currentStep: 0, currentPercent: 10 });
    expect(ramp.body.steps.map((s: any) => s.afterSeconds)).toEqual([0, 3600, 86400]);
    const page = await request("GET", "/console/p/ui-ramp/flags/dark-launch?env=production", { cookie });
    const text = textOf(page.text);
    expect(page.text).toMatch(/<li class="step current" aria-current="step">/);
    expect(page.text).toContain('<li class="step next">');
    expect(text).toMatch(/10% current applied/);
    expect(text).toMatch(/50% next due in (60 min|1 h)/);
    expect(text).toMatch(/100% later 1 d after the previous step/);

    // An operator who has seen enough at 10% takes the next step without waiting out its hour.
    expect(text).toContain("Next step now (50%)");
    const advanced = await request("POST", "/console/p/ui-ramp/flags/dark-launch/ramp/advance", { cookie, form: { env: "production" } });
    expect(advanced.status, advanced.text).toBe(303);
    expect((await call("GET", "/admin/v1/projects/ui-ramp/environments/production/flags/dark-launch/ramp")).body).toMatchObject({
      status: "running",
      currentStep: 1,
      currentPercent: 50,
    });
    const afterAdvance = textOf((await request("GET", "/console/p/ui-ramp/flags/dark-launch?env=production", { cookie })).text);
    expect(afterAdvance).toMatch(/50% current applied/);
    expect(afterAdvance).toContain("Next step now (100%)");

    for (const [action, status] of [
      ["pause", "paused"],
      ["resume", "running"],
      ["rollback", "rolled-back"],
    ] as const) {
      const done = await request("POST", `/console/p/ui-ramp/flags/dark-launch/ramp/${action}`, { cookie, form: { env: "production" } });
      expect(done.status, `${action}: ${done.text}`).toBe(303);
      expect((await call("GET", "/admin/v1/projects/ui-ramp/environments/production/flags/dark-launch/ramp")).body.status).toBe(status);
    }
    const complete = await request("POST", "/console/p/ui-ramp/flags/dark-launch/ramp/complete", { cookie, form: { env: "production" } });
    expect(complete.status).toBe(303);
    expect((await call("GET", "/admin/v1/projects/ui-ramp/environments/production/flags/dark-launch/ramp")).body).toMatchObject({
      status: "completed",
      currentPercent: 100,
    });
    const pauseDone = await request("POST", "/console/p/ui-ramp/flags/dark-launch/ramp/pause", { cookie, form: { env: "production" } });
    expect(pauseDone.status).toBe(409);
    expect(textOf(pauseDone.text)).toContain("Ramp not changed: the ramp is completed, not running");
    expect(
      (await request("POST", "/console/p/ui-ramp/flags/dark-launch/ramp/delete", { cookie, form: { env: "production" } })).status,
    ).toBe(303);
    expect((await call("GET", "/admin/v1/projects/ui-ramp/environments/production/flags/dark-launch/ramp")).status).toBe(404);
  });

  it("rolls back to a named step, and shows exposures per step", async () => {
    await setupProject("ui-ramp-back");
    const cookie = await signIn("ui-ramp-back", ADMIN_TOKEN);
    await request("POST", "/console/p/ui-ramp-back/flags/dark-launch/ramp", { cookie, form: { env: "production", ...steps } });
    await advanceRamps("ui-ramp-back");
    const ramp = await call("GET", "/admin/v1/projects/ui-ramp-back/environments/production/flags/dark-launch/ramp");
    expect(ramp.body.currentStep).toBe(1);
    const exposures = Array.from({ length: 30 }, (_, i) => ({
      subject: `ramp:${ramp.body.id}:1`,
      unit: `u${i}`,
      variant: i % 2 ? "on" : "off",
      at: Date.now(),
    }));
    await store("ui-ramp-back").recordTelemetry({ usage: [], exposures, shadow: [] });
    const page = await request("GET", "/console/p/ui-ramp-back/flags/dark-launch?env=production", { cookie });
    expect(page.text).toContain('id="ramp-exposures"');
    expect(textOf(page.text)).toMatch(/2 \(50%\) 15 \(expected 15\) 15 \(expected 15\) not enough data yet/);
    expect(page.text).toContain('<option value="0">to step 1 (10%)</option>');
    const back = await request("POST", "/console/p/ui-ramp-back/flags/dark-launch/ramp/rollback", {
      cookie,
      form: { env: "production", toStep: "0" },
    });
    expect(back.status).toBe(303);
    expect((await call("GET", "/admin/v1/projects/ui-ramp-back/environments/production/flags/dark-launch/ramp")).body).toMatchObject({
      status: "rolled-back",
      currentStep: 0,
      currentPercent: 10,
    });
  });

  it("shows a rejected ramp next to its step and starts nothing", async () => {
    await setupProject("ui-ramp-bad");
    const cookie = await signIn("ui-ramp-bad", ADMIN_TOKEN);
    const bad = await request("POST", "/console/p/ui-ramp-bad/flags/dark-launch/ramp", {
      cookie,
      form: { env: "production", ...steps, "percent-1": "5" },
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/id="ramp-step-1-error"[^>]*>steps must increase: 5 is not above 10/);
    expect(bad.text).toContain('name="percent-1" value="5"');
    expect((await call("GET", "/admin/v1/projects/ui-ramp-bad/environments/production/flags/dark-launch/ramp")).status).toBe(404);
  });

  it("starts an experiment, shows its arms as bars with a clear SRM warning, and stops it", async () => {
    await setupProject("ui-experiment");
    const cookie = await signIn("ui-experiment", ADMIN_TOKEN);
    const started = await request("POST", "/console/p/ui-experiment/flags/new-checkout/experiment", {
      cookie,
      form: { env: "production", "weight-on": "1", "weight-off": "1" },
    });
    expect(started.status, started.text).toBe(303);
    const [experiment] = (await call("GET", "/admin/v1/projects/ui-experiment/experiments")).body;
    expect(started.headers.get("location")).toContain(`/console/p/ui-experiment/experiments/${experiment.id}?done=experiment-started`);
    const before = await request("GET", `/console/p/ui-experiment/experiments/${experiment.id}`, { cookie });
    expect(before.text).toContain('id="srm-status"');
    expect(before.text).not.toContain('id="srm-warning"');
    expect(textOf(before.text)).toContain("What this means: the split is not checked until every variant has enough units");

    const exposures = Array.from({ length: 400 }, (_, i) => ({
      subject: `exp:${experiment.id}`,
      unit: `unit-${i}`,
      variant: i < 300 ? "on" : "off",
      at: Date.now(),
    }));
    await store("ui-experiment").recordTelemetry({ usage: [], exposures, shadow: [] });
    const page = await request("GET", `/console/p/ui-experiment/experiments/${experiment.id}`, { cookie });
    const text = textOf(page.text);
    expect(page.text).toContain('id="srm-warning"');
    expect(text).toContain("Sample ratio mismatch");
    expect(text).toMatch(/on 300 units · 75\.0% intended 50\.0% · expected 200/);
    expect(page.text).toContain('class="fill w-75 bad"');
    expect(page.text).toContain('class="mark at-50"');
    // What the numbers mean, for someone deciding: not to trust it, and what to look for.
    expect(textOf(page.text)).toMatch(
      /What this means: counts this far from the intended split would turn up by chance only \S+% of the time/,
    );
    expect(textOf(page.text)).toContain("the metrics of this one are not evidence either way");
    expect(textOf(page.text)).toMatch(/p-value [^:]+: how often chance alone gives counts at least this far off/);
    const list = await request("GET", "/console/p/ui-experiment/experiments", { cookie });
    expect(textOf(list.text)).toMatch(/mismatch, p = /);
    const flagPage = await request("GET", "/console/p/ui-experiment/flags/new-checkout?env=production", { cookie });
    expect(textOf(flagPage.text)).toContain("An experiment is running on this flag here");

    const again = await request("POST", "/console/p/ui-experiment/flags/new-checkout/experiment", {
      cookie,
      form: { env: "production", "weight-on": "1", "weight-off": "1" },
    });
    expect(again.status).toBe(409);
    expect(again.text).toContain('id="experiment-error"');
    expect((await request("POST", `/console/p/ui-experiment/experiments/${experiment.id}/stop`, { cookie })).status).toBe(303);
    expect((await call("GET", `/admin/v1/projects/ui-experiment/experiments/${experiment.id}`)).body.status).toBe("stopped");
  });
});

describe("reading an experiment", () => {
  it("says the split is sound, and that the metrics decide, when the counts fit the weights", async () => {
    await setupProject("ui-experiment-sound");
    const cookie = await signIn("ui-experiment-sound", ADMIN_TOKEN);
    const started = await request("POST", "/console/p/ui-experiment-sound/flags/new-checkout/experiment", {
      cookie,
      form: { env: "production", "weight-on": "1", "weight-off": "1" },
    });
    expect(started.status, started.text).toBe(303);
    const [experiment] = (await call("GET", "/admin/v1/projects/ui-experiment-sound/experiments")).body;
    const exposures = Array.from({ length: 300 }, (_, i) => ({
      subject: `exp:${experiment.id}`,
      unit: `unit-${i}`,
      variant: i % 2 === 0 ? "on" : "off",
      at: Date.now(),
    }));
    await store("ui-experiment-sound").recordTelemetry({ usage: [], exposures, shadow: [] });
    const text = textOf((await request("GET", `/console/p/ui-experiment-sound/experiments/${experiment.id}`, { cookie })).text);
    expect(text).toContain("What this means: the split is sound — counts at least this far off turn up by chance 100% of the time");
    expect(text).toContain("not which variant is better: decide on the metrics");
  });
});

describe("drafts", () => {
  it("stages a draft, shows its flips, rejects a bad one, and publishes with If-Match", async () => {
    await setupProject("ui-drafts");
    const cookie = await signIn("ui-drafts", ADMIN_TOKEN);
    const live = await call("GET", "/admin/v1/projects/ui-drafts/environments/production/flagd");
    const draftSet = structuredClone(live.body);
    draftSet.flags["banner-color"].defaultVariant = "blue";
    const bad = await request("POST", "/console/p/ui-drafts/drafts", {
      cookie,
      form: {
        env: "production",
        sampleRate: "0.5",
        flagSet: JSON.stringify({ flags: { x: { state: "ENABLED", variants: { a: 1 }, defaultVariant: "b" } } }),
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('id="draft-flagset-error"');
    expect((await call("GET", "/admin/v1/projects/ui-drafts/environments/production/draft")).status).toBe(404);

    const staged = await request("POST", "/console/p/ui-drafts/drafts", {
      cookie,
      form: { env: "production", sampleRate: "0.5", flagSet: JSON.stringify(draftSet) },
    });
    expect(staged.status, staged.text).toBe(303);
    const draft = await call("GET", "/admin/v1/projects/ui-drafts/environments/production/draft");
    const shadow = Array.from({ length: 4 }, (_, i) => ({
      draftId: draft.body.id,
      flag: "banner-color",
      unit: `u${i}`,
      liveVariant: "red",
      draftVariant: i < 3 ? "blue" : "red",
    }));
    await store("ui-drafts").recordTelemetry({ usage: [], exposures: [], shadow });
    const page = await request("GET", "/console/p/ui-drafts/drafts?env=production", { cookie });
    expect(textOf(page.text)).toMatch(/banner-color red → blue 3 4/);
    const version = /name="version" value="(\d+)"/.exec(page.text)![1]!;
    const stale = await request("POST", "/console/p/ui-drafts/drafts/publish", {
      cookie,
      form: { env: "production", version: String(Number(version) - 1) },
    });
    expect(stale.status).toBe(412);
    const published = await request("POST", "/console/p/ui-drafts/drafts/publish", { cookie, form: { env: "production", version } });
    expect(published.status).toBe(303);
    expect((await call("GET", "/admin/v1/projects/ui-drafts/environments/production/flags/banner-color")).body.defaultVariant).toBe("blue");
  });
});
