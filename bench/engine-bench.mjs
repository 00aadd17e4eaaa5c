// In-process engine measurements, run by bench/run.mjs in child Node processes so that each
// measurement starts from a known heap and JIT state. Prints one JSON line on stdout.
//
//   node bench/engine-bench.mjs speed <workloadDir>                  mitata medians, all engines
//   node --expose-gc bench/engine-bench.mjs memory <engine> <file>   retained heap of one loaded flag set
//   node bench/engine-bench.mjs cold <engine> <file> [kind]          one fresh-process parse + compile + first evaluation
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { measure } from "mitata";
import { flagdEngines, ourEngine } from "./engines.mjs";

const [mode, ...args] = process.argv.slice(2);

async function engines() {
  const ours = await ourEngine();
  const list = await flagdEngines();
  return { list: ours.engine ? [ours.engine, ...list] : list, ours };
}

const ms = (ns) => ns / 1e6;

async function speed(dir) {
  const inline = readFileSync(join(dir, "flags-inline.json"), "utf8");
  const segment = readFileSync(join(dir, "flags-segment.json"), "utf8");
  const contexts = JSON.parse(readFileSync(join(dir, "contexts.json"), "utf8"));
  const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8"));
  const listKey = meta.groupKeys.list[0];
  const fractionalKey = meta.groupKeys.multivariate[0];
  const { list, ours } = await engines();
  const n = contexts.length;
  const quick = { min_cpu_time: 150e6, min_samples: 12 };
  const slow = { min_cpu_time: 250e6, min_samples: 4, max_samples: 15 };
  const out = { skipped: ours.engine ? null : ours.reason, engines: {}, floor: {}, passes: {} };
  const median = (xs) => {
    const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return v.length ? (v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : NaN;
  };

  // The machine is shared: measure in interleaved passes (engines in rotating order) and report the
  // median of the per-pass medians, so a burst of someone else's load hits every engine alike.
  const loaded = new Map();
  for (const engine of list) {
    out.engines[engine.id] = { label: engine.label };
    try {
      loaded.set(engine.id, { inline: engine.load(inline), segment: engine.load(segment) });
    } catch (error) {
      out.engines[engine.id].error = String(error?.stack ?? error)
        .split("\n")
        .slice(0, 3)
        .join(" | ");
    }
  }
  const usable = list.filter((e) => loaded.has(e.id));
  const record = (engineId, name, value) => ((out.passes[engineId] ??= {})[name] ??= []).push(value);
  const rotate = (xs, k) => xs.map((_, i) => xs[(i + k) % xs.length]);
  const PASSES = 3;
  for (let pass = 0; pass < PASSES; pass++) {
    record("floor", "parseInline", ms((await measure(() => JSON.parse(inline), slow)).p50));
    record("floor", "parseSegment", ms((await measure(() => JSON.parse(segment), slow)).p50));
    for (const engine of rotate(usable, pass)) {
      const sets = loaded.get(engine.id);
      try {
        for (const encoding of ["inline", "segment"]) {
          let i = pass * 1000;
          record(engine.id, `bulk_${encoding}_us`, (await measure(() => engine.bulk(sets[encoding], contexts[i++ % n]), quick)).p50 / 1e3);
          if (encoding === "segment" && engine.id !== "edgeflags") continue; // flagd substitutes $ref textually: same as inline
          record(
            engine.id,
            `singleList_${encoding}_ns`,
            (await measure(() => engine.single(sets[encoding], listKey, contexts[i++ % n]), quick)).p50,
          );
          record(
            engine.id,
            `singleFractional_${encoding}_ns`,
            (await measure(() => engine.singleNumber(sets[encoding], fractionalKey, contexts[i++ % n]), quick)).p50,
          );
        }
        if (pass < 2) {
          record(engine.id, "loadInlineMs", ms((await measure(() => engine.load(inline), slow)).p50));
          record(engine.id, "loadSegmentMs", ms((await measure(() => engine.load(segment), slow)).p50));
        }
      } catch (error) {
        out.engines[engine.id].error = String(error?.stack ?? error)
          .split("\n")
          .slice(0, 3)
          .join(" | ");
      }
    }
  }
  for (const [id, measures] of Object.entries(out.passes)) {
    const target = id === "floor" ? out.floor : out.engines[id];
    for (const [name, values] of Object.entries(measures)) target[name] = median(values);
  }

  // A bulk OFREP response body as each Worker builds it, outside HTTP: ours evaluateAll → toOfrep →
  // JSON.stringify → SHA-1 ETag (worker/ofrep.ts); the baseline resolveAll → OFREP objects →
  // JSON.stringify (bench/baseline-worker). The rest of an HTTP request is routing, auth and I/O.
  out.response = {};
  if (ours.mod?.toOfrep) {
    const compiled = ours.engine.load(inline);
    let i = 0;
    const body = (ctx) =>
      JSON.stringify({
        flags: compiled.evaluateAll(ctx).map((r) => ours.mod.toOfrep(r)),
        metadata: { project: "bench", environment: "production", configVersion: 2 },
      });
    out.response.edgeflags = {
      bodyBytes: Buffer.byteLength(body(contexts[0])),
      us:
        (
          await measure(() => {
            const b = body(contexts[i++ % n]);
            return createHash("sha1").update(b).digest("base64url");
          }, quick)
        ).p50 / 1e3,
      usNoEtag: (await measure(() => body(contexts[i++ % n]), quick)).p50 / 1e3,
    };
  }
  {
    const interp = list.find((e) => e.id === "flagd-interp");
    const core = interp.load(inline);
    let i = 0;
    const body = (ctx) =>
      JSON.stringify({
        flags: core
          .resolveAll(ctx)
          .map((r) =>
            r.errorCode
              ? { key: r.flagKey, errorCode: r.errorCode, errorDetails: r.errorMessage, metadata: r.flagMetadata }
              : { key: r.flagKey, value: r.value, reason: r.reason, variant: r.variant, metadata: r.flagMetadata },
          ),
        metadata: core.getFlagSetMetadata(),
      });
    out.response["flagd-interp"] = {
      bodyBytes: Buffer.byteLength(body(contexts[0])),
      us: (await measure(() => body(contexts[i++ % n]), quick)).p50 / 1e3,
    };
  }

  // Do the engines agree? Compare every flag's value on the first 1,000 contexts.
  if (ours.engine) {
    const interp = list.find((e) => e.id === "flagd-interp");
    try {
      const a = ours.engine.load(inline);
      const b = interp.load(inline);
      const c = ours.engine.load(segment);
      let compared = 0,
        differ = 0,
        segmentDiffer = 0;
      const examples = [];
      for (const ctx of contexts.slice(0, 1000)) {
        const va = ours.engine.values(a, ctx),
          vb = interp.values(b, ctx),
          vc = ours.engine.values(c, ctx);
        for (const [key, value] of vb) {
          compared++;
          if (JSON.stringify(va.get(key)) !== JSON.stringify(value)) {
            differ++;
            if (examples.length < 3) examples.push(`${key}: ours=${JSON.stringify(va.get(key))} flagd=${JSON.stringify(value)}`);
          }
        }
        for (const [key, value] of va) if (JSON.stringify(vc.get(key)) !== JSON.stringify(value)) segmentDiffer++;
      }
      out.agreement = { compared, differ, segmentDiffer, examples };
    } catch (error) {
      out.agreement = { error: String(error) };
    }
  }
  return out;
}

async function memory(engineId, file) {
  if (typeof globalThis.gc !== "function") throw new Error("run with --expose-gc");
  const { list } = await engines();
  const engine = list.find((e) => e.id === engineId);
  if (!engine) return { skipped: `engine ${engineId} unavailable` };
  const text = readFileSync(file, "utf8"); // held throughout, so the source text is not counted
  // Warm the code paths on a throwaway load so compiled code is not counted either.
  engine.load(text);
  const settle = () => {
    for (let i = 0; i < 4; i++) globalThis.gc();
    return process.memoryUsage().heapUsed;
  };
  const before = settle();
  const loaded = engine.load(text);
  const after = settle();
  globalThis.__keep = loaded;
  return { retainedMB: (after - before) / (1024 * 1024), textMB: Buffer.byteLength(text) / (1024 * 1024) };
}

/**
 * A fresh process's first evaluation: parse + compile + evaluate all flags once. With kind
 * "snapshot" the file is a KV snapshot as the Durable Object published it, parsed and validated the
 * way the edge's cold path does (JSON.parse + SnapshotSchema + compileFlagSet).
 */
async function cold(engineId, file, kind = "flagset") {
  const text = readFileSync(file, "utf8");
  const ctx = { targetingKey: "user-cold", customerId: "cust-000000", country: "DE", plan: "pro", email: "a@example.com" };
  if (kind === "snapshot") {
    const { mod } = await ourEngine();
    if (!mod?.SnapshotSchema) return { skipped: "engine bundle lacks SnapshotSchema" };
    const t0 = performance.now();
    const json = JSON.parse(text);
    const tp = performance.now();
    const parsed = mod.SnapshotSchema.safeParse(json);
    const t1 = performance.now();
    if (!parsed.success) return { skipped: "published snapshot did not validate" };
    const compiled = mod.compileFlagSet(parsed.data.flagSet);
    const t2 = performance.now();
    const results = compiled.evaluateAll(ctx);
    const t3 = performance.now();
    // The same validation once more in this process: how much of it was first-use cost.
    mod.SnapshotSchema.safeParse(json);
    const schemaAgainMs = performance.now() - t3;
    return {
      totalMs: t3 - t0,
      parseMs: tp - t0,
      schemaMs: t1 - tp,
      schemaAgainMs,
      compileMs: t2 - t1,
      firstEvalMs: t3 - t2,
      flags: results.length,
    };
  }
  const { list } = await engines();
  const engine = list.find((e) => e.id === engineId);
  if (!engine) return { skipped: `engine ${engineId} unavailable` };
  const t0 = performance.now();
  const loaded = engine.load(text);
  const t1 = performance.now();
  const results = engine.bulk(loaded, ctx);
  const t2 = performance.now();
  return { totalMs: t2 - t0, loadMs: t1 - t0, firstEvalMs: t2 - t1, flags: results.length };
}

const result =
  mode === "speed" ? await speed(args[0]) : mode === "memory" ? await memory(args[0], args[1]) : await cold(args[0], args[1], args[2]);
process.stdout.write(`${JSON.stringify(result)}\n`);
