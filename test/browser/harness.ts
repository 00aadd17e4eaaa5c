/**
 * The browser suite's fixtures: a real Worker (`wrangler dev` on 127.0.0.1, a fresh state
 * directory, its own admin token) and a real headless Chromium (`@sparticuz/chromium` launched by
 * `playwright-core`) with web security left ON, so CORS, cookies and CSP behave as in production.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import sparticuz from "@sparticuz/chromium";
import { chromium, type Browser, type Page } from "playwright-core";
import { patient, STARTUP_MS, until, WAIT, WAIT_MS } from "./wait";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Flags that switch off the browser's own security (a test under them would prove nothing), and
 * `--single-process`, under which closing one browser context ends the whole browser.
 */
const DROPPED_ARGS = ["--disable-web-security", "--allow-running-insecure-content", "--disable-site-isolation-trials", "--single-process"];

export async function launchBrowser(): Promise<Browser> {
  const executablePath = await sparticuz.executablePath();
  const args = sparticuz.args
    .filter((arg) => !DROPPED_ARGS.includes(arg))
    .map((arg) => {
      if (!arg.startsWith("--disable-features=")) return arg;
      const kept = arg
        .slice("--disable-features=".length)
        .split(",")
        .filter((f) => f !== "IsolateOrigins" && f !== "site-per-process");
      return kept.length ? `--disable-features=${kept.join(",")}` : null;
    })
    .filter((arg): arg is string => arg !== null);
  return chromium.launch({ executablePath, args, headless: true, timeout: STARTUP_MS });
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningWorker {
  base: string;
  /** What wrangler has printed so far, for failure messages. */
  output(): string;
  token: string;
  stop(): Promise<void>;
  /** Calls the admin API with the bootstrap token; JSON in and out. */
  admin(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** One OFREP evaluation with a client or server key. */
  ofrep(key: string, flag: string, context?: Record<string, unknown>): Promise<{ status: number; body: any }>;
}

/**
 * The console suite's Worker: built once and served with `wrangler dev --no-bundle`, so edits to
 * the tree while the suite runs do not reload the server under it.
 */
export async function startWorker(): Promise<RunningWorker> {
  const dev = await startWranglerDev({ name: "browser", prebuilt: true });
  const { base, token } = dev;
  const admin: RunningWorker["admin"] = async (method, path, body, headers = {}) => {
    // wrangler dev's proxy answers "Error: Network connection lost" in plain text when its link to
    // the runtime drops (seen twice in CI on a setup PUT); the Worker itself always answers JSON.
    // An idempotent call is sent again, at most twice; anything else is returned as it came.
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(`${base}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      const proxyLost = text.startsWith("Error: Network connection lost");
      if (proxyLost && attempt < 3 && (method === "PUT" || method === "GET")) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (proxyLost) throw new Error(`wrangler dev lost its connection to the runtime on ${method} ${path} (attempt ${attempt})`);
      return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
    }
  };
  return { ...dev, admin, ofrep: ofrepCaller(base) };
}

/** One OFREP evaluation at a Worker's edge with a client or server key. */
export function ofrepCaller(origin: string): RunningWorker["ofrep"] {
  return async (key, flag, context = { targetingKey: "user-1" }) => {
    const response = await fetch(`${origin}/ofrep/v1/evaluate/flags/${encodeURIComponent(flag)}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ context }),
    });
    return { status: response.status, body: await response.json() };
  };
}

export interface WranglerDevOptions {
  /** Names the state folder and the admin token, so a leftover says which suite made it. */
  name: string;
  /** Builds the Worker first and serves that bundle (`--no-bundle`) instead of the source tree. */
  prebuilt?: boolean;
  /** Writes a variant of wrangler.toml into the state folder and returns its path. */
  config?: (state: string) => string;
  /** More `--var`s (e.g. a short `STREAM_INACTIVITY_SECONDS`). */
  vars?: Record<string, string>;
}

export interface WranglerDev {
  base: string;
  token: string;
  /** What wrangler has printed so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** The file `wrangler deploy --outdir` writes for a config's `main` (named after the entry). */
function builtName(config: string): string {
  const main = /^main = "([^"]+)"/m.exec(readFileSync(config, "utf8"))?.[1] ?? "index.ts";
  return `${basename(main).replace(/\.[cm]?[jt]sx?$/, "")}.js`;
}

