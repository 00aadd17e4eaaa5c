import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { optionsFrom, run } from "../admin/cli";
import { describeImport } from "../admin/cli/import";
import schemaText from "./fixtures/openfeature-flag-manifest.schema.json?raw";
import { checkSchema } from "./json-schema-check";
import type { CommandName, OptionValues } from "../admin/cli/args";
import { ADMIN_TOKEN, call, evaluate, setupProject } from "./helpers";
import { keyWithRole, protect } from "./approvals-helpers";

/** The CLI against the Worker itself, with files in memory. */
function cli(
  files: Map<string, string>,
  beforeWrite?: () => Promise<void>,
  service: { fetch?: typeof fetch; token?: string; deadlineMs?: number; maxBodyBytes?: number } = {},
) {
  const lines: string[] = [];
  return {
    lines,
    exec: (command: CommandName, values: OptionValues) =>
      run(optionsFrom(command, values, { EDGEFLAGS_TOKEN: service.token ?? ADMIN_TOKEN, EDGEFLAGS_URL: "http://edgeflags.test" }), {
        ...(service.deadlineMs === undefined ? {} : { deadlineMs: service.deadlineMs }),
        ...(service.maxBodyBytes === undefined ? {} : { maxBodyBytes: service.maxBodyBytes }),
        fetch:
          service.fetch ??
          (async (input, init) => {
            if (init?.method === "PUT" && beforeWrite) await beforeWrite();
            return exports.default.fetch(new Request(input, init));
          }),
        read: async (path) => {
          const text = files.get(path);
          if (text === undefined) throw new Error(`no such file ${path}`);
          return text;
        },
        write: async (path, text) => {
          files.set(path, text);
        },
        print: (line) => lines.push(line),
      }),
  };
}

/** A command whose options are wrong throws `message` as they are read, before anything calls the service. */
function refusedBeforeCalling(command: CommandName, values: OptionValues, message: string): void {
  const calls: string[] = [];
  const tool = cli(new Map(), undefined, {
    fetch: async (input) => {
      calls.push(String(input));
      return new Response("{}");
    },
  });
  expect(() => tool.exec(command, values)).toThrow(message);
  expect(calls).toEqual([]);
}

const args = (command: CommandName, extra: OptionValues = {}): [CommandName, OptionValues] => [
  command,
  { project: "cli", env: "production", file: "flags.json", ...extra },
];

