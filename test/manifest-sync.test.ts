/**
 * Flags declared in code: an OpenFeature CLI flag manifest synced into an environment (creates
 * what is missing, never changes what exists, reports drift, idempotent, safe when two
 * application instances sync at once), and an environment exported as a manifest the OpenFeature
 * CLI's own JSON schema accepts.
 */
import { describe, expect, it } from "vitest";
import schemaText from "./fixtures/openfeature-flag-manifest.schema.json?raw";
import { checkSchema } from "./json-schema-check";
import { call, demoFlags, setupProject } from "./helpers";

const schema: Record<string, unknown> = JSON.parse(schemaText);
const path = (project: string, env: string, query = "") => `/admin/v1/projects/${project}/environments/${env}/manifest${query}`;
const sync = (project: string, env: string, body: unknown, query = "") => call("POST", path(project, env, query), { body });
const audit = async (project: string) => (await call("GET", `/admin/v1/projects/${project}/audit?limit=500`)).body.entries;
const versionOf = async (project: string, env: string) =>
  (await call("GET", `/admin/v1/projects/${project}`)).body.environments.find((e: { name: string }) => e.name === env).version;

/** The code's declarations: one flag of each manifest type, and two the demo project already has. */
const manifest = {
  $schema: "https://raw.githubusercontent.com/open-feature/cli/refs/heads/main/schema/v0/flag-manifest.json",
  flags: {
    "new-search": { flagType: "boolean", defaultValue: true, description: "The new search page" },
    "checkout-copy": { flagType: "string", defaultValue: "Pay now" },
    "page-size": { flagType: "integer", defaultValue: 20 },
    "discount-rate": { flagType: "float", defaultValue: 0.15 },
    theme: { flagType: "object", defaultValue: { primary: "#007bff" } },
    // In the demo project: a boolean whose default variant is "on" (agrees), and a string flag declared as boolean.
    "kill-switch": { flagType: "boolean", defaultValue: true, description: "Turns everything off" },
    "banner-color": { flagType: "boolean", defaultValue: false },
  },
};

