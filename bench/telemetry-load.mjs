#!/usr/bin/env node
// Telemetry load against the source of truth, across processes: does an admin write's latency stay
// flat while the edge's telemetry grows 100×?
//
//   hub        one `workerd serve` holding the FlagStore and the admin API (bench/killswitch/
//              topology.mjs, hub-shim.js: it counts and times every call forwarded to the store)
//   shards     TELEMETRY_PROCESSES (8) `workerd serve` processes holding the project's 8
//              TelemetryShard objects (shard n in process n mod 8: one each, as each has a
//              machine of its own in production); their roll-ups travel to the hub's FlagStore
//              over loopback (killswitch/shard-shim.js)
//   isolates   simulated edge isolates in TELEMETRY_ISOLATE_PROCESSES (2) forked Node processes
//              (bench/telemetry-isolates.mjs), each flushing every 250 ms: BASE isolates × 1, 10, 100
// An admin toggle is timed every 100 ms from this process, first with no telemetry, then at each
// level. The same levels then run against the design before the shards (each flush one batch
// straight to the FlagStore), on a second project in the same hub. At the end of each design the
// evaluations and exposures the isolates had acknowledged are compared with what the FlagStore
// counted (nothing lost). CPU per component is each process's utime + stime over the level.
// Writes its block into bench/TELEMETRY.md. Bounded in time; every process it starts is stopped.
//
//   flock /tmp/bench.lock node_modules/.bin/node bench/telemetry-load.mjs
//   TELEMETRY_SECONDS=8 TELEMETRY_BASE=2 TELEMETRY_UNITS=4 TELEMETRY_PROCESSES=8 TELEMETRY_ISOLATE_PROCESSES=2
//   TELEMETRY_SKIP_STORE=1 TELEMETRY_NICE=1 TELEMETRY_LEVELS=1,10,100
//   TELEMETRY_OUT=bench/TELEMETRY.md (where the block goes)
import { execSync, fork } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, setPriority, totalmem } from "node:os";
import { join } from "node:path";
import { freePort, percentile, replaceSection, sleep } from "./bench-util.mjs";
import { writeShardProcesses } from "./killswitch/telemetry-topology.mjs";
import { writeTopology } from "./killswitch/topology.mjs";
import { bundleWorker, ROOT, startWorkerd, stopAll } from "./workerd.mjs";

const SECONDS = Number(process.env.TELEMETRY_SECONDS ?? 8);
const BASE = Number(process.env.TELEMETRY_BASE ?? 2);
const UNITS = Number(process.env.TELEMETRY_UNITS ?? 4);
const PROCESSES = Number(process.env.TELEMETRY_PROCESSES ?? 8);
const ISOLATE_PROCESSES = Number(process.env.TELEMETRY_ISOLATE_PROCESSES ?? 2);
const SKIP_STORE = process.env.TELEMETRY_SKIP_STORE === "1";
/** With TELEMETRY_NICE=1 the shards' and isolates' processes run at nice 10: the hub gets the CPU first, as on a machine of its own. */
const NICE = process.env.TELEMETRY_NICE === "1";
const LEVELS = (process.env.TELEMETRY_LEVELS ?? "1,10,100").split(",").map(Number);
const WRITE_EVERY_MS = 100;
const CALL_TIMEOUT_MS = 30_000;
/**
 * Where the configs and the Durable Objects' SQLite live: tmpfs by default. On this machine's disk
 * a synced write takes ~4-5 ms, and workerd commits each object's writes with a sync, so every
 * object would be bound by the disk, not by its CPU or its queue, which is what this bench is
 * about (Durable Objects in production commit through their own replicated storage).
 * TELEMETRY_DISK=1 keeps them on disk under bench/.out.
 */
const DISK = process.env.TELEMETRY_DISK === "1";
const OUT = DISK ? join(ROOT, "bench", ".out", "telemetry-load") : `/dev/shm/edgeflags-telemetry-load-${process.pid}`;
const RESULTS = join(ROOT, "bench", ".out", "telemetry-load");
const ADMIN_TOKEN = "bench-telemetry-admin-token-not-a-secret";
const SIGNING_SECRET = "bench-telemetry-signing-secret-not-a-secret";
const TARGET = process.env.TELEMETRY_OUT ? join(ROOT, process.env.TELEMETRY_OUT) : join(ROOT, "bench", "TELEMETRY.md");
/** Each configuration keeps a block of its own in TELEMETRY.md: the default, `-nice`, `-disk`, `-2` (TELEMETRY_PROCESSES=2)… */
const nice = `${process.env.TELEMETRY_NICE === "1" ? "-nice" : ""}${DISK ? "-disk" : ""}${PROCESSES === 8 ? "" : `-${PROCESSES}`}`;
const MARK_BEGIN = `<!-- bench/telemetry-load.mjs${nice}: begin -->`;
const MARK_END = `<!-- bench/telemetry-load.mjs${nice}: end -->`;
const FLAGS = ["kill-switch", "experiment", ...Array.from({ length: 20 }, (_, i) => `plain-${i}`)];