describe("config as code", () => {
  it("pulls an environment, diffs a local change, dry-runs, and pushes it", async () => {
    await setupProject("cli");
    const files = new Map<string, string>();
    const tool = cli(files);
    expect(await tool.exec(...args("pull"))).toBe(0);
    const local = JSON.parse(files.get("flags.json")!);
    expect(Object.keys(local.flags)).toContain("kill-switch");
    expect(await tool.exec(...args("diff"))).toBe(0);

    local.flags["kill-switch"].state = "DISABLED";
    local.flags["from-code"] = { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off" };
    delete local.flags["dark-launch"];
    files.set("flags.json", JSON.stringify(local));
    tool.lines.length = 0;
    expect(await tool.exec(...args("diff"))).toBe(1);
    expect(tool.lines).toEqual(
      expect.arrayContaining(["+ from-code (only in file)", "- dark-launch (only in live)", "~ kill-switch: state"]),
    );

    const before = (await call("GET", "/admin/v1/projects/cli")).body.environments.at(-1).version;
    expect(await tool.exec(...args("push", { "dry-run": true }))).toBe(0);
    expect((await call("GET", "/admin/v1/projects/cli")).body.environments.at(-1).version).toBe(before);

    expect(await tool.exec(...args("push", { reason: "synced from code" }))).toBe(0);
    const live = (await call("GET", "/admin/v1/projects/cli/environments/production/flagd")).body;
    expect(live.flags["kill-switch"].state).toBe("DISABLED");
    expect(live.flags["dark-launch"]).toBeUndefined();
    const audit = (await call("GET", "/admin/v1/projects/cli/audit?limit=1")).body.entries[0];
    expect(audit).toMatchObject({ reason: "synced from code" });
    expect(await tool.exec(...args("diff"))).toBe(0);

    // The push recorded its result as the new base: the next edit pushes without pulling again.
    expect(JSON.parse(files.get("flags.base.json")!)).toMatchObject({ project: "cli", environment: "production", version: before + 1 });
    local.flags["banner-color"].defaultVariant = "blue";
    files.set("flags.json", JSON.stringify(local));
    expect(await tool.exec(...args("push"))).toBe(0);
  });

  it("refuses to overwrite a change made while pushing, and a version other than the one reviewed", async () => {
    await setupProject("cli-race");
    const files = new Map<string, string>();
    const racing = cli(files, async () => {
      await call("POST", "/admin/v1/projects/cli-race/environments/production/flags/kill-switch/toggle", {
        headers: { "x-change-reason": "on-call" },
      });
    });
    const raceArgs = (command: CommandName, extra: OptionValues = {}): [CommandName, OptionValues] => [
      command,
      { project: "cli-race", env: "production", file: "flags.json", ...extra },
    ];
    expect(await cli(files).exec(...raceArgs("pull"))).toBe(0);
    const local = JSON.parse(files.get("flags.json")!);
    local.flags["banner-color"].defaultVariant = "blue";
    files.set("flags.json", JSON.stringify(local));
    expect(await racing.exec(...raceArgs("push"))).toBe(1);
    expect(racing.lines).toEqual(
      expect.arrayContaining([expect.stringMatching(/changed while pushing/), "  ~ kill-switch (changed live)"]),
    );
    const live = (await call("GET", "/admin/v1/projects/cli-race/environments/production/flagd")).body;
    expect(live.flags["banner-color"].defaultVariant).toBe("red");
    expect(live.flags["kill-switch"].state).toBe("DISABLED");
    const stale = cli(files);
    expect(await stale.exec(...raceArgs("push", { "expect-version": "1" }))).toBe(1);
    expect(stale.lines.at(-1)).toMatch(/not the 1 you reviewed/);
  });

  it("refuses a push that would undo flags changed live since the pull, naming each, unless --force", async () => {
    await setupProject("cli-3way");
    const files = new Map<string, string>();
    const tool = cli(files);
    const a = (command: CommandName, extra: OptionValues = {}): [CommandName, OptionValues] => [
      command,
      { project: "cli-3way", env: "production", file: "flags.json", ...extra },
    ];
    const flags = "/admin/v1/projects/cli-3way/environments/production/flags";
    expect(await tool.exec(...a("pull"))).toBe(0);
    // On-call kills a flag, someone adds one and removes another, all after the pull.
    expect((await call("POST", `${flags}/kill-switch/toggle`, { body: { state: "DISABLED", reason: "on-call" } })).status).toBe(200);
    expect(
      (await call("POST", flags, { body: { key: "added-live", state: "ENABLED", variants: { on: true }, defaultVariant: "on" } })).status,
    ).toBe(201);
    expect((await call("DELETE", `${flags}/dark-launch`)).status).toBe(204);
    const local = JSON.parse(files.get("flags.json")!);
    local.flags["banner-color"].defaultVariant = "blue";
    files.set("flags.json", JSON.stringify(local));
    const before = (await call("GET", "/admin/v1/projects/cli-3way/environments/production/flagd")).headers.get("etag");

    tool.lines.length = 0;
    expect(await tool.exec(...a("diff"))).toBe(1);
    expect(tool.lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^changed live since flags.json was pulled at version \d+, and the file disagrees:$/),
        "  ~ kill-switch (changed live)",
      ]),
    );
    tool.lines.length = 0;
    expect(await tool.exec(...a("push"))).toBe(1);
    expect(tool.lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^refusing to push: cli-3way\/production changed since flags.json was pulled at version \d+/),
        "  + added-live (created live)",
        "  - dark-launch (deleted live)",
        "  ~ kill-switch (changed live)",
      ]),
    );
    expect(tool.lines.filter((line) => line.startsWith("  ") && line.includes("live)"))).toHaveLength(3);
    expect(await tool.exec(...a("push", { "dry-run": true }))).toBe(1);
    const live = await call("GET", "/admin/v1/projects/cli-3way/environments/production/flagd");
    expect(live.headers.get("etag")).toBe(before);
    expect(live.body.flags["kill-switch"].state).toBe("DISABLED");
    expect(live.body.flags["banner-color"].defaultVariant).toBe("red");

    expect(await tool.exec(...a("push", { force: true, reason: "file wins" }))).toBe(0);
    const forced = (await call("GET", "/admin/v1/projects/cli-3way/environments/production/flagd")).body;
    expect(forced.flags["kill-switch"].state).toBe("ENABLED");
    expect(forced.flags["banner-color"].defaultVariant).toBe("blue");
  });

  it("pushes when the file already agrees with what changed live, and says so when nothing changes", async () => {
    await setupProject("cli-agree");
    const files = new Map<string, string>();
    const tool = cli(files);
    const a = (command: CommandName, extra: OptionValues = {}): [CommandName, OptionValues] => [
      command,
      { project: "cli-agree", env: "production", file: "flags.json", ...extra },
    ];
    expect(await tool.exec(...a("pull"))).toBe(0);
    expect(
      (await call("POST", "/admin/v1/projects/cli-agree/environments/production/flags/kill-switch/toggle", { body: { state: "DISABLED" } }))
        .status,
    ).toBe(200);
    const local = JSON.parse(files.get("flags.json")!);
    local.flags["kill-switch"].state = "DISABLED";
    files.set("flags.json", JSON.stringify(local));
    const version = () => call("GET", "/admin/v1/projects/cli-agree/environments/production/flagd").then((r) => r.headers.get("etag"));
    const before = await version();
    tool.lines.length = 0;
    expect(await tool.exec(...a("push"))).toBe(0);
    expect(tool.lines.at(-1)).toMatch(
      /^nothing to push: cli-agree\/production already matches flags.json at version \d+; nothing written$/,
    );
    expect(await version()).toBe(before);

    local.flags["banner-color"].defaultVariant = "green";
    files.set("flags.json", JSON.stringify(local));
    expect(await tool.exec(...a("push"))).toBe(0);
    expect(tool.lines.at(-1)).toMatch(/^pushed:/);
  });

  it("refuses to push a file without the base pull records, unless --force", async () => {
    await setupProject("cli-nobase");
    const files = new Map<string, string>();
    const tool = cli(files);
    const a = (command: CommandName, extra: OptionValues = {}): [CommandName, OptionValues] => [
      command,
      { project: "cli-nobase", env: "production", file: "flags.json", ...extra },
    ];
    files.set("flags.json", JSON.stringify({ flags: { only: { state: "ENABLED", variants: { on: true }, defaultVariant: "on" } } }));
    expect(await tool.exec(...a("push"))).toBe(1);
    expect(tool.lines.at(-1)).toMatch(/refusing to push: there is no flags.base.json/);
    files.set("flags.base.json", JSON.stringify({ project: "cli-nobase", environment: "staging", version: 1, flagSet: { flags: {} } }));
    expect(await tool.exec(...a("push"))).toBe(1);
    expect(tool.lines.at(-1)).toMatch(/records cli-nobase\/staging, not cli-nobase\/production/);
    expect(await tool.exec(...a("push", { force: true }))).toBe(0);
    expect(Object.keys((await call("GET", "/admin/v1/projects/cli-nobase/environments/production/flagd")).body.flags)).toEqual(["only"]);
  });
});

