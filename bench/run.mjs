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
// Environment: BENCH_QUICK=1 shortens the HTTP runs (for trying the harness, not for figures);
// BENCH_PROFILE=1 adds CPU profiles of our Worker under load (bench/profile.mjs) to the results.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { ENGINE_BUNDLE, OUT } from "./engines.mjs";
import { ADMIN_TOKEN, propagation, runLoad, savePublishedSnapshots, startAll } from "./http.mjs";
import { render } from "./report.mjs";
import { writeWorkload } from "./workload.mjs";
import { bundleWorker, killAll, ROOT, stopAll, WORKERD } from "./workerd.mjs";

const QUICK = process.env.BENCH_QUICK === "1";
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

async function bundleEngine() {
  rmSync(ENGINE_BUNDLE, { force: true });
  if (!existsSync(join(ROOT, "engine", "index.ts"))) return { ok: false, reason: "engine/index.ts does not exist yet" };
  const esbuild = await import("esbuild");
  const attempt = async (contents) =>
    esbuild.build({
      stdin: { contents, resolveDir: ROOT, sourcefile: "bench-engine-entry.ts", loader: "ts" },
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      outfile: ENGINE_BUNDLE,
      logLevel: "silent",
    });
  const engine = `export { compileFlagSet } from "./engine/index.ts";\n`;
  try {
    // The snapshot schema too, so the cold path can validate a published snapshot as the edge does.
    // and the OFREP wire mapper, to time building a bulk response body outside HTTP.
    await attempt(
      `${engine}export { SnapshotSchema } from "./contracts/snapshot.ts";\nexport { toOfrep } from "./contracts/ofrep-wire.ts";\n`,
    );
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

  log("bundling the Workers with wrangler deploy --dry-run");
  const baselineBundle = bundleWorker({
    config: join(ROOT, "bench", "baseline-worker", "wrangler.toml"),
    outdir: join(OUT, "baseline-dist"),
  });
  const oursBundle = bundleWorker({ config: join(ROOT, "wrangler.toml"), outdir: join(OUT, "worker-dist") });
  result.bundle = { ours: { ...oursBundle, log: undefined }, baseline: { ...baselineBundle, log: undefined } };
  if (!baselineBundle.ok) throw new Error(`baseline Worker did not bundle: ${baselineBundle.reason}`);

  log("HTTP: starting workerd (ceiling, baseline, ours)");
  let published = {};
  try {
    const { servers, oursSkipped } = await startAll({ out: OUT, baselineBundle: baselineBundle.file, oursBundle, workloadDir });
    result.http = { oursSkipped, oursFlagsServed: servers.oursFlagsServed ?? null };
    if (oursSkipped) log(`  ours skipped: ${oursSkipped}`);
    log("HTTP: load (alternating rounds)");
    Object.assign(
      result.http,
      await runLoad({ servers, workloadDir, rounds: QUICK ? 1 : 3, seconds: QUICK ? 2 : 3, warmupSeconds: QUICK ? 1 : 1.5, log }),
    );
    if (servers.ours) {
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
    } else {
      result.propagation = { skipped: oursSkipped };
    }
  } catch (error) {
    result.http = { ...(result.http ?? {}), error: String(error.message ?? error) };
    log(`  HTTP failed: ${result.http.error}`);
  } finally {
    await stopAll();
  }

  log("cold path: fresh Node processes");
  const reps = 5;
  result.cold = {};
  for (const encoding of ["inline", "segment"]) {
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
      const runs = [];
      for (let i = 0; i < reps; i++)
        runs.push(node(["bench/engine-bench.mjs", "cold", "edgeflags", published[encoding].file, "snapshot"], { timeout: 60_000 }));
      const ok = runs.filter((r) => !r.skipped);
      result.cold[`published:${encoding}`] = ok.length
        ? {
            totalMs: median(ok.map((r) => r.totalMs)),
            parseMs: median(ok.map((r) => r.parseMs)),
            schemaMs: median(ok.map((r) => r.schemaMs)),
            schemaAgainMs: median(ok.map((r) => r.schemaAgainMs)),
            compileMs: median(ok.map((r) => r.compileMs)),
            firstEvalMs: median(ok.map((r) => r.firstEvalMs)),
            bytes: published[encoding].bytes,
            runs: ok.length,
          }
        : { skipped: runs[0]?.skipped };
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
  const resultsFile = join(ROOT, "bench", "RESULTS.md");
  writeFileSync(resultsFile, markdown + keptSections(resultsFile));
  console.log(markdown);

  log(`done in ${result.elapsedS.toFixed(0)} s; bench/RESULTS.md and bench/.out/results.json written`);
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await stopAll();
}
