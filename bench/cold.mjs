#!/usr/bin/env node
// One fresh process's cold path on a snapshot the Durable Object published to KV, done the way the
// edge does it when a new version arrives: read the snapshot text (the edge's `readSnapshot`: parse
// + check), compile its flag set, evaluate every flag once for one context. Then, as the floor, a
// bare `JSON.parse` of the same text in the same process.
//
//   node bench/cold.mjs <published-snapshot.json>      prints one JSON line
import { readFileSync } from "node:fs";
import { ourEngine } from "./engines.mjs";

const file = process.argv[2];
const text = readFileSync(file, "utf8");
const ctx = { targetingKey: "user-cold", customerId: "cust-000000", country: "DE", plan: "pro", email: "a@example.com" };
const { mod } = await ourEngine();
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
const t0 = performance.now();
const snapshot = read(text);
const t1 = performance.now();
if (!snapshot) {
  process.stdout.write(`${JSON.stringify({ skipped: "the published snapshot did not read" })}\n`);
  process.exit(0);
}
const compiled = mod.compileFlagSet(snapshot.flagSet);
const t2 = performance.now();
const results = compiled.evaluateAll(ctx);
const t3 = performance.now();
JSON.parse(text);
const floorMs = performance.now() - t3;
process.stdout.write(
  `${JSON.stringify({ totalMs: t3 - t0, readMs: t1 - t0, compileMs: t2 - t1, firstEvalMs: t3 - t2, floorMs, flags: results.length, edgeRead: typeof mod.readSnapshot === "function" })}\n`,
);
