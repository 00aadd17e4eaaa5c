#!/usr/bin/env node
// Live updates (issue 8): how fast a change reaches open OFREP event streams, on loopback.
//
//   1. fan-out   admin write → `refetchEvaluation` delivered to N concurrent SSE listeners
//                (N = 1, 100, 1,000; plain HTTP clients in this process), p50/p99 over all deliveries
//   2. browser   admin write → the new value visible in a page running the official
//                @openfeature/ofrep-web-provider (polling off) in headless Chromium
// Serves the Worker with `wrangler dev` on 127.0.0.1 (fresh state directory), prints a table and
// appends/replaces its own section in bench/RESULTS.md. Bounded in time and count; every child
// process it starts is stopped at the end, also on error.
//
// Environment: BENCH_QUICK=1 takes fewer samples.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { createServer, createServer as createHttpServer } from "node:http";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..");
const QUICK = process.env.BENCH_QUICK === "1";
const WRITES_PER_N = QUICK ? 3 : 10;
const BROWSER_WRITES = QUICK ? 3 : 10;
const LISTENER_COUNTS = process.env.LIVE_N ? process.env.LIVE_N.split(",").map(Number) : [1, 100, 1_000];
const DELIVERY_TIMEOUT_MS = 10_000;
const PROJECT = "live";
const MARK_BEGIN = "<!-- bench/live.mjs: begin -->";
const MARK_END = "<!-- bench/live.mjs: end -->";

const started = Date.now();
const log = (line) => console.error(`[live ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${line}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const cleanups = [];
async function cleanup() {
  while (cleanups.length)
    await cleanups
      .pop()()
      .catch(() => undefined);
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

async function startWorker() {
  // LIVE_BASE + LIVE_TOKEN: measure a Worker already running there instead (e.g. workerd directly,
  // without wrangler dev's proxy in front).
  if (process.env.LIVE_BASE) return adminFor(process.env.LIVE_BASE, process.env.LIVE_TOKEN ?? "");
  const port = await freePort();
  // Both at least 32 characters, as the Worker requires of its admin token and signing secret.
  const token = `bench-live-${crypto.randomUUID()}`;
  const signingSecret = `bench-live-signing-${crypto.randomUUID()}`;
  const state = mkdtempSync(join(tmpdir(), "edgeflags-bench-live-"));
  const child = spawn(
    join(ROOT, "node_modules", ".bin", "wrangler"),
    [
      "dev",
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      state,
      "--var",
      `ADMIN_TOKEN:${token}`,
      "--var",
      `SIGNING_SECRET:${signingSecret}`,
      "--show-interactive-dev-session=false",
    ],
    {
      cwd: ROOT,
      env: { ...process.env, ADMIN_TOKEN: token, SIGNING_SECRET: signingSecret, WRANGLER_SEND_METRICS: "false", CI: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  let output = "";
  child.stdout.on("data", (c) => {
    output += c;
  });
  child.stderr.on("data", (c) => {
    output += c;
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  cleanups.push(async () => {
    if (child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        child.kill("SIGTERM");
      }
      await Promise.race([exited, sleep(10_000)]);
    }
    rmSync(state, { recursive: true, force: true });
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${output}`);
    try {
      if ((await fetch(`${base}/health`, { signal: AbortSignal.timeout(2_000) })).ok) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`wrangler dev did not start:\n${output}`);
    await sleep(250);
  }
  return adminFor(base, token);
}