const started = Date.now();
const log = (line) => console.error(`[telemetry ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${line}`);
let TICKS = 100;
try {
  TICKS = Number(execSync("getconf CLK_TCK", { encoding: "utf8" }).trim()) || 100;
} catch {
  // Linux's usual 100
}

/** utime + stime of a process, in ms; null once it is gone. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
  } catch {
    return null;
  }
}

/** Time a process's threads spent runnable but waiting for a CPU (/proc/<pid>/task/<tid>/schedstat, field 2), in ms. */
function waitedMs(pid) {
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`))
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[1]);
  } catch {
    // gone
  }
  return ns / 1e6;
}

async function call(base, method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

function must(result, what) {
  if (result.status >= 300) throw new Error(`${what} → ${result.status} ${JSON.stringify(result.body).slice(0, 300)}`);
  return result.body;
}

const flagSet = {
  flags: Object.fromEntries(
    FLAGS.map((key) => [
      key,
      key === "experiment"
        ? {
            state: "ENABLED",
            variants: { on: true, off: false },
            defaultVariant: "off",
            targeting: {
              fractional: [
                ["on", 50],
                ["off", 50],
              ],
            },
          }
        : { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
    ]),
  ),
};

async function provision(hub, project) {
  const P = `/admin/v1/projects/${project}`;
  must(await call(hub, "PUT", P, { environments: ["production"] }), "project");
  must(await call(hub, "PUT", `${P}/environments/production/flagd`, flagSet), "flags");
  const experiment = must(
    await call(hub, "POST", `${P}/environments/production/flags/experiment/experiment`, { weights: { on: 50, off: 50 } }),
    "experiment",
  );
  return { project, experiment: experiment.id, subject: `exp:${experiment.id}` };
}

/** Admin toggles every WRITE_EVERY_MS until `until`: each one's latency (ms); failures counted. */
async function adminWrites(hub, project, until) {
  const path = `/admin/v1/projects/${project}/environments/production/flags/kill-switch/toggle`;
  const latencies = [];
  let failed = 0;
  while (Date.now() < until) {
    const t0 = performance.now();
    const answer = await call(hub, "POST", path).catch(() => ({ status: 0 }));
    if (answer.status === 200) latencies.push(performance.now() - t0);
    else failed++;
    await sleep(WRITE_EVERY_MS);
  }
  return { latencies, failed };
}

/** Runs one level in the isolates' processes (the isolates split between them); resolves with what they sent and had acknowledged. */
async function runIsolates(children, cfg) {
  const one = (child, isolates) =>
    new Promise((resolve, reject) => {
      const onExit = (code) => reject(new Error(`an isolates' process exited (${code})`));
      child.once("exit", onExit);
      child.once("message", (stats) => {
        child.off("exit", onExit);
        resolve(stats);
      });
      child.send({ ...cfg, isolates });
    });
  const share = (k) => Math.floor(cfg.isolates / children.length) + (k < cfg.isolates % children.length ? 1 : 0);
  const parts = await Promise.all(children.map((child, k) => (share(k) ? one(child, share(k)) : null)));
  const total = { flushes: 0, skipped: 0, calls: 0, failedCalls: 0, evaluations: 0, exposures: 0, events: 0 };
  const flushMs = [];
  for (const part of parts.filter(Boolean)) {
    for (const key of Object.keys(total)) total[key] += part[key];
    flushMs.push(...part.flushMs);
  }
  return { ...total, flushMs: { n: flushMs.length, p50: percentile(flushMs, 50), p99: percentile(flushMs, 99) } };
}

async function hubCalls(hub) {
  return (await fetch(`${hub}/__bench/calls`, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })).json();
}

async function shardStats(url) {
  return (await fetch(`${url}/__bench/stats`, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })).json();
}

async function hubDurations(hub) {
  return (await fetch(`${hub}/__bench/durations`, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })).json();
}

/** What the FlagStore counted for a project: evaluations of every flag, and the experiment's units. */
async function counted(hub, keys) {
  const P = `/admin/v1/projects/${keys.project}`;
  const usage = must(await call(hub, "GET", `${P}/environments/production/usage`), "usage");
  const experiment = must(await call(hub, "GET", `${P}/experiments/${keys.experiment}`), "experiment");
  return {
    evaluations: Object.values(usage).reduce((sum, flag) => sum + (flag.evaluations ?? 0), 0),
    exposures: Object.values(experiment.units).reduce((sum, n) => sum + n, 0),
  };
}

