#!/usr/bin/env node
// Live updates: how fast a change reaches open OFREP event streams, on loopback.
//
//   1. fan-out   admin write → `refetchEvaluation` delivered to N concurrent SSE listeners
//                (plain HTTP clients in this process), p50/p99 over all deliveries, and the CPU the
//                serving workerd process spent per change (utime+stime from /proc). Runs: 1, 100
//                and 1,000 listeners on one broadcaster shard, 10,000 across LIVE_SHARDS (4) shards.
//   2. browser   admin write → the new value visible in a page running the official
//                @openfeature/ofrep-web-provider (polling off) in headless Chromium
// Serves the bundled Worker with `workerd serve` on 127.0.0.1 (bench/workerd.mjs; in-memory KV,
// Durable Objects on a scratch disk), one process per shard count, prints a table and
// appends/replaces its own section in bench/RESULTS.md. Bounded in time and count; every child
// process it starts is stopped at the end, also on error.
//
// One workerd process holds about two file descriptors per open stream, and this machine's
// processes may open 20,000 (`ulimit -Hn`, not raisable here): a single process stops accepting
// at ~9,500 streams (ECONNRESET). A run of more than SPLIT_ABOVE listeners therefore spreads its
// streams over LIVE_EDGES (4) edge `workerd serve` processes in front of one hub process holding
// the FlagStore and the broadcasters (bench/killswitch/topology.mjs, as bench/killswitch.mjs
// runs a location), each stream's WebSocket forwarded to its shard in the hub over loopback.
//
// Environment: BENCH_QUICK=1 takes fewer samples; LIVE_RUNS="1x1,1000x1,10000x4" (listeners x
// shards) chooses the runs; LIVE_BROWSER=0 skips the browser; LIVE_BASE + LIVE_TOKEN measure a Worker already running (one shard).
// Run alone: `flock /tmp/bench.lock node bench/live.mjs`.
import { mkdirSync, readFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { createServer as createHttpServer } from "node:http";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { adminFor, freePort, percentile, replaceSection, sleep } from "./bench-util.mjs";
import { ADMIN_TOKEN, oursConfig } from "./http.mjs";
import { writeTopology } from "./killswitch/topology.mjs";
import { bundleWorker, startWorkerd, stopAll } from "./workerd.mjs";

const ROOT = join(import.meta.dirname, "..");
const QUICK = process.env.BENCH_QUICK === "1";
const WRITES_PER_N = QUICK ? 3 : 10;
const BROWSER_WRITES = QUICK ? 3 : 10;
/** Runs as [listeners, shards]. */
const RUNS = (process.env.LIVE_RUNS ?? "1x1,100x1,1000x1,10000x4").split(",").map((run) => run.split("x").map(Number));
const DELIVERY_TIMEOUT_MS = 10_000;
/** A listener that has not connected by then fails the run (measured from its own connect). */
const CONNECT_TIMEOUT_MS = 60_000;
/** Listeners connect in batches of this many, each batch once the one before is streaming. */
const CONNECT_BATCH = 500;
/** A listener refused with Retry-After (as an OFREP provider is) tries again, this many times in all. */
const CONNECT_ATTEMPTS = 5;
/** Runs with more listeners than this spread their streams over LIVE_EDGES edge processes. */
const SPLIT_ABOVE = Number(process.env.LIVE_SPLIT_ABOVE ?? 5_000);
const EDGES = Number(process.env.LIVE_EDGES ?? 4);
const PROJECT = "live";
const MARK_BEGIN = "<!-- bench/live.mjs: begin -->";
const MARK_END = "<!-- bench/live.mjs: end -->";

const started = Date.now();
const log = (line) => console.error(`[live ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${line}`);

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

const OUT = join(ROOT, "bench", ".out", "live");
let bundled = null;

/** utime+stime of a process in milliseconds (Linux /proc), or null elsewhere. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // Fields 14 and 15 of stat (1-based), counted here after the command name: indices 11, 12; 100 ticks per second.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

/** Bundles the Worker once. */
function bundle() {
  if (!bundled) {
    log("bundling the Worker (wrangler deploy --dry-run)");
    mkdirSync(OUT, { recursive: true });
    bundled = bundleWorker({ config: join(ROOT, "wrangler.toml"), outdir: join(OUT, "dist") });
    if (!bundled.ok) throw new Error(`bundle failed: ${bundled.reason}`);
  }
  return bundled;
}

/**
 * Our Worker under `workerd serve` with `shards` broadcaster shards, in one process or, for more
 * than SPLIT_ABOVE listeners, a hub and EDGES edge processes; LIVE_BASE: one already running (one shard).
 */
async function startWorker(shards, listeners) {
  if (process.env.LIVE_BASE && shards === 1) return { ...adminFor(process.env.LIVE_BASE, process.env.LIVE_TOKEN ?? ""), pid: null };
  if (listeners > SPLIT_ABOVE && EDGES > 0) return startSplit(shards);
  bundle();
  const port = await freePort();
  const config = oursConfig({
    out: OUT,
    name: `live-${shards}`,
    modulePath: bundled.file,
    port,
    kvPort: await freePort(),
    doStorageDir: join(OUT, `do-storage-${shards}`),
    vars: { STREAM_SHARDS: String(shards) },
  });
  const server = await startWorkerd({ name: `live-${shards}`, config, port });
  cleanups.push(async () => server.stop());
  return { ...adminFor(server.url, ADMIN_TOKEN), pid: server.child.pid, edgePids: [], edgeUrls: [], serverLog: server.log };
}

/** A hub process (FlagStore, broadcasters, KV, cache) and EDGES edge processes serving the streams. */
async function startSplit(shards) {
  const { file } = bundle();
  const ports = { hub: await freePort(), kv: await freePort(), cache: await freePort(), edges: [] };
  for (let i = 0; i < EDGES; i++) ports.edges.push(await freePort());
  // The shards' sockets in processes of their own: no one process holds more than ~5,000 streams.
  ports.broadcasters = [];
  for (let k = 0; k < shards; k++) ports.broadcasters.push(await freePort());
  const configs = writeTopology({
    out: join(OUT, `split-${shards}`),
    bundle: file,
    ports,
    kvLagMs: 0,
    adminToken: ADMIN_TOKEN,
    signingSecret: "bench-live-signing-secret-not-a-secret-0001",
    vars: { STREAM_SHARDS: String(shards) },
    uniquePrefix: "live",
  });
  const hub = await startWorkerd({ name: `live-hub-${shards}`, config: configs.hub, port: ports.hub });
  cleanups.push(async () => hub.stop());
  const broadcasters = [];
  for (let k = 0; k < shards; k++) {
    const b = await startWorkerd({ name: `live-broadcasters-${k}`, config: configs.broadcasters[k], port: ports.broadcasters[k] });
    cleanups.push(async () => b.stop());
    broadcasters.push(b);
  }
  const edges = [];
  for (let i = 0; i < EDGES; i++) {
    const edge = await startWorkerd({ name: `live-edge-${i}`, config: configs.edges[i], port: ports.edges[i] });
    cleanups.push(async () => edge.stop());
    edges.push(edge);
  }
  return {
    ...adminFor(hub.url, ADMIN_TOKEN),
    pid: hub.child.pid,
    broadcasterPids: broadcasters.map((b) => b.child.pid),
    edgePids: edges.map((e) => e.child.pid),
    edgeUrls: edges.map((e) => e.url),
    serverLog: hub.log,
  };
}

/** Summed CPU ms of `pids`, or null when one cannot be read. */
function cpuOf(pids) {
  let sum = 0;
  for (const pid of pids) {
    const ms = cpuMs(pid);
    if (ms === null) return null;
    sum += ms;
  }
  return sum;
}

let ended = 0;

/** One SSE listener on a raw HTTP connection: resolves `ready` on the stream's first block. */
function listen(url, onEvent) {
  let ready;
  const isReady = new Promise((resolve, reject) => {
    ready = resolve;
    setTimeout(() => reject(new Error(`listener did not connect within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS).unref();
  });
  let buffer = "";
  let fail;
  const failed = new Promise((_, reject) => {
    fail = reject;
  });
  const req = httpGet(url, { agent: false, headers: { accept: "text/event-stream" } }, (res) => {
    if (res.statusCode !== 200) {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => {
        const retry = res.headers["retry-after"] ? ` (Retry-After ${res.headers["retry-after"]})` : "";
        fail(new Error(`listener refused: HTTP ${res.statusCode}${retry}: ${body.slice(0, 200)}`));
      });
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
  req.on("error", (error) => fail(new Error(`listener could not connect: ${error.code ?? error.message}`)));
  return { ready: Promise.race([isReady, failed]), close: () => req.destroy() };
}

async function currentVersion(admin) {
  const project = await admin("GET", `/projects/${PROJECT}`);
  return project.body.environments.find((e) => e.name === "production").version;
}

/** One run: `n` listeners, WRITES_PER_N toggles; latency of every delivery and the serving process's CPU per change. */
async function fanOut({ admin, streamUrl, pid, edgePids = [], broadcasterPids = [], edgeUrls = [], shards }, counts) {
  // Streams are spread round-robin over the edge processes (same token, another origin).
  const urls = edgeUrls.length
    ? edgeUrls.map((origin) => {
        const url = new URL(streamUrl);
        const at = new URL(origin);
        url.host = at.host;
        return url.href;
      })
    : [streamUrl];
  const results = [];
  for (const n of counts) {
    log(`fan-out: ${n.toLocaleString("en-US")} listeners on ${shards} shard(s)`);
    const waiting = new Map(); // version → { t0, left, latencies, done }
    const listeners = [];
    // One stream per edge process first, retried while its key lookup is refused: each isolate
    // then holds the key, and the batches below do not all miss it at once.
    for (const url of urls) {
      for (let attempt = 1; ; attempt++) {
        const probe = listen(url, () => undefined);
        try {
          await probe.ready;
          probe.close();
          break;
        } catch (error) {
          probe.close();
          if (attempt === 10) throw error;
          await sleep(1_000);
        }
      }
    }
    const connectStart = performance.now();
    let retried = 0;
    const onEvent = (version, at) => {
      const write = waiting.get(version);
      if (!write) return;
      write.latencies.push(at - write.t0);
      if (--write.left === 0) write.done();
    };
    /** One listener, retried as an OFREP provider retries: after the refusal's Retry-After, at most CONNECT_ATTEMPTS times. */
    const connectOne = async (url) => {
      for (let attempt = 1; ; attempt++) {
        const listener = listen(url, onEvent);
        try {
          await listener.ready;
          return listener;
        } catch (error) {
          listener.close();
          const retryAfter = /Retry-After (\d+)/.exec(error.message)?.[1];
          if (attempt === CONNECT_ATTEMPTS || retryAfter === undefined) throw error;
          retried += 1;
          await sleep(Number(retryAfter) * 1000);
        }
      }
    };
    for (let i = 0; i < n; i += CONNECT_BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + CONNECT_BATCH); j++) batch.push(connectOne(urls[j % urls.length]));
      const connected = await Promise.all(batch).catch((error) => {
        throw new Error(`${error.message} (${i.toLocaleString("en-US")} of ${n.toLocaleString("en-US")} streaming before this batch)`);
      });
      listeners.push(...connected);
    }
    if (retried) log(`  ${retried} connects refused and retried after their Retry-After`);
    const connectMs = performance.now() - connectStart;
    await sleep(n >= 5_000 ? 2_000 : 200);
    const latencies = [];
    const cpuPerChange = [];
    const edgeCpuPerChange = [];
    const broadcasterCpuPerChange = [];
    const firsts = [];
    const spreads = [];
    let missed = 0;
    for (let w = 0; w < WRITES_PER_N; w++) {
      let done;
      const finished = new Promise((resolve) => {
        done = resolve;
      });
      // Events can beat the admin response: register the version this write will commit first.
      const expected = (await currentVersion(admin)) + 1;
      const cpuBefore = pid ? cpuMs(pid) : null;
      const edgeBefore = cpuOf(edgePids);
      const broadcastersBefore = cpuOf(broadcasterPids);
      const entry = { t0: performance.now(), left: n, latencies: [], done };
      waiting.set(expected, entry);
      const res = await admin("POST", `/projects/${PROJECT}/environments/production/flags/kill-switch/toggle`);
      if (res.status !== 200 || res.body.version !== expected)
        throw new Error(`toggle: ${res.status}, version ${res.body?.version} (expected ${expected})`);
      await Promise.race([finished, sleep(DELIVERY_TIMEOUT_MS)]);
      const cpuAfter = pid ? cpuMs(pid) : null;
      const edgeAfter = cpuOf(edgePids);
      const broadcastersAfter = cpuOf(broadcasterPids);
      if (broadcasterPids.length && broadcastersBefore !== null && broadcastersAfter !== null && entry.left === 0)
        broadcasterCpuPerChange.push(broadcastersAfter - broadcastersBefore);
      if (cpuBefore !== null && cpuAfter !== null && entry.left === 0) cpuPerChange.push(cpuAfter - cpuBefore);
      if (edgePids.length && edgeBefore !== null && edgeAfter !== null && entry.left === 0) edgeCpuPerChange.push(edgeAfter - edgeBefore);
      missed += entry.left;
      if (entry.left > 0) log(`  write ${w}: ${entry.left} of ${n} listeners missed it; streams ended so far: ${ended}`);
      latencies.push(...entry.latencies);
      if (entry.latencies.length) {
        // The first delivery is the pipeline (write, commit, notify RPC); the rest is the fan-out.
        const first = Math.min(...entry.latencies);
        firsts.push(first);
        spreads.push(Math.max(...entry.latencies) - first);
      }
      waiting.delete(expected);
      await sleep(100);
    }
    for (const l of listeners) l.close();
    await sleep(500);
    results.push({
      listeners: n,
      shards,
      cpuMs: cpuPerChange.length ? percentile(cpuPerChange, 50) : null,
      edges: edgePids.length,
      edgeCpuMs: edgeCpuPerChange.length ? percentile(edgeCpuPerChange, 50) : null,
      broadcasterCpuMs: broadcasterCpuPerChange.length ? percentile(broadcasterCpuPerChange, 50) : null,
      firstP50: percentile(firsts, 50),
      spreadP50: percentile(spreads, 50),
      writes: WRITES_PER_N,
      deliveries: latencies.length,
      missed,
      connectMs: Math.round(connectMs),
      retried,
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
    `Measured ${result.date} in ${result.elapsedS.toFixed(0)} s on ${result.machine}; Node ${process.version}. The Worker on 127.0.0.1 served by ${process.env.LIVE_HARNESS ?? "`workerd serve` (the bundle; in-memory KV, Durable Objects on a scratch disk; one process per shard count)"}; each stream opens its WebSocket to a random one of \`STREAM_SHARDS\` broadcaster shards. Latency runs from just before the admin toggle is sent to the moment the event's bytes reach the listener; it includes the admin write, the FlagStore commit, the \`notify\` outbox row announced right after the commit (ahead of the KV writes), the broadcasters' fan-out over hibernatable WebSockets and the edge Worker writing the SSE event. CPU per change: utime+stime of the one workerd process (Worker, FlagStore and broadcasters together) from the toggle to the last delivery, median over the writes; the listeners run in another process. Runs of more than ${SPLIT_ABOVE.toLocaleString("en-US")} listeners: one workerd process holds about two file descriptors per stream and may open 20,000 here, so their streams are spread over ${EDGES} edge processes (the same bundle) in front of a hub process holding the FlagStore (bench/killswitch/topology.mjs), with each broadcaster shard in a process of its own; each stream's WebSocket goes from its edge process to its shard's process over loopback, and the FlagStore's announcement to each shard is one loopback call (as its RPC travels to a shard's location). Their CPU per change is given apart: the hub (admin write, FlagStore commit, the announcements), the broadcaster processes together (the fan-out: one WebSocket message per stream) and the edge processes together (each message turned into an SSE event).`,
    "",
    "| listeners | shards | writes | deliveries | missed | connect all (ms) | first delivery p50 (ms) | first → last p50 (ms) | p50 (ms) | p99 (ms) | max (ms) | workerd CPU per change (ms) | target | |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ...result.fanOut.map((r) => {
      const target = r.listeners === 1_000 ? "p99 ≤ 250 ms" : "–";
      const verdict = r.listeners === 1_000 ? (r.p99 <= 250 && r.missed === 0 ? "met" : "**missed**") : "–";
      return `| ${r.listeners.toLocaleString("en-US")} | ${r.shards} | ${r.writes} | ${r.deliveries.toLocaleString("en-US")} | ${r.missed} | ${r.connectMs.toLocaleString("en-US")}${r.retried ? ` (${r.retried} refused, retried)` : ""} | ${ms(r.firstP50)} | ${ms(r.spreadP50)} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.edges ? `hub ${ms(r.cpuMs)}, broadcasters ${ms(r.broadcasterCpuMs)}, edges ${ms(r.edgeCpuMs)}` : ms(r.cpuMs)} | ${target} | ${verdict} |`;
    }),
    ...(result.failed ? ["", `Runs that did not complete: ${result.failed.join("; ")}.`] : []),
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
    machine: `${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB, load at start ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
    fanOut: [],
  };
  let browserTarget = null;
  for (const shards of [...new Set(RUNS.map(([, s]) => s))]) {
    const worker = await startWorker(shards, Math.max(...RUNS.filter(([, s]) => s === shards).map(([n]) => n)));
    const { streamUrl, key } = await setUp(worker);
    try {
      result.fanOut.push(
        ...(await fanOut(
          { ...worker, streamUrl, shards },
          RUNS.filter(([, s]) => s === shards).map(([n]) => n),
        )),
      );
    } catch (error) {
      // The runs that finished are kept; this one is reported as failed.
      log(`  run with ${shards} shard(s) failed: ${error.message ?? error}`);
      if (worker.serverLog) log(`  workerd's last lines:\n${worker.serverLog().trim().split("\n").slice(-8).join("\n")}`);
      result.failed = [...(result.failed ?? []), `${shards} shard(s): ${String(error.message ?? error).slice(0, 120)}`];
    }
    browserTarget ??= { admin: worker.admin, base: worker.base, key };
  }
  try {
    if (process.env.LIVE_BROWSER === "0") throw new Error("LIVE_BROWSER=0");
    result.browser = await browserVisible(browserTarget);
  } catch (error) {
    result.browser = { skipped: String(error.message ?? error).slice(0, 200) };
  }
  result.elapsedS = (Date.now() - started) / 1000;
  const section = render(result);
  console.log(section);
  replaceSection(join(ROOT, "bench", "RESULTS.md"), MARK_BEGIN, MARK_END, section, "# edgeflags benchmark results");
  log(`done in ${result.elapsedS.toFixed(0)} s; section written to bench/RESULTS.md`);
}

/** Creates the project, its two flags and a client key; returns the key and its stream URL. */
async function setUp({ admin, base, edgeUrls = [] }) {
  const created = await admin("PUT", `/projects/${PROJECT}`, { environments: ["production"] });
  if (created.status !== 201) throw new Error(`project: ${created.status} ${JSON.stringify(created.body)}`);
  const flag = { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" };
  await admin("PUT", `/projects/${PROJECT}/environments/production/flagd`, { flags: { "kill-switch": flag, "dark-mode": flag } });
  const key = (await admin("POST", `/projects/${PROJECT}/environments/production/keys`, { scope: "client" })).body.key;
  let streamUrl = null;
  for (let i = 0; i < 200 && !streamUrl; i++) {
    const res = await fetch(`${edgeUrls[0] ?? base}/ofrep/v1/evaluate/flags`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: "{}",
    });
    if (res.ok) streamUrl = (await res.json()).eventStreams?.[0]?.url ?? null;
    else await sleep(100);
  }
  if (!streamUrl) throw new Error("no eventStreams URL from the bulk endpoint");
  return { streamUrl, key };
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanup();
  await stopAll();
}
