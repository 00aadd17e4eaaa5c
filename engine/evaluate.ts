/**
 * Compiles a flagd flag set once and evaluates its flags synchronously, flagd's way:
 * - a DISABLED flag answers `default` with reason DISABLED, or, with an off variant (an edgeflags
 *   extension, `metadata["edgeflags.offVariant"]`), that variant with reason DISABLED;
 * - then prerequisites (an edgeflags extension) must hold, else the default with PREREQUISITE_FAILED;
 * - then a context whose `targetingKey` is one of the flag's `targets` (an edgeflags extension)
 *   answers that variant with TARGETING_MATCH, before any targeting runs;
 * - a flag without targeting answers its default variant with reason STATIC;
 * - targeting that yields a variant name (a string; `true`, `false` and numbers are read as their
 *   text) answers that variant with TARGETING_MATCH; an unknown name is a GENERAL error;
 * - targeting that yields null answers the default variant with reason DEFAULT;
 * - no default variant means `default` (the caller's code default);
 * - a flag whose targeting cannot compile answers PARSE_ERROR, alone: the others still work.
 *
 * Results are built at compile time wherever they do not depend on the context and are shared
 * (frozen) between evaluations, so evaluating allocates little more than the scope.
 */
import { compileRule, createCompileEnv } from "./compile";
import { ROOT, RuleError } from "./json-logic";
import type { Rule, Scope } from "./json-logic";
import { emptyRecord } from "./names";
import { FRACTIONAL_MODE_METADATA_KEY, OFF_VARIANT_METADATA_KEY } from "./types";
import { findPrerequisiteCycle } from "./prerequisites";
import { compileTargets } from "./targets";
import type {
  CompiledFlagSet,
  CompileOptions,
  EvaluationContext,
  EvaluationResult,
  FlagMetadata,
  FlagType,
  FractionalMode,
  JsonValue,
} from "./types";

type ValueResult = Extract<EvaluationResult, { kind: "value" }>;

interface CompiledFlag {
  readonly key: string;
  /** The DISABLED answer, set only on a disabled flag. */
  readonly disabledResult: EvaluationResult | undefined;
  readonly metadata: FlagMetadata;
  /** Set when targeting could not compile, or the flag is on a prerequisite cycle. */
  broken: EvaluationResult | undefined;
  readonly rule: Rule | undefined;
  /** Individual targets: targeting key → variant, checked before `rule`. */
  readonly targets: ReadonlyMap<string, string> | undefined;
  /** STATIC (no targeting) or DEFAULT (targeting yielded null) answer. */
  readonly fallback: EvaluationResult;
  /**
   * The variants a flag with targeting or targets can match, in the variants' order, and their
   * values, copied (and frozen) when the flag is compiled; undefined for a flag with neither, which
   * never matches. Each TARGETING_MATCH answer is built the first time it is served, frozen, and
   * shared from then on (`matchOf`): most flags are only ever answered with one or two variants.
   */
  readonly variantNames: readonly string[] | undefined;
  readonly variantValues: readonly JsonValue[] | undefined;
  readonly matched: (ValueResult | undefined)[] | undefined;
  /** Flags that must evaluate to a variant first; linked once every flag is compiled. */
  prerequisites: readonly { readonly variant: string; flag: CompiledFlag | undefined }[];
  readonly prerequisiteNames: readonly { flag: string; variant: string }[];
  /** The default variant, with reason PREREQUISITE_FAILED. */
  readonly prerequisiteFailed: EvaluationResult;
}

const ENGINE_METADATA_PREFIX = "edgeflags.";
const EMPTY_CONTEXT: EvaluationContext = Object.freeze({});

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/**
 * A result shared between evaluations, frozen: the result itself and its value (a copy, so deep);
 * its metadata is the flag's, frozen once when the flag is compiled.
 */
function freezeResult<T extends EvaluationResult>(result: T): T {
  if (result.kind === "value" && typeof result.value === "object" && result.value !== null) deepFreeze(result.value);
  return Object.freeze(result);
}

/** A JSON-safe copy: the compiled set never shares objects with its input. */
function copyJson(value: unknown): JsonValue {
  if (value === undefined) return null;
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  // As the JSON round trip writes them: -0 as 0, non-finite numbers as null.
  if (typeof value === "number") return Number.isFinite(value) ? (Object.is(value, -0) ? 0 : value) : null;
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}

