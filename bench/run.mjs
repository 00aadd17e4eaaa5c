#!/usr/bin/env node
// `npm run bench`: the performance figures of issue 6, side by side with flagd-core, in one run.
//
//   1. workload      bench/workload.mjs → bench/.out/workload (seeded, deterministic)
//   2. engine        in-process (Node), mitata medians: ours vs flagd-core interpreted and code-generating
//   3. HTTP          our Worker vs bench/baseline-worker under `workerd serve` on 127.0.0.1, autocannon,
//                    alternating runs, trivial-Worker ceiling in the same run; then local propagation
//   4. cold path     fresh Node processes: parse + compile + first evaluation
//   5. bundle        our Worker as `wrangler deploy --dry-run` builds it, gzipped
// Prints a table and writes bench/RESULTS.md. Every child process is killed at the end, also on error.
//
// Environment: BENCH_QUICK=1 shortens the HTTP rounds (for trying the harness, not for figures);
// BENCH_PROFILE=1 adds CPU profiles of our Worker under load (bench/profile.mjs) to the results;
// BENCH_REFERENCE=<git revision> also bundles that revision of our Worker and loads it in the same
// alternating rounds (the "before" of a change, and the ≥ 2× target of the bulk answer);
// BENCH_ONLY=http,cold (any of engine, http, cold) runs only those phases and writes the table to
// bench/.out/RESULTS-partial.md instead of bench/RESULTS.md; BENCH_ROUNDS=N runs N alternating HTTP
// rounds instead of 3 (each round adds about a minute; more rounds narrow the medians on a busy machine).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { ENGINE_BUNDLE, OUT } from "./engines.mjs";
import { ADMIN_TOKEN, propagation, runLoad, savePublishedSnapshots, startAll } from "./http.mjs";
import { render } from "./report.mjs";
import { writeWorkload } from "./workload.mjs";
import { bundleWorker, killAll, ROOT, stopAll, WORKERD } from "./workerd.mjs";

const QUICK = process.env.BENCH_QUICK === "1";
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",").map((x) => x.trim())) : null;
const wants = (phase) => !ONLY || ONLY.has(phase);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
if (!Number.isInteger(ROUNDS) || ROUNDS < 3)
  throw new Error(`BENCH_ROUNDS must be a whole number of at least 3, got ${process.env.BENCH_ROUNDS}`);
const REFERENCE = process.env.BENCH_REFERENCE || null;
const REFERENCE_ENGINE = join(OUT, "engine-reference.mjs");
const started = Date.now();
const log = (line) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${line}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.on("exit", killAll);