function adminFor(base, token) {
  const admin = async (method, path, body) => {
    const res = await fetch(`${base}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return { base, admin };
}

let ended = 0;

/** One SSE listener on a raw HTTP connection: resolves `ready` on the stream's first block. */
function listen(url, onEvent) {
  let ready;
  const isReady = new Promise((resolve, reject) => {
    ready = resolve;
    setTimeout(() => reject(new Error("listener did not connect within 30 s")), 30_000).unref();
  });
  let buffer = "";
  const req = httpGet(url, { agent: false, headers: { accept: "text/event-stream" } }, (res) => {
    if (res.statusCode !== 200) {
      res.resume();
      return;
    }
    res.on("end", () => {
      ended += 1;
    });
    res.setEncoding("utf8");
    res.on("data", (chunk) => {
      const at = performance.now();
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        ready();
        const id = /^id: (\d+)$/m.exec(block)?.[1];
        if (id !== undefined && /^data: /m.test(block)) onEvent(Number(id), at);
      }
    });
  });
  req.on("error", () => undefined);
  return { ready: isReady, close: () => req.destroy() };
}

async function currentVersion(admin) {
  const project = await admin("GET", `/projects/${PROJECT}`);
  return project.body.environments.find((e) => e.name === "production").version;
}

async function fanOut({ admin, streamUrl }) {
  const results = [];
  for (const n of LISTENER_COUNTS) {
    log(`fan-out: ${n} listeners`);
    const waiting = new Map(); // version → { t0, left, latencies, done }
    const listeners = [];
    for (let i = 0; i < n; i++) {
      listeners.push(
        listen(streamUrl, (version, at) => {
          const write = waiting.get(version);
          if (!write) return;
          write.latencies.push(at - write.t0);
          if (--write.left === 0) write.done();
        }),
      );
    }
    const connectStart = performance.now();
    await Promise.all(listeners.map((l) => l.ready));
    const connectMs = performance.now() - connectStart;
    await sleep(200);
    const latencies = [];
    let missed = 0;
    for (let w = 0; w < WRITES_PER_N; w++) {
      let done;
      const finished = new Promise((resolve) => {
        done = resolve;
      });
      // Events can beat the admin response: register the version this write will commit first.
      const expected = (await currentVersion(admin)) + 1;
      const entry = { t0: performance.now(), left: n, latencies: [], done };
      waiting.set(expected, entry);
      const res = await admin("POST", `/projects/${PROJECT}/environments/production/flags/kill-switch/toggle`);
      if (res.status !== 200 || res.body.version !== expected)
        throw new Error(`toggle: ${res.status}, version ${res.body?.version} (expected ${expected})`);
      await Promise.race([finished, sleep(DELIVERY_TIMEOUT_MS)]);
      missed += entry.left;
      if (entry.left > 0) log(`  write ${w}: ${entry.left} of ${n} listeners missed it; streams ended so far: ${ended}`);
      latencies.push(...entry.latencies);
      waiting.delete(expected);
      await sleep(100);
    }
    for (const l of listeners) l.close();
    await sleep(500);
    results.push({
      listeners: n,
      writes: WRITES_PER_N,
      deliveries: latencies.length,
      missed,
      connectMs: Math.round(connectMs),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: Math.max(...latencies),
    });
  }
  return results;
}

async function launchChromium() {
  const { default: sparticuz } = await import("@sparticuz/chromium");
  const { chromium } = await import("playwright-core");
  const insecure = ["--disable-web-security", "--allow-running-insecure-content", "--disable-site-isolation-trials"];
  const args = sparticuz.args
    .filter((arg) => !insecure.includes(arg))
    .map((arg) => {
      if (!arg.startsWith("--disable-features=")) return arg;
      const kept = arg
        .slice("--disable-features=".length)
        .split(",")
        .filter((f) => f !== "IsolateOrigins" && f !== "site-per-process");
      return kept.length ? `--disable-features=${kept.join(",")}` : null;
    })
    .filter(Boolean);
  return chromium.launch({ executablePath: await sparticuz.executablePath(), args, headless: true });
}

async function browserVisible({ admin, base, key }) {
  log("browser: bundling the page, launching Chromium");
  const esbuild = await import("esbuild");
  const bundle = (
    await esbuild.build({
      entryPoints: [join(ROOT, "test", "browser", "fixtures", "live-page.ts")],
      bundle: true,
      format: "iife",
      platform: "browser",
      target: "chrome120",
      write: false,
      logLevel: "silent",
    })
  ).outputFiles[0].text;
  const port = await freePort();
  const server = createHttpServer((req, res) => {
    if (req.url === "/page.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(bundle);
    } else {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>live</title></head><body><script src="/page.js"></script></body></html>`,
      );
    }
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => typeof globalThis.live === "object");
  const startedOk = await page.evaluate((o) => globalThis.live.start(o), { baseUrl: base, key, targetingKey: "bench-user" });
  if (!startedOk.ok) throw new Error(`provider did not start: ${startedOk.error}`);
  await page.waitForFunction(() => globalThis.live.log().streams.some((e) => e.type === "open"), undefined, { timeout: 10_000 });
  const samples = [];
  for (let i = 0; i < BROWSER_WRITES; i++) {
    const before = await page.evaluate(() => globalThis.live.value("dark-mode"));
    const t0 = performance.now();
    const res = await admin("POST", `/projects/${PROJECT}/environments/production/flags/dark-mode/toggle`);
    if (res.status !== 200) throw new Error(`toggle failed: ${res.status}`);
    await page.waitForFunction((b) => globalThis.live.value("dark-mode") !== b, before, { timeout: DELIVERY_TIMEOUT_MS, polling: 5 });
    samples.push(performance.now() - t0);
    await sleep(200);
  }
  const { bulk } = await page.evaluate(() => globalThis.live.log());
  return {
    writes: BROWSER_WRITES,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    max: Math.max(...samples),
    bulkRequests: bulk.length,
  };
}