function primitiveMetadata(input: unknown): FlagMetadata {
  const out = emptyRecord<string | number | boolean>();
  if (typeof input !== "object" || input === null || Array.isArray(input)) return out;
  for (const [key, value] of Object.entries(input)) {
    if (key.startsWith(ENGINE_METADATA_PREFIX)) continue;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") out[key] = value;
  }
  return out;
}

function fractionalModeOf(metadata: unknown, options: CompileOptions | undefined): FractionalMode {
  if (options?.fractional) return options.fractional;
  if (typeof metadata === "object" && metadata !== null && !Array.isArray(metadata)) {
    if (
      Object.hasOwn(metadata, FRACTIONAL_MODE_METADATA_KEY) &&
      (metadata as Record<string, unknown>)[FRACTIONAL_MODE_METADATA_KEY] === "v3"
    )
      return "v3";
  }
  return "v2";
}

function errorResult(
  key: string,
  errorCode: Extract<EvaluationResult, { kind: "error" }>["errorCode"],
  errorDetails: string,
  metadata: FlagMetadata,
): EvaluationResult {
  return { kind: "error", key, reason: "ERROR", errorCode, errorDetails, metadata };
}

function describeType(value: JsonValue): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "float";
  return typeof value;
}

function matchesType(value: JsonValue, type: FlagType): boolean {
  switch (type) {
    case "boolean":
    case "string":
      return typeof value === type;
    case "number":
      return typeof value === "number";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
  }
}

/** A targeting result names a variant when it is a string, a boolean or a number. */
function variantName(out: unknown): string | undefined {
  switch (typeof out) {
    case "string":
      return out;
    case "boolean":
    case "number":
      return String(out);
    default:
      return undefined;
  }
}

const NO_PREREQUISITES: readonly { flag: string; variant: string }[] = Object.freeze([]);
const NO_LINKS: CompiledFlag["prerequisites"] = Object.freeze([]);

/** A variant's answer, frozen, its value a copy of the flag's (the compiled set never shares objects with its input). */
function valueResult(
  key: string,
  variants: Record<string, unknown>,
  variant: string,
  reason: ValueResult["reason"],
  metadata: FlagMetadata,
): ValueResult {
  return freezeResult({ kind: "value", key, value: copyJson(variants[variant]), variant, reason, metadata });
}

/** The TARGETING_MATCH answer of the variant named `name`, built the first time; undefined when the flag has no such variant. */
function matchOf(flag: CompiledFlag, name: string): ValueResult | undefined {
  const names = flag.variantNames;
  if (names === undefined) return undefined;
  const i = names.indexOf(name);
  if (i === -1) return undefined;
  const matched = flag.matched!;
  let match = matched[i];
  if (match === undefined) {
    const result: ValueResult = {
      kind: "value",
      key: flag.key,
      value: flag.variantValues![i]!,
      variant: names[i]!,
      reason: "TARGETING_MATCH",
      metadata: flag.metadata,
    };
    match = Object.freeze(result);
    matched[i] = match;
  }
  return match;
}

function isTargeting(targeting: unknown): boolean {
  if (targeting === undefined || targeting === null) return false;
  if (typeof targeting !== "object" || Array.isArray(targeting)) return true;
  for (const key in targeting) if (Object.hasOwn(targeting, key)) return true;
  return false;
}

/**
 * Compiles one flag; a flag whose targets or targeting cannot compile is kept, answering
 * PARSE_ERROR, and `errors` says why. A flag with neither targeting, targets nor prerequisites
 * (most of a flag set: on/off switches) builds only the one answer it can give.
 */