describe("flags declared in code: sync and manifest", () => {
  const manifest = {
    flags: {
      "new-search": { flagType: "boolean", defaultValue: false, description: "The new search page" },
      "page-size": { flagType: "integer", defaultValue: 20 },
      "kill-switch": { flagType: "boolean", defaultValue: false },
    },
  };
  const sync = (project: string, extra: OptionValues = {}): [CommandName, OptionValues] => [
    "sync",
    { project, env: "production", manifest: "flags.manifest.json", ...extra },
  ];

  it("creates the missing flags, prints the drift, and exits 0 unless --strict; a second run creates nothing", async () => {
    await setupProject("cli-sync");
    const files = new Map([["flags.manifest.json", JSON.stringify(manifest)]]);
    const tool = cli(files);
    expect(await tool.exec(...sync("cli-sync", { reason: "app start" }))).toBe(0);
    expect(tool.lines).toEqual([
      expect.stringMatching(/^created 2 flags in cli-sync\/production \(now version \d+\): new-search, page-size$/),
      "1 flags of the manifest already exist and were left as they are",
      "drift (5): cli-sync/production differs from flags.manifest.json; nothing was changed for it:",
      "  ! kill-switch (default): the manifest's default is false; the environment's default variant \"on\" serves true",
      expect.stringMatching(/^ {2}! banner-color \(not-in-manifest\): /),
      expect.stringMatching(/^ {2}! dark-launch \(not-in-manifest\): /),
      expect.stringMatching(/^ {2}! new-checkout \(not-in-manifest\): /),
      expect.stringMatching(/^ {2}! no-default \(not-in-manifest\): /),
    ]);
    const audit = (await call("GET", "/admin/v1/projects/cli-sync/audit?limit=1")).body.entries[0];
    expect(audit).toMatchObject({ action: "flag.info.updated", reason: "manifest sync: app start" });

    tool.lines.length = 0;
    expect(await tool.exec(...sync("cli-sync"))).toBe(0);
    expect(tool.lines[0]).toMatch(
      /^nothing to create: cli-sync\/production has every flag of flags.manifest.json \(version \d+\); nothing written$/,
    );
    expect(await tool.exec(...sync("cli-sync", { strict: true }))).toBe(1);
  });

  it("--dry-run writes nothing and exits 1 when it would create flags, 0 when there is nothing to create", async () => {
    await setupProject("cli-sync-dry");
    const files = new Map([["flags.manifest.json", JSON.stringify(manifest)]]);
    const tool = cli(files);
    const version = () => call("GET", "/admin/v1/projects/cli-sync-dry/environments/production/flagd").then((r) => r.headers.get("etag"));
    const before = await version();
    expect(await tool.exec(...sync("cli-sync-dry", { "dry-run": true }))).toBe(1);
    expect(tool.lines[0]).toBe("dry run: would create 2 flags in cli-sync-dry/production: new-search, page-size; nothing written");
    expect(await version()).toBe(before);
    expect(await tool.exec(...sync("cli-sync-dry"))).toBe(0);
    expect(await tool.exec(...sync("cli-sync-dry", { "dry-run": true }))).toBe(0);
  });

  it("refuses a manifest file that is not JSON or not a manifest, naming what is wrong, with exit 2", async () => {
    await setupProject("cli-sync-bad");
    const files = new Map([
      ["broken.json", "{flags"],
      ["wrong.json", JSON.stringify({ flags: { a: { flagType: "integer", defaultValue: "20" } } })],
    ]);
    const tool = cli(files);
    await expect(tool.exec(...sync("cli-sync-bad", { manifest: "broken.json" }))).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/^broken.json is not JSON/),
    });
    await expect(tool.exec(...sync("cli-sync-bad", { manifest: "wrong.json" }))).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/failed: 400: flags.a.defaultValue: is "20", not a value of flagType "integer"/),
    });
    await expect(tool.exec(...sync("cli-sync-bad", { manifest: "missing.json" }))).rejects.toThrow(/cannot read the manifest missing.json/);
  });

  it("writes an environment's manifest, naming what it left out; the file syncs into another environment", async () => {
    await setupProject("cli-manifest");
    const files = new Map<string, string>();
    const tool = cli(files);
    expect(await tool.exec("manifest", { project: "cli-manifest", env: "production", file: "out.json" })).toBe(0);
    expect(tool.lines).toEqual([
      expect.stringMatching(/^wrote 4 flags of cli-manifest\/production \(version \d+\) to out.json$/),
      "left out 1 flags a manifest cannot express (listed in the file's x-edgeflags-skipped):",
      expect.stringMatching(/^ {2}! no-default: it has no default variant/),
    ]);
    const written = JSON.parse(files.get("out.json")!);
    expect(written.$schema).toBe("https://raw.githubusercontent.com/open-feature/cli/refs/heads/main/schema/v0/flag-manifest.json");
    expect(checkSchema(JSON.parse(schemaText), written)).toEqual([]);
    expect(written.flags["banner-color"]).toEqual({ flagType: "string", defaultValue: "#c00" });
    expect(await tool.exec("sync", { project: "cli-manifest", env: "staging", manifest: "out.json" })).toBe(0);
    expect(Object.keys((await call("GET", "/admin/v1/projects/cli-manifest/environments/staging/flagd")).body.flags)).toEqual(
      Object.keys(written.flags).sort(),
    );
  });
});

