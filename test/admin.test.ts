import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, demoFlags, setupProject, store } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;

async function versionOf(project: string, environment = "production"): Promise<number> {
  const info = await call("GET", P(project));
  return info.body.environments.find((e: { name: string }) => e.name === environment).version;
}

async function auditCount(project: string): Promise<number> {
  return (await call("GET", `${P(project)}/audit?limit=500`)).body.entries.length;
}

describe("projects", () => {
  it("creates a project with its environments, then adds one", async () => {
    const created = await call("PUT", P("proj-a"), { body: { environments: ["staging", "production"] } });
    expect(created.status).toBe(201);
    expect(created.body.environments.map((e: { name: string }) => e.name)).toEqual(["staging", "production"]);
    const updated = await call("PUT", P("proj-a"), { body: { environments: ["development", "staging", "production"] } });
    expect(updated.status).toBe(200);
    expect(updated.body.environments.map((e: { name: string }) => e.name)).toEqual(["development", "staging", "production"]);
  });

  it("refuses to drop an environment that still has flags", async () => {
    await setupProject("proj-drop");
    const res = await call("PUT", P("proj-drop"), { body: { environments: ["development", "staging"] } });
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.detail).toMatch(/production.*still has 5 flag/);
  });

  it.each([
    { body: {}, path: "environments" },
    { body: { environments: [] }, path: "environments" },
    { body: { environments: ["Prod!"] }, path: "environments.0" },
    { body: { environments: ["a", "a"] }, path: "environments" },
  ])("rejects project body $body with problem+json naming $path", async ({ body, path }) => {
    const res = await call("PUT", P("proj-invalid"), { body });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect((await call("GET", P("proj-invalid"))).status).toBe(404);
  });

  it("rejects an invalid project name", async () => {
    const res = await call("PUT", P("Bad Name"), { body: { environments: ["production"] } });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/not a valid project name/);
  });

  it("answers 404 for a project that does not exist", async () => {
    const res = await call("GET", `${P("nowhere")}/environments/production/flags`);
    expect(res.status).toBe(404);
    expect(res.body.detail).toMatch(/does not exist.*PUT \/admin\/v1\/projects/);
  });
});

describe("flag sets (flagd documents)", () => {
  it("replaces an environment's flags, bumps its version, and exports them back", async () => {
    const { version } = await setupProject("fs-roundtrip");
    const exported = await call("GET", `${P("fs-roundtrip")}/environments/production/flagd`);
    expect(exported.status).toBe(200);
    expect(exported.body).toEqual(demoFlags);
    expect(exported.headers.get("etag")).toBe(`"${version}"`);
    const again = await call("PUT", `${P("fs-roundtrip")}/environments/production/flagd`, { body: demoFlags });
    expect(again.body).toMatchObject({ version, changed: false });
  });

  it.each([
    { id: "state", flags: { f: { state: "ON", variants: { a: true }, defaultVariant: "a" } }, path: /flags\.f\.state/ },
    { id: "default", flags: { f: { state: "ENABLED", variants: { on: true }, defaultVariant: "blue" } }, path: /flags\.f\.defaultVariant/ },
    { id: "variants", flags: { f: { state: "ENABLED", variants: {}, defaultVariant: null } }, path: /flags\.f\.variants/ },
    {
      id: "operator",
      flags: { f: { state: "ENABLED", variants: { on: true }, defaultVariant: "on", targeting: { nope: [1] } } },
      path: /flags\.f\.targeting/,
    },
    { id: "shape", flags: "nope", path: /flags/ },
  ])("rejects a malformed flag set ($id) and changes nothing", async ({ id, flags, path }) => {
    const project = `fs-bad-${id}`;
    await setupProject(project);
    const before = await versionOf(project);
    const audits = await auditCount(project);
    const res = await call("PUT", `${P(project)}/environments/production/flagd`, { body: { flags } });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.detail).toMatch(path);
    expect(res.body.errors.length).toBeGreaterThan(0);
    expect(await versionOf(project)).toBe(before);
    expect(await auditCount(project)).toBe(audits);
    expect((await call("GET", `${P(project)}/environments/production/flagd`)).body).toEqual(demoFlags);
  });

  it("rejects a body that is not JSON", async () => {
    await setupProject("fs-not-json");
    const res = await call("PUT", `${P("fs-not-json")}/environments/production/flagd`, { body: "{flags:" });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/not valid JSON/);
  });

  it("honours If-Match on the environment version", async () => {
    const { version } = await setupProject("fs-if-match");
    const stale = await call("PUT", `${P("fs-if-match")}/environments/production/flagd`, {
      body: demoFlags,
      headers: { "if-match": `"${version - 1}"` },
    });
    expect(stale.status).toBe(412);
    expect(stale.body.currentVersion).toBe(version);
    const fresh = await call("PUT", `${P("fs-if-match")}/environments/production/flagd`, {
      body: demoFlags,
      headers: { "if-match": `"${version}"` },
    });
    expect(fresh.status).toBe(200);
  });
});

