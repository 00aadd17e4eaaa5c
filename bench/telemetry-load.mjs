// Telemetry load against the source of truth: local workerd serving the Worker, many simulated
// isolates each flushing telemetry every 250 ms (a usage report with exposures, and a batch of
// tracking events), at 1×, 10× and 100× as many isolates, while an admin write (a flag toggled
// with If-Match) is timed every 100 ms. The telemetry goes to the project's TelemetryShard objects,
// which roll their counts up into the FlagStore at most one at a time per shard; the admin write's
// latency is what a kill switch costs. Bounded: each level runs LEVEL_SECONDS; at the end the
// evaluations the store counted are checked against those sent (nothing lost).
//
// Everything runs in one workerd process (one thread): the shards' and the edge's CPU competes with
// the FlagStore's here, as it would not across Cloudflare's machines; the figures bound the
// store's queueing from above.
//
//   flock /tmp/bench.lock node bench/telemetry-load.mjs [--seconds 8] [--base 2]
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import { ADMIN_TOKEN, oursConfig } from "./http.mjs";
import { bundleWorker, killAll, ROOT, startWorkerd } from "./workerd.mjs";

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const LEVEL_SECONDS = arg("seconds", 8);
const BASE_ISOLATES = arg("base", 2);
const LEVELS = [1, 10, 100];
const FLUSH_MS = 250;
const WRITE_EVERY_MS = 100;
const PROJECT = "telemetry-load";
const OUT = join(ROOT, "bench", ".out", "telemetry-load");

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function call(base, method, path, { token = ADMIN_TOKEN, body, headers = {} } = {}) {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, json, text };
}

function must(result, what) {
  if (result.status >= 300) throw new Error(`${what} → ${result.status} ${result.text.slice(0, 200)}`);
  return result.json;
}

const flags = {
  flags: {
    "kill-switch": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
    experiment: {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      targeting: {
        fractional: [
          ["on", 50],
          ["off", 50],
        ],
      },
    },
    ...Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`plain-${i}`, { state: "ENABLED", variants: { a: "a", b: "b" }, defaultVariant: "a" }]),
    ),
  },
};

