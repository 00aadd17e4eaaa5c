/**
 * The browser suite's fixtures: a real Worker (`wrangler dev` on 127.0.0.1, a fresh state
 * directory, its own admin token) and a real headless Chromium (`@sparticuz/chromium` launched by
 * `playwright-core`) with web security left ON, so CORS, cookies and CSP behave as in production.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sparticuz from "@sparticuz/chromium";
import { chromium, type Browser, type Page } from "playwright-core";

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
      const kept = arg.slice("--disable-features=".length).split(",").filter((f) => f !== "IsolateOrigins" && f !== "site-per-process");
      return kept.length ? `--disable-features=${kept.join(",")}` : null;
    })
    .filter((arg): arg is string => arg !== null);
  return chromium.launch({ executablePath, args, headless: true });
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
  admin(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  /** One OFREP evaluation with a client or server key. */
  ofrep(key: string, flag: string, context?: Record<string, unknown>): Promise<{ status: number; body: any }>;
}

/**
 * Builds the Worker once and serves that bundle with `wrangler dev --no-bundle`, so edits to the
 * tree while the suite runs do not reload the server under it. No traffic leaves 127.0.0.1
 * (`CLOUDFLARE_CF_FETCH_ENABLED=false` stops the dev server fetching `Request.cf` data).
 */
export async function startWorker(): Promise<RunningWorker> {
  const port = await freePort();
  const token = `browser-test-${Math.random().toString(36).slice(2)}`;
  const state = mkdtempSync(join(tmpdir(), "edgeflags-browser-"));
  const bin = join(ROOT, "node_modules", ".bin", "wrangler");
  const env = { ...process.env, ADMIN_TOKEN: token, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "1" };
  const build = spawnSync(bin, ["deploy", "--dry-run", "--outdir", join(state, "build")], { cwd: ROOT, env, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`building the Worker failed:\n${build.stdout}\n${build.stderr}`);
  const wrangler: ChildProcess = spawn(
    bin,
    [
      "dev", join(state, "build", "index.js"), "--no-bundle", "--config", join(ROOT, "wrangler.toml"),
      "--port", String(port), "--ip", "127.0.0.1", "--persist-to", join(state, "data"),
      "--var", `ADMIN_TOKEN:${token}`, "--show-interactive-dev-session=false",
    ],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let output = "";
  wrangler.stdout?.on("data", (chunk) => { output += chunk; });
  wrangler.stderr?.on("data", (chunk) => { output += chunk; });
  const base = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => wrangler.once("exit", () => resolve()));

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (wrangler.exitCode !== null) throw new Error(`wrangler dev exited (${wrangler.exitCode}):\n${output}`);
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      wrangler.kill("SIGTERM");
      throw new Error(`wrangler dev did not answer on ${base} within 90 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }

  const admin: RunningWorker["admin"] = async (method, path, body, headers = {}) => {
    const response = await fetch(`${base}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  };
  const ofrep: RunningWorker["ofrep"] = async (key, flag, context = { targetingKey: "user-1" }) => {
    const response = await fetch(`${base}/ofrep/v1/evaluate/flags/${encodeURIComponent(flag)}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ context }),
    });
    return { status: response.status, body: await response.json() };
  };
  return {
    base,
    token,
    output: () => output,
    admin,
    ofrep,
    stop: () => stopProcessGroup(wrangler, exited, state),
  };
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
    const run = await axe.run((globalThis as any).document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return run.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n: any) => ({ target: n.target, failureSummary: n.failureSummary })) }));
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

/**
 * Ends a detached child's whole process group (wrangler runs workerd as its own child), waits up
 * to 10 s for it to exit, and removes its state folder.
 */
export async function stopProcessGroup(child: ChildProcess, exited: Promise<void>, state: string): Promise<void> {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      child.kill("SIGTERM");
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }
  rmSync(state, { recursive: true, force: true });
}
