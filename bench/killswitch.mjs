#!/usr/bin/env node
// Kill switch across processes: admin write → every edge process serving the new version, while
// KV never shows the change (its snapshots lag by KILLSWITCH_KV_LAG_MS, 10 minutes by default), so
// only the location's version beacon (worker/freshness-beacon.ts) can bring it.
//
//   hub      one `workerd serve`: the edgeflags Worker with its Durable Objects (the FlagStore),
//            the lagging KV service and the Cache API service ("the location's cache")
//   edges    KILLSWITCH_EDGES (4) more `workerd serve` processes, each one isolate of the same
//            location: the same bundle, KV and cache reached over loopback, FlagStore calls
//            forwarded to the hub (which counts them)
// A poller per edge evaluates the kill switch every KILLSWITCH_POLL_MS (20) with a server key and
// records when each edge first answers the new version. Prints a table, and writes its section of
// bench/KILLSWITCH.md. Bounded in time; every process it starts is stopped at the end.
//
// Run it alone: `flock /tmp/bench.lock node bench/killswitch.mjs` (KILLSWITCH_WRITES=5 for a quick look).
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { adminFor, freePort, percentile, replaceSection, sleep } from "./bench-util.mjs";
import { writeTopology } from "./killswitch/topology.mjs";
import { bundleWorker, ROOT, startWorkerd, stopAll } from "./workerd.mjs";

const EDGES = Number(process.env.KILLSWITCH_EDGES ?? 4);
const WRITES = Number(process.env.KILLSWITCH_WRITES ?? 20);
const POLL_MS = Number(process.env.KILLSWITCH_POLL_MS ?? 20);
const KV_LAG_MS = Number(process.env.KILLSWITCH_KV_LAG_MS ?? 600_000);
const WRITE_TIMEOUT_MS = 15_000;
const OUT = join(ROOT, "bench", ".out", "killswitch");
const ADMIN_TOKEN = "bench-killswitch-admin-token-not-a-secret";
const SIGNING_SECRET = "bench-killswitch-signing-secret-not-a-secret";
const PROJECT = "killswitch";
const MARK_BEGIN = "<!-- bench/killswitch.mjs: begin -->";
const MARK_END = "<!-- bench/killswitch.mjs: end -->";

const started = Date.now();
const log = (line) => console.error(`[killswitch ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${line}`);

function writeConfigs({ bundle, ports }) {
  return writeTopology({ out: OUT, bundle, ports, kvLagMs: KV_LAG_MS, adminToken: ADMIN_TOKEN, signingSecret: SIGNING_SECRET });
}