/**
 * The project's wrangler.toml changed by `edit`, written into `dir` with every relative path in it
 * (the entry, the assets, the build command, the module aliases) pointed back at the project, since
 * wrangler resolves them from the copy's own folder; returns the copy's path.
 */
export function projectConfigIn(dir: string, edit: (text: string) => string): string {
  const original = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const edited = edit(original);
  if (edited === original) throw new Error("the edit changed nothing in wrangler.toml: update it to the file as it is now");
  const text = edited
    .replace(/^main = "(.+)"$/m, (_, main: string) => `main = ${JSON.stringify(resolve(ROOT, main))}`)
    .replace(/^(directory|watch_dir) = "(.+)"$/gm, (_, field: string, path: string) => `${field} = ${JSON.stringify(resolve(ROOT, path))}`)
    .replace(/^command = "node (\S+)"$/m, (_, script: string) => `command = "node ${resolve(ROOT, script)}"`)
    .replace(/^("[^"]+") = "(\.{1,2}\/[^"]+)"$/gm, (_, name: string, path: string) => `${name} = ${JSON.stringify(resolve(ROOT, path))}`);
  const path = join(dir, "wrangler.toml");
  writeFileSync(path, text);
  return path;
}

/** How many free ports `startWranglerDev` tries before it gives up. */
const PORT_ATTEMPTS = 3;

/** A random credential of at least 32 characters, the least the Worker accepts for its secrets. */
function secret(prefix: string): string {
  return `${prefix}-${randomBytes(24).toString("base64url")}`;
}

/**
 * `wrangler dev` on a free 127.0.0.1 port with a fresh state folder, its own admin token and
 * signing secret, waiting (bounded by STARTUP_MS) until `GET /health` answers. The secrets go into
 * the environment, which wrangler checks `[secrets] required` against, and in as `--var`s, which
 * is what the Worker sees. No traffic leaves 127.0.0.1 (`CLOUDFLARE_CF_FETCH_ENABLED=false` stops
 * the dev server fetching `Request.cf` data).
 */
export async function startWranglerDev(options: WranglerDevOptions, attempt = 1): Promise<WranglerDev> {
  const port = await freePort();
  const token = secret(`${options.name}-admin`);
  const vars = { ADMIN_TOKEN: token, SIGNING_SECRET: secret(`${options.name}-signing`), ...options.vars };
  const state = mkdtempSync(join(tmpdir(), `edgeflags-${options.name}-`));
  const bin = join(ROOT, "node_modules", ".bin", "wrangler");
  const env = {
    ...process.env,
    // wrangler needs Node 22: the one running vitest (the project's `node` devDependency) comes first.
    PATH: `${dirname(process.execPath)}:${process.env["PATH"] ?? ""}`,
    ADMIN_TOKEN: vars.ADMIN_TOKEN,
    SIGNING_SECRET: vars.SIGNING_SECRET,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    CI: "1",
  };
  let config = join(ROOT, "wrangler.toml");
  let script: string[] = [];
  try {
    if (options.config) config = options.config(state);
    if (options.prebuilt) {
      const build = spawnSync(bin, ["deploy", "--dry-run", "--config", config, "--outdir", join(state, "build")], {
        cwd: ROOT,
        env,
        encoding: "utf8",
        timeout: STARTUP_MS,
      });
      if (build.status !== 0)
        throw new Error(`building the Worker failed (${build.error ?? `exit ${build.status}`}):\n${build.stdout}\n${build.stderr}`);
      script = [join(state, "build", builtName(config)), "--no-bundle"];
    }
  } catch (error) {
    rmSync(state, { recursive: true, force: true });
    throw error;
  }
  const child = spawn(
    bin,
    [
      "dev",
      ...script,
      "--config",
      config,
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      join(state, "data"),
      ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
      "--show-interactive-dev-session=false",
    ],
    // Its own process group, so stop() ends wrangler and the workerd it runs, and nothing else.
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  const { output, exited } = captured(child);
  const base = `http://127.0.0.1:${port}`;
  const stop = () => stopProcessGroup(child, exited, state);
  try {
    await until(
      `wrangler dev to answer ${base}/health`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`wrangler dev exited (${child.exitCode ?? child.signalCode})`);
        // A cold workerd can take seconds to answer its first request on a loaded machine.
        return fetch(`${base}/health`, { signal: AbortSignal.timeout(WAIT_MS / 3) }).then(
          (r) => r.ok,
          () => false,
        );
      },
      STARTUP_MS,
    );
  } catch (error) {
    await stop();
    // The free port can be taken by another process between finding it and wrangler binding it
    // (CI shares the machine): try a fresh one, a bounded number of times.
    if (/Address already in use/.test(output()) && attempt < PORT_ATTEMPTS) return startWranglerDev(options, attempt + 1);
    throw new Error(`${error instanceof Error ? error.message : String(error)}:\n${output()}`);
  }
  return { base, token, output, stop };
}

/**
 * A new browser context (desktop size, the suites' waits) signed in to the console with
 * `credential` (an admin key or the bootstrap token), on the project's flag list.
 */
export async function signInWithKey(browser: Browser, base: string, project: string, credential: string): Promise<Page> {
  const context = patient(await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 } }));
  const page = await context.newPage();
  page.on("dialog", (dialog) => void dialog.accept());
  await page.goto("/console/sign-in");
  await page.getByLabel("Project").fill(project);
  await page.getByLabel("Admin key or token").fill(credential);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/flags/, WAIT);
  return page;
}

