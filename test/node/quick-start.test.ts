/**
 * The README's first steps on a fresh checkout: `npm start` (scripts/start.mjs: both Workers under
 * one `wrangler dev`, the demo project seeded through the admin API), then the README's own `curl`
 * commands, read from the README and run as written (against the port the test chose), then a
 * second start on the same state, which must keep the project, its keys and its changes.
 *
 * The checkout is a scratch folder holding links to the project's sources and its own copy of
 * `scripts/`, so `.dev.vars` and `.wrangler/` start empty and the developer's own are never touched.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captured, freePort, ROOT, stopProcessGroup } from "../browser/harness";
import { STARTUP_MS, until } from "../browser/wait";

/** What a checkout needs to run `npm start`; `scripts/` is copied, since start.mjs finds the project from its own path. */
const LINKED = [
  "admin",
  "contracts",
  "durable-objects",
  "engine",
  "lib",
  "node_modules",
  "packages",
  "worker",
  "package.json",
  "tsconfig.json",
  "wrangler.toml",
  "wrangler.edge.toml",
  "worker-configuration.d.ts",
];

interface Started {
  output(): string;
  stop(): Promise<void>;
}

/** Runs `npm start -- --port <port>` in `checkout` (Node 22 first on PATH, as npm puts it) until it prints that it is running. */
async function npmStart(checkout: string, port: number): Promise<Started> {
  const env = {
    ...process.env,
    PATH: `${dirname(process.execPath)}:${join(checkout, "node_modules", ".bin")}:${process.env["PATH"] ?? ""}`,
  };
  // npm start must find its credentials in .dev.vars alone.
  for (const name of ["ADMIN_TOKEN", "SIGNING_SECRET", "PORT"]) Reflect.deleteProperty(env, name);
  const child = spawn(process.execPath, [join(checkout, "scripts", "start.mjs"), "--port", String(port)], {
    cwd: checkout,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: stopping it ends wrangler and workerd too.
    detached: true,
  });
  const { output, exited } = captured(child);
  // The checkout's state stays: the second start must find it.
  const stop = () => stopProcessGroup(child, exited);
  try {
    await until(
      "npm start to print that edgeflags is running",
      async () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`npm start exited (${child.exitCode ?? child.signalCode})`);
        return output().includes("edgeflags is running on");
      },
      STARTUP_MS,
    );
  } catch (error) {
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}:\n${output()}`);
  }
  return { output, stop };
}

/** The shell words of one command line: quotes ('…', "…") and `$(cat FILE)` (read from `cwd`) resolved. */
function shellWords(line: string, cwd: string): string[] {
  const expanded = line.replace(/\$\(cat ([^)\s]+)\)/g, (_, file: string) => readFileSync(join(cwd, file), "utf8").trim());
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < expanded.length; i++) {
    const ch = expanded[i]!;
    if (ch === "'" || ch === '"') {
      const end = expanded.indexOf(ch, i + 1);
      if (end < 0) throw new Error(`unclosed quote in ${line}`);
      word = (word ?? "") + expanded.slice(i + 1, end);
      i = end;
    } else if (/\s/.test(ch)) {
      if (word !== null) words.push(word);
      word = null;
    } else word = (word ?? "") + ch;
  }
  if (word !== null) words.push(word);
  return words;
}

/** Runs a README `curl` command with fetch, on `port` instead of the README's 8787; answers the parsed JSON body. */
async function curl(command: string, cwd: string, port: number): Promise<{ status: number; body: unknown }> {
  const [name, ...args] = shellWords(command, cwd);
  expect(name).toBe("curl");
  let method: string | undefined;
  let body: string | undefined;
  let url: string | undefined;
  const headers = new Headers();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-s") continue;
    if (arg === "-X") method = args[++i];
    else if (arg === "-H") {
      const header = args[++i]!;
      const colon = header.indexOf(":");
      headers.append(header.slice(0, colon).trim(), header.slice(colon + 1).trim());
    } else if (arg === "-d") body = args[++i];
    else if (arg.startsWith("-")) throw new Error(`the README's curl uses ${arg}, which this test does not read: teach it`);
    else url = arg;
  }
  if (!url) throw new Error(`no URL in ${command}`);
  const target = new URL(url.startsWith("http") ? url : `http://${url}`);
  expect(target.port).toBe("8787");
  target.port = String(port);
  const response = await fetch(target, { method: method ?? (body === undefined ? "GET" : "POST"), headers, body });
  return { status: response.status, body: await response.json() };
}

