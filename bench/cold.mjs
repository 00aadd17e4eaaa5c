#!/usr/bin/env node
// One fresh process's cold path on a snapshot the Durable Object published to KV, done the way the
// edge does it when a new version arrives: read the snapshot text (the edge's `readSnapshot`: parse
// + check), compile its flag set, evaluate every flag once for one context. Then, as the floor, a
// bare `JSON.parse` of the same text in the same process. Each step is timed in CPU (this
// process's user + system time, all threads, `process.cpuUsage`), which a busy machine disturbs
// far less than the wall clock, and in wall time and the main thread's CPU beside it.
//
//   node bench/cold.mjs <published-snapshot.json> [engine bundle]     prints one JSON line
// (the engine bundle run.mjs builds by default; the reference revision's with BENCH_REFERENCE)
import { existsSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { ENGINE_BUNDLE } from "./engines.mjs";

const [file, bundle = ENGINE_BUNDLE] = process.argv.slice(2);
const text = readFileSync(file, "utf8");
const ctx = { targetingKey: "user-cold", customerId: "cust-000000", country: "DE", plan: "pro", email: "a@example.com" };
const mod = existsSync(bundle) ? await import(pathToFileURL(bundle).href) : null;
if (!mod) {
  process.stdout.write(`${JSON.stringify({ skipped: "engine not bundled" })}\n`);
  process.exit(0);
}
// Older trees validated the parsed text with SnapshotSchema (zod); the edge now calls readSnapshot.
const read =
  typeof mod.readSnapshot === "function"
    ? (t) => mod.readSnapshot(t)
    : (t) => {
        const parsed = mod.SnapshotSchema.safeParse(JSON.parse(t));
        return parsed.success ? parsed.data : null;
      };
const cpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
// The main thread's share (Node ≥ 22.19): the rest of the process's CPU is GC helpers and
// background compilers, which run beside it.
const thread = () => {
  if (typeof process.threadCpuUsage !== "function") return Number.NaN;
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
};
const m0 = thread();
const c0 = cpu();
const t0 = performance.now();
const snapshot = read(text);
const c1 = cpu();
if (!snapshot) {
  process.stdout.write(`${JSON.stringify({ skipped: "the published snapshot did not read" })}\n`);
  process.exit(0);
}
const compiled = mod.compileFlagSet(snapshot.flagSet);
const c2 = cpu();
const results = compiled.evaluateAll(ctx);
const c3 = cpu();
const t3 = performance.now();
const mainThreadMs = thread() - m0;
JSON.parse(text);
const floorMs = cpu() - c3;
process.stdout.write(
  `${JSON.stringify({
    totalMs: c3 - c0,
    readMs: c1 - c0,
    compileMs: c2 - c1,
    firstEvalMs: c3 - c2,
    floorMs,
    wallMs: t3 - t0,
    mainThreadMs,
    flags: results.length,
    edgeRead: typeof mod.readSnapshot === "function",
  })}\n`,
);
