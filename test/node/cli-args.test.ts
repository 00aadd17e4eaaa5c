/**
 * The CLI's arguments, read by `node:util`'s `parseArgs` in Node (where the CLI runs; workerd has
 * no `parseArgs`, so the commands' tests in `test/cli.test.ts` start from parsed values).
 */
import { type ExecFileException, execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseArgs } from "../../admin/cli";

const env = { EDGEFLAGS_TOKEN: "t" };

describe("flags arguments", () => {
  it("reads --x=y and --x y alike, and --environment as --env", () => {
    const spaced = parseArgs(["sync", "--project", "shop", "--env", "qa", "--manifest", "m.json", "--strict"], env);
    const joined = parseArgs(["sync", "--project=shop", "--environment=qa", "--manifest=m.json", "--strict"], env);
    expect(joined).toEqual(spaced);
    expect(spaced).toMatchObject({ command: "sync", project: "shop", env: "qa", manifest: "m.json", strict: true, dryRun: false });
  });

  it("takes URL and token from the environment, flags overriding", () => {
    expect(
      parseArgs(["manifest", "--project", "p", "--env", "qa", "--file", "f"], {
        EDGEFLAGS_TOKEN: "t",
        EDGEFLAGS_URL: "https://flags.example.com/",
      }),
    ).toMatchObject({ url: "https://flags.example.com", token: "t" });
    expect(
      parseArgs(["manifest", "--project", "p", "--env", "qa", "--file", "f", "--url", "http://127.0.0.1:9999", "--token", "x"], {}),
    ).toMatchObject({ url: "http://127.0.0.1:9999", token: "x" });
  });

  it("reads import's options, the format from the file's extension unless given", () => {
    expect(
      parseArgs(["import", "--project", "p", "--source", "homegrown", "--file", "export.CSV", "--dry-run", "--pin", "pins.csv"], env),
    ).toMatchObject({ command: "import", source: "homegrown", format: "csv", dryRun: true, pin: "pins.csv" });
    expect(parseArgs(["import", "--project", "p", "--source", "launchdarkly", "--file", "ld.json"], env)).toMatchObject({
      format: "json",
      pin: null,
    });
  });

  it.each(["pull", "diff", "push", "import", "sync", "manifest"])("answers %s --help with its options, needing no token", (command) => {
    const help = parseArgs([command, "--help"], {});
    if (help.command !== "help") throw new Error(`--help parsed as ${help.command}`);
    expect(help.text).toMatch(new RegExp(`^edgeflags ${command}: `));
    expect(help.text).toMatch(/--project P +\(required\)/);
    expect(help.text).toMatch(/--url U/);
  });

  it("answers --help alone with every command and the exit codes", () => {
    expect(parseArgs(["--help"], {})).toMatchObject({
      command: "help",
      text: expect.stringMatching(
        /exit codes: 0 done, 1 differences, refused, or \(migration\) a criterion unmet, 2 usage or service error/,
      ),
    });
  });

  it.each([
    { argv: [], message: /usage/ },
    { argv: ["deploy"], message: /usage: edgeflags <pull\|diff\|push\|import\|sync\|migration\|cut-over\|toggle\|manifest>/ },
    { argv: ["push", "--project", "p"], message: /--env is required/ },
    { argv: ["diff", "--project", "p", "--env", "e", "--file"], message: /--file needs a value/ },
    { argv: ["sync", "--project", "p", "--env", "e", "--manifest", "--dry-run"], message: /--manifest needs a value/ },
    {
      argv: ["push", "--project", "p", "--env", "e", "--file", "f", "--froce"],
      message: /unknown option --froce for push; see edgeflags push --help/,
    },
    { argv: ["pull", "--project", "p", "--env", "e", "--file", "f", "--dry-run"], message: /unknown option --dry-run for pull/ },
    { argv: ["pull", "--project", "p", "--env", "e", "--file", "f", "extra"], message: /unexpected argument extra/ },
    { argv: ["push", "--project", "p", "--env", "e", "--file", "f", "--force=yes"], message: /--force takes no value/ },
    {
      argv: ["push", "--project", "p", "--env", "e", "--file", "f", "--expect-version", "v1"],
      message: /--expect-version takes a version number/,
    },
    {
      argv: ["import", "--project", "p", "--source", "flagsmith", "--file", "f"],
      message: /--source is one of homegrown, launchdarkly, unleash/,
    },
    { argv: ["import", "--project", "p", "--source", "unleash", "--file", "f.csv"], message: /unleash exports are JSON/ },
    {
      argv: ["sync", "--project", "p", "--env", "a", "--environment", "b", "--manifest", "m"],
      message: /--env and --environment disagree/,
    },
    { argv: ["manifest", "--project", "p", "--env", "e", "--file", "f", "--url", "localhost:8787"], message: /must be an http\(s\) URL/ },
  ])("explains a wrong call ($argv)", ({ argv, message }) => {
    expect(() => parseArgs(argv, env)).toThrow(message);
  });

  it("asks for a token when there is none", () => {
    expect(() => parseArgs(["pull", "--project", "p", "--env", "e", "--file", "f"], {})).toThrow(/set EDGEFLAGS_TOKEN/);
  });
});

describe("npm run flags, as a program", () => {
  const program = fileURLToPath(new URL("../../admin/cli.ts", import.meta.url));
  /** This process's environment without what would configure the CLI (or say where npm was run). */
  const childEnv = () => {
    const copy = { ...process.env };
    for (const name of ["EDGEFLAGS_URL", "EDGEFLAGS_TOKEN", "INIT_CWD"]) delete copy[name];
    return copy;
  };
  /** Runs the CLI in a child Node (the one running the tests: Node 22 strips the types). */
  const runCli = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [program, ...args],
        { encoding: "utf8", env: { ...childEnv(), ...env } },
        (error: ExecFileException | null, stdout: string, stderr: string) =>
          resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
      );
    });

  it("prints help with exit 0, and a usage error with exit 2", async () => {
    const help = await runCli(["sync", "--help"]);
    expect(help).toMatchObject({ code: 0, stdout: expect.stringMatching(/^edgeflags sync: /) });
    const wrong = await runCli(["sync", "--bogus"], { EDGEFLAGS_TOKEN: "t" });
    expect(wrong).toMatchObject({ code: 2, stderr: "unknown option --bogus for sync; see edgeflags sync --help\n" });
  });

  it("reads files relative to where it was run (npm's INIT_CWD), and names an unreachable service with exit 2", async () => {
    const dir = await mkdtemp(join(tmpdir(), "flags-cli-"));
    await writeFile(join(dir, "here.json"), "{not json");
    const args = ["sync", "--project", "p", "--env", "qa", "--manifest", "here.json"];
    const local = await runCli(args, { EDGEFLAGS_TOKEN: "t", INIT_CWD: dir });
    expect(local).toMatchObject({ code: 2, stderr: expect.stringMatching(/^here.json is not JSON/) });
    await writeFile(join(dir, "here.json"), JSON.stringify({ flags: {} }));
    // A port nothing listens on: bind one, note it, close it.
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const { port } = server.address() as AddressInfo;
    await new Promise((done) => server.close(done));
    const refused = await runCli([...args, "--url", `http://127.0.0.1:${port}`], { EDGEFLAGS_TOKEN: "t", INIT_CWD: dir });
    expect(refused).toMatchObject({
      code: 2,
      stderr: `cannot reach edgeflags at http://127.0.0.1:${port} (connection refused: nothing listens there); check --url or EDGEFLAGS_URL\n`,
    });
  });
});