async function provision(base) {
  const P = `/admin/v1/projects/${PROJECT}`;
  must(await call(base, "PUT", P, { body: { environments: ["production"] } }), "project");
  must(await call(base, "PUT", `${P}/environments/production/flagd`, { body: flags }), "flags");
  const experiment = must(
    await call(base, "POST", `${P}/environments/production/flags/experiment/experiment`, { body: { weights: { on: 50, off: 50 } } }),
    "experiment",
  );
  const server = must(await call(base, "POST", `${P}/environments/production/keys`, { body: { scope: "server" } }), "server key").key;
  const client = must(await call(base, "POST", `${P}/environments/production/keys`, { body: { scope: "client" } }), "client key").key;
  // Keys reach the edge through the KV key index (outbox): wait, bounded.
  for (const deadline = Date.now() + 20_000; ; ) {
    const probe = await call(base, "POST", "/ofrep/v1/evaluate/flags", { token: client, body: { context: { targetingKey: "probe" } } });
    const ingest = await call(base, "POST", "/telemetry/v1/evaluations", { token: server, body: { usage: [] } });
    if ((probe.status === 200 && ingest.status === 202) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { server, client, subject: `exp:${experiment.id}` };
}

/** One simulated isolate's flush: a usage report with new exposures, and a batch of tracked events. */
async function flushOnce(base, keys, sent) {
  const now = Date.now();
  const units = Array.from({ length: 10 }, () => randomBytes(10).toString("hex"));
  const usage = Object.keys(flags.flags).map((flag) => ({ flag, variant: "on", evaluations: 5, firstAt: now - FLUSH_MS, lastAt: now }));
  const report = {
    usage,
    exposures: units.map((unit, i) => ({ subject: keys.subject, unit, variant: i % 2 ? "on" : "off", at: now })),
  };
  const events = Array.from({ length: 10 }, (_, i) => ({ name: "checkout", targetingKey: `user-${now}-${i}`, value: i }));
  const [a, b] = await Promise.all([
    call(base, "POST", "/telemetry/v1/evaluations", { token: keys.server, body: report }),
    call(base, "POST", "/ofrep/v1/track", { token: keys.client, body: { events } }),
  ]);
  if (a.status === 202) sent.evaluations += usage.length * 5;
  sent.batches += (a.status === 202 ? 1 : 0) + (b.status === 202 ? 1 : 0);
  sent.failed += (a.status === 202 ? 0 : 1) + (b.status === 202 ? 0 : 1);
}

async function isolate(base, keys, sent, until) {
  // Isolates start out of phase, as real ones do.
  await new Promise((resolve) => setTimeout(resolve, Math.random() * FLUSH_MS));
  while (Date.now() < until) {
    const started = Date.now();
    await flushOnce(base, keys, sent).catch(() => {
      sent.failed++;
    });
    const wait = FLUSH_MS - (Date.now() - started);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** Admin writes every WRITE_EVERY_MS until `until`: the latency of each PUT (ms). */
async function adminWrites(base, until) {
  const path = `/admin/v1/projects/${PROJECT}/environments/production/flags/kill-switch`;
  const latencies = [];
  let state = "DISABLED";
  while (Date.now() < until) {
    const current = must(await call(base, "GET", path), "read flag");
    const started = performance.now();
    const put = await call(base, "PUT", path, {
      headers: { "if-match": `"${current.version}"` },
      body: { state, variants: current.variants, defaultVariant: current.defaultVariant },
    });
    const ms = performance.now() - started;
    if (put.status === 200) latencies.push(ms);
    state = state === "DISABLED" ? "ENABLED" : "DISABLED";
    await new Promise((resolve) => setTimeout(resolve, WRITE_EVERY_MS));
  }
  return latencies;
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : Number.NaN;
}

async function main() {
  const bundle = bundleWorker({ config: join(ROOT, "wrangler.toml"), outdir: join(OUT, "bundle") });
  if (!bundle.ok) throw new Error(`the Worker did not bundle: ${bundle.reason}`);
  const port = await freePort();
  const kvPort = await freePort();
  const ours = await startWorkerd({
    name: "telemetry-load",
    config: oursConfig({ out: OUT, modulePath: bundle.file, port, kvPort, doStorageDir: join(OUT, "do-storage"), name: "telemetry-load" }),
    port,
  });
  const keys = await provision(ours.url);
  const sent = { evaluations: 0, batches: 0, failed: 0 };
  const rows = [];
  // Quiet: admin writes alone.
  const quiet = await adminWrites(ours.url, Date.now() + LEVEL_SECONDS * 1000);
  rows.push({ level: "none", isolates: 0, batchesPerSecond: 0, failed: 0, writes: quiet });
  for (const level of LEVELS) {
    const isolates = BASE_ISOLATES * level;
    const before = { ...sent };
    const until = Date.now() + LEVEL_SECONDS * 1000;
    const [writes] = await Promise.all([
      adminWrites(ours.url, until),
      ...Array.from({ length: isolates }, () => isolate(ours.url, keys, sent, until)),
    ]);
    rows.push({
      level: `${level}×`,
      isolates,
      batchesPerSecond: (sent.batches - before.batches) / LEVEL_SECONDS,
      failed: sent.failed - before.failed,
      writes,
    });
  }
  // Nothing lost: every evaluation a 202 acknowledged is counted in the FlagStore (after the roll-ups).
  let counted = 0;
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    const usage = must(await call(ours.url, "GET", `/admin/v1/projects/${PROJECT}/environments/production/usage`), "usage");
    counted = Object.values(usage).reduce((sum, flag) => sum + (flag.evaluations ?? 0), 0);
    if (counted >= sent.evaluations) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  console.log(`telemetry load vs admin write latency (${LEVEL_SECONDS} s per level, one flush per isolate every ${FLUSH_MS} ms)`);
  console.log("level   isolates  telemetry batches/s  failed  admin writes  p50 ms  p99 ms");
  for (const row of rows) {
    console.log(
      `${row.level.padEnd(7)} ${String(row.isolates).padStart(8)}  ${row.batchesPerSecond.toFixed(0).padStart(19)}  ${String(row.failed).padStart(6)}  ${String(row.writes.length).padStart(12)}  ${percentile(row.writes, 50).toFixed(1).padStart(6)}  ${percentile(row.writes, 99).toFixed(1).padStart(6)}`,
    );
  }
  // A report answered with a failure may still have committed (the client would send it again): counted ≥ acknowledged.
  console.log(
    `evaluations acknowledged ${sent.evaluations}, counted by the FlagStore ${counted}: ${counted >= sent.evaluations ? "nothing lost" : "LOST"}` +
      ` (${counted - sent.evaluations} more, from reports answered with a failure after they committed)`,
  );
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => killAll());
