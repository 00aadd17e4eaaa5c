import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseArgs, run } from "../admin/cli";
import { ADMIN_TOKEN, call, setupProject } from "./helpers";

/** The CLI against the Worker itself, with files in memory. */
function cli(files: Map<string, string>, beforeWrite?: () => Promise<void>) {
  const lines: string[] = [];
  return {
    lines,
    exec: (...argv: string[]) =>
      run(parseArgs(argv, { EDGEFLAGS_TOKEN: ADMIN_TOKEN, EDGEFLAGS_URL: "http://edgeflags.test" }), {
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

const args = (command: string, ...extra: string[]) => [command, "--project", "cli", "--env", "production", "--file", "flags.json", ...extra];

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
    expect(tool.lines).toEqual(expect.arrayContaining(["+ from-code (only in file)", "- dark-launch (only in live)", "~ kill-switch: state"]));

    const before = (await call("GET", "/admin/v1/projects/cli")).body.environments.at(-1).version;
    expect(await tool.exec(...args("push", "--dry-run"))).toBe(0);
    expect((await call("GET", "/admin/v1/projects/cli")).body.environments.at(-1).version).toBe(before);

    expect(await tool.exec(...args("push", "--reason", "synced from code"))).toBe(0);
    const live = (await call("GET", "/admin/v1/projects/cli/environments/production/flagd")).body;
    expect(live.flags["kill-switch"].state).toBe("DISABLED");
    expect(live.flags["dark-launch"]).toBeUndefined();
    const audit = (await call("GET", "/admin/v1/projects/cli/audit?limit=1")).body.entries[0];
    expect(audit).toMatchObject({ action: "flagset.replaced", reason: "synced from code" });
    expect(await tool.exec(...args("diff"))).toBe(0);
  });

  it("refuses to overwrite a change made while pushing, and a version other than the one reviewed", async () => {
    await setupProject("cli-race");
    const files = new Map<string, string>();
    const racing = cli(files, async () => {
      await call("POST", "/admin/v1/projects/cli-race/environments/production/flags/kill-switch/toggle", { headers: { "x-change-reason": "on-call" } });
    });
    const raceArgs = (command: string, ...extra: string[]) => [command, "--project", "cli-race", "--env", "production", "--file", "flags.json", ...extra];
    expect(await cli(files).exec(...raceArgs("pull"))).toBe(0);
    const local = JSON.parse(files.get("flags.json")!);
    local.flags["banner-color"].defaultVariant = "blue";
    files.set("flags.json", JSON.stringify(local));
    expect(await racing.exec(...raceArgs("push"))).toBe(1);
    expect(racing.lines.at(-1)).toMatch(/changed while pushing/);
    const live = (await call("GET", "/admin/v1/projects/cli-race/environments/production/flagd")).body;
    expect(live.flags["banner-color"].defaultVariant).toBe("red");
    expect(live.flags["kill-switch"].state).toBe("DISABLED");
    const stale = cli(files);
    expect(await stale.exec(...raceArgs("push", "--expect-version", "1"))).toBe(1);
    expect(stale.lines.at(-1)).toMatch(/not the 1 you reviewed/);
  });

  it.each([
    { argv: [], message: /usage/ },
    { argv: ["push", "--project", "p"], message: /--env is required/ },
    { argv: ["diff", "--project", "p", "--env", "e", "--file"], message: /--file needs a value/ },
  ])("explains a wrong call ($argv)", ({ argv, message }) => {
    expect(() => parseArgs(argv, { EDGEFLAGS_TOKEN: "t" })).toThrow(message);
  });
});
