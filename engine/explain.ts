/**
 * Explain mode: which step of a flag's evaluation decided the answer for one context — the kill
 * switch, a prerequisite, an individual target, the n-th `if` branch, the bucket of a `fractional`,
 * or the default. The answer itself is `evaluate`'s, unchanged; the decision is found by walking the
 * flag's targeting alongside, evaluating each `if` condition with the same compiler, and checked
 * against the answer: a walk that disagrees says `consistent: false` rather than name a wrong rule.
 *
 * Pure and synchronous; it compiles the pieces it walks on every call, so it is for the console and
 * the admin API, not the edge's hot path.
 */
import { compileRule, createCompileEnv, type CompileEnv } from "./compile";
import { ROOT, truthy, type Rule, type Scope } from "./json-logic";
import type { CompiledFlagSet, EvaluateOptions, EvaluationContext, EvaluationResult, JsonValue } from "./types";

/** One step of the walk through a flag's targeting, outermost first. */
export type ExplainStep =
  | { kind: "if"; branch: number }
  | { kind: "else" }
  | { kind: "no-branch" }
  | { kind: "ref"; name: string }
  | { kind: "fractional"; bucket: string | null }
  | { kind: "variant"; variant: string }
  | { kind: "rule" };

/** What decided an evaluation. */
export type Decision =
  | { by: "not-found" }
  | { by: "disabled" }
  | { by: "error" }
  | { by: "prerequisite"; flag: string; wanted: string; got: string | null }
  | { by: "target"; variant: string }
  | { by: "static" }
  | { by: "targeting"; steps: ExplainStep[] };