/** Every visible control on the page that would post a change (sign-out and "try a context" only read). */
export async function writeControls(page: Page): Promise<string[]> {
  const controls = page.locator("form[method=post]:visible, a[data-toggle]:visible");
  const found: string[] = [];
  for (let i = 0; i < (await controls.count()); i++) {
    const control = controls.nth(i);
    const action = (await control.getAttribute("action")) ?? (await control.getAttribute("href")) ?? "";
    if (!action.endsWith("/sign-out") && !action.endsWith("/try")) found.push(action);
  }
  return found;
}

const AXE_PATH = join(ROOT, "node_modules", "axe-core", "axe.min.js");

/** axe-core's source, or null when it is not installed (the scan is then skipped, loudly). */
export function axeSource(): string | null {
  try {
    return readFileSync(AXE_PATH, "utf8");
  } catch {
    return null;
  }
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/**
 * Runs axe-core in the page. It is added with `addScriptTag({ content })`, which the page's CSP
 * would block; so the scan goes through a CDP-evaluated script instead (`page.evaluate`), which
 * CSP does not govern.
 */
export async function scanPage(page: Page, source: string): Promise<AxeViolation[]> {
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as any).axe;
    const run = await axe.run((globalThis as any).document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    });
    return run.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n: any) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
  });
  return result as AxeViolation[];
}

/** Calls a Worker's admin API with the bootstrap token; JSON in and out. */
export function adminCaller(origin: string, token: string) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const response = await fetch(`${origin}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
}

/** Everything a child prints (stdout and stderr, in order of arrival), and when it exits. */
export function captured(child: ChildProcess): { output(): string; exited: Promise<void> } {
  let output = "";
  const append = (chunk: unknown) => {
    output += String(chunk);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  return { output: () => output, exited: new Promise<void>((resolve) => child.once("exit", () => resolve())) };
}

/**
 * Ends a detached child's whole process group (wrangler runs workerd as its own child): SIGTERM,
 * SIGKILL if wrangler has not exited within a third of WAIT_MS, and a last SIGKILL to the group
 * for a workerd that outlives it, so nothing is left running on a shared machine; then removes
 * its state folder, if it has one.
 */
export async function stopProcessGroup(child: ChildProcess, exited: Promise<void>, state?: string): Promise<void> {
  const group = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // the group is gone already
    }
  };
  const exitedWithin = (ms: number) =>
    Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]);
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    group("SIGTERM");
    if (!(await exitedWithin(WAIT_MS / 3))) {
      group("SIGKILL");
      await exitedWithin(WAIT_MS / 3);
    }
    group("SIGKILL");
  }
  if (state !== undefined) rmSync(state, { recursive: true, force: true });
}