/** The shell block that follows `lead` in the README, its continued lines joined. */
function readmeCommand(lead: string): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const at = readme.indexOf(lead);
  if (at < 0) throw new Error(`the README no longer says ${JSON.stringify(lead)}: update this test to its quick start`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!block) throw new Error(`no shell block after ${JSON.stringify(lead)} in the README`);
  return block[1]!.replace(/\\\n\s*/g, " ").trim();
}

interface OfrepFlag {
  key: string;
  value?: unknown;
  variant?: string;
  reason?: string;
  metadata?: Record<string, unknown>;
}

function flagIn(body: unknown, key: string): OfrepFlag | undefined {
  const flags = (body as { flags?: OfrepFlag[] }).flags ?? [];
  return flags.find((flag) => flag.key === key);
}

describe("the README's quick start on a fresh checkout", { timeout: 3 * STARTUP_MS }, () => {
  let checkout: string;
  let port: number;
  let started: Started | undefined;
  const evaluate = () => readmeCommand("Evaluate every flag for a user:");
  const kill = () => readmeCommand("Turn the kill switch off");

  beforeAll(async () => {
    checkout = mkdtempSync(join(tmpdir(), "edgeflags-checkout-"));
    for (const entry of LINKED) symlinkSync(join(ROOT, entry), join(checkout, entry));
    cpSync(join(ROOT, "scripts"), join(checkout, "scripts"), { recursive: true });
    port = await freePort();
  }, STARTUP_MS);

  afterAll(async () => {
    await started?.stop();
    rmSync(checkout, { recursive: true, force: true });
  }, STARTUP_MS);

  it("npm start seeds the demo project, prints its keys and writes local credentials", async () => {
    started = await npmStart(checkout, port);
    const output = started.output();
    expect(output).toContain(`edgeflags is running on http://localhost:${port} (demo project "default" seeded)`);
    const clientKey = readFileSync(join(checkout, ".wrangler", "demo-client-key"), "utf8").trim();
    const serverKey = readFileSync(join(checkout, ".wrangler", "demo-server-key"), "utf8").trim();
    expect(clientKey).toMatch(/^ef_client_/);
    expect(serverKey).toMatch(/^ef_server_/);
    expect(output).toContain(clientKey);
    expect(output).toContain(serverKey);
    const devVars = readFileSync(join(checkout, ".dev.vars"), "utf8");
    expect(devVars).toContain("ADMIN_TOKEN=dev-admin-token-for-local-use-only");
    expect(devVars).toMatch(/^SIGNING_SECRET=[A-Za-z0-9_-]{43}$/m);
  });

  it("the README's evaluation, kill switch and console answer as the README says", async () => {
    const before = await curl(evaluate(), checkout, port);
    expect(before.status).toBe(200);
    const on = flagIn(before.body, "checkout-kill-switch");
    expect(on).toMatchObject({ value: true, variant: "on" });
    const versionBefore = Number((before.body as { metadata?: { configVersion?: unknown } }).metadata?.configVersion);
    expect(versionBefore).toBeGreaterThan(0);

    const killed = await curl(kill(), checkout, port);
    expect(killed).toMatchObject({ status: 200, body: { state: "DISABLED", changed: true } });
    // "running it again keeps it off": a second call changes nothing and says so.
    const again = await curl(kill(), checkout, port);
    expect(again).toMatchObject({ status: 200, body: { state: "DISABLED", changed: false } });

    const after = await curl(evaluate(), checkout, port);
    expect(flagIn(after.body, "checkout-kill-switch")).toMatchObject({ value: false, variant: "off", reason: "DISABLED" });
    const versionAfter = Number((after.body as { metadata?: { configVersion?: unknown } }).metadata?.configVersion);
    expect(versionAfter).toBeGreaterThan(versionBefore);

    const console = await fetch(`http://localhost:${port}/console/sign-in`);
    expect(console.status).toBe(200);
    expect(await console.text()).toContain("Admin key or token");
  });

  it("a second npm start keeps the project, its keys and the kill switch, and seeds nothing", async () => {
    const clientKey = readFileSync(join(checkout, ".wrangler", "demo-client-key"), "utf8");
    await started?.stop();
    started = await npmStart(checkout, port);
    expect(started.output()).toContain(`edgeflags is running on http://localhost:${port}\n`);
    expect(started.output()).not.toContain("seeded");
    expect(readFileSync(join(checkout, ".wrangler", "demo-client-key"), "utf8")).toBe(clientKey);
    const after = await curl(evaluate(), checkout, port);
    expect(after.status).toBe(200);
    expect(flagIn(after.body, "checkout-kill-switch")).toMatchObject({ value: false, reason: "DISABLED" });
  });
});