export interface Explanation {
  /** Exactly what `compiled.evaluate(flagKey, context, options)` answers. */
  result: EvaluationResult;
  decision: Decision;
  /** False when the walk did not reach the answer `evaluate` gave (then `decision` is only a hint). */
  consistent: boolean;
  /** The decision in words: `if[0] → on`, `targets → on`, `else → fractional bucket off`. */
  path: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function only(rule: unknown): [string, unknown] | null {
  if (!isObject(rule)) return null;
  const keys = Object.keys(rule);
  return keys.length === 1 ? [keys[0]!, rule[keys[0]!]] : null;
}

/** The variant name a targeting result stands for, as `evaluate` reads it. */
function variantName(out: unknown): string | null {
  return typeof out === "string" ? out : typeof out === "boolean" || typeof out === "number" ? String(out) : null;
}

interface Walk {
  evaluators: Readonly<Record<string, unknown>>;
  compile: (rule: unknown) => Rule;
}

/** Compiled pieces per flag set and piece, so explaining many contexts compiles each piece once. */
const cache = new WeakMap<object, { env: CompileEnv; rules: WeakMap<object, Rule> }>();

function compilerFor(flagSet: object, evaluators: unknown, compiled: CompiledFlagSet): (rule: unknown) => Rule {
  let entry = cache.get(flagSet);
  if (!entry || entry.env.fractional !== compiled.fractional) {
    entry = { env: createCompileEnv(evaluators, compiled.fractional), rules: new WeakMap() };
    cache.set(flagSet, entry);
  }
  const { env, rules } = entry;
  return (rule) => {
    if (typeof rule !== "object" || rule === null) return compileRule(rule, "", env);
    let done = rules.get(rule);
    if (!done) {
      done = compileRule(rule, "", env);
      rules.set(rule, done);
    }
    return done;
  };
}

/** Walks `rule` as the engine would run it, recording the branch taken; returns what it yields. */
function walk(rule: unknown, scope: Scope, env: Walk, steps: ExplainStep[], depth: number): unknown {
  const op = only(rule);
  if (depth > 32 || !op) {
    if (typeof rule === "string") steps.push({ kind: "variant", variant: rule });
    else steps.push({ kind: "rule" });
    return env.compile(rule)(scope, ROOT);
  }
  const [name, args] = op;
  if ((name === "if" || name === "?:") && Array.isArray(args) && args.length > 0) {
    let i = 0;
    for (; i < args.length - 1; i += 2) {
      if (truthy(env.compile(args[i])(scope, ROOT))) {
        steps.push({ kind: "if", branch: i / 2 });
        return walk(args[i + 1], scope, env, steps, depth + 1);
      }
    }
    if (i === args.length - 1) {
      steps.push({ kind: "else" });
      return walk(args[i], scope, env, steps, depth + 1);
    }
    steps.push({ kind: "no-branch" });
    return null;
  }
  if (name === "$ref" && typeof args === "string" && Object.hasOwn(env.evaluators, args)) {
    steps.push({ kind: "ref", name: args });
    return walk(env.evaluators[args], scope, env, steps, depth + 1);
  }
  const out = env.compile(rule)(scope, ROOT);
  steps.push(name === "fractional" ? { kind: "fractional", bucket: variantName(out) } : { kind: "rule" });
  return out;
}

function stepWords(step: ExplainStep): string {
  switch (step.kind) {
    case "if":
      return `if[${step.branch}]`;
    case "else":
      return "else";
    case "no-branch":
      return "no branch matched";
    case "ref":
      return `$ref ${step.name}`;
    case "fractional":
      return `fractional bucket ${step.bucket ?? "(none)"}`;
    case "variant":
      return step.variant;
    case "rule":
      return "rule";
  }
}

function decisionWords(decision: Decision, result: EvaluationResult): string {
  const answer = result.kind === "value" ? ` → ${result.variant}` : result.kind === "default" ? " → the caller's default" : "";
  switch (decision.by) {
    case "not-found":
      return "flag not found";
    case "disabled":
      return `disabled${answer}`;
    case "error":
      return `error: ${result.kind === "error" ? result.errorCode : ""}`;
    case "prerequisite":
      return `prerequisite ${decision.flag} is ${decision.got ?? "(no variant)"}, not ${decision.wanted}${answer}`;
    case "target":
      return `targets${answer}`;
    case "static":
      return `no targeting: default${answer}`;
    case "targeting": {
      const last = decision.steps[decision.steps.length - 1];
      const words = decision.steps.filter((s) => s.kind !== "variant").map(stepWords);
      const fellThrough = result.kind !== "error" && result.reason === "DEFAULT";
      return `${words.join(" → ")}${fellThrough ? " → default" : ""}${last?.kind === "variant" || fellThrough || last?.kind === "fractional" || last?.kind === "rule" ? answer : ""}`;
    }
  }
}

/**
 * Explains one evaluation: `evaluate`'s answer and what decided it.
 *
 * @example
 * const set = { flags: { f: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off",
 *   targeting: { if: [{ in: [{ var: "country" }, ["CA", "US"]] }, "on", { fractional: [["on", 10], ["off", 90]] }] } } } };
 * explainEvaluation(set, compileFlagSet(set), "f", { country: "CA" }).path // "if[0] → on"
 */
export function explainEvaluation(
  flagSet: unknown,
  compiled: CompiledFlagSet,
  flagKey: string,
  context: EvaluationContext,
  options?: EvaluateOptions,
): Explanation {
  const now = options?.now ?? Date.now();
  const result = compiled.evaluate(flagKey, context, { ...options, now });
  const explained = (decision: Decision, consistent = true): Explanation => ({
    result,
    decision,
    consistent,
    path: decisionWords(decision, result),
  });
  if (!compiled.has(flagKey)) return explained({ by: "not-found" });
  if (result.reason === "DISABLED") return explained({ by: "disabled" });
  if (result.kind === "error") return explained({ by: "error" });
  const set = isObject(flagSet) ? flagSet : {};
  const flags = isObject(set["flags"]) ? set["flags"] : {};
  const def = (Object.hasOwn(flags, flagKey) && isObject(flags[flagKey]) ? flags[flagKey] : {}) as Record<string, unknown>;
  if (result.reason === "PREREQUISITE_FAILED") {
    const prerequisites = Array.isArray(def["prerequisites"]) ? def["prerequisites"] : [];
    for (const p of prerequisites) {
      if (!isObject(p) || typeof p["flag"] !== "string" || typeof p["variant"] !== "string") continue;
      const met = compiled.evaluate(p["flag"], context, { now });
      if (met.kind !== "value" || met.variant !== p["variant"]) {
        return explained({ by: "prerequisite", flag: p["flag"], wanted: p["variant"], got: met.kind === "value" ? met.variant : null });
      }
    }
    return explained({ by: "prerequisite", flag: "", wanted: "", got: null }, false);
  }
  const targeted = compiled.targetedBy(flagKey, context);
  if (targeted !== undefined) return explained({ by: "target", variant: targeted }, result.kind === "value" && result.variant === targeted);
  if (result.reason === "STATIC") return explained({ by: "static" });
  const env: Walk = {
    evaluators: isObject(set["$evaluators"]) ? set["$evaluators"] : {},
    compile: compilerFor(set, set["$evaluators"], compiled),
  };
  const scope: Scope = {
    ctx: isObject(context) ? context : {},
    flagKey,
    timestamp: Math.floor(now / 1000),
  };
  const steps: ExplainStep[] = [];
  let out: unknown;
  try {
    out = walk(def["targeting"] as JsonValue, scope, env, steps, 0);
  } catch {
    return explained({ by: "targeting", steps: [{ kind: "rule" }] }, false);
  }
  const name = out === null || out === undefined ? null : variantName(out);
  const consistent = result.reason === "DEFAULT" ? name === null : result.kind === "value" && name === result.variant;
  return explained({ by: "targeting", steps }, consistent);
}