describe("manifest sync", () => {
  it("creates the missing flags, leaves existing ones as they are, and reports drift", async () => {
    await setupProject("mf-create");
    const before = (await call("GET", "/admin/v1/projects/mf-create/environments/production/flagd")).body;
    const res = await sync("mf-create", "production", manifest);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      dryRun: false,
      changed: true,
      version: expect.any(Number),
      created: ["checkout-copy", "discount-rate", "new-search", "page-size", "theme"],
      drift: [
        { flag: "banner-color", kind: "type", detail: expect.stringMatching(/declares boolean; the environment's variants are string/) },
        { flag: "dark-launch", kind: "not-in-manifest", detail: expect.stringMatching(/has it and the manifest does not/) },
        { flag: "new-checkout", kind: "not-in-manifest", detail: expect.any(String) },
        { flag: "no-default", kind: "not-in-manifest", detail: expect.any(String) },
      ],
      unchanged: 2,
    });
    const after = (await call("GET", "/admin/v1/projects/mf-create/environments/production/flagd")).body;
    for (const key of Object.keys(demoFlags.flags)) expect(after.flags[key]).toEqual(before.flags[key]);
    expect(after.flags["new-search"]).toEqual({
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "on",
      metadata: { "edgeflags.offVariant": "off" },
    });
    expect(after.flags.theme).toEqual({ state: "ENABLED", variants: { default: { primary: "#007bff" } }, defaultVariant: "default" });
    expect(after.flags["page-size"].variants).toEqual({ default: 20 });

    // Every created flag is audited with the reason; the description went into the flag's facts,
    // but not for kill-switch, which existed before.
    const entries = await audit("mf-create");
    const created = entries.filter(
      (e: { action: string; version: number }) => e.action === "flag.created" && e.version === res.body.version,
    );
    expect(created.map((e: { target: string }) => e.target).sort()).toEqual(res.body.created.map((k: string) => `flag:${k}`));
    expect(new Set(created.map((e: { reason: string }) => e.reason))).toEqual(new Set(["manifest sync"]));
    expect((await call("GET", "/admin/v1/projects/mf-create/flags/new-search")).body.info.description).toBe("The new search page");
    expect((await call("GET", "/admin/v1/projects/mf-create/flags/kill-switch")).body.info.description).toBe("");

    // The created flags serve the manifest's defaults.
    const evaluated = await call("POST", "/admin/v1/projects/mf-create/environments/production/evaluate", {
      body: { context: { targetingKey: "u1" }, flags: ["new-search", "discount-rate", "theme"] },
    });
    expect(evaluated.body.flags.map((f: { value: unknown }) => f.value)).toEqual([true, 0.15, { primary: "#007bff" }]);
  });

  it("reports a default that differs, and names the caller's reason after 'manifest sync'", async () => {
    await setupProject("mf-drift");
    const res = await call("POST", path("mf-drift", "production"), {
      body: {
        flags: {
          "kill-switch": { flagType: "boolean", defaultValue: false },
          "new-checkout": { flagType: "boolean", defaultValue: false },
          added: { flagType: "string", defaultValue: "x" },
        },
      },
      headers: { "x-change-reason": "release 7" },
    });
    expect(res.status).toBe(200);
    expect(res.body.drift.filter((d: { kind: string }) => d.kind !== "not-in-manifest")).toEqual([
      {
        flag: "kill-switch",
        kind: "default",
        detail: "the manifest's default is false; the environment's default variant \"on\" serves true",
      },
    ]);
    const entry = (await audit("mf-drift")).find((e: { target: string }) => e.target === "flag:added");
    expect(entry.reason).toBe("manifest sync: release 7");
  });

  it("is idempotent: a second sync changes nothing, bumps nothing, audits nothing", async () => {
    await setupProject("mf-idem");
    expect((await sync("mf-idem", "staging", manifest)).body.changed).toBe(true);
    const version = await versionOf("mf-idem", "staging");
    const entries = (await audit("mf-idem")).length;
    const again = await sync("mf-idem", "staging", manifest);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ dryRun: false, changed: false, version, created: [], drift: [], unchanged: 7 });
    expect(await versionOf("mf-idem", "staging")).toBe(version);
    expect((await audit("mf-idem")).length).toBe(entries);
  });

  it("creates each flag once when several instances sync at the same moment", async () => {
    await setupProject("mf-race");
    const version = await versionOf("mf-race", "staging");
    const answers = await Promise.all([1, 2, 3, 4].map(() => sync("mf-race", "staging", manifest)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    const created = answers.flatMap((a) => a.body.created);
    expect(created.sort()).toEqual(Object.keys(manifest.flags).sort());
    expect(answers.filter((a) => a.body.changed)).toHaveLength(1);
    const entries = (await audit("mf-race")).filter(
      (e: { action: string; environment: string }) => e.action === "flag.created" && e.environment === "staging",
    );
    expect(entries).toHaveLength(Object.keys(manifest.flags).length);
    expect(await versionOf("mf-race", "staging")).toBe(version + 1);
  });

  it("writes nothing on a dry run, and answers what the sync would do", async () => {
    await setupProject("mf-dry");
    const version = await versionOf("mf-dry", "staging");
    const entries = (await audit("mf-dry")).length;
    const res = await sync("mf-dry", "staging", manifest, "?dryRun=true");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dryRun: true, changed: true, version, created: Object.keys(manifest.flags).sort(), unchanged: 0 });
    expect(await versionOf("mf-dry", "staging")).toBe(version);
    expect((await audit("mf-dry")).length).toBe(entries);
    expect(Object.keys((await call("GET", "/admin/v1/projects/mf-dry/environments/staging/flagd")).body.flags)).toEqual([]);
  });

  it.each([
    { name: "no flags object", body: { flag: {} }, detail: /flags/ },
    { name: "an unknown flag type", body: { flags: { a: { flagType: "number", defaultValue: 1 } } }, detail: /flags\.a\.flagType/ },
    {
      name: "a default of another type",
      body: { flags: { a: { flagType: "integer", defaultValue: 1.5 } } },
      detail: /flags\.a\.defaultValue: is 1.5, not a value of flagType "integer"/,
    },
    { name: "a missing default", body: { flags: { a: { flagType: "string" } } }, detail: /flags\.a\.defaultValue/ },
    {
      name: "a key edgeflags cannot store",
      body: { flags: { "bad key!": { flagType: "boolean", defaultValue: true } } },
      detail: /not a valid flag key/,
    },
    { name: "not JSON", body: "{flags", detail: /JSON/ },
    {
      name: "a reserved key",
      body: '{"flags": {"__proto__": {"flagType": "boolean", "defaultValue": true}}}',
      detail: /"flags.__proto__": the keys __proto__, constructor and prototype are not allowed/,
    },
    {
      name: "too many flags",
      body: { flags: Object.fromEntries(Array.from({ length: 5001 }, (_, i) => [`f${i}`, { flagType: "boolean", defaultValue: true }])) },
      detail: /at most 5000 flags/,
    },
  ])("refuses a bad manifest ($name) with 400, changing nothing", async ({ name, body, detail }) => {
    const project = `mf-bad-${name.replace(/[^a-z]+/g, "-")}`;
    await setupProject(project);
    const version = await versionOf(project, "staging");
    const res = await sync(project, "staging", body);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.detail).toMatch(detail);
    expect(await versionOf(project, "staging")).toBe(version);
  });

  it("answers 404 for an environment the project lacks, and 400 for a bad dryRun", async () => {
    await setupProject("mf-404");
    expect((await sync("mf-404", "qa", manifest)).status).toBe(404);
    expect((await sync("mf-404", "staging", manifest, "?dryRun=yes")).status).toBe(400);
    expect(Object.keys((await call("GET", "/admin/v1/projects/mf-404/environments/staging/flagd")).body.flags)).toEqual([]);
  });
});