function compileFlag(
  key: string,
  raw: unknown,
  setMetadata: FlagMetadata,
  env: ReturnType<typeof createCompileEnv>,
  errors: Map<string, string>,
): CompiledFlag {
  const def = (typeof raw === "object" && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  // A flag without metadata of its own shares the set's (frozen) rather than copying it.
  const metadata = def["metadata"] === undefined ? setMetadata : deepFreeze({ ...setMetadata, ...primitiveMetadata(def["metadata"]) });
  const variantsIn =
    typeof def["variants"] === "object" && def["variants"] !== null && !Array.isArray(def["variants"])
      ? (def["variants"] as Record<string, unknown>)
      : {};
  const defaultVariant = typeof def["defaultVariant"] === "string" ? def["defaultVariant"] : undefined;
  const targeting = def["targeting"];
  const hasTargeting = isTargeting(targeting);
  const targetsIn = def["targets"];

  let variantNames: string[] | undefined;
  let variantValues: JsonValue[] | undefined;
  let matched: (ValueResult | undefined)[] | undefined;
  if (hasTargeting || (targetsIn !== undefined && targetsIn !== null)) {
    variantNames = Object.keys(variantsIn);
    variantValues = new Array<JsonValue>(variantNames.length);
    for (let i = 0; i < variantNames.length; i++) variantValues[i] = deepFreeze(copyJson(variantsIn[variantNames[i]!]));
    matched = new Array<ValueResult | undefined>(variantNames.length);
  }

  let fallback: EvaluationResult;
  if (defaultVariant === undefined) {
    fallback = freezeResult({ kind: "default", key, reason: "DEFAULT", metadata });
  } else if (Object.hasOwn(variantsIn, defaultVariant)) {
    fallback = valueResult(key, variantsIn, defaultVariant, hasTargeting ? "DEFAULT" : "STATIC", metadata);
  } else {
    fallback = freezeResult(
      errorResult(
        key,
        "GENERAL",
        `default variant "${defaultVariant}" is not one of the variants (${Object.keys(variantsIn).join(", ")})`,
        metadata,
      ),
    );
  }

  let rule: Rule | undefined;
  let broken: EvaluationResult | undefined;
  let targets: ReadonlyMap<string, string> | undefined;
  const compiledTargets = targetsIn === undefined ? undefined : compileTargets(targetsIn, variantsIn, env.evaluators);
  if (compiledTargets?.error !== undefined) {
    errors.set(key, compiledTargets.error);
    broken = freezeResult(errorResult(key, "PARSE_ERROR", `flag "${key}" has invalid ${compiledTargets.error}`, metadata));
  } else {
    targets = compiledTargets?.targets;
    if (hasTargeting) {
      try {
        rule = compileRule(targeting, "", env);
      } catch (e) {
        const error = describeRuleError(e);
        errors.set(key, error);
        broken = freezeResult(errorResult(key, "PARSE_ERROR", `flag "${key}" has invalid targeting: ${error}`, metadata));
      }
    }
  }
  const prerequisitesIn = def["prerequisites"];
  const prerequisiteNames =
    Array.isArray(prerequisitesIn) && prerequisitesIn.length > 0
      ? prerequisitesIn.flatMap((p: unknown) => {
          const item = p as Record<string, unknown> | null;
          return item && typeof item["flag"] === "string" && typeof item["variant"] === "string"
            ? [{ flag: item["flag"], variant: item["variant"] }]
            : [];
        })
      : NO_PREREQUISITES;
  // Served only when a prerequisite fails: a flag without prerequisites never needs it.
  const prerequisiteFailed: EvaluationResult =
    prerequisiteNames.length === 0
      ? fallback
      : fallback.kind === "value"
        ? valueResult(key, variantsIn, fallback.variant, "PREREQUISITE_FAILED", metadata)
        : fallback.kind === "default"
          ? freezeResult({ kind: "default", key, reason: "PREREQUISITE_FAILED", metadata })
          : fallback;
  let disabledResult: EvaluationResult | undefined;
  if (def["state"] === "DISABLED") {
    const offVariant = offVariantOf(def["metadata"], variantsIn);
    disabledResult =
      offVariant === undefined
        ? freezeResult({ kind: "default", key, reason: "DISABLED", metadata })
        : valueResult(key, variantsIn, offVariant, "DISABLED", metadata);
  }
  return {
    key,
    disabledResult,
    metadata,
    broken,
    rule,
    targets,
    fallback,
    variantNames,
    variantValues,
    matched,
    prerequisites: NO_LINKS,
    prerequisiteNames,
    prerequisiteFailed,
  };
}

/** The flag's off variant, when its metadata names one of its variants (the validator refuses any other). */
function offVariantOf(metadata: unknown, variants: Record<string, unknown>): string | undefined {
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata) || !Object.hasOwn(metadata, OFF_VARIANT_METADATA_KEY))
    return undefined;
  const name: unknown = (metadata as Record<string, unknown>)[OFF_VARIANT_METADATA_KEY];
  return typeof name === "string" && Object.hasOwn(variants, name) ? name : undefined;
}