describe("flags import", () => {
  const csv = [
    "flag,environment,enabled,customers",
    "new-checkout,production,false,c-1;c-2",
    "new-checkout,qa,true,",
    "dark-mode,production,true,",
  ].join("\n");

  it("dry-runs (exit 1, the diff per environment, nothing written), imports (exit 0), and re-runs as nothing to import", async () => {
    await call("PUT", "/admin/v1/projects/cli-import", { body: { environments: ["production"] } });
    const files = new Map([
      ["export.csv", csv],
      ["pins.csv", "flag,environment,targetingKey,variant\nnew-checkout,production,c-9,on\n"],
    ]);
    const tool = cli(files);
    const values = { project: "cli-import", source: "homegrown", file: "export.csv", pin: "pins.csv" };
    expect(await tool.exec("import", { ...values, "dry-run": true })).toBe(1);
    expect(tool.lines).toEqual([
      "dry run: importing homegrown into cli-import would change:",
      expect.stringMatching(/^ {2}production \(now at version \d+\): 2 created, 0 updated, 0 unchanged$/),
      "    + dark-mode",
      "    + new-checkout",
      "  qa (now at version 0): 1 created, 0 updated, 0 unchanged",
      "    + new-checkout",
    ]);
    expect((await call("GET", "/admin/v1/projects/cli-import/environments/production/flagd")).body.flags).toEqual({});

    tool.lines.length = 0;
    expect(await tool.exec("import", { ...values, reason: "moving off the old system" })).toBe(0);
    expect(tool.lines[0]).toBe("imported homegrown into cli-import:");
    const flag = (await call("GET", "/admin/v1/projects/cli-import/environments/production/flagd")).body.flags["new-checkout"];
    expect(flag.targets).toEqual({ on: ["c-1", "c-2", "c-9"] });

    tool.lines.length = 0;
    expect(await tool.exec("import", values)).toBe(0);
    expect(tool.lines).toEqual(["nothing to import: cli-import already holds what this homegrown export describes; nothing written"]);
  });

  it("a re-import that would undo an edit made in edgeflags lists it, is refused (exit 1), and keeps it with --edited keep", async () => {
    await call("PUT", "/admin/v1/projects/cli-edited", { body: { environments: ["production"] } });
    const files = new Map([["export.csv", csv]]);
    const tool = cli(files);
    const values = { project: "cli-edited", source: "homegrown", file: "export.csv" };
    expect(await tool.exec("import", values)).toBe(0);
    const targets = "/admin/v1/projects/cli-edited/environments/production/flags/new-checkout/targets";
    expect((await call("POST", targets, { body: { add: { on: ["acme"] } } })).status).toBe(200);
    files.set("export.csv", csv.replace("c-1;c-2", "c-1;c-2;c-3"));

    tool.lines.length = 0;
    expect(await tool.exec("import", { ...values, "dry-run": true })).toBe(1);
    expect(tool.lines).toContain(
      "1 flags were changed in edgeflags since an import wrote them (the import refuses them: pass --edited keep to leave them, or --edited overwrite to replace them):",
    );
    expect(tool.lines).toContainEqual(expect.stringMatching(/^ {2}! production\/new-checkout: flag\.targets-changed by \S+ at /));
    await expect(tool.exec("import", values)).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringContaining("production/new-checkout (flag.targets-changed"),
    });
    expect(await tool.exec("import", { ...values, edited: "keep" })).toBe(0);
    expect((await call("GET", targets)).body.targets.map((t: { id: string }) => t.id)).toEqual(["acme", "c-1", "c-2"]);
    expect(() => tool.exec("import", { ...values, edited: "sometimes" })).toThrow(/--edited is keep or overwrite/);
  });

  it("splits an export over the admin API's body limit into parts, checks them all, then imports them: the same as one call", async () => {
    const rows = ["flag,environment,enabled,customers,description"];
    for (let f = 0; f < 12; f++)
      for (const env of ["qa", "production"]) {
        const ids = Array.from({ length: 40 }, (_, i) => `customer-${f}-${i}`);
        // One flag's overrides over two rows (they merge), and a description with a comma (quoted).
        rows.push(`flag-${f},${env},${f % 2 === 0},${ids.slice(0, 20).join(";")},"flag ${f}, imported"`);
        rows.push(`flag-${f},${env},,${ids.slice(20).join(";")},`);
      }
    const text = `${rows.join("\n")}\n`;
    const pins = "flag,environment,targetingKey,variant\nflag-3,production,vip,on\n";
    const files = new Map([
      ["big.csv", text],
      ["pins.csv", pins],
    ]);
    const posts: string[] = [];
    const fetchLogged: typeof fetch = async (input, init) => {
      if (init?.method === "POST") posts.push(String(input));
      return exports.default.fetch(new Request(input, init));
    };
    const tool = cli(files, undefined, { maxBodyBytes: 8 * 1024, fetch: fetchLogged });
    await call("PUT", "/admin/v1/projects/cli-split", { body: { environments: ["qa", "production"] } });
    const values = { project: "cli-split", source: "homegrown", file: "big.csv", pin: "pins.csv" };

    expect(await tool.exec("import", { ...values, "dry-run": true })).toBe(1);
    expect(tool.lines[0]).toMatch(
      /^big\.csv is \d+ KiB, over the 8 KiB the admin API takes in one call: importing it in \d+ parts \(qa, part 1 of \d+;/,
    );
    const parts = posts.length;
    expect(parts).toBeGreaterThan(2);
    expect(posts.every((url) => url.endsWith("?dryRun=true"))).toBe(true);
    expect(tool.lines).toContainEqual(expect.stringMatching(/^ {2}production \(now at version \d+\): 12 created, 0 updated, 0 unchanged$/));
    expect((await call("GET", "/admin/v1/projects/cli-split/environments/production/flagd")).body.flags).toEqual({});

    tool.lines.length = 0;
    posts.length = 0;
    expect(await tool.exec("import", values)).toBe(0);
    expect(posts).toHaveLength(2 * parts);
    expect(tool.lines).toContainEqual(expect.stringMatching(/^ {2}qa \(now version \d+\): 12 created, 0 updated, 0 unchanged$/));
    const flagd = (await call("GET", "/admin/v1/projects/cli-split/environments/production/flagd")).body.flags;
    expect(Object.keys(flagd)).toHaveLength(12);
    expect(flagd["flag-3"].targets.on).toHaveLength(41);
    expect(flagd["flag-3"].targets.on).toContain("vip");
    expect((await call("GET", "/admin/v1/projects/cli-split/flags/flag-5")).body.info.description).toBe("flag 5, imported");

    // The whole export in one call (as a service with a larger limit takes it) now changes nothing.
    const whole = await call("POST", "/admin/v1/projects/cli-split/import?dryRun=true", {
      body: {
        source: "homegrown",
        format: "csv",
        data: text,
        pin: [{ flag: "flag-3", environment: "production", targetingKey: "vip", variant: "on" }],
      },
    });
    expect(whole.body.changed).toBe(false);
  });

  it("refuses a vendor export over the body limit, saying why, before calling the service", async () => {
    const files = new Map([["ld.json", JSON.stringify({ items: [{ key: "x".repeat(5000) }] })]]);
    const tool = cli(files, undefined, { maxBodyBytes: 1024, fetch: async () => new Response("{}") });
    await expect(tool.exec("import", { project: "p", source: "launchdarkly", file: "ld.json" })).rejects.toThrow(
      /is \d+ KiB as a request, over the 1 KiB the admin API takes in one call, and a launchdarkly export cannot be split by the CLI/,
    );
  });

  it("refuses a pins file without the four columns, naming the file, before calling the service", async () => {
    let called = false;
    const files = new Map([
      ["export.csv", csv],
      ["pins.csv", "flag,targetingKey\nnew-checkout,c-9\n"],
    ]);
    const tool = cli(files, undefined, {
      fetch: async () => {
        called = true;
        return new Response("{}");
      },
    });
    await expect(tool.exec("import", { project: "p", source: "homegrown", file: "export.csv", pin: "pins.csv" })).rejects.toThrow(
      /pins.csv needs a header row naming the columns flag,environment,targetingKey,variant/,
    );
    expect(called).toBe(false);
  });

  it("prints every unmapped construct and note of an answer", () => {
    const lines = describeImport(
      {
        dryRun: false,
        source: "launchdarkly",
        changed: true,
        environments: { production: { version: 7, created: ["checkout"], updated: ["banner"], unchanged: 3, absent: ["retired"] } },
        segments: { created: ["beta-users"], updated: [] },
        edited: [],
        unmapped: [
          {
            flag: "checkout",
            environment: "production",
            construct: 'rule clause op "segmentMatch"',
            detail: "left out: segment not exported",
          },
          { flag: null, environment: null, construct: "project tags", detail: "not imported" },
        ],
        notes: [{ flag: "checkout", environment: "production", kind: "rebucketed", detail: "50/50 rollout re-bucketed" }],
      },
      "shop",
    );
    expect(lines).toEqual([
      "imported launchdarkly into shop:",
      "  production (now version 7): 1 created, 1 updated, 3 unchanged",
      "    + checkout",
      "    ~ banner",
      "  production: 1 flags are not in this export and were left alone (deleted in the old system? delete them here too): retired",
      "  segments: 1 created, 0 updated",
      "    + beta-users",
      "could not map 2 constructs (left out or approximated as described; check each before relying on the flag):",
      '  ! checkout [production]: rule clause op "segmentMatch": left out: segment not exported',
      "  ! (project): project tags: not imported",
      "notes (1):",
      "  - checkout [production] rebucketed: 50/50 rollout re-bucketed",
      "  percentage rollouts were re-bucketed: to keep today's assignments of some units, pass them with --pin pins.csv",
    ]);
  });
});