function render(result) {
  const ms = (x) => (Number.isFinite(x) ? x.toFixed(1) : "–");
  const lines = [
    MARK_BEGIN,
    "## Live updates: OFREP event streams (bench/live.mjs)",
    "",
    `Measured ${result.date} in ${result.elapsedS.toFixed(0)} s on ${result.machine}; Node ${process.version}. One Worker on 127.0.0.1 served by ${process.env.LIVE_HARNESS ?? "`wrangler dev`"} (local KV and Durable Objects, \`STREAM_SHARDS\` = 1: every stream on one broadcaster). Latency runs from just before the admin toggle is sent to the moment the event's bytes reach the listener; it includes the admin write, the FlagStore commit, the alarm running the \`notify\` outbox row, the broadcaster's fan-out over hibernatable WebSockets and the edge Worker writing the SSE event.`,
    "",
    "| listeners | writes | deliveries | missed | connect all (ms) | p50 (ms) | p99 (ms) | max (ms) | target | |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ...result.fanOut.map((r) => {
      const target = r.listeners === 1_000 ? "p99 ≤ 250 ms" : "–";
      const verdict = r.listeners === 1_000 ? (r.p99 <= 250 && r.missed === 0 ? "met" : "**missed**") : "–";
      return `| ${r.listeners.toLocaleString("en-US")} | ${r.writes} | ${r.deliveries.toLocaleString("en-US")} | ${r.missed} | ${r.connectMs.toLocaleString("en-US")} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${target} | ${verdict} |`;
    }),
    "",
    result.browser.skipped
      ? `Browser: skipped (${result.browser.skipped}).`
      : `Browser (headless Chromium, official \`@openfeature/ofrep-web-provider\`, polling off, page on another origin): admin write → new value visible in the page, ${result.browser.writes} writes: p50 ${ms(result.browser.p50)} ms, p99 ${ms(result.browser.p99)} ms, max ${ms(result.browser.max)} ms; ${result.browser.bulkRequests} bulk requests in all (1 initial + 1 event-triggered re-fetch per write, no polls).`,
    MARK_END,
  ];
  return lines.join("\n");
}

async function main() {
  const result = {
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB`,
  };
  log(process.env.LIVE_BASE ? `measuring the Worker at ${process.env.LIVE_BASE}` : "starting wrangler dev");
  const { base, admin } = await startWorker();
  const created = await admin("PUT", `/projects/${PROJECT}`, { environments: ["production"] });
  if (created.status !== 201) throw new Error(`project: ${created.status} ${JSON.stringify(created.body)}`);
  const flag = { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" };
  await admin("PUT", `/projects/${PROJECT}/environments/production/flagd`, { flags: { "kill-switch": flag, "dark-mode": flag } });
  const key = (await admin("POST", `/projects/${PROJECT}/environments/production/keys`, { scope: "client" })).body.key;
  let streamUrl = null;
  for (let i = 0; i < 200 && !streamUrl; i++) {
    const res = await fetch(`${base}/ofrep/v1/evaluate/flags`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: "{}",
    });
    if (res.ok) streamUrl = (await res.json()).eventStreams?.[0]?.url ?? null;
    else await sleep(100);
  }
  if (!streamUrl) throw new Error("no eventStreams URL from the bulk endpoint");
  result.fanOut = await fanOut({ admin, streamUrl });
  try {
    result.browser = await browserVisible({ admin, base, key });
  } catch (error) {
    result.browser = { skipped: String(error.message ?? error).slice(0, 200) };
  }
  result.elapsedS = (Date.now() - started) / 1000;
  const section = render(result);
  console.log(section);
  const file = join(ROOT, "bench", "RESULTS.md");
  const current = existsSync(file) ? readFileSync(file, "utf8") : "# edgeflags benchmark results\n";
  const begin = current.indexOf(MARK_BEGIN);
  const end = current.indexOf(MARK_END);
  const next =
    begin >= 0 && end > begin
      ? `${current.slice(0, begin)}${section}${current.slice(end + MARK_END.length)}`
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
  log(`done in ${result.elapsedS.toFixed(0)} s; section written to bench/RESULTS.md`);
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanup();
}