/** `targeting.if[0].$ref: …`, or `targeting → $evaluators.name.…: …` inside a shared evaluator. */
export function describeRuleError(e: unknown): string {
  if (!(e instanceof RuleError)) return `targeting: ${e instanceof Error ? e.message : String(e)}`;
  if (!e.at) return `targeting: ${e.detail}`;
  return `targeting${e.at.startsWith("$evaluators.") ? " → " : "."}${e.at}: ${e.detail}`;
}

/**
 * The answers of prerequisite flags in the evaluation `memoScope` belongs to: a flag reached
 * through several others (a diamond, a lattice) is evaluated once per request, not once per way
 * it is reached, which grows exponentially with the depth of the graph. Only the latest
 * evaluation's answers are held.
 */
const prerequisiteMemo = new Map<CompiledFlag, EvaluationResult>();
let memoScope: Scope | undefined;

function prerequisiteResult(flag: CompiledFlag, scope: Scope): EvaluationResult {
  if (memoScope !== scope) {
    prerequisiteMemo.clear();
    memoScope = scope;
  }
  let result = prerequisiteMemo.get(flag);
  if (result === undefined) {
    result = runFlag(flag, scope);
    prerequisiteMemo.set(flag, result);
  }
  return result;
}

function runFlag(flag: CompiledFlag, scope: Scope): EvaluationResult {
  if (flag.disabledResult) return flag.disabledResult;
  if (flag.broken) return flag.broken;
  const prerequisites = flag.prerequisites;
  for (let i = 0; i < prerequisites.length; i++) {
    const prerequisite = prerequisites[i]!;
    const met = prerequisite.flag ? prerequisiteResult(prerequisite.flag, scope) : undefined;
    if (met === undefined || met.kind !== "value" || met.variant !== prerequisite.variant) return flag.prerequisiteFailed;
  }
  if (flag.targets) {
    const targeted = targetOf(flag, scope.ctx);
    if (targeted !== undefined) return matchOf(flag, targeted)!;
  }
  const rule = flag.rule;
  if (!rule) return flag.fallback;
  let out: unknown;
  try {
    scope.flagKey = flag.key;
    out = rule(scope, ROOT);
  } catch (e) {
    return errorResult(
      flag.key,
      "GENERAL",
      `evaluating the targeting of flag "${flag.key}" failed: ${e instanceof Error ? e.message : String(e)}`,
      flag.metadata,
    );
  }
  if (out === null || out === undefined) return flag.fallback;
  const name = variantName(out);
  if (name === undefined) {
    return errorResult(
      flag.key,
      "GENERAL",
      `the targeting of flag "${flag.key}" returned ${Array.isArray(out) ? "an array" : "an object"}, not a variant name`,
      flag.metadata,
    );
  }
  const match = matchOf(flag, name);
  if (match) return match;
  return errorResult(
    flag.key,
    "GENERAL",
    `the targeting of flag "${flag.key}" returned "${name}", which is not one of the variants (${(flag.variantNames ?? []).join(", ")})`,
    flag.metadata,
  );
}

/** The variant a flag's targets give this context, if its `targetingKey` is one of them. */
function targetOf(flag: CompiledFlag, context: Readonly<Record<string, unknown>>): string | undefined {
  const key = context["targetingKey"];
  return typeof key === "string" ? flag.targets?.get(key) : undefined;
}

/**
 * Points each flag's prerequisites at the compiled flags they name. A flag on a prerequisite
 * cycle cannot be evaluated: it answers PARSE_ERROR, like a rule that does not compile. A missing
 * prerequisite flag simply fails the prerequisite.
 */
function linkPrerequisites(flags: Map<string, CompiledFlag>, errors: Map<string, string>): void {
  let any = false;
  for (const flag of flags.values()) {
    if (flag.prerequisiteNames.length === 0) continue;
    any = true;
    flag.prerequisites = flag.prerequisiteNames.map((p) => ({ variant: p.variant, flag: flags.get(p.flag) }));
  }
  // No flag names a prerequisite: there is no cycle to look for.
  if (!any) return;
  const graph = emptyRecord<{ prerequisites: { flag: string; variant: string }[] }>();
  for (const flag of flags.values()) graph[flag.key] = { prerequisites: [...flag.prerequisiteNames] };
  for (let cycle = findPrerequisiteCycle(graph); cycle; cycle = findPrerequisiteCycle(graph)) {
    const detail = `prerequisite cycle: ${cycle.join(" → ")}`;
    for (const key of new Set(cycle)) {
      const flag = flags.get(key)!;
      flag.broken = freezeResult(errorResult(key, "PARSE_ERROR", `flag "${key}" cannot be evaluated: ${detail}`, flag.metadata));
      errors.set(key, detail);
      graph[key] = { prerequisites: [] };
    }
  }
}

