import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { optionsFrom, run } from "../admin/cli";
import type { CommandName, OptionValues } from "../admin/cli/args";
import { ADMIN_TOKEN, call, setupProject } from "./helpers";

/** The CLI against the Worker itself, with files in memory. */
function cli(files: Map<string, string>, beforeWrite?: () => Promise<void>) {
  const lines: string[] = [];
  return {
    lines,
    exec: (command: CommandName, values: OptionValues) =>
      run(optionsFrom(command, values, { EDGEFLAGS_TOKEN: ADMIN_TOKEN, EDGEFLAGS_URL: "http://edgeflags.test" }), {
        fetch: async (input, init) => {
          if (init?.method === "PUT" && beforeWrite) await beforeWrite();
          return exports.default.fetch(new Request(input, init));
        },
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
