/**
 * The CLI as people install it: `@edgeflags/cli` packed with `npm pack`, installed into a scratch
 * folder (no network: the bin is one bundled file without dependencies) and run as `edgeflags`
 * from there, with its URL from a config file.
 */
import { type ExecFileException, execFile } from "node:child_process";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
type Ran = { code: number | null; stdout: string; stderr: string };

/** This process's environment without what would configure the CLI or say where it runs. */
function childEnv(): NodeJS.ProcessEnv {
  const copy = { ...process.env };
  for (const name of ["EDGEFLAGS_URL", "EDGEFLAGS_TOKEN", "EDGEFLAGS_CONFIG", "INIT_CWD", "XDG_CONFIG_HOME"]) delete copy[name];
  return copy;
}

function run(file: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, encoding: "utf8", env: { ...childEnv(), ...options.env }, timeout: 120_000 },
      (error: ExecFileException | null, stdout: string, stderr: string) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

let scratch: string;
let bin: string;

beforeAll(async () => {
  const packed = await mkdtemp(join(tmpdir(), "edgeflags-pack-"));
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const pack = await run(npm, ["pack", "-w", "packages/cli", "--pack-destination", packed], { cwd: ROOT, env: { HOME: packed } });
  expect(pack.code, pack.stderr).toBe(0);
  const [tarball] = (await readdir(packed)).filter((name) => name.endsWith(".tgz"));
  expect(tarball).toBeDefined();
  scratch = await mkdtemp(join(tmpdir(), "edgeflags-scratch-"));
  await writeFile(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true }));
  const install = await run(npm, ["install", "--offline", "--no-audit", "--no-fund", join(packed, tarball!)], {
    cwd: scratch,
    env: { HOME: scratch },
  });
  expect(install.code, install.stderr).toBe(0);
  bin = join(scratch, "node_modules", ".bin", "edgeflags");
}, 180_000);

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

describe("the edgeflags bin, installed from the package", () => {
  it("answers --help for the program and for each command", async () => {
    const help = await run(bin, ["--help"], { cwd: scratch, env: { HOME: scratch } });
    expect(help).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^usage: edgeflags <pull\|diff\|push\|import\|sync\|migration\|cut-over\|toggle\|manifest>/),
    });
    const push = await run(bin, ["push", "--help"], { cwd: scratch, env: { HOME: scratch } });
    expect(push).toMatchObject({ code: 0, stdout: expect.stringMatching(/^edgeflags push: /) });
  });

  it("takes the service from .edgeflags.json where it runs, and names it when it cannot be reached", async () => {
    const port = await closedPort();
    await writeFile(join(scratch, ".edgeflags.json"), JSON.stringify({ url: `http://127.0.0.1:${port}`, token: "from-the-file" }));
    await writeFile(join(scratch, "flags.manifest.json"), JSON.stringify({ flags: {} }));
    const ran = await run(bin, ["sync", "--project", "p", "--env", "qa", "--manifest", "flags.manifest.json"], {
      cwd: scratch,
      env: { HOME: scratch },
    });
    expect(ran).toMatchObject({ code: 2, stderr: expect.stringContaining(`cannot reach edgeflags at http://127.0.0.1:${port}`) });
    // The environment wins over the file.
    const other = await closedPort();
    const env = await run(bin, ["sync", "--project", "p", "--env", "qa", "--manifest", "flags.manifest.json"], {
      cwd: scratch,
      env: { HOME: scratch, EDGEFLAGS_URL: `http://127.0.0.1:${other}` },
    });
    expect(env.stderr).toContain(`cannot reach edgeflags at http://127.0.0.1:${other}`);
  });

  it("names a config file that is not one, with exit 2", async () => {
    const bad = join(scratch, "bad-config.json");
    await writeFile(bad, JSON.stringify({ url: "http://localhost:8787", colour: "blue" }));
    const ran = await run(bin, ["manifest", "--project", "p", "--env", "qa", "--file", "m.json"], {
      cwd: scratch,
      env: { HOME: scratch, EDGEFLAGS_CONFIG: bad },
    });
    expect(ran).toMatchObject({ code: 2, stderr: `the config file ${bad} has "colour"; it may hold "url" and "token"\n` });
  });
});
