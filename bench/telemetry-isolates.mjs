// Simulated edge isolates for bench/telemetry-load.mjs, in a process of their own (forked, driven
// over IPC) so that their CPU is measured apart and the admin writes' timer does not share their
// event loop. Each isolate flushes every FLUSH_MS (not waiting for the last flush's answer) what the edge's flush sends (worker/telemetry.ts):
// evaluation counts of every flag, a few new units exposed to the experiment, and one tracked event
// per such unit. With `mode: "shards"` the batch is split by unit as the edge splits it and each
// part goes to its TelemetryShard's process; with `mode: "store"` (the design before the shards)
// the whole batch goes to the FlagStore on the hub. A call that fails or passes the edge's deadline
// is sent again, as the edge does, up to SEND_ATTEMPTS times; only what was acknowledged counts as
// sent, so the bench can compare it with what the FlagStore counted.
import { randomBytes } from "node:crypto";

const FLUSH_MS = 250;
const SEND_ATTEMPTS = 4;
/** DEADLINE_MS.edgeStoreCall: how long the edge waits for a telemetry call. */
const CALL_DEADLINE_MS = 3_000;
const SHARDS = 8;
/** Flushes of one isolate in flight at once, at most (a call's deadline × attempts bounds them at the edge). */
const MAX_IN_FLIGHT = 8;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** contracts/telemetry.ts shardOf: the first 8 hex digits modulo the shard count. */
const shardOf = (unit) => Number.parseInt(unit.slice(0, 8), 16) % SHARDS;

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(CALL_DEADLINE_MS),
  });
  const answer = await response.json();
  if (!response.ok || answer.result?.ok !== true)
    throw new Error(answer.error ?? answer.result?.error?.detail ?? `HTTP ${response.status}`);
}

/** Sends one call, again on failure; true once acknowledged. */
async function send(url, body, stats) {
  for (let attempt = 1; attempt <= SEND_ATTEMPTS; attempt++) {
    stats.calls++;
    try {
      await post(url, body);
      return true;
    } catch {
      stats.failedCalls++;
    }
  }
  return false;
}

function batchOf(cfg) {
  const now = Date.now();
  const units = Array.from({ length: cfg.units }, () => randomBytes(10).toString("hex"));
  return {
    usage: cfg.flags.map((flag) => ({
      environment: "production",
      flag,
      variant: "on",
      evaluations: 5,
      firstAt: now - FLUSH_MS,
      lastAt: now,
    })),
    exposures: units.map((unit, i) => ({ subject: cfg.subject, unit, variant: i % 2 ? "on" : "off", at: now, environment: "production" })),
    shadow: [],
    keys: [],
    tracked: units.map((unit, i) => ({
      id: randomBytes(8).toString("hex"),
      unit,
      environment: "production",
      name: "checkout",
      at: now,
      value: i,
    })),
  };
}

function acknowledged(stats, batch) {
  stats.evaluations += batch.usage.reduce((sum, u) => sum + u.evaluations, 0);
  stats.exposures += batch.exposures.length;
  stats.events += batch.tracked.length;
}

async function flushOnce(cfg, stats) {
  const batch = batchOf(cfg);
  if (cfg.mode === "store") {
    const body = { project: cfg.project, method: "recordTelemetry", args: [batch] };
    if (await send(`${cfg.hubUrl}/__bench/rpc`, body, stats)) acknowledged(stats, batch);
    return;
  }
  const parts = new Map();
  const part = (n) => {
    if (!parts.has(n)) parts.set(n, { usage: [], exposures: [], shadow: [], keys: [], tracked: [] });
    return parts.get(n);
  };
  for (const e of batch.exposures) part(shardOf(e.unit)).exposures.push(e);
  for (const t of batch.tracked) part(shardOf(t.unit)).tracked.push(t);
  part(parts.keys().next().value).usage.push(...batch.usage);
  await Promise.all(
    [...parts].map(async ([n, p]) => {
      const url = `${cfg.shardUrls[n % cfg.shardUrls.length]}/__bench/telemetry/${encodeURIComponent(`${cfg.project}:${n}`)}`;
      if (await send(url, { project: cfg.project, shard: n, batch: p }, stats)) acknowledged(stats, p);
    }),
  );
}

/**
 * One isolate: a flush every FLUSH_MS, each sent without waiting for the one before (the edge's
 * `flush` starts the next batch while the last is in flight), at most MAX_IN_FLIGHT at a time; a
 * flush due while that many are in flight is skipped and counted (the load then is less than offered).
 */
async function isolate(cfg, stats, until) {
  // Isolates start out of phase, as real ones do.
  await sleep(Math.random() * FLUSH_MS);
  const inFlight = new Set();
  for (let next = performance.now(); Date.now() < until; next += FLUSH_MS) {
    if (inFlight.size >= MAX_IN_FLIGHT) stats.skipped++;
    else {
      const started = performance.now();
      const flushing = flushOnce(cfg, stats).then(() => {
        stats.flushes++;
        stats.flushMs.push(performance.now() - started);
        inFlight.delete(flushing);
      });
      inFlight.add(flushing);
    }
    await sleep(Math.max(0, next + FLUSH_MS - performance.now()));
  }
  await Promise.all(inFlight);
}

process.on("message", async (cfg) => {
  const stats = { flushes: 0, skipped: 0, calls: 0, failedCalls: 0, evaluations: 0, exposures: 0, events: 0, flushMs: [] };
  const until = Date.now() + cfg.seconds * 1000;
  await Promise.all(Array.from({ length: cfg.isolates }, () => isolate(cfg, stats, until)));
  process.send(stats);
});
