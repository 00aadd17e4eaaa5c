/**
 * Importing from a homegrown flag system (`POST /admin/v1/projects/{p}/import`): the dry run,
 * the real import, idempotent re-runs, CSV = JSON, bad input named by line, customer overrides as
 * one target list served per customer at the edge, pins, and the audit naming the source.
 */
import { describe, expect, it } from "vitest";
import { parseCsv } from "../admin/import/csv";
import { convertHomegrown } from "../admin/import/homegrown";
import { call, drainOutbox, evaluate, store } from "./helpers";
import launchDarklyExport from "./fixtures/import/launchdarkly.json?raw";
import unleashExport from "./fixtures/import/unleash.json?raw";

const P = (project: string) => `/admin/v1/projects/${project}`;

async function createProject(project: string, environments = ["development", "production"]): Promise<void> {
  const created = await call("PUT", P(project), { body: { environments } });
  expect(created.status).toBe(201);
}

async function versions(project: string): Promise<Record<string, number>> {
  const info = await call("GET", P(project));
  return Object.fromEntries(info.body.environments.map((env: { name: string; version: number }) => [env.name, env.version]));
}

async function auditEntries(
  project: string,
): Promise<{ action: string; reason: string | null; target: string; environment: string | null; after: any }[]> {
  return (await call("GET", `${P(project)}/audit?limit=500`)).body.entries;
}

/** A flag's definition as the environment's flag set holds it (with its targets). */
async function definitionOf(project: string, environment: string, flag: string) {
  return (await call("GET", `${P(project)}/environments/${environment}/flagd`)).body.flags[flag];
}

function importFlags(project: string, body: Record<string, unknown>, dryRun = false) {
  return call("POST", `${P(project)}/import${dryRun ? "?dryRun=true" : ""}`, { body });
}

const EXPORT = {
  flags: [
    {
      key: "new-checkout",
      description: "The new checkout flow",
      tags: ["checkout"],
      environments: {
        production: { enabled: false, customers: ["c-1", "c-2"] },
        qa: { enabled: true },
      },
    },
    {
      key: "dark-mode",
      environments: {
        production: { enabled: true, customers: { "c-3": false, "c-1": true } },
        qa: { enabled: true },
      },
    },
  ],
};

const CSV = [
  "\ufeffflag,environment,enabled,customers,description,tags",
  'new-checkout,production,false,c-1,"The new checkout flow",checkout',
  "new-checkout,production,,c-2,,",
  "new-checkout,qa,true,,,",
  '"dark-mode",production,true,"c-3=false; c-1",,',
  "dark-mode,qa,TRUE,,,",
  "",
].join("\r\n");

