/**
 * Hostile flag keys through every admin door: a flagd import, a single-flag create, a flag URL.
 * Each is refused with problem+json naming the key, and changes nothing.
 */
import { describe, expect, it } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { call, setupProject, store } from "./helpers";

const flagd = (project: string) => `/admin/v1/projects/${project}/environments/production/flagd`;
const versionOf = async (project: string) => (await call("GET", flagd(project))).headers.get("etag");

describe("flag keys", () => {
  it.each(["__proto__", "constructor", "prototype"])(
    "refuses a flag set with the flag key %s (400, version unchanged, export still 200)",
    async (key) => {
      const project = `keys-${key.replace(/_/g, "")}`;
      await setupProject(project);
      const before = await versionOf(project);
      // Sent as text, as a client would: JSON.parse makes "__proto__" an own property.
      const body = `{"flags": {"ok": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}, ${JSON.stringify(key)}: {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}}}`;
      const put = await call("PUT", flagd(project), { body });
      expect(put.status).toBe(400);
      expect(put.headers.get("content-type")).toMatch(/application\/problem\+json/);
      // Refused at the admin boundary (no prototype keys in any body); the engine refuses the same
      // key in sets that reach it another way (test/engine/hostile-input.test.ts).
      expect(put.body.detail).toContain(`"flags.${key}": the keys __proto__, constructor and prototype are not allowed`);
      const after = await call("GET", flagd(project));
      expect(after.status).toBe(200);
      expect(after.headers.get("etag")).toBe(before);
      expect(Object.keys(after.body.flags)).not.toContain(key);
      expect((await call("GET", `${flagd(project)}?format=plain`)).status).toBe(200);
    },
  );

  it("refuses __proto__ through the flag routes with the same rule, and a 10,000-character key through both", async () => {
    await setupProject("keys-routes");
    const before = await versionOf("keys-routes");
    const flags = "/admin/v1/projects/keys-routes/environments/production/flags";
    const created = await call("POST", flags, {
      body: `{"key": "__proto__", "state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}`,
    });
    expect(created.status).toBe(400);
    expect(JSON.stringify(created.body)).toContain('\\"__proto__\\" is reserved');
    expect((await call("GET", `${flags}/__proto__`)).status).toBe(400);
    const long = "k".repeat(10_000);
    expect(
      (await call("POST", flags, { body: { key: long, state: "ENABLED", variants: { on: true }, defaultVariant: "on" } })).status,
    ).toBe(400);
    const imported = await call("PUT", flagd("keys-routes"), {
      body: { flags: { [long]: { state: "ENABLED", variants: { on: true }, defaultVariant: "on" } } },
    });
    expect(imported.status).toBe(400);
    expect(imported.body.errors).toEqual([{ path: "flags", message: expect.stringContaining("at most 256 characters") }]);
    expect(await versionOf("keys-routes")).toBe(before);
  });

  it("refuses targeting that returns a variant the flag does not have, naming the path", async () => {
    await setupProject("keys-variants");
    const put = await call("PUT", flagd("keys-variants"), {
      body: {
        flags: {
          beta: {
            state: "ENABLED",
            variants: { on: true, off: false },
            defaultVariant: "off",
            targeting: { if: [{ var: "staff" }, "onn", "off"] },
          },
        },
      },
    });
    expect(put.status).toBe(400);
    expect(put.body.errors).toEqual([
      { path: "flags.beta.targeting.if[1]", message: 'the targeting returns "onn", which is not one of the variants (on, off)' },
    ]);
  });
});

describe("flags stored by an earlier release", () => {
  it("never block the kill switch of another flag, nor a delete", async () => {
    await setupProject("keys-legacy");
    // A flag an earlier release accepted: its targeting returns a variant it does not have.
    const legacy = {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      targeting: { if: [{ var: "beta" }, "onn", "off"] },
    };
    await runInDurableObject(store("keys-legacy"), async (_instance, state) => {
      state.storage.sql.exec(
        "INSERT INTO flags (environment, key, definition, version, updated_at, updated_by) VALUES ('production', 'legacy-flag', ?, 1, 0, 'test')",
        JSON.stringify(legacy),
      );
    });
    const flags = "/admin/v1/projects/keys-legacy/environments/production/flags";
    const killed = await call("POST", `${flags}/kill-switch/toggle`, { body: { state: "DISABLED", reason: "incident" } });
    expect(killed.status, JSON.stringify(killed.body)).toBe(200);
    expect((await call("DELETE", `${flags}/dark-launch`)).status).toBe(204);
    // Changing the legacy flag itself gets every check.
    const current = await call("GET", `${flags}/legacy-flag`);
    const edited = await call("PUT", `${flags}/legacy-flag`, {
      headers: { "if-match": current.headers.get("etag")! },
      body: { ...legacy, defaultVariant: "on" },
    });
    expect(edited.status).toBe(400);
  });
});