describe("the service, when it is not what the CLI expects", () => {
  const pull = (project = "cli-errors"): [CommandName, OptionValues] => ["pull", { project, env: "production", file: "f.json" }];

  it.each([
    {
      name: "nothing listens at the URL",
      fetch: async () => {
        throw new TypeError("fetch failed", {
          cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8787"), { code: "ECONNREFUSED" }),
        });
      },
      message:
        /^cannot reach edgeflags at http:\/\/edgeflags.test \(connection refused: nothing listens there\); check --url or EDGEFLAGS_URL$/,
    },
    {
      name: "the URL answers HTML",
      fetch: async () => new Response("<html>hello</html>", { status: 200, headers: { "content-type": "text/html", etag: '"3"' } }),
      message: /answered 200 with text\/html, not JSON \("<html>hello<\/html>"\); is --url the edgeflags service\?$/,
    },
    {
      name: "the service never answers",
      fetch: () => new Promise<Response>(() => {}),
      message:
        /^http:\/\/edgeflags.test did not answer GET \/admin\/v1\/projects\/cli-errors\/environments\/production\/flagd within 0.05 s$/,
    },
  ])("says so when $name (exit 2)", async ({ fetch, message }) => {
    const tool = cli(new Map(), undefined, { fetch, deadlineMs: 50 });
    await expect(tool.exec(...pull())).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(message) });
  });

  it("names a refused token (401) and a key that may not use the admin API (403)", async () => {
    const { key } = await setupProject("cli-errors");
    await expect(cli(new Map(), undefined, { token: "not-a-key" }).exec(...pull())).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/^http:\/\/edgeflags.test refused the credential \(401: .+\); set EDGEFLAGS_TOKEN to an admin key/),
    });
    await expect(cli(new Map(), undefined, { token: key }).exec(...pull())).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/^the credential may not do this \(403: .+\); the CLI needs an admin key or the admin token/),
    });
  });
});

