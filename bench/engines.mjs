// The engines compared in-process, behind one shape:
//   load(text)            → a loaded flag set (ours: JSON.parse + compileFlagSet; flagd-core: setConfigurations)
//   single(loaded, key, ctx), bulk(loaded, ctx)
//   values(loaded, ctx)   → Map flagKey → value, for the agreement check
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const OUT = join(import.meta.dirname, ".out");
export const ENGINE_BUNDLE = join(OUT, "engine.mjs");

const silent = { error() {}, warn() {}, info() {}, debug() {} };

/** flagd-core's two modes: interpreted (the only one Workers allow) and its default, code generation. */
export async function flagdEngines() {
  const { FlagdCore } = await import("@openfeature/flagd-core");
  const make = (id, label, options) => ({
    id,
    label,
    load(text) {
      const core = new FlagdCore(undefined, silent, options);
      core.setConfigurations(text);
      return core;
    },
    single(core, key, ctx) {
      return core.resolveStringEvaluation(key, "", ctx);
    },
    singleNumber(core, key, ctx) {
      return core.resolveNumberEvaluation(key, 0, ctx);
    },
    bulk(core, ctx) {
      return core.resolveAll(ctx);
    },
    values(core, ctx) {
      return new Map(
        core
          .resolveAll(ctx)
          .filter((r) => !r.errorCode && r.value !== undefined)
          .map((r) => [r.flagKey, r.value]),
      );
    },
  });
  return [
    make("flagd-interp", "flagd-core 4.0.1, interpreted (Workers-safe)", { disableDynamicCodeGeneration: true }),
    make("flagd-codegen", "flagd-core 4.0.1, code generation (default; not allowed in Workers)", {}),
  ];
}

/** Our engine from the esbuild bundle, or null with the reason it is unavailable. */
export async function ourEngine() {
  if (!existsSync(ENGINE_BUNDLE)) return { engine: null, reason: "engine not bundled (see run.mjs output)" };
  const mod = await import(pathToFileURL(ENGINE_BUNDLE).href);
  if (typeof mod.compileFlagSet !== "function") return { engine: null, reason: "bundle exports no compileFlagSet" };
  return {
    mod,
    engine: {
      id: "edgeflags",
      label: "edgeflags engine",
      load(text) {
        return mod.compileFlagSet(JSON.parse(text));
      },
      single(compiled, key, ctx) {
        return compiled.evaluate(key, ctx);
      },
      singleNumber(compiled, key, ctx) {
        return compiled.evaluate(key, ctx);
      },
      bulk(compiled, ctx) {
        return compiled.evaluateAll(ctx);
      },
      values(compiled, ctx) {
        return new Map(
          compiled
            .evaluateAll(ctx)
            .filter((r) => r.kind === "value")
            .map((r) => [r.key, r.value]),
        );
      },
    },
  };
}