function checkType(result: EvaluationResult, type: FlagType | undefined): EvaluationResult {
  if (!type || result.kind !== "value" || matchesType(result.value, type)) return result;
  return errorResult(
    result.key,
    "TYPE_MISMATCH",
    `flag "${result.key}" is ${describeType(result.value)}, not ${type} (variant "${result.variant}")`,
    result.metadata,
  );
}

function contextOf(context: EvaluationContext | null | undefined): Readonly<Record<string, unknown>> {
  return typeof context === "object" && context !== null && !Array.isArray(context) ? context : EMPTY_CONTEXT;
}

/**
 * Compiles a flag set. Never throws: flags whose targeting cannot compile are kept, answer
 * `PARSE_ERROR`, and are listed in `errors`.
 *
 * @example
 * const set = compileFlagSet({ flags: { beta: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off" } } });
 * set.evaluate("beta", { targetingKey: "user-1" }, { type: "boolean" }); // { kind: "value", value: false, reason: "STATIC", … }
 */
export function compileFlagSet(flagSet: unknown, options?: CompileOptions): CompiledFlagSet {
  const input = (typeof flagSet === "object" && flagSet !== null && !Array.isArray(flagSet) ? flagSet : {}) as Record<string, unknown>;
  const fractional = fractionalModeOf(input["metadata"], options);
  const metadata = deepFreeze(primitiveMetadata(input["metadata"]));
  const env = createCompileEnv(input["$evaluators"], fractional);
  const flagsIn =
    typeof input["flags"] === "object" && input["flags"] !== null && !Array.isArray(input["flags"])
      ? (input["flags"] as Record<string, unknown>)
      : {};

  // What a flag without metadata of its own carries: the set's, as a plain frozen object.
  const flagMetadata = Object.freeze({ ...metadata });
  const flags = new Map<string, CompiledFlag>();
  const list: CompiledFlag[] = [];
  const errors = new Map<string, string>();
  for (const key of Object.keys(flagsIn)) {
    const flag = compileFlag(key, flagsIn[key], flagMetadata, env, errors);
    flags.set(key, flag);
    list.push(flag);
  }
  linkPrerequisites(flags, errors);
  const keys = Object.freeze(list.map((f) => f.key));

  const notFound = (key: string): EvaluationResult => errorResult(key, "FLAG_NOT_FOUND", `flag "${key}" was not found`, metadata);

  return {
    keys,
    errors,
    metadata,
    fractional,
    has: (key) => flags.has(key),
    targetedBy(flagKey, context) {
      const flag = flags.get(flagKey);
      return flag ? targetOf(flag, contextOf(context)) : undefined;
    },
    evaluate(flagKey, context, options) {
      const flag = flags.get(flagKey);
      if (!flag) return notFound(flagKey);
      const now = options?.now ?? Date.now();
      const scope: Scope = { ctx: contextOf(context), flagKey, timestamp: Math.floor(now / 1000) };
      try {
        return checkType(runFlag(flag, scope), options?.type);
      } catch (e) {
        return errorResult(
          flagKey,
          "GENERAL",
          `evaluating flag "${flagKey}" failed: ${e instanceof Error ? e.message : String(e)}`,
          flag.metadata,
        );
      }
    },
    evaluateAll(context, options) {
      const now = options?.now ?? Date.now();
      const scope: Scope = { ctx: contextOf(context), flagKey: "", timestamp: Math.floor(now / 1000) };
      const results = new Array<EvaluationResult>(list.length);
      for (let i = 0; i < list.length; i++) {
        const flag = list[i]!;
        try {
          results[i] = runFlag(flag, scope);
        } catch (e) {
          results[i] = errorResult(
            flag.key,
            "GENERAL",
            `evaluating flag "${flag.key}" failed: ${e instanceof Error ? e.message : String(e)}`,
            flag.metadata,
          );
        }
      }
      return results;
    },
  };
}