function node(args, { timeout = 180_000 } = {}) {
  const run = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", timeout, maxBuffer: 16 * 1024 * 1024 });
  const line = (run.stdout ?? "").trim().split("\n").pop();
  try {
    return JSON.parse(line);
  } catch {
    const why = run.error ? String(run.error.message) : (run.stderr ?? "").trim().split("\n").slice(-3).join(" | ");
    return { skipped: `child failed: ${why.slice(0, 300) || `exit ${run.status}`}` };
  }
}

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function version(pkg) {
  try {
    return JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
}

async function bundleEngine(root = ROOT, outfile = ENGINE_BUNDLE) {
  rmSync(outfile, { force: true });
  if (!existsSync(join(root, "engine", "index.ts"))) return { ok: false, reason: "engine/index.ts does not exist yet" };
  const esbuild = await import("esbuild");
  const attempt = async (contents) =>
    esbuild.build({
      stdin: { contents, resolveDir: root, sourcefile: "bench-engine-entry.ts", loader: "ts" },
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      outfile,
      logLevel: "silent",
    });
  const engine = `export { compileFlagSet } from "./engine/index.ts";\n`;
  try {
    // The snapshot schema too, so the cold path can validate a published snapshot as the edge does.
    // and the OFREP wire mapper, to time building a bulk response body outside HTTP.
    await attempt(`${engine}export * from "./contracts/snapshot.ts";\nexport { toOfrep } from "./contracts/ofrep-wire.ts";\n`);
    return { ok: true, withSchema: true };
  } catch {
    try {
      await attempt(engine);
      return { ok: true, withSchema: false };
    } catch (error) {
      const first = error.errors?.[0];
      return { ok: false, reason: first ? `${first.text} (${first.location?.file}:${first.location?.line})` : String(error) };
    }
  }
}

/**
 * Sections other scripts own in RESULTS.md, between `<!-- <name>: begin -->` and
 * `<!-- <name>: end -->` markers (bench/live.mjs writes one); kept when this run rewrites the file.
 */
function keptSections(file) {
  if (!existsSync(file)) return "";
  const text = readFileSync(file, "utf8");
  const blocks = [...text.matchAll(/<!-- ([^\n]+?): begin -->[\s\S]*?<!-- \1: end -->/g)].map((m) => m[0]);
  return blocks.length ? `\n${blocks.join("\n\n")}\n` : "";
}

function machine() {
  const cpu = cpus();
  const workerd = spawnSync(WORKERD, ["--version"], { encoding: "utf8" });
  return {
    cpu: cpu[0]?.model ?? "?",
    cores: cpu.length,
    memGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    workerd: (workerd.stdout ?? "").trim() || "?",
    packages: Object.fromEntries(
      ["@openfeature/flagd-core", "@openfeature/core", "json-logic-engine", "hono", "wrangler", "esbuild", "mitata", "autocannon"].map(
        (p) => [p, version(p)],
      ),
    ),
    date: new Date().toISOString(),
    loadAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/**
 * Our Worker as it was at git revision `rev`, bundled the same way: the revision's tree exported
 * under bench/.out/reference-src (with this checkout's node_modules), so a change is measured
 * against its "before" in the same alternating rounds.
 */
function bundleReference(rev) {
  const src = join(OUT, "reference-src");
  rmSync(src, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  const exported = spawnSync("sh", ["-c", 'git -C "$0" archive "$1" | tar -x -C "$2"', ROOT, rev, src], { encoding: "utf8" });
  if (exported.status !== 0) return { ok: false, reason: `git archive ${rev}: ${(exported.stderr ?? "").trim().slice(0, 200)}` };
  symlinkSync(join(ROOT, "node_modules"), join(src, "node_modules"));
  const wranglerPath = join(src, "wrangler.toml");
  return { ...bundleWorker({ config: wranglerPath, outdir: join(OUT, "reference-dist") }), wranglerPath, rev };
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const result = { machine: machine(), notes: [] };

  log("workload");
  const workloadDir = join(OUT, "workload");
  const { meta } = writeWorkload(workloadDir);
  result.workload = { ...meta, groupKeys: undefined };

  log("bundling engine/ with esbuild");
  result.engineBundle = await bundleEngine();
  if (!result.engineBundle.ok) log(`  engine skipped: ${result.engineBundle.reason}`);

  if (wants("engine")) {
    log("engine in-process (mitata)");
    result.speed = node(["bench/engine-bench.mjs", "speed", workloadDir], { timeout: 200_000 });

    log("retained memory (child processes, --expose-gc)");
    result.memory = {};
    for (const engine of ["edgeflags", "flagd-interp", "flagd-codegen"]) {
      for (const encoding of ["inline", "segment"]) {
        result.memory[`${engine}:${encoding}`] = node(
          ["--expose-gc", "bench/engine-bench.mjs", "memory", engine, join(workloadDir, `flags-${encoding}.json`)],
          { timeout: 60_000 },
        );
      }
    }
  }

  log("bundling the Workers with wrangler deploy --dry-run");
  const baselineBundle = bundleWorker({
    config: join(ROOT, "bench", "baseline-worker", "wrangler.toml"),
    outdir: join(OUT, "baseline-dist"),
  });
  const oursBundle = bundleWorker({ config: join(ROOT, "wrangler.toml"), outdir: join(OUT, "worker-dist") });
  // The request-path Worker (wrangler.edge.toml): what a cold isolate loads before its first evaluation.
  const edgeBundle = bundleWorker({ config: join(ROOT, "wrangler.edge.toml"), outdir: join(OUT, "edge-dist"), output: "edge.js" });
  const referenceBundle = REFERENCE ? bundleReference(REFERENCE) : null;
  result.bundle = {
    ours: { ...oursBundle, log: undefined },
    edge: { ...edgeBundle, log: undefined },
    baseline: { ...baselineBundle, log: undefined },
    ...(referenceBundle ? { reference: { ...referenceBundle, log: undefined } } : {}),
  };
  if (!baselineBundle.ok) throw new Error(`baseline Worker did not bundle: ${baselineBundle.reason}`);

  log("HTTP: starting workerd (ceiling, baseline, ours)");
  let published = {};
  try {
    const { servers, oursSkipped, referenceSkipped } = await startAll({
      out: OUT,
      baselineBundle: baselineBundle.file,
      oursBundle,
      referenceBundle: wants("http") ? referenceBundle : null,
      workloadDir,
    });
    result.http = { oursSkipped, referenceSkipped, reference: REFERENCE, oursFlagsServed: servers.oursFlagsServed ?? null };
    if (oursSkipped) log(`  ours skipped: ${oursSkipped}`);
    if (referenceSkipped) log(`  reference skipped: ${referenceSkipped}`);
    if (wants("http")) {
      log("HTTP: load (alternating rounds)");
      Object.assign(
        result.http,
        await runLoad({ servers, workloadDir, rounds: ROUNDS, seconds: QUICK ? 3 : 8, warmupSeconds: QUICK ? 1 : 2, log }),
      );
    }
    // The reference Worker only serves the load rounds.
    servers.reference?.stop();
    if (servers.ours && wants("http")) {
      log("propagation: 50 admin writes");
      result.propagation = await propagation({ servers, writes: 50 });
      log("saving the snapshots the Durable Object published to KV");
      published = await savePublishedSnapshots({ servers, out: OUT, workloadDir });
      // Live-update fan-out against the same workerd-served Worker (no wrangler dev proxy in front);
      // bench/live.mjs writes its own marked section into RESULTS.md.
      if (!process.env.BENCH_SKIP_LIVE) {
        log("live updates: bench/live.mjs against the same Worker");
        spawnSync(process.execPath, [join(ROOT, "bench", "live.mjs")], {
          cwd: ROOT,
          stdio: "inherit",
          timeout: 600_000,
          env: {
            ...process.env,
            LIVE_BASE: servers.ours.url,
            LIVE_TOKEN: ADMIN_TOKEN,
            LIVE_HARNESS: "`workerd serve` (the bundle, no wrangler dev proxy in front)",
          },
        });
      }
      // The migration at the seed's scale (import, per-customer overrides, audit-mode ingest);
      // bench/migration.mjs writes its own marked section too.
      if (!process.env.BENCH_SKIP_MIGRATION) {
        log("migration: bench/migration.mjs against the same Worker");
        spawnSync(process.execPath, [join(ROOT, "bench", "migration.mjs")], {
          cwd: ROOT,
          stdio: "inherit",
          timeout: 900_000,
          env: {
            ...process.env,
            MIGRATION_BASE: servers.ours.url,
            MIGRATION_TOKEN: ADMIN_TOKEN,
            MIGRATION_HARNESS: "`workerd serve` (the bundle; in-memory KV service, Durable Objects on local disk)",
          },
        });
      }
    } else if (servers.ours) {
      log("saving the snapshots the Durable Object published to KV");
      published = await savePublishedSnapshots({ servers, out: OUT, workloadDir });
    } else {
      result.propagation = { skipped: oursSkipped };
    }
  } catch (error) {
    result.http = { ...(result.http ?? {}), error: String(error.message ?? error) };
    log(`  HTTP failed: ${result.http.error}`);
  } finally {
    await stopAll();
  }
  // The kill switch's fast path across several workerd processes (bench/KILLSWITCH.md).
  if (!process.env.BENCH_SKIP_KILLSWITCH) {
    log("kill switch: bench/killswitch.mjs");
    spawnSync(process.execPath, [join(ROOT, "bench", "killswitch.mjs")], { cwd: ROOT, stdio: "inherit", timeout: 600_000 });
  }

  const reps = 5;
  result.cold = {};
  const referenceEngine = referenceBundle?.ok && wants("cold") ? await bundleEngine(join(OUT, "reference-src"), REFERENCE_ENGINE) : null;
  if (wants("cold")) log("cold path: fresh Node processes");
  for (const encoding of wants("cold") ? ["inline", "segment"] : []) {
    for (const engine of ["edgeflags", "flagd-interp"]) {
      const runs = [];
      for (let i = 0; i < reps; i++)
        runs.push(node(["bench/engine-bench.mjs", "cold", engine, join(workloadDir, `flags-${encoding}.json`)], { timeout: 60_000 }));
      const ok = runs.filter((r) => !r.skipped);
      result.cold[`${engine}:${encoding}`] = ok.length
        ? {
            totalMs: median(ok.map((r) => r.totalMs)),
            loadMs: median(ok.map((r) => r.loadMs)),
            firstEvalMs: median(ok.map((r) => r.firstEvalMs)),
            runs: ok.length,
          }
        : { skipped: runs[0]?.skipped };
    }
    if (published[encoding]?.file) {
      // Ours and, with BENCH_REFERENCE, the reference revision's engine, alternately.
      const runs = [];
      const referenceRuns = [];
      for (let i = 0; i < reps; i++) {
        runs.push(node(["bench/cold.mjs", published[encoding].file], { timeout: 60_000 }));
        if (referenceEngine?.ok)
          referenceRuns.push(node(["bench/cold.mjs", published[encoding].file, REFERENCE_ENGINE], { timeout: 60_000 }));
      }
      const summary = (list) => {
        const ok = list.filter((r) => !r.skipped);
        return ok.length
          ? {
              totalMs: median(ok.map((r) => r.totalMs)),
              totalSpread: [Math.min(...ok.map((r) => r.totalMs)), Math.max(...ok.map((r) => r.totalMs))],
              readMs: median(ok.map((r) => r.readMs)),
              compileMs: median(ok.map((r) => r.compileMs)),
              firstEvalMs: median(ok.map((r) => r.firstEvalMs)),
              floorMs: median(ok.map((r) => r.floorMs)),
              wallMs: median(ok.map((r) => r.wallMs)),
              edgeRead: ok[0].edgeRead,
              bytes: published[encoding].bytes,
              runs: ok.length,
            }
          : { skipped: list[0]?.skipped };
      };
      if (referenceRuns.length) result.cold[`reference:${encoding}`] = summary(referenceRuns);
      result.cold[`published:${encoding}`] = summary(runs);
    } else {
      result.cold[`published:${encoding}`] = {
        skipped: published[encoding]?.skipped ?? published.error ?? "no published snapshot (our Worker did not run)",
      };
    }
  }

  const profileWanted = process.env.BENCH_PROFILE === "1" && result.http?.scenarios && !result.http.oursSkipped;
  if (profileWanted && Date.now() - started > 230_000) {
    result.profiles = {
      all: { skipped: "the run already took over 230 s; skipped to stay within 5 minutes (run bench/profile.mjs alone)" },
    };
  } else if (profileWanted) {
    result.profiles = {};
    for (const route of ["bulk", "single"]) {
      log(`profiling our Worker under load: ${route}`);
      const run = spawnSync(process.execPath, ["bench/profile.mjs", "ours", route, "5"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
      try {
        result.profiles[route] = JSON.parse(readFileSync(join(OUT, `ours-${route}.top.json`), "utf8"));
      } catch {
        result.profiles[route] = { skipped: (run.stderr ?? "").trim().split("\n").slice(-2).join(" | ") || `exit ${run.status}` };
      }
    }
    killAll();
  }

  result.machine.loadAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  result.elapsedS = (Date.now() - started) / 1000;
  writeFileSync(join(OUT, "results.json"), JSON.stringify(result, null, 2));
  const markdown = render(result);
  const resultsFile = ONLY ? join(OUT, "RESULTS-partial.md") : join(ROOT, "bench", "RESULTS.md");
  writeFileSync(resultsFile, markdown + (ONLY ? "" : keptSections(resultsFile)));
  console.log(markdown);

  log(`done in ${result.elapsedS.toFixed(0)} s; ${resultsFile.slice(ROOT.length + 1)} and bench/.out/results.json written`);
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await stopAll();
}