async function runDesign({ mode, hub, shards, children, keys }) {
  const pids = { hub: [hub.child.pid], shards: shards.map((s) => s.child.pid), isolates: children.map((c) => c.pid) };
  const cpuOf = (list) => list.reduce((sum, pid) => sum + (cpuMs(pid) ?? 0), 0);
  const waitOf = (list) => list.reduce((sum, pid) => sum + waitedMs(pid), 0);
  const rows = [];
  const totals = { evaluations: 0, exposures: 0, failedCalls: 0 };
  for (const level of [0, ...LEVELS]) {
    const isolates = BASE * level;
    log(`${mode}: ${level ? `${level}× (${isolates} isolates)` : "no telemetry"}, ${SECONDS} s`);
    const calls0 = await hubCalls(hub.url);
    await hubDurations(hub.url); // starts this level's durations afresh
    await Promise.all(shards.map((s) => shardStats(s.url)));
    const cpu0 = { hub: cpuOf(pids.hub), shards: cpuOf(pids.shards), isolates: cpuOf(pids.isolates), self: process.cpuUsage() };
    const wait0 = { hub: waitOf(pids.hub), shards: waitOf(pids.shards), isolates: waitOf(pids.isolates) };
    const t0 = performance.now();
    const until = Date.now() + SECONDS * 1000;
    const [writes, sent] = await Promise.all([
      adminWrites(hub.url, keys.project, until),
      isolates
        ? runIsolates(children, {
            mode,
            isolates,
            seconds: SECONDS,
            units: UNITS,
            flags: FLAGS,
            project: keys.project,
            subject: keys.subject,
            hubUrl: hub.url,
            shardUrls: shards.map((s) => s.url),
          })
        : null,
    ]);
    const wallS = (performance.now() - t0) / 1000;
    const calls1 = await hubCalls(hub.url);
    const durations = await hubDurations(hub.url);
    const perShard = await Promise.all(shards.map((s) => shardStats(s.url)));
    // The slowest process's figures: a flush waits for all its parts.
    const worst = (what) => perShard.map((p) => p[what]).reduce((a, b) => ((b.p99 ?? -1) > (a.p99 ?? -1) ? b : a));
    const self = process.cpuUsage(cpu0.self);
    const cores = (ms) => ms / 1000 / wallS;
    const storeCalls = (calls1.recordTelemetry ?? 0) - (calls0.recordTelemetry ?? 0);
    if (sent) {
      totals.evaluations += sent.evaluations;
      totals.exposures += sent.exposures;
      totals.failedCalls += sent.failedCalls;
    }
    const row = {
      level: level ? `${level}×` : "none",
      isolates,
      flushesPerS: sent ? sent.flushes / SECONDS : 0,
      skipped: sent?.skipped ?? 0,
      offeredPerS: (isolates * 1000) / 250,
      flushMs: sent?.flushMs ?? null,
      telemetryCallsPerS: sent ? sent.calls / SECONDS : 0,
      failedCalls: sent?.failedCalls ?? 0,
      storeCallsPerS: storeCalls / wallS,
      storeCallMs: durations.recordTelemetry ?? null,
      shardAckMs: mode === "shards" ? worst("ack") : null,
      rollupRoundTripMs: mode === "shards" ? worst("rollup") : null,
      writes: writes.latencies.length,
      writeFailures: writes.failed,
      p50: percentile(writes.latencies, 50),
      p99: percentile(writes.latencies, 99),
      max: writes.latencies.length ? Math.max(...writes.latencies) : Number.NaN,
      cpu: {
        hub: cores(cpuOf(pids.hub) - cpu0.hub),
        shards: cores(cpuOf(pids.shards) - cpu0.shards),
        isolates: cores(cpuOf(pids.isolates) - cpu0.isolates),
        timer: cores((self.user + self.system) / 1000),
      },
      // Runnable but not running (the machine's other work, and each other): in cores' worth.
      waited: {
        hub: cores(waitOf(pids.hub) - wait0.hub),
        shards: cores(waitOf(pids.shards) - wait0.shards),
        isolates: cores(waitOf(pids.isolates) - wait0.isolates),
      },
      load: loadavg()[0],
    };
    rows.push(row);
    log(
      `  admin write p50 ${row.p50.toFixed(0)} ms p99 ${row.p99.toFixed(0)} ms; ${row.flushesPerS.toFixed(0)} flushes/s (flush p50 ${row.flushMs?.p50?.toFixed(0)} ms); shard ack ${JSON.stringify(row.shardAckMs)} roll-up trip ${JSON.stringify(row.rollupRoundTripMs)}; store ${row.storeCallsPerS.toFixed(1)} calls/s; cores hub ${row.cpu.hub.toFixed(2)} shards ${row.cpu.shards.toFixed(2)} isolates ${row.cpu.isolates.toFixed(2)}; waited ${JSON.stringify(row.waited)}; load ${row.load.toFixed(2)}`,
    );
  }
  // Nothing lost: what the isolates had acknowledged is in the FlagStore once the roll-ups landed.
  let seen = { evaluations: 0, exposures: 0 };
  const drainStart = performance.now();
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    seen = await counted(hub.url, keys);
    if (seen.evaluations >= totals.evaluations && seen.exposures >= totals.exposures) break;
    await sleep(250);
  }
  const drainS = (performance.now() - drainStart) / 1000;
  log(`${mode}: acknowledged ${JSON.stringify(totals)}, counted ${JSON.stringify(seen)} (after ${drainS.toFixed(1)} s)`);
  return { mode, rows, sent: totals, counted: seen, drainS };
}