describe("migration and cut-over", () => {
  it("shows the criterion unmet with what differed (exit 1), refuses the cut-over, cuts over with --override, then back", async () => {
    const { key } = await setupProject("cli-migration", undefined, "server");
    const sent = await call("POST", "/migration/v1/comparisons", {
      token: key,
      body: { batch: "cli-batch-1", entries: [{ flag: "kill-switch", compared: 40, mismatched: 3, uncompared: 5 }] },
    });
    expect(sent.status).toBe(202);
    const tool = cli(new Map());
    const where = { project: "cli-migration", env: "production" };

    expect(await tool.exec("migration", where)).toBe(1);
    expect(tool.lines[0]).toBe("production: the legacy system answers");
    expect(tool.lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ {2}criterion not met: 3 differences over 40 comparisons in the last 7 days/),
        "    - 40 comparisons in the last 7 days, fewer than the 10000 required",
        "  not compared: 5 evaluations in the last 7 days (the legacy system failed to answer, or the application had too many comparisons waiting)",
        expect.stringMatching(/^ {2}coverage: 1 of \d+ flags compared in the last 7 days$/),
        expect.stringMatching(/^ {4}! kill-switch: 3 of 40 \(last /),
      ]),
    );

    tool.lines.length = 0;
    expect(await tool.exec("cut-over", { ...where, to: "edgeflags", reason: "looks fine" })).toBe(1);
    expect(tool.lines[0]).toMatch(/^refused: 409: .*not met/);
    expect((await call("GET", "/migration/v1/status", { token: key })).body.authority).toBe("legacy");

    tool.lines.length = 0;
    expect(await tool.exec("cut-over", { ...where, to: "edgeflags", override: true, "grace-days": "3", reason: "QA signed off" })).toBe(0);
    expect(tool.lines[0]).toMatch(
      /^edgeflags answers for cli-migration\/production from version \d+, overriding the unmet criterion; audit mode keeps comparing until /,
    );
    expect((await call("GET", "/migration/v1/status", { token: key })).body.authority).toBe("edgeflags");
    const entry = (await call("GET", "/admin/v1/projects/cli-migration/audit?limit=50")).body.entries.find(
      (e: { action: string }) => e.action === "migration.cut-over",
    );
    expect(entry).toMatchObject({ reason: "QA signed off", after: { authority: "edgeflags", overridden: true } });

    // Cut over already: the overview no longer waits, and asking again changes nothing.
    tool.lines.length = 0;
    expect(await tool.exec("migration", where)).toBe(0);
    expect(tool.lines[0]).toMatch(/^production: edgeflags answers since .* \(comparisons until /);
    tool.lines.length = 0;
    expect(await tool.exec("cut-over", { ...where, to: "edgeflags", override: true })).toBe(0);
    expect(tool.lines[0]).toMatch(/^nothing to do: edgeflags already answers for cli-migration\/production/);

    tool.lines.length = 0;
    expect(await tool.exec("cut-over", { ...where, to: "legacy", reason: "rollback" })).toBe(0);
    expect(tool.lines[0]).toMatch(/^the legacy system answers for cli-migration\/production from version \d+$/);
    expect((await call("GET", "/migration/v1/status", { token: key })).body.authority).toBe("legacy");
  });

  it.each([
    [{ project: "p", env: "production", to: "nobody" }, '--to is edgeflags or legacy, not "nobody"'],
    [{ project: "p", env: "production", to: "legacy", override: true }, "--override is for a cut-over to edgeflags"],
    [{ project: "p", env: "production", to: "edgeflags", "grace-days": "two" }, "--grace-days takes a whole number"],
    [{ project: "p", to: "edgeflags" }, "--env is required"],
  ])("cut-over refuses %j before calling the service", (values, message) => refusedBeforeCalling("cut-over", values, message));

  it("names the project's environments when --env is not one of them", async () => {
    await setupProject("cli-migration-envs");
    const tool = cli(new Map());
    await expect(tool.exec("migration", { project: "cli-migration-envs", env: "prod" })).rejects.toThrow(
      /cli-migration-envs has no environment "prod" \(it has: .*production/,
    );
  });
});