describe("single flags", () => {
  const flag = { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off" };

  it("creates, reads, lists, updates with If-Match, toggles and deletes a flag", async () => {
    await setupProject("flag-crud");
    const base = `${P("flag-crud")}/environments/staging/flags`;
    const created = await call("POST", base, { body: { key: "beta-ui", ...flag, reason: "launch prep" } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ key: "beta-ui", environment: "staging", state: "ENABLED", defaultVariant: "off" });
    const version = created.body.version;
    expect(created.headers.get("etag")).toBe(`"${version}"`);

    expect((await call("POST", base, { body: { key: "beta-ui", ...flag } })).status).toBe(409);
    expect((await call("GET", `${base}/beta-ui`)).body.version).toBe(version);
    expect((await call("GET", base)).body.flags.map((f: { key: string }) => f.key)).toEqual(["beta-ui"]);

    const noIfMatch = await call("PUT", `${base}/beta-ui`, { body: { ...flag, defaultVariant: "on" } });
    expect(noIfMatch.status).toBe(428);
    const updated = await call("PUT", `${base}/beta-ui`, {
      body: { ...flag, defaultVariant: "on" },
      headers: { "if-match": `"${version}"` },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.version).toBe(version + 1);
    const stale = await call("PUT", `${base}/beta-ui`, { body: flag, headers: { "if-match": `"${version}"` } });
    expect(stale.status).toBe(412);
    expect(stale.body.currentVersion).toBe(version + 1);
    expect(stale.body.detail).toMatch(/changed by token:bootstrap/);

    const off = await call("POST", `${base}/beta-ui/toggle`, { headers: { "x-change-reason": "incident 42" } });
    expect(off.body.state).toBe("DISABLED");
    const on = await call("POST", `${base}/beta-ui/toggle`, { body: { state: "ENABLED" } });
    expect(on.body.state).toBe("ENABLED");
    const onAgain = await call("POST", `${base}/beta-ui/toggle`, { body: { state: "ENABLED" } });
    expect(onAgain.body.state).toBe("ENABLED");

    expect((await call("DELETE", `${base}/beta-ui`)).status).toBe(204);
    expect((await call("GET", `${base}/beta-ui`)).status).toBe(404);
  });

  it.each([
    { name: "missing variants", body: { key: "x", state: "ENABLED", defaultVariant: "on" }, path: "variants" },
    { name: "bad key", body: { key: "has space", ...flag }, path: "key" },
    { name: "unknown field", body: { key: "x", ...flag, colour: "red" }, path: "(body)" },
    { name: "metadata not primitive", body: { key: "x", ...flag, metadata: { a: { b: 1 } } }, path: "metadata.a" },
  ])("rejects a new flag with $name and writes nothing", async ({ body, path }) => {
    const project = `flag-bad-${path.replace(/[^a-z]/g, "")}`;
    await setupProject(project);
    const before = await versionOf(project, "staging");
    const res = await call("POST", `${P(project)}/environments/staging/flags`, { body });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await versionOf(project, "staging")).toBe(before);
  });

  it("rejects a targeting rule that does not compile, naming the field", async () => {
    await setupProject("flag-bad-rule");
    const res = await call("POST", `${P("flag-bad-rule")}/environments/staging/flags`, {
      body: { key: "x", ...flag, targeting: { if: [{ $ref: "no-such-segment" }, "on", "off"] } },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toMatch(/^targeting/);
    expect((await call("GET", `${P("flag-bad-rule")}/environments/staging/flags`)).body.flags).toEqual([]);
  });

  it("answers 404 for toggling a flag that does not exist", async () => {
    await setupProject("flag-toggle-missing");
    const res = await call("POST", `${P("flag-toggle-missing")}/environments/production/flags/ghost/toggle`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });
});

describe("keys and scopes", () => {
  it("shows a key once, lists it without the secret, and records its use", async () => {
    const { key, keyId } = await setupProject("keys-list");
    expect(key).toMatch(/^ef_client_/);
    const list = await call("GET", `${P("keys-list")}/environments/production/keys`);
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toMatchObject({ id: keyId, scope: "client", environment: "production", revokedAt: null });
    expect(JSON.stringify(list.body)).not.toContain(key);
  });

  it("stores only the SHA-256 of a key", async () => {
    const { key } = await setupProject("keys-hashed");
    const rows = await runInDurableObject(store("keys-hashed"), (_instance, state) =>
      state.storage.sql.exec("SELECT * FROM api_keys").toArray(),
    );
    expect(JSON.stringify(rows)).not.toContain(key);
  });

  it.each(["client", "server"] as const)("refuses a %s key on every admin route with 403", async (scope) => {
    const { key } = await setupProject(`keys-scope-${scope}`, undefined, scope);
    const p = P(`keys-scope-${scope}`);
    const routes: [string, string, unknown?][] = [
      ["GET", p],
      ["PUT", p, { environments: ["production"] }],
      ["GET", `${p}/environments/production/flagd`],
      ["PUT", `${p}/environments/production/flagd`, demoFlags],
      ["GET", `${p}/environments/production/flags`],
      ["GET", `${p}/environments/production/flags/kill-switch`],
      ["POST", `${p}/environments/production/flags/kill-switch/toggle`],
      ["POST", `${p}/environments/production/keys`, { scope: "client" }],
      ["GET", `${p}/audit`],
    ];
    for (const [method, path, body] of routes) {
      const res = await call(method, path, { token: key, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    expect((await call("GET", `${p}/environments/production/flags/kill-switch`)).body.state).toBe("ENABLED");
  });

  it("lets an admin key manage its own project only", async () => {
    await setupProject("keys-admin-a");
    await setupProject("keys-admin-b");
    const adminKey = (await call("POST", `${P("keys-admin-a")}/keys`, { body: { scope: "admin" } })).body.key;
    expect((await call("GET", P("keys-admin-a"), { token: adminKey })).status).toBe(200);
    expect((await call("GET", P("keys-admin-b"), { token: adminKey })).status).toBe(401);
    const toggled = await call("POST", `${P("keys-admin-a")}/environments/production/flags/kill-switch/toggle`, { token: adminKey });
    expect(toggled.status).toBe(200);
    const audit = await call("GET", `${P("keys-admin-a")}/audit?limit=1`);
    expect(audit.body.entries[0].actor).toMatch(/^key:key_/);
  });

  it("refuses a wrong bootstrap token", async () => {
    const res = await call("GET", P("keys-admin-a"), { token: "wrong" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/Bearer/);
  });
});

describe("audit log", () => {
  it("records who changed what, why, before and after, newest first and paged", async () => {
    await setupProject("audit-log");
    const base = `${P("audit-log")}/environments/production/flags/kill-switch`;
    await call("POST", `${base}/toggle`, { headers: { "x-change-reason": "checkout errors" } });
    await call("POST", `${base}/toggle`, { body: { reason: "fixed" } });
    const page1 = await call("GET", `${P("audit-log")}/audit?flag=kill-switch&limit=1`);
    expect(page1.body.entries).toHaveLength(1);
    expect(page1.body.entries[0]).toMatchObject({
      actor: "token:bootstrap",
      action: "flag.enabled",
      environment: "production",
      target: "flag:kill-switch",
      reason: "fixed",
      before: { state: "DISABLED" },
      after: { state: "ENABLED" },
    });
    const page2 = await call("GET", `${P("audit-log")}/audit?flag=kill-switch&limit=1&cursor=${page1.body.nextCursor}`);
    expect(page2.body.entries[0]).toMatchObject({ action: "flag.disabled", reason: "checkout errors" });
    const all = await call("GET", `${P("audit-log")}/audit`);
    expect(all.body.entries.map((e: { action: string }) => e.action)).toEqual([
      "flag.enabled",
      "flag.disabled",
      "key.created",
      "flagset.replaced",
      ...Array(Object.keys(demoFlags.flags).length).fill("flag.created"),
      "project.created",
    ]);
  });

  it("detects a tampered entry when the chain is verified", async () => {
    await setupProject("audit-tamper");
    expect((await call("GET", `${P("audit-tamper")}/audit/verify`)).body).toMatchObject({
      ok: true,
      entries: 3 + Object.keys(demoFlags.flags).length,
    });
    await runInDurableObject(store("audit-tamper"), (_instance, state) => {
      state.storage.sql.exec("UPDATE audit SET actor = 'someone-else' WHERE seq = 2");
    });
    const verify = await call("GET", `${P("audit-tamper")}/audit/verify`);
    expect(verify.body).toMatchObject({ ok: false, brokenAt: 2 });
  });

  it("rejects a malformed audit query", async () => {
    await setupProject("audit-query");
    const res = await call("GET", `${P("audit-query")}/audit?limit=0&since=yesterday`);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["limit", "since"]);
  });
});

describe("concurrent writers", () => {
  it("lets exactly one of many conflicting writers win each version; the rest get 412 and the audit holds only winners", async () => {
    await setupProject("concurrency");
    const url = `${P("concurrency")}/environments/production/flags/banner-color`;
    const auditBefore = await auditCount("concurrency");
    const winners: string[] = [];
    let losers = 0;
    for (let round = 0; round < 5; round++) {
      const current = await call("GET", url);
      const version = current.body.version;
      const attempts = await Promise.all(
        Array.from({ length: 8 }, (_, writer) =>
          call("PUT", url, {
            headers: { "if-match": `"${version}"`, "x-change-reason": `round ${round} writer ${writer}` },
            body: {
              state: "ENABLED",
              variants: { red: "#c00", green: "#0a0", blue: "#00c" },
              defaultVariant: ["red", "green", "blue"][writer % 3],
              metadata: { writer: `${round}-${writer}` },
            },
          }),
        ),
      );
      const ok = attempts.filter((a) => a.status === 200);
      expect(ok).toHaveLength(1);
      expect(ok[0]!.body.version).toBe(version + 1);
      for (const lost of attempts.filter((a) => a.status !== 200)) {
        expect(lost.status).toBe(412);
        expect(lost.body.currentVersion).toBe(version + 1);
        losers++;
      }
      const winnerIndex = attempts.findIndex((a) => a.status === 200);
      winners.push(`round ${round} writer ${winnerIndex}`);
    }
    expect(losers).toBe(5 * 7);
    const audit = await call("GET", `${P("concurrency")}/audit?flag=banner-color&limit=100`);
    const updates = audit.body.entries.filter((e: { action: string }) => e.action === "flag.updated");
    expect(updates.map((e: { reason: string }) => e.reason)).toEqual([...winners].reverse());
    expect(await auditCount("concurrency")).toBe(auditBefore + 5);
    const versions = updates.map((e: { version: number }) => e.version);
    expect(new Set(versions).size).toBe(5);
  });
});

describe("evaluate from the admin API", () => {
  it("evaluates a context against the FlagStore's current flags", async () => {
    await setupProject("admin-evaluate");
    const res = await call("POST", `${P("admin-evaluate")}/environments/production/evaluate`, {
      body: { context: { targetingKey: "u1", country: "US" }, flags: ["banner-color", "ghost"] },
    });
    expect(res.status).toBe(200);
    expect(res.body.flags).toEqual([
      expect.objectContaining({ key: "banner-color", value: "#0a0", variant: "green", reason: "TARGETING_MATCH" }),
      expect.objectContaining({ key: "ghost", errorCode: "FLAG_NOT_FOUND" }),
    ]);
  });

  it("rejects a context that is not an object", async () => {
    await setupProject("admin-evaluate-bad");
    const res = await call("POST", `${P("admin-evaluate-bad")}/environments/production/evaluate`, { body: { context: [1] } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe("context");
  });
});