async function main() {
  log("bundling the Worker (wrangler deploy --dry-run)");
  const bundle = bundleWorker({ config: join(ROOT, "wrangler.toml"), outdir: join(RESULTS, "dist") });
  if (!bundle.ok) throw new Error(`bundle failed: ${bundle.reason}`);
  const ports = { hub: await freePort(), kv: await freePort(), cache: await freePort(), edges: [] };
  const shardPorts = [];
  for (let k = 0; k < PROCESSES; k++) shardPorts.push(await freePort());
  const configs = writeTopology({
    out: OUT,
    bundle: bundle.file,
    ports,
    kvLagMs: 0,
    adminToken: ADMIN_TOKEN,
    signingSecret: SIGNING_SECRET,
    uniquePrefix: "tl",
  });
  const shardConfigs = writeShardProcesses({ out: OUT, bundle: bundle.file, hubPort: ports.hub, ports: shardPorts });
  log(`starting the hub and ${PROCESSES} telemetry shard processes`);
  const hub = await startWorkerd({ name: "hub", config: configs.hub, port: ports.hub });
  const shards = [];
  for (let k = 0; k < PROCESSES; k++)
    shards.push(await startWorkerd({ name: `shards-${k}`, config: shardConfigs[k], port: shardPorts[k] }));
  const children = Array.from({ length: ISOLATE_PROCESSES }, () =>
    fork(join(import.meta.dirname, "telemetry-isolates.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  if (NICE) for (const pid of [...shards.map((s) => s.child.pid), ...children.map((c) => c.pid)]) setPriority(pid, 10);
  try {
    const designs = [await runDesign({ mode: "shards", hub, shards, children, keys: await provision(hub.url, "telemetry-shards") })];
    if (!SKIP_STORE)
      designs.push(await runDesign({ mode: "store", hub, shards, children, keys: await provision(hub.url, "telemetry-direct") }));
    const result = {
      date: new Date().toISOString(),
      machine: `${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB`,
      loadAtEnd: loadavg(),
      node: process.version,
      seconds: SECONDS,
      base: BASE,
      units: UNITS,
      processes: PROCESSES,
      isolateProcesses: ISOLATE_PROCESSES,
      nice: NICE,
      disk: DISK,
      designs,
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, `results${nice}.json`), JSON.stringify(result, null, 2));
    const section = render(result);
    console.log(section);
    replaceSection(TARGET, MARK_BEGIN, MARK_END, section, "# Telemetry load and the source of truth");
    log(`section written to ${TARGET}`);
  } finally {
    for (const child of children) child.kill("SIGTERM");
  }
}

function render(r) {
  const ms = (x) => (Number.isFinite(x) ? x.toFixed(0) : "–");
  const c = (x) => x.toFixed(2);
  const pq = (x) => (x?.n ? `${x.p50}/${x.p99}` : "–");
  const table = (d) => [
    "| telemetry | isolates | flushes/s (offered) | calls/s to shards | shard ack p50/p99 (ms) | FlagStore telemetry calls/s (p50/p99 ms) | admin toggle p50 / p99 / max (ms), n | CPU cores: hub / shards / isolates | waiting for a CPU (cores): hub / shards / isolates | load (1 min) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...d.rows.map((row) => {
      const shardCol = (x) => (d.mode === "shards" ? x : "–");
      return `| ${row.level} | ${row.isolates} | ${row.flushesPerS.toFixed(0)} (${row.offeredPerS.toFixed(0)}) | ${shardCol(row.telemetryCallsPerS.toFixed(0))} | ${shardCol(pq(row.shardAckMs))} | ${row.storeCallsPerS.toFixed(1)}${row.storeCallMs?.n ? ` (${pq(row.storeCallMs)})` : ""} | ${ms(row.p50)} / ${ms(row.p99)} / ${ms(row.max)}, ${row.writes}${row.writeFailures ? ` (${row.writeFailures} failed)` : ""} | ${c(row.cpu.hub)} / ${shardCol(c(row.cpu.shards))} / ${c(row.cpu.isolates)} | ${c(row.waited.hub)} / ${shardCol(c(row.waited.shards))} / ${c(row.waited.isolates)} | ${row.load.toFixed(2)} |`;
    }),
    "",
    `Acknowledged to the isolates: ${d.sent.evaluations.toLocaleString("en-US")} evaluations, ${d.sent.exposures.toLocaleString("en-US")} exposures (${d.sent.failedCalls} calls failed or passed the 3 s deadline and were sent again); counted by the FlagStore ${d.drainS.toFixed(1)} s after the last level: ${d.counted.evaluations.toLocaleString("en-US")} and ${d.counted.exposures.toLocaleString("en-US")}: ${d.counted.evaluations >= d.sent.evaluations && d.counted.exposures >= d.sent.exposures ? `nothing lost${d.counted.evaluations > d.sent.evaluations ? ` (${(d.counted.evaluations - d.sent.evaluations).toLocaleString("en-US")} evaluations more: calls answered too late had committed and were sent again; usage counts are additive, so a re-sent batch counts twice, while exposures dedupe per unit)` : ""}` : "**LOST**"}.`,
  ];
  const shards = r.designs.find((d) => d.mode === "shards");
  const store = r.designs.find((d) => d.mode === "store");
  return [
    MARK_BEGIN,
    `## Measured locally (bench/telemetry-load.mjs${nice ? `, ${[r.nice ? "TELEMETRY_NICE=1" : "", r.disk ? "TELEMETRY_DISK=1" : "", r.processes === 8 ? "" : `TELEMETRY_PROCESSES=${r.processes}`, r.isolateProcesses === 2 ? "" : `TELEMETRY_ISOLATE_PROCESSES=${r.isolateProcesses}`].filter(Boolean).join(" ")}` : ""})`,
    "",
    `Measured ${r.date} on ${r.machine}, load at the end ${r.loadAtEnd.map((x) => x.toFixed(2)).join(" ")}; Node ${r.node}. A hub \`workerd serve\` holds the FlagStore and the admin API; ${r.processes} more hold the project's 8 TelemetryShard objects${r.processes === 8 ? " (one each, as each has its own machine in production)" : ""}, whose roll-ups reach the hub over loopback; simulated isolates (${r.isolateProcesses === 1 ? "one Node process" : `${r.isolateProcesses} Node processes`}) flush every 250 ms: evaluation counts of ${FLAGS.length} flags, ${r.units} new units exposed to an experiment and one tracked event per unit, split by unit over the shards as the edge splits it. ${r.base} isolates × 1, 10 and 100, ${r.seconds} s per level; an admin toggle (\`POST …/flags/kill-switch/toggle\`) every ${WRITE_EVERY_MS} ms from the bench's own process. Each isolate flushes on time whether or not its last flush was answered, at most 8 in flight (a flush due beyond that is skipped: flushes/s below offered). The objects' SQLite is on ${r.disk ? "this machine's disk (a synced write ~4-5 ms here)" : "tmpfs: on this machine's disk a synced write takes ~4-5 ms and every object would be bound by it (TELEMETRY_DISK=1)"}. CPU is each process's utime + stime over the level, in cores.${r.nice ? " The shards' and isolates' processes ran at nice 10 (TELEMETRY_NICE=1), so the hub is served first, as on a machine of its own." : " Every process at the same priority: on 2 cores the shards and isolates take CPU the hub would otherwise have."}`,
    "",
    "### Telemetry through the shards (as deployed)",
    "",
    ...table(shards),
    ...(store
      ? [
          "",
          "### For contrast: every flush straight to the FlagStore (the design before the shards)",
          "",
          "The same isolates, each flush one `recordTelemetry` batch to the FlagStore (a second project on the same hub, so a FlagStore of its own).",
          "",
          ...table(store),
        ]
      : []),
    MARK_END,
  ].join("\n");
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await stopAll();
  if (!DISK) rmSync(OUT, { recursive: true, force: true });
}