describe("toggle (the kill switch)", () => {
  it("turns a flag off and on, says when it already was, and is refused in a protected environment with the way forward", async () => {
    const { key } = await setupProject("cli-toggle");
    const tool = cli(new Map());
    const where = { project: "cli-toggle", env: "production", flag: "kill-switch" };

    expect(await tool.exec("toggle", { ...where, state: "off", reason: "checkout errors" })).toBe(0);
    expect(tool.lines[0]).toMatch(/^kill-switch is off in cli-toggle\/production from version \d+: it serves its off variant/);
    const served = await evaluate(key, "kill-switch", { targetingKey: "u-1" });
    expect(served.body).toMatchObject({ reason: "DISABLED" });
    const entry = (await call("GET", "/admin/v1/projects/cli-toggle/audit?limit=1")).body.entries[0];
    expect(entry).toMatchObject({ action: "flag.disabled", reason: "checkout errors" });

    // Run again (a second on-call engineer): nothing is flipped back, nothing written.
    tool.lines.length = 0;
    const version = (await call("GET", "/admin/v1/projects/cli-toggle/environments/production/flags/kill-switch")).body.version;
    expect(await tool.exec("toggle", { ...where, state: "off" })).toBe(0);
    expect(tool.lines[0]).toBe(`nothing to do: kill-switch is already off in cli-toggle/production (version ${version}); nothing written`);

    tool.lines.length = 0;
    expect(await tool.exec("toggle", { ...where, state: "on" })).toBe(0);
    expect(tool.lines[0]).toMatch(/^kill-switch is on in cli-toggle\/production from version \d+: it answers by its rules again$/);

    const editor = await keyWithRole("cli-toggle", "editor");
    await protect("cli-toggle");
    const before = (await call("GET", "/admin/v1/projects/cli-toggle/environments/production/flags/kill-switch")).body.version;
    await expect(cli(new Map(), undefined, { token: editor.token }).exec("toggle", { ...where, state: "off" })).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringMatching(
        /^refused: 403: environment "production" requires approval: open a change request .*; nothing changed$/,
      ),
    });
    expect((await call("GET", "/admin/v1/projects/cli-toggle/environments/production/flags/kill-switch")).body.version).toBe(before);
  });

  it.each([
    [{ project: "p", env: "production", flag: "f", state: "maybe" }, '--state is on or off, not "maybe"'],
    [{ project: "p", env: "production", state: "off" }, "--flag is required"],
    [{ project: "p", env: "production", flag: "f" }, "--state is required"],
  ])("refuses %j before calling the service", (values, message) => refusedBeforeCalling("toggle", values, message));
});