/** Evaluates the kill switch on one edge every POLL_MS; `seen(version)` is when it first answered it. */
function poller(url, key) {
  const firstSeen = new Map();
  let running = true;
  let requests = 0;
  let failures = 0;
  let last = 0;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      try {
        const response = await fetch(`${url}/ofrep/v1/evaluate/flags/kill-switch`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: '{"context":{"targetingKey":"u1"}}',
        });
        const body = await response.json();
        requests++;
        const version = body.metadata?.configVersion;
        if (typeof version === "number") {
          last = version;
          if (!firstSeen.has(version)) firstSeen.set(version, performance.now());
        } else failures++;
      } catch {
        failures++;
      }
      await sleep(Math.max(0, POLL_MS - (performance.now() - t)));
    }
  })();
  return {
    seenAt: (version) => {
      for (const [v, at] of firstSeen) if (v >= version) return at;
      return null;
    },
    last: () => last,
    stats: () => ({ requests, failures }),
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function hubCalls(hub) {
  return (await fetch(`${hub}/__bench/calls`)).json();
}

async function main() {
  log("bundling the Worker (wrangler deploy --dry-run)");
  const bundle = bundleWorker({ config: join(ROOT, "wrangler.toml"), outdir: join(OUT, "dist") });
  if (!bundle.ok) throw new Error(`bundle failed: ${bundle.reason}`);
  const ports = { hub: await freePort(), kv: await freePort(), cache: await freePort(), edges: [] };
  for (let i = 0; i < EDGES; i++) ports.edges.push(await freePort());
  const configs = writeConfigs({ bundle: bundle.file, ports });
  log(`starting the hub and ${EDGES} edge processes`);
  const hub = await startWorkerd({ name: "hub", config: configs.hub, port: ports.hub });
  const hubAdmin = adminFor(hub.url, ADMIN_TOKEN).admin;
  const edges = [];
  for (let i = 0; i < EDGES; i++) edges.push(await startWorkerd({ name: `edge-${i}`, config: configs.edges[i], port: ports.edges[i] }));

  const created = await hubAdmin("PUT", `/projects/${PROJECT}`, { environments: ["production"] });
  if (created.status !== 201) throw new Error(`project: ${created.status} ${JSON.stringify(created.body)}`);
  const flag = { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" };
  await hubAdmin("PUT", `/projects/${PROJECT}/environments/production/flagd`, { flags: { "kill-switch": flag } });
  const key = (await hubAdmin("POST", `/projects/${PROJECT}/environments/production/keys`, { scope: "server" })).body.key;

  const pollers = edges.map((edge) => poller(edge.url, key));
  const current = async () => (await hubAdmin("GET", `/projects/${PROJECT}`)).body.environments[0].version;
  // Warm: every edge serves the current version and has read a confirmed beacon.
  const warmUntil = Date.now() + 30_000;
  const v0 = await current();
  while (Date.now() < warmUntil && pollers.some((p) => p.last() < v0)) await sleep(100);
  if (pollers.some((p) => p.last() < v0)) throw new Error(`edges did not serve version ${v0}: ${pollers.map((p) => p.last())}`);
  await sleep(2_000);

  log(`${WRITES} kill-switch toggles, KV lagging ${KV_LAG_MS / 1000} s`);
  const before = await hubCalls(hub.url);
  await fetch(`${hub.url}/__bench/durations`); // starts the window's durations afresh
  const windowStart = performance.now();
  const perEdge = [];
  const allEdges = [];
  const acks = [];
  let missed = 0;
  for (let w = 0; w < WRITES; w++) {
    await sleep(500 + Math.random() * 1_000);
    const t0 = performance.now();
    const toggled = await hubAdmin("POST", `/projects/${PROJECT}/environments/production/flags/kill-switch/toggle`);
    if (toggled.status !== 200) throw new Error(`toggle: ${toggled.status}`);
    acks.push(performance.now() - t0);
    const version = toggled.body.version;
    const deadline = t0 + WRITE_TIMEOUT_MS;
    while (performance.now() < deadline && pollers.some((p) => p.seenAt(version) === null)) await sleep(10);
    const delays = pollers.map((p) => p.seenAt(version)).map((at) => (at === null ? null : at - t0));
    missed += delays.filter((d) => d === null).length;
    const got = delays.filter((d) => d !== null);
    perEdge.push(...got);
    if (got.length === EDGES) allEdges.push(Math.max(...got));
    log(`  v${version}: ${delays.map((d) => (d === null ? "missed" : `${d.toFixed(0)} ms`)).join(", ")}`);
  }
  const windowS = (performance.now() - windowStart) / 1000;
  const after = await hubCalls(hub.url);
  const durations = await (await fetch(`${hub.url}/__bench/durations`)).json();
  const delta = (method) => (after[method] ?? 0) - (before[method] ?? 0);
  const requests = pollers.reduce((sum, p) => sum + p.stats().requests, 0);
  const pollEveryMs = (windowS * 1000 * EDGES) / Math.max(1, requests);
  for (const p of pollers) await p.stop();

  const result = {
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
    edges: EDGES,
    writes: WRITES,
    pollMs: POLL_MS,
    kvLagS: KV_LAG_MS / 1000,
    perEdge: { p50: percentile(perEdge, 50), p99: percentile(perEdge, 99), max: Math.max(...perEdge) },
    allEdges: { p50: percentile(allEdges, 50), p99: percentile(allEdges, 99), max: Math.max(...allEdges) },
    ack: { p50: percentile(acks, 50), p99: percentile(acks, 99), max: Math.max(...acks) },
    missed,
    windowS,
    evaluations: requests,
    pollEveryMs,
    versionCallsPerS: delta("edgeVersion") / windowS,
    snapshotCalls: delta("getSnapshot"),
    versionCallMs: durations.edgeVersion ?? null,
    otherCalls: Object.keys(after)
      .filter((m) => !["edgeVersion", "getSnapshot"].includes(m))
      .map((m) => `${m} ${delta(m)}`)
      .join(", "),
  };
  const section = render(result);
  console.log(section);
  replaceSection(join(ROOT, "bench", "KILLSWITCH.md"), MARK_BEGIN, MARK_END, section, "# Kill switch: propagation to every isolate");
  log("section written to bench/KILLSWITCH.md");
}

function render(r) {
  const ms = (x) => (Number.isFinite(x) ? x.toFixed(0) : "–");
  return [
    MARK_BEGIN,
    "## Measured locally (bench/killswitch.mjs)",
    "",
    `Measured ${r.date} on ${r.machine}; Node ${process.version}. One location: ${r.edges} edge \`workerd serve\` processes (one isolate each) sharing a Cache API service, a KV service whose snapshots lag ${r.kvLagS} s (so KV never shows a change during the run) and a hub process holding the FlagStore; each edge evaluated every ${r.pollMs} ms with a server key. Latency runs from just before the admin toggle is sent to the first answer carrying the new version.`,
    "",
    "| | p50 (ms) | p99 (ms) | max (ms) |",
    "| --- | ---: | ---: | ---: |",
    `| one edge process serving the new version (${r.writes} writes × ${r.edges} processes) | ${ms(r.perEdge.p50)} | ${ms(r.perEdge.p99)} | ${ms(r.perEdge.max)} |`,
    `| every edge process serving it (${r.writes} writes) | ${ms(r.allEdges.p50)} | ${ms(r.allEdges.p99)} | ${ms(r.allEdges.max)} |`,
    `| for comparison: the admin toggle's own answer | ${ms(r.ack.p50)} | ${ms(r.ack.p99)} | ${ms(r.ack.max)} |`,
    "",
    `Missed (not served within ${WRITE_TIMEOUT_MS / 1000} s): ${r.missed}. FlagStore load over the ${r.windowS.toFixed(0)} s of writes, while the edges answered ${r.evaluations.toLocaleString("en-US")} evaluations (one per ${r.pollEveryMs.toFixed(0)} ms per edge: the poll interval plus the answer's own time, which bounds how soon a change can be seen): ${r.versionCallsPerS.toFixed(2)} beacon refreshes (\`edgeVersion\`) per second for the location (each answered in ${r.versionCallMs ? `${r.versionCallMs.p50} ms p50, ${r.versionCallMs.p99} ms p99` : "–"}), ${r.snapshotCalls} snapshot calls (\`getSnapshot\`) in all${r.otherCalls ? `; other calls: ${r.otherCalls}` : ""}.`,
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
}