describe("homegrown import", () => {
  it("a dry run shows the diff and writes nothing; the import then writes it, creating the missing environment", async () => {
    const project = "import-dry";
    await createProject(project);
    const before = await versions(project);
    const auditBefore = (await auditEntries(project)).length;

    const dry = await importFlags(project, { source: "homegrown", data: EXPORT }, true);
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({
      dryRun: true,
      source: "homegrown",
      changed: true,
      environments: {
        production: { version: before["production"], created: ["dark-mode", "new-checkout"], updated: [], unchanged: 0 },
        qa: { version: 0, created: ["dark-mode", "new-checkout"], updated: [], unchanged: 0 },
      },
      segments: { created: [], updated: [] },
      unmapped: [],
    });
    expect(await versions(project)).toEqual(before);
    expect((await auditEntries(project)).length).toBe(auditBefore);
    expect((await call("GET", `${P(project)}/environments/production/flags`)).body.flags).toEqual([]);

    const real = await importFlags(project, { source: "homegrown", data: EXPORT });
    expect(real.status).toBe(200);
    expect(real.body.changed).toBe(true);
    expect(real.body.environments.production.created).toEqual(["dark-mode", "new-checkout"]);
    const after = await versions(project);
    expect(Object.keys(after).sort()).toEqual(["development", "production", "qa"]);
    expect(after["production"]).toBe(before["production"]! + 1);
    expect(after["development"]).toBe(before["development"]);
    expect(real.body.environments.production.version).toBe(after["production"]);
    expect(real.body.environments.qa.version).toBe(after["qa"]);

    expect(await definitionOf(project, "production", "new-checkout")).toEqual({
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      metadata: { "edgeflags.offVariant": "off" },
      targets: { on: ["c-1", "c-2"] },
    });
    expect((await definitionOf(project, "production", "dark-mode")).targets).toEqual({ on: ["c-1"], off: ["c-3"] });
    const info = await call("GET", `${P(project)}/flags/new-checkout`);
    expect(info.body.info).toMatchObject({ description: "The new checkout flow", tags: ["checkout"] });
  });

  it("re-running the same import changes nothing: no version, no audit; a change in the source updates only that flag", async () => {
    const project = "import-rerun";
    await createProject(project);
    expect((await importFlags(project, { source: "homegrown", data: EXPORT })).status).toBe(200);
    const before = await versions(project);
    const audit = (await auditEntries(project)).length;

    const again = await importFlags(project, { source: "homegrown", data: EXPORT });
    expect(again.status).toBe(200);
    expect(again.body.changed).toBe(false);
    expect(again.body.environments.production).toEqual({
      version: before["production"],
      created: [],
      updated: [],
      unchanged: 2,
      absent: [],
    });
    expect(await versions(project)).toEqual(before);
    expect((await auditEntries(project)).length).toBe(audit);

    const changed: { flags: { environments: Record<string, unknown> }[] } = structuredClone(EXPORT);
    changed.flags[1]!.environments["production"] = { enabled: true, customers: { "c-3": false, "c-1": true, "c-9": true } };
    const third = await importFlags(project, { source: "homegrown", data: changed });
    expect(third.body.changed).toBe(true);
    expect(third.body.environments).toEqual({
      production: { version: before["production"]! + 1, created: [], updated: ["dark-mode"], unchanged: 1, absent: [] },
      qa: { version: before["qa"], created: [], updated: [], unchanged: 2, absent: [] },
    });
    expect(await versions(project)).toEqual({ ...before, production: before["production"]! + 1 });
    const entries = (await auditEntries(project)).slice(0, (await auditEntries(project)).length - audit);
    expect(entries.map((e) => `${e.action} ${e.target}`).sort()).toEqual(["flag.updated flag:dark-mode", "import.applied project"]);
  });

  it("a re-import that would undo changes made in edgeflags since is refused naming them; keep or overwrite them on request", async () => {
    const project = "import-edited";
    await createProject(project);
    expect((await importFlags(project, { source: "homegrown", data: EXPORT })).status).toBe(200);
    const E = (env: string, flag: string) => `${P(project)}/environments/${env}/flags/${flag}`;
    // Changes made in edgeflags during audit mode: one customer fixed, a kill switch, a description, a deletion.
    expect((await call("POST", `${E("production", "new-checkout")}/targets`, { body: { add: { on: ["acme"] } } })).status).toBe(200);
    expect((await call("POST", `${E("qa", "dark-mode")}/toggle`, { body: { state: "DISABLED" } })).status).toBe(200);
    expect((await call("PATCH", `${P(project)}/flags/new-checkout`, { body: { description: "Checkout v2" } })).status).toBe(200);
    expect((await call("DELETE", E("qa", "new-checkout"))).status).toBe(204);
    // Meanwhile the old service changed too: one more customer on two flags.
    const changed: { flags: { environments: Record<string, { enabled: boolean; customers?: unknown }> }[] } = structuredClone(EXPORT);
    changed.flags[0]!.environments["production"] = { enabled: false, customers: ["c-1", "c-2", "c-5"] };
    changed.flags[1]!.environments["production"] = { enabled: true, customers: { "c-3": false, "c-1": true, "c-9": true } };
    const before = await versions(project);
    const audit = (await auditEntries(project)).length;

    const dry = await importFlags(project, { source: "homegrown", data: changed }, true);
    expect(dry.status).toBe(200);
    expect(dry.body.edited.map((e: { environment: string | null; flag: string; change: string; outcome: string }) => e)).toEqual([
      expect.objectContaining({ environment: null, flag: "new-checkout", change: "flag.info.updated", outcome: "refused" }),
      expect.objectContaining({ environment: "production", flag: "new-checkout", change: "flag.targets-changed", outcome: "refused" }),
      expect.objectContaining({ environment: "qa", flag: "dark-mode", change: "flag.disabled", outcome: "refused" }),
      expect.objectContaining({ environment: "qa", flag: "new-checkout", change: "flag.deleted", outcome: "refused" }),
    ]);

    const refused = await importFlags(project, { source: "homegrown", data: changed });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain("4 flags were changed in edgeflags");
    expect(refused.body.detail).toContain("production/new-checkout (flag.targets-changed");
    expect(refused.body.detail).toContain('"edited": "keep"');
    expect(await versions(project)).toEqual(before);
    expect((await auditEntries(project)).length).toBe(audit);

    const kept = await importFlags(project, { source: "homegrown", data: changed, edited: "keep" });
    expect(kept.status).toBe(200);
    expect(kept.body.edited.map((e: { outcome: string }) => e.outcome)).toEqual(["kept", "kept", "kept", "kept"]);
    expect(kept.body.environments.production).toMatchObject({ created: [], updated: ["dark-mode"] });
    expect(kept.body.environments.qa).toMatchObject({ created: [], updated: [] });
    expect((await definitionOf(project, "production", "new-checkout")).targets).toEqual({ on: ["acme", "c-1", "c-2"] });
    expect((await definitionOf(project, "production", "dark-mode")).targets).toEqual({ on: ["c-1", "c-9"], off: ["c-3"] });
    expect((await definitionOf(project, "qa", "dark-mode")).state).toBe("DISABLED");
    expect(await definitionOf(project, "qa", "new-checkout")).toBeUndefined();
    expect((await call("GET", `${P(project)}/flags/new-checkout`)).body.info.description).toBe("Checkout v2");

    // Kept edits stay edits: the next import still names them.
    const again = await importFlags(project, { source: "homegrown", data: changed }, true);
    expect(again.body.edited).toHaveLength(4);

    const overwritten = await importFlags(project, { source: "homegrown", data: changed, edited: "overwrite" });
    expect(overwritten.status).toBe(200);
    expect(overwritten.body.edited.map((e: { outcome: string }) => e.outcome)).toEqual([
      "overwritten",
      "overwritten",
      "overwritten",
      "overwritten",
    ]);
    expect((await definitionOf(project, "production", "new-checkout")).targets).toEqual({ on: ["c-1", "c-2", "c-5"] });
    expect((await definitionOf(project, "qa", "dark-mode")).state).toBe("ENABLED");
    expect(await definitionOf(project, "qa", "new-checkout")).toBeDefined();
    expect((await call("GET", `${P(project)}/flags/new-checkout`)).body.info.description).toBe("The new checkout flow");
    const summary = (await auditEntries(project)).find((e) => e.action === "import.applied");
    expect(summary?.after.edited).toHaveLength(4);

    // Once the import wrote them again, they are the import's: a re-run is clean.
    const clean = await importFlags(project, { source: "homegrown", data: changed });
    expect(clean.body).toMatchObject({ changed: false, edited: [] });
  });

  it("tells an edit in edgeflags from an import's by the entry the import marked, not by its reason: a reason that reads like an import's is still an edit", async () => {
    const project = "import-edited-reason";
    await createProject(project);
    expect((await importFlags(project, { source: "homegrown", data: EXPORT })).status).toBe(200);
    const toggled = await call("POST", `${P(project)}/environments/qa/flags/dark-mode/toggle`, {
      body: { state: "DISABLED" },
      headers: { "x-change-reason": "import from homegrown was wrong here; off until the fix" },
    });
    expect(toggled.status).toBe(200);
    const changed: { flags: { environments: Record<string, { enabled: boolean; customers?: unknown }> }[] } = structuredClone(EXPORT);
    changed.flags[1]!.environments["qa"] = { ...changed.flags[1]!.environments["qa"]!, enabled: true, customers: ["c-7"] };
    const before = await versions(project);
    const refused = await importFlags(project, { source: "homegrown", data: changed });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain("qa/dark-mode (flag.disabled");
    expect(await versions(project)).toEqual(before);
    expect((await definitionOf(project, "qa", "dark-mode")).state).toBe("DISABLED");
  });

  it("names per environment the flags it holds that the export no longer mentions (the old system deleted them), and leaves them", async () => {
    const project = "import-absent";
    await createProject(project);
    expect((await importFlags(project, { source: "homegrown", data: EXPORT })).status).toBe(200);
    const gone = { flags: [EXPORT.flags[0]!] };
    const dry = await importFlags(project, { source: "homegrown", data: gone }, true);
    expect(dry.body.changed).toBe(false);
    expect(dry.body.environments.production.absent).toEqual(["dark-mode"]);
    expect(dry.body.environments.qa.absent).toEqual(["dark-mode"]);
    const real = await importFlags(project, { source: "homegrown", data: gone });
    expect(real.body.environments.production).toMatchObject({ unchanged: 1, absent: ["dark-mode"] });
    expect(await definitionOf(project, "production", "dark-mode")).toBeDefined();
  });

  it("CSV carries a flag's lifetime as JSON does", () => {
    const json = convertHomegrown(
      { flags: [{ key: "promo", lifetime: "temporary", environments: { qa: { enabled: true } } }] },
      { format: "json" },
    );
    const csv = convertHomegrown("flag,environment,enabled,customers,lifetime\npromo,qa,true,,Temporary\n", { format: "csv" });
    expect(json.ok && json.value.flags[0]!.lifetime).toBe("temporary");
    expect(csv.ok && csv.value).toEqual(json.ok && json.value);
  });

  it("CSV and JSON give the same plan, and importing one after the other changes nothing", async () => {
    const fromJson = convertHomegrown(EXPORT, { format: "json" });
    const fromCsv = convertHomegrown(CSV, { format: "csv" });
    expect(fromJson.ok && fromCsv.ok).toBe(true);
    if (!fromJson.ok || !fromCsv.ok) return;
    expect(fromCsv.value).toEqual(fromJson.value);
    expect(fromJson.value.flags[0]!.perEnvironment["production"]!.targets).toEqual({ on: ["c-1", "c-2"] });

    const project = "import-csv";
    await createProject(project);
    expect((await importFlags(project, { source: "homegrown", data: EXPORT })).body.changed).toBe(true);
    const csv = await importFlags(project, { source: "homegrown", format: "csv", data: CSV });
    expect(csv.status).toBe(200);
    expect(csv.body.changed).toBe(false);
  });

  it("renames and selects environments with `environments`", async () => {
    const plan = convertHomegrown(EXPORT, { format: "json", environments: { production: "prod" } });
    expect(plan.ok && plan.value.environments).toEqual(["prod"]);
    expect(plan.ok && Object.keys(plan.value.flags[0]!.perEnvironment)).toEqual(["prod"]);
    const twice = convertHomegrown(EXPORT, { format: "json", environments: { production: "prod", qa: "prod" } });
    expect(!twice.ok && twice.error.detail).toContain('renamed to "prod"'); // What the selection leaves out is said, not dropped silently.
    expect(plan.ok && plan.value.unmapped).toEqual([
      { flag: null, environment: "qa", construct: 'environment "qa"', detail: 'not imported: "environments" does not name it' },
    ]);
  });

  it("refuses an `environments` entry naming no environment of the export (a typo would import nothing), for every source", async () => {
    const project = "import-select-typo";
    await createProject(project);
    const before = await versions(project);
    const answer = await importFlags(project, { source: "homegrown", data: EXPORT, environments: { prd: "production" } });
    expect(answer.status).toBe(400);
    expect(answer.body.detail).toBe('environments.prd: the export has no environment "prd" (it has: "production", "qa")');
    expect(await versions(project)).toEqual(before);
    for (const [source, data] of [
      ["launchdarkly", launchDarklyExport],
      ["unleash", unleashExport],
    ] as const) {
      const vendor = await importFlags(project, { source, data: JSON.parse(data), environments: { nowhere: "production" } }, true);
      expect(vendor.status).toBe(400);
      expect(vendor.body.detail).toContain('the export has no environment "nowhere"');
    }
  });

  const badCsv: [name: string, csv: string, where: string][] = [
    ["an unclosed quote", 'flag,environment,enabled,customers\nx,production,true,"c-1\n', "data line 2"],
    ["a quote inside a field", 'flag,environment,enabled,customers\nx,production,true,c"1\n', "data line 2"],
    [
      "an enabled that is not a boolean",
      "flag,environment,enabled,customers\r\nx,production,true,\r\ny,production,maybe,\r\n",
      "data line 3",
    ],
    ["a row with too few fields", "flag,environment,enabled,customers\nx,production,true\n", "data line 2"],
    ["rows that disagree", "flag,environment,enabled,customers\nx,production,true,\n\nx,production,false,\n", "data line 4"],
    ["a customer both on and off", "flag,environment,enabled,customers\nx,production,true,c-1\nx,production,,c-1=false\n", "data line 3"],
    ["no enabled for a flag", "flag,environment,enabled,customers\nx,production,,c-1\n", "data line 2"],
    ["an unknown column", "flag,environment,enabled,customers,owner\n", "data line 1"],
    ["a lifetime that is neither", "flag,environment,enabled,customers,lifetime\nx,production,true,,forever\n", "data line 2"],
    ["a bad flag key", "flag,environment,enabled,customers\nbad/key,production,true,\n", 'flag "bad/key"'],
    ["a bad environment name", "flag,environment,enabled,customers\nx,Production!,true,\n", 'environment "Production!"'],
  ];
  it.each(badCsv.map(([name, csv, where], i) => ({ name, csv, where, i })))(
    "bad CSV ($name) → 400 naming where, nothing written",
    async ({ csv, where, i }) => {
      const project = `import-bad-csv-${i}`;
      await createProject(project);
      const before = await versions(project);
      const answer = await importFlags(project, { source: "homegrown", format: "csv", data: csv });
      expect(answer.status).toBe(400);
      expect(answer.headers.get("content-type")).toContain("application/problem+json");
      expect(answer.body.detail).toContain(where);
      expect(await versions(project)).toEqual(before);
    },
  );

  it("bad JSON → 400 naming the field", async () => {
    const project = "import-bad-json";
    await createProject(project);
    const answer = await importFlags(project, {
      source: "homegrown",
      data: { flags: [{ key: "x", environments: { production: { enabled: "yes" } } }] },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.detail).toContain("data.flags.0.environments.production.enabled");
  });

  it("a plan that would make an environment invalid is refused naming the flag; nothing is written", async () => {
    const project = "import-invalid";
    await createProject(project);
    const put = await call("PUT", `${P(project)}/environments/production/flagd`, {
      body: {
        flags: {
          "legacy-gate": { state: "ENABLED", variants: { enabled: true, disabled: false }, defaultVariant: "enabled" },
          checkout: {
            state: "ENABLED",
            variants: { on: true, off: false },
            defaultVariant: "on",
            prerequisites: [{ flag: "legacy-gate", variant: "enabled" }],
          },
        },
      },
    });
    expect(put.status).toBe(200);
    const before = await versions(project);
    const answer = await importFlags(project, {
      source: "homegrown",
      data: {
        flags: [
          { key: "legacy-gate", environments: { production: { enabled: true } } },
          { key: "fresh", environments: { qa: { enabled: true } } },
        ],
      },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.detail).toContain("production");
    expect(answer.body.detail).toContain("checkout");
    expect(await versions(project)).toEqual(before);
  });

  it("4,000 customer overrides become one target list, and the edge answers per customer", { timeout: 60_000 }, async () => {
    const project = "import-customers";
    await createProject(project);
    const customers = Array.from({ length: 4000 }, (_, i) => `cust-${i}`);
    const answer = await importFlags(project, {
      source: "homegrown",
      data: { flags: [{ key: "beta-reports", environments: { production: { enabled: false, customers } } }] },
    });
    expect(answer.status).toBe(200);
    const flag = await definitionOf(project, "production", "beta-reports");
    expect(flag.targets.on).toHaveLength(4000);
    expect(flag.targeting).toBeUndefined();
    const key = await call("POST", `${P(project)}/environments/production/keys`, { body: { scope: "server" } });
    await drainOutbox(project);
    for (const id of ["cust-0", "cust-1234", "cust-3999"]) {
      const result = await evaluate(key.body.key, "beta-reports", { targetingKey: id });
      expect(result.body).toMatchObject({ value: true, variant: "on", reason: "TARGETING_MATCH" });
    }
    const other = await evaluate(key.body.key, "beta-reports", { targetingKey: "cust-4000" });
    expect(other.body).toMatchObject({ value: false, variant: "off" });
    // The kill switch wins over the overrides: the off variant, for everyone.
    const killed = await call("POST", `${P(project)}/environments/production/flags/beta-reports/toggle`, { body: { state: "DISABLED" } });
    expect(killed.status).toBe(200);
    await drainOutbox(project);
    expect((await evaluate(key.body.key, "beta-reports", { targetingKey: "cust-0" })).body).toMatchObject({
      value: false,
      reason: "DISABLED",
    });
  });

  it("100,000 overrides on one flag import (the audit counts them instead of listing them: a row holds at most 2 MB)", {
    timeout: 120_000,
  }, async () => {
    const project = "import-huge-list";
    await createProject(project);
    const customers = Array.from({ length: 100_000 }, (_, i) => `customer-account-${String(i).padStart(8, "0")}`);
    const answer = await importFlags(project, {
      source: "homegrown",
      data: {
        flags: [
          {
            key: "everyone-but",
            environments: { production: { enabled: true, customers: { ...Object.fromEntries(customers.map((id) => [id, false])) } } },
          },
        ],
      },
    });
    expect(answer.status).toBe(200);
    expect((await definitionOf(project, "production", "everyone-but")).targets.off).toHaveLength(100_000);
    const created = (await auditEntries(project)).find((e) => e.action === "flag.created");
    expect(created?.after.targetCounts).toEqual({ off: 100_000 });
    expect(created?.after.targets).toBeUndefined();
  });

  it("pins add targets that keep today's assignments; an unknown flag or variant is refused", async () => {
    const project = "import-pins";
    await createProject(project);
    const pin = [
      { flag: "new-checkout", environment: "production", targetingKey: "c-2", variant: "off" },
      { flag: "new-checkout", environment: "production", targetingKey: "u-7", variant: "on" },
    ];
    const answer = await importFlags(project, { source: "homegrown", data: EXPORT, pin });
    expect(answer.status).toBe(200);
    expect((await definitionOf(project, "production", "new-checkout")).targets).toEqual({ on: ["c-1", "u-7"], off: ["c-2"] });
    // The same import with the same pins is the same state.
    expect((await importFlags(project, { source: "homegrown", data: EXPORT, pin })).body.changed).toBe(false);

    const refused = [
      { pin: [{ flag: "nope", environment: "production", targetingKey: "x", variant: "on" }], named: '"nope"' },
      { pin: [{ flag: "dark-mode", environment: "qa", targetingKey: "x", variant: "blue" }], named: '"blue"' },
      {
        pin: [
          { flag: "dark-mode", environment: "qa", targetingKey: "x", variant: "on" },
          { flag: "dark-mode", environment: "qa", targetingKey: "x", variant: "off" },
        ],
        named: 'both "on" and "off"',
      },
    ];
    for (const { pin: bad, named } of refused) {
      const answer = await importFlags(project, { source: "homegrown", data: EXPORT, pin: bad });
      expect(answer.status).toBe(400);
      expect(answer.body.detail).toContain(named);
    }
  });

  it("the audit names the source (and the caller's reason) on every flag, plus one import.applied summary", async () => {
    const project = "import-audit";
    await createProject(project);
    const answer = await importFlags(project, { source: "homegrown", data: EXPORT, reason: "phase 1" });
    expect(answer.status).toBe(200);
    const entries = await auditEntries(project);
    const flagEntries = entries.filter((e) => e.action === "flag.created");
    expect(flagEntries).toHaveLength(4);
    for (const entry of flagEntries) expect(entry.reason).toBe("import from homegrown; phase 1");
    const summary = entries.filter((e) => e.action === "import.applied");
    expect(summary).toHaveLength(1);
    expect(summary[0]!.reason).toBe("import from homegrown; phase 1");
    expect(summary[0]!.after).toMatchObject({
      source: "homegrown",
      environments: { production: { created: ["dark-mode", "new-checkout"] } },
    });
    expect(entries.find((e) => e.action === "project.updated")?.after).toEqual({ environments: ["development", "production", "qa"] });
  });

  it("segments in a plan are created once, and a re-run leaves them alone", async () => {
    const project = "import-segments";
    await createProject(project);
    const plan = {
      source: "launchdarkly" as const,
      environments: ["production"],
      segments: [{ name: "beta-testers", description: "Beta", members: ["u-1", "u-2"] }],
      flags: [
        {
          key: "beta",
          perEnvironment: {
            production: {
              state: "ENABLED" as const,
              variants: { on: true, off: false },
              defaultVariant: "off",
              targeting: { if: [{ $ref: "beta-testers" }, "on", null] },
            },
          },
        },
      ],
      unmapped: [{ flag: "beta", environment: "production", construct: 'rule clause op "segmentMatch"', detail: "left out" }],
      notes: [],
    };
    const meta = { actor: "test", reason: null };
    const first = await store(project).imports().apply(plan, { dryRun: false, pins: [], meta });
    expect(first.ok && first.value).toMatchObject({
      changed: true,
      segments: { created: ["beta-testers"], updated: [] },
      unmapped: plan.unmapped,
    });
    const again = await store(project).imports().apply(plan, { dryRun: false, pins: [], meta });
    expect(again.ok && again.value).toMatchObject({ changed: false, segments: { created: [], updated: [] } });
    const segment = await call("GET", `${P(project)}/segments/beta-testers`);
    expect(segment.body.memberCount).toBe(2);
  });

  it("200 flags × 6 environments, some with 4,000 customer overrides, import in one call", { timeout: 60_000 }, async () => {
    const project = "import-scale";
    await createProject(project, ["dev", "qa", "staging", "perf", "sandbox", "production"]);
    const customers = Array.from({ length: 4000 }, (_, i) => `customer-${String(i).padStart(5, "0")}`);
    const environments = ["dev", "qa", "staging", "perf", "sandbox", "production"];
    const data = {
      flags: Array.from({ length: 200 }, (_, i) => ({
        key: `flag-${i}`,
        description: `Flag ${i}`,
        environments: Object.fromEntries(
          environments.map((env, e) => [env, { enabled: (i + e) % 3 === 0, customers: i % 20 === 0 ? customers : [`customer-${i}`] }]),
        ),
      })),
    };
    const body = JSON.stringify({ source: "homegrown", data });
    expect(body.length).toBeLessThan(8 * 1024 * 1024);
    const started = Date.now();
    const answer = await call("POST", `${P(project)}/import`, { body });
    console.log(`import of 200 flags × 6 environments (10 with 4,000 overrides), ${body.length} bytes: ${Date.now() - started} ms`);
    expect(answer.status).toBe(200);
    for (const env of environments) expect(answer.body.environments[env].created).toHaveLength(200);
    expect((await definitionOf(project, "perf", "flag-40")).targets.on).toHaveLength(4000);
    const again = await call("POST", `${P(project)}/import`, { body });
    expect(again.body.changed).toBe(false);
  });
});

describe("vendor imports through the route", () => {
  it.each([
    ["launchdarkly", launchDarklyExport],
    ["unleash", unleashExport],
  ])("%s: imported with every unmapped construct listed, audited with the source; a re-run changes nothing", async (source, raw) => {
    const project = `import-vendor-${source}`;
    await createProject(project, ["production"]);
    const data: unknown = JSON.parse(raw);
    const dry = await importFlags(project, { source, data }, true);
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, source, changed: true });
    const real = await importFlags(project, { source, data });
    expect(real.status).toBe(200);
    expect(real.body.unmapped).toEqual(dry.body.unmapped);
    expect(real.body.notes).toEqual(dry.body.notes);
    const created = Object.values(real.body.environments as Record<string, { created: string[] }>).flatMap((env) => env.created);
    expect(created.length).toBeGreaterThan(0);
    const entries = await auditEntries(project);
    expect(entries.filter((e) => e.action === "flag.created").every((e) => e.reason === `import from ${source}`)).toBe(true);
    expect(entries.filter((e) => e.action === "import.applied")).toHaveLength(1);
    const again = await importFlags(project, { source, data });
    expect(again.body.changed).toBe(false);
    expect((await auditEntries(project)).length).toBe(entries.length);
  });

  it("a vendor export is JSON: format csv is refused", async () => {
    const project = "import-vendor-csv";
    await createProject(project);
    const answer = await importFlags(project, { source: "unleash", format: "csv", data: "a,b" });
    expect(answer.status).toBe(400);
    expect(answer.body.detail).toContain("format");
  });
});

describe("CSV reading", () => {
  const cases: [text: string, rows: [number, string[]][] | string][] = [
    [
      "a,b\r\n1,2\r\n",
      [
        [1, ["a", "b"]],
        [2, ["1", "2"]],
      ],
    ],
    [
      "\ufeffa,b\n1,2",
      [
        [1, ["a", "b"]],
        [2, ["1", "2"]],
      ],
    ],
    [
      'a,"b\nc",d\n\n"x""y",,\n',
      [
        [1, ["a", "b\nc", "d"]],
        [4, ['x"y', "", ""]],
      ],
    ],
    ['""\n', [[1, [""]]]],
    [
      "a\rb\r",
      [
        [1, ["a"]],
        [2, ["b"]],
      ],
    ],
    ["a,", [[1, ["a", ""]]]],
    ["", []],
    ["\n\n", []],
    ['a,"b', "line 1"],
    ['a,b"c', "line 1"],
    ['a\n"b"x', "line 2"],
    ['x\n"multi\nline" , y', "line 3"],
  ];
  it.each(cases)("%j", (text, expected) => {
    const read = parseCsv(text);
    expect(read.ok ? read.rows.map((row) => [row.line, row.fields]) : `line ${read.line}`).toEqual(expected);
  });
});