describe("an environment as a manifest", () => {
  it("exports what the OpenFeature CLI's schema accepts, and round-trips through sync", async () => {
    await setupProject("mf-export");
    await sync("mf-export", "production", manifest);
    const res = await call("GET", path("mf-export", "production"));
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toMatch(/^"\d+"$/);
    expect(checkSchema(schema, res.body)).toEqual([]);
    expect(res.body.flags["banner-color"]).toEqual({ flagType: "string", defaultValue: "#c00" });
    expect(res.body.flags["new-search"]).toEqual({ flagType: "boolean", defaultValue: true, description: "The new search page" });
    expect(res.body.flags["discount-rate"]).toEqual({ flagType: "float", defaultValue: 0.15 });
    // A flag without a default variant or off variant has no default to declare: listed, not dropped silently.
    expect(res.body.flags["no-default"]).toBeUndefined();
    expect(res.body["x-edgeflags-skipped"]).toEqual([{ flag: "no-default", reason: expect.stringMatching(/no default variant/) }]);

    // The exported manifest synced into an empty environment creates every flag, and then agrees.
    const copied = await sync("mf-export", "staging", res.body);
    expect(copied.body.created).toEqual(Object.keys(res.body.flags).sort());
    expect((await sync("mf-export", "staging", res.body)).body).toMatchObject({ changed: false, drift: [] });
    const staging = await call("GET", path("mf-export", "staging"));
    expect(staging.body.flags).toEqual(res.body.flags);
  });

  it("the schema check itself refuses manifests the OpenFeature CLI refuses", () => {
    expect(checkSchema(schema, { flags: { a: { codeDefault: true } } })).not.toEqual([]);
    expect(checkSchema(schema, { flags: { "": { flagType: "boolean", defaultValue: true } } })).not.toEqual([]);
    expect(checkSchema(schema, { flags: { a: { flagType: "integer", defaultValue: "20" } } })).not.toEqual([]);
    expect(checkSchema(schema, {})).not.toEqual([]);
    expect(checkSchema(schema, { flags: { a: { flagType: "float", defaultValue: 1 } } })).toEqual([]);
  });
});
