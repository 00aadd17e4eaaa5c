/**
 * Strict validation of a flag set before it is stored: the structure flagd's schema requires
 * (https://flagd.dev/schema/v0/flags.json and targeting.json), plus a compile of every rule.
 * Evaluation itself is lenient (flagd evaluates documents that break the schema); writes are not.
 *
 * Every problem names its place (`flags.new-checkout.defaultVariant`) and says what to change.
 */
import { compileRule, createCompileEnv, OPERATOR_NAMES } from "./compile";
import { dateProblem } from "./dates";
import { describeRuleError } from "./evaluate";
import { RuleError } from "./json-logic";
import { findPrerequisiteCycle, MAX_PREREQUISITE_TREE, prerequisiteTreeSizes } from "./prerequisites";
import { checkTargets } from "./targets";
import { SEM_VER_OPERATORS } from "./sem-ver";
import { emptyRecord, flagKeyProblem, ownValue, PROTO_NAME } from "./names";
import { FRACTIONAL_MODE_METADATA_KEY, OFF_VARIANT_METADATA_KEY } from "./types";
import type { FlagDefinition, FlagMetadata, FlagSet, FractionalMode, JsonValue, Prerequisite } from "./types";

/** One thing wrong with a flag set, at a dotted path. */
export interface FlagSetProblem {
  path: string;
  message: string;
}

export type ValidationResult = { ok: true; flagSet: FlagSet } | { ok: false; problems: FlagSetProblem[] };

/** Options of `validateFlagSet`. */
export interface ValidateOptions {
  /**
   * The flag set as stored before this write. A flag whose definition is unchanged from it is
   * spared the checks added after it may have been stored (the flag-key rule, `__proto__` names,
   * targeting that returns an unknown variant), so a flag accepted once never blocks a write to
   * another flag (a kill switch) in the same environment. Changed and new flags get every check.
   */
  before?: { flags: Readonly<Record<string, unknown>> } | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (v === undefined ? "nothing" : JSON.stringify(v));
const SEM_VER_STRING =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

type VariantKind = "boolean" | "string" | "number" | "object";
function variantKind(value: unknown): VariantKind | undefined {
  if (typeof value === "boolean" || typeof value === "string" || typeof value === "number") return typeof value as VariantKind;
  return isObject(value) ? "object" : undefined;
}

function isJson(value: unknown, depth = 0): value is JsonValue {
  if (depth > 64) return false;
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isJson(item, depth + 1));
  if (isObject(value)) return Object.values(value).every((item) => isJson(item, depth + 1));
  return false;
}

function checkMetadata(input: unknown, path: string, problems: FlagSetProblem[]): FlagMetadata | undefined {
  if (input === undefined) return undefined;
  if (!isObject(input)) {
    problems.push({ path, message: `metadata must be an object of strings, numbers and booleans, got ${show(input)}` });
    return undefined;
  }
  const out = emptyRecord<string | number | boolean>();
  for (const [key, value] of Object.entries(input)) {
    if (key === PROTO_NAME) problems.push({ path: `${path}.${key}`, message: `"${PROTO_NAME}" cannot be a metadata key; rename it` });
    else if (typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value)))
      out[key] = value;
    else problems.push({ path: `${path}.${key}`, message: `metadata values must be a string, number or boolean, got ${show(value)}` });
  }
  return out;
}

// Arity and literal-argument rules of flagd's targeting schema.
const EXACTLY_TWO = new Set(["==", "===", "!=", "!==", ">", ">=", "%", "/", "map", "filter", "all", "none", "some", "in"]);
const TWO_OR_THREE = new Set(["substr", "<", "<="]);
const AT_LEAST_ONE = new Set(["if", "?:", "or", "and", "+", "-", "max", "min", "merge", "cat", "*"]);

/** Schema checks the compiler leaves to evaluation time (flagd evaluates them leniently). */
function lintRule(rule: unknown, path: string, problems: FlagSetProblem[]): void {
  if (Array.isArray(rule)) {
    rule.forEach((item, i) => {
      lintRule(item, `${path}[${i}]`, problems);
    });
    return;
  }
  if (!isObject(rule)) return;
  const keys = Object.keys(rule);
  if (keys.length !== 1) return; // the compiler reports this
  const op = keys[0]!;
  const raw = rule[op];
  const at = `${path}.${op}`;
  const list = Array.isArray(raw) ? raw : [raw];
  const count = (n: string) =>
    problems.push({ path: at, message: `${op} takes ${n} arguments, got ${Array.isArray(raw) ? raw.length : 1}` });
  if (EXACTLY_TWO.has(op) && list.length !== 2) count("exactly 2");
  if (TWO_OR_THREE.has(op) && (list.length < 2 || list.length > 3)) count("2 or 3");
  if (AT_LEAST_ONE.has(op) && list.length < 1) count("at least 1");
  if ((op === "!" || op === "!!") && Array.isArray(raw) && raw.length !== 1) count("exactly 1");
  if (op === "reduce" && list.length !== 3) count("exactly 3");
  switch (op) {
    case "var": {
      const name = list[0];
      if (typeof name === "string" && name.startsWith("$flagd.") && name !== "$flagd.flagKey" && name !== "$flagd.timestamp") {
        problems.push({ path: at, message: `"${name}" is not a flagd property: use "$flagd.flagKey" or "$flagd.timestamp"` });
      }
      break;
    }
    case "starts_with":
    case "ends_with":
      if (list.length !== 2) count("exactly 2");
      list.forEach((item, i) => {
        if (!isObject(item) && typeof item !== "string") {
          problems.push({ path: `${at}[${i}]`, message: `${op} compares strings: use a string or a rule, not ${show(item)}` });
        }
      });
      break;
    case "matches": {
      // Arity, the pattern and its flags are checked by the compiler, which compiles the pattern.
      const subject = list[0];
      if (list.length > 0 && !isObject(subject) && typeof subject !== "string")
        problems.push({ path: `${at}[0]`, message: `matches tests a string: use a rule such as {"var": "email"}, not ${show(subject)}` });
      break;
    }
    case "before":
    case "after":
      if (list.length !== 2) count("exactly 2");
      list.forEach((item, i) => {
        const problem = isObject(item) ? null : dateProblem(item);
        if (problem) problems.push({ path: `${at}[${i}]`, message: problem });
      });
      break;
    case "sem_ver": {
      if (list.length !== 3) count("exactly 3");
      const operator = list[1];
      if (list.length >= 2 && (typeof operator !== "string" || !SEM_VER_OPERATORS.has(operator))) {
        problems.push({
          path: `${at}[1]`,
          message: `sem_ver operator must be one of ${[...SEM_VER_OPERATORS].join(" ")}, got ${show(operator)}`,
        });
      }
      for (const i of [0, 2]) {
        const version = list[i];
        if (i < list.length && !isObject(version) && (typeof version !== "string" || !SEM_VER_STRING.test(version))) {
          problems.push({ path: `${at}[${i}]`, message: `${show(version)} is not a semantic version (major.minor.patch, e.g. "1.4.0")` });
        }
      }
      break;
    }
    case "fractional": {
      if (!Array.isArray(raw)) break; // the compiler reports this
      const first = raw[0];
      const buckets = Array.isArray(first) ? raw : raw.slice(1);
      const offset = Array.isArray(first) ? 0 : 1;
      if (!Array.isArray(first) && !isObject(first)) {
        problems.push({
          path: `${at}[0]`,
          message: `the bucketing value must be a rule such as {"var": "email"}, got ${show(first)}; omit it to bucket by targetingKey`,
        });
      }
      buckets.forEach((bucket, i) => {
        if (!Array.isArray(bucket) || bucket.length < 2) return;
        const weight: unknown = bucket[1];
        if (!isObject(weight) && (typeof weight !== "number" || !Number.isInteger(weight) || weight < 0)) {
          problems.push({
            path: `${at}[${i + offset}][1]`,
            message: `a weight must be a non-negative integer or a rule, got ${show(weight)}`,
          });
        }
      });
      break;
    }
  }
  if (Array.isArray(raw)) {
    raw.forEach((item, i) => {
      lintRule(item, `${at}[${i}]`, problems);
    });
  } else lintRule(raw, at, problems);
}

function ruleProblem(e: unknown, path: string): FlagSetProblem {
  if (e instanceof RuleError) {
    if (e.at.startsWith("$evaluators.")) return { path: e.at, message: e.detail };
    return { path: e.at ? `${path}.${e.at}` : path, message: e.detail };
  }
  return { path, message: describeRuleError(e) };
}

/**
 * Validates a flag set strictly and compiles every rule.
 *
 * @example
 * validateFlagSet({ flags: { x: { state: "ENABLED", variants: { on: true }, defaultVariant: "blue" } } });
 * // { ok: false, problems: [{ path: "flags.x.defaultVariant", message: '"blue" is not one of the variants (on)' }] }
 */
export function validateFlagSet(input: unknown, options: ValidateOptions = {}): ValidationResult {
  const problems: FlagSetProblem[] = [];
  if (!isObject(input))
    return { ok: false, problems: [{ path: "", message: `a flag set must be a JSON object with "flags", got ${show(input)}` }] };
  // Checked first and alone: the checks below recurse through rules, and must never meet a rule
  // nested thousands of levels deep.
  if (!isJson(input))
    return {
      ok: false,
      problems: [{ path: "", message: "a flag set must be plain JSON (finite numbers, no undefined, at most 64 levels deep)" }],
    };

  const metadata = checkMetadata(input["metadata"], "metadata", problems);
  if (metadata) {
    for (const key of ["flagSetId", "version"]) {
      if (Object.hasOwn(metadata, key) && typeof metadata[key] !== "string")
        problems.push({ path: `metadata.${key}`, message: `${key} must be a string, got ${show(metadata[key])}` });
    }
    if (Object.hasOwn(metadata, OFF_VARIANT_METADATA_KEY)) {
      problems.push({
        path: `metadata.${OFF_VARIANT_METADATA_KEY}`,
        message: `${OFF_VARIANT_METADATA_KEY} belongs in a flag's metadata, not the flag set's`,
      });
    }
    const mode = ownValue(metadata, FRACTIONAL_MODE_METADATA_KEY);
    if (mode !== undefined && mode !== "v2" && mode !== "v3") {
      problems.push({ path: `metadata.${FRACTIONAL_MODE_METADATA_KEY}`, message: `must be "v2" or "v3", got ${show(mode)}` });
    }
  }
  const fractional: FractionalMode = metadata?.[FRACTIONAL_MODE_METADATA_KEY] === "v3" ? "v3" : "v2";

  let evaluators: Record<string, JsonValue> | undefined;
  const evaluatorsIn = input["$evaluators"];
  if (evaluatorsIn !== undefined) {
    if (!isObject(evaluatorsIn)) {
      problems.push({ path: "$evaluators", message: `$evaluators must be an object of named rules, got ${show(evaluatorsIn)}` });
    } else {
      evaluators = emptyRecord();
      for (const [name, rule] of Object.entries(evaluatorsIn)) {
        if (name === "") problems.push({ path: "$evaluators", message: "an evaluator name must not be empty" });
        if (name === PROTO_NAME)
          problems.push({ path: `$evaluators.${name}`, message: `"${PROTO_NAME}" cannot be an evaluator name; rename it` });
        if (!isObject(rule))
          problems.push({ path: `$evaluators.${name}`, message: `an evaluator must be a rule object, got ${show(rule)}` });
        else lintRule(rule, `$evaluators.${name}`, problems);
        evaluators[name] = rule as JsonValue;
      }
    }
  }
  const env = createCompileEnv(evaluators, fractional);
  for (const name of Object.keys(evaluators ?? {})) {
    try {
      compileRule({ $ref: name }, "", env);
    } catch (e) {
      problems.push(ruleProblem(e, `$evaluators.${name}`));
    }
  }

  let flagsIn: unknown = input["flags"];
  const flags = emptyRecord<FlagDefinition>();
  // The flagd daemon's format (https://flagd.dev/schema/v0/flagd.json) also allows an array of
  // flags with a "key" each; accept it only from documents that declare that schema.
  if (Array.isArray(flagsIn) && typeof input["$schema"] === "string" && /(^|\/)flagd\.json$/.test(input["$schema"])) {
    flagsIn = flagsFromArray(flagsIn, problems);
  }
  if (flagsIn === undefined) {
    problems.push({ path: "flags", message: 'a flag set needs "flags": an object keyed by flag key' });
  } else if (!isObject(flagsIn)) {
    problems.push({
      path: "flags",
      message: Array.isArray(flagsIn)
        ? '"flags" must be an object keyed by flag key (the array form is for the flagd daemon only)'
        : `"flags" must be an object keyed by flag key, got ${show(flagsIn)}`,
    });
  } else {
    const before = options.before?.flags;
    for (const [key, def] of Object.entries(flagsIn)) {
      const stored = before !== undefined && Object.hasOwn(before, key) && JSON.stringify(before[key]) === JSON.stringify(def);
      const keyProblem = stored ? null : flagKeyProblem(key);
      if (keyProblem) {
        problems.push({ path: "flags", message: keyProblem });
        continue;
      }
      const flag = checkFlag(key, def, problems, env, evaluators ?? {}, stored);
      if (flag) flags[key] = flag;
    }
  }

  if (problems.length === 0) checkPrerequisiteGraph(flags, problems);
  if (problems.length > 0) return { ok: false, problems };
  const flagSet: FlagSet = { flags };
  if (evaluators) flagSet.$evaluators = evaluators;
  if (metadata) flagSet.metadata = metadata;
  return { ok: true, flagSet };
}

function flagsFromArray(list: unknown[], problems: FlagSetProblem[]): Record<string, unknown> {
  const out = emptyRecord<unknown>();
  list.forEach((item, i) => {
    const key = isObject(item) ? item["key"] : undefined;
    if (typeof key !== "string" || key === "") {
      problems.push({ path: `flags[${i}].key`, message: `each flag of the array form needs a non-empty string "key", got ${show(key)}` });
      return;
    }
    if (Object.hasOwn(out, key)) problems.push({ path: `flags[${i}].key`, message: `flag key "${key}" appears twice` });
    const { key: _key, ...flag } = item as Record<string, unknown>;
    out[key] = flag;
  });
  return out;
}

function checkFlag(
  key: string,
  def: unknown,
  problems: FlagSetProblem[],
  env: ReturnType<typeof createCompileEnv>,
  evaluators: Readonly<Record<string, JsonValue>>,
  stored: boolean,
): FlagDefinition | undefined {
  const path = `flags.${key}`;
  const before = problems.length;
  if (!isObject(def)) {
    problems.push({ path, message: `a flag must be an object with "state" and "variants", got ${show(def)}` });
    return undefined;
  }
  const state = def["state"];
  if (state !== "ENABLED" && state !== "DISABLED") {
    problems.push({ path: `${path}.state`, message: `state must be "ENABLED" or "DISABLED", got ${show(state)}` });
  }

  const variants = def["variants"];
  let names: string[] = [];
  if (!isObject(variants)) {
    problems.push({ path: `${path}.variants`, message: `variants must be an object of variant name → value, got ${show(variants)}` });
  } else {
    names = Object.keys(variants);
    if (names.length === 0) problems.push({ path: `${path}.variants`, message: "a flag needs at least one variant" });
    const kinds = new Map<VariantKind, string[]>();
    for (const name of names) {
      if (name === "") problems.push({ path: `${path}.variants`, message: "a variant name must not be empty" });
      if (name === PROTO_NAME && !stored)
        problems.push({ path: `${path}.variants.${name}`, message: `"${PROTO_NAME}" cannot be a variant name; rename it` });
      const kind = variantKind(variants[name]);
      if (!kind) {
        problems.push({
          path: `${path}.variants.${name}`,
          message: `a variant must be a boolean, string, number or object, got ${show(variants[name])}`,
        });
        continue;
      }
      kinds.set(kind, [...(kinds.get(kind) ?? []), name]);
    }
    if (kinds.size > 1) {
      const described = [...kinds].map(([kind, list]) => `${kind} (${list.join(", ")})`).join(", ");
      problems.push({ path: `${path}.variants`, message: `all variants of a flag must have the same type, got ${described}` });
    }
  }

  const defaultVariant = def["defaultVariant"];
  if (defaultVariant !== undefined && defaultVariant !== null) {
    if (typeof defaultVariant !== "string") {
      problems.push({
        path: `${path}.defaultVariant`,
        message: `defaultVariant must be a variant name or null, got ${show(defaultVariant)}`,
      });
    } else if (isObject(variants) && !Object.hasOwn(variants, defaultVariant)) {
      problems.push({ path: `${path}.defaultVariant`, message: `"${defaultVariant}" is not one of the variants (${names.join(", ")})` });
    }
  }

  const metadata = checkMetadata(def["metadata"], `${path}.metadata`, problems);
  if (metadata && Object.hasOwn(metadata, OFF_VARIANT_METADATA_KEY)) {
    const off = metadata[OFF_VARIANT_METADATA_KEY];
    const at = `${path}.metadata.${OFF_VARIANT_METADATA_KEY}`;
    if (typeof off !== "string") problems.push({ path: at, message: `the off variant must be a variant name, got ${show(off)}` });
    else if (isObject(variants) && !Object.hasOwn(variants, off))
      problems.push({ path: at, message: `off variant "${off}" is not one of the variants (${names.join(", ")})` });
  }

  const targeting = def["targeting"];
  if (targeting !== undefined) {
    if (!isObject(targeting)) {
      problems.push({
        path: `${path}.targeting`,
        message: `targeting must be a JsonLogic rule object (or {} for none), got ${show(targeting)}`,
      });
    } else if (Object.keys(targeting).length > 0) {
      const lintFrom = problems.length;
      lintRule(targeting, `${path}.targeting`, problems);
      // `lintRule` prefixes the operator with a dot; its paths read `flags.x.targeting.if[0]…`.
      for (let i = lintFrom; i < problems.length; i++)
        problems[i]!.path = problems[i]!.path.replace(`${path}.targeting..`, `${path}.targeting.`);
      try {
        compileRule(targeting, "", env);
        if (isObject(variants) && !stored)
          checkReturnedVariants(targeting, `${path}.targeting`, new Set(names), evaluators, new Set(), problems);
      } catch (e) {
        problems.push(ruleProblem(e, `${path}.targeting`));
      }
    }
  }

  const prerequisites = checkPrerequisites(def["prerequisites"], key, `${path}.prerequisites`, problems);
  const targets = checkTargets(def["targets"], isObject(variants) ? Object.keys(variants) : [], `${path}.targets`, problems);

  if (problems.length > before || !isObject(variants) || (state !== "ENABLED" && state !== "DISABLED")) return undefined;
  const flag: FlagDefinition = { state, variants: variants as Record<string, JsonValue> };
  if (defaultVariant !== undefined) flag.defaultVariant = defaultVariant as string | null;
  if (targeting !== undefined) flag.targeting = targeting as JsonValue;
  if (metadata) flag.metadata = metadata;
  if (prerequisites) flag.prerequisites = prerequisites;
  if (targets) flag.targets = targets;
  return flag;
}

/**
 * Refuses variant names a rule can only return by mistake: a literal in a result position (the
 * rule itself, an `if` branch, a `fractional` bucket, through `$ref`s) that names no variant of
 * the flag. Evaluating it would answer GENERAL for the contexts that reach it. Computed names
 * (`{"var": "variant"}`, `cat`) are not checked.
 */
function checkReturnedVariants(
  rule: unknown,
  path: string,
  variants: ReadonlySet<string>,
  evaluators: Readonly<Record<string, JsonValue>>,
  following: Set<string>,
  problems: FlagSetProblem[],
): void {
  if (typeof rule === "string" || typeof rule === "boolean" || typeof rule === "number") {
    const name = String(rule);
    if (!variants.has(name))
      problems.push({
        path,
        message: `the targeting returns ${show(rule)}, which is not one of the variants (${[...variants].join(", ")})`,
      });
    return;
  }
  if (!isObject(rule)) return;
  const keys = Object.keys(rule);
  if (keys.length !== 1) return;
  const op = keys[0]!;
  const raw = rule[op];
  const at = `${path}.${op}`;
  if (op === "if" || op === "?:") {
    if (!Array.isArray(raw)) {
      checkReturnedVariants(raw, `${at}[0]`, variants, evaluators, following, problems);
      return;
    }
    raw.forEach((branch, i) => {
      if (i % 2 === 1 || (i === raw.length - 1 && raw.length % 2 === 1))
        checkReturnedVariants(branch, `${at}[${i}]`, variants, evaluators, following, problems);
    });
  } else if (op === "fractional" && Array.isArray(raw)) {
    raw.forEach((bucket, i) => {
      if (Array.isArray(bucket) && bucket.length > 0)
        checkReturnedVariants(bucket[0], `${at}[${i}][0]`, variants, evaluators, following, problems);
    });
  } else if (op === "$ref" && typeof raw === "string" && Object.hasOwn(evaluators, raw) && !following.has(raw)) {
    following.add(raw);
    const from = problems.length;
    checkReturnedVariants(evaluators[raw], `$evaluators.${raw}`, variants, evaluators, following, problems);
    // Name the flag whose variants are missing: the evaluator may be right for another flag.
    for (let i = from; i < problems.length; i++) problems[i] = { path: at, message: `${problems[i]!.path}: ${problems[i]!.message}` };
    following.delete(raw);
  }
}

const MAX_PREREQUISITES = 10;

function checkPrerequisites(input: unknown, key: string, path: string, problems: FlagSetProblem[]): Prerequisite[] | undefined {
  if (input === undefined) return undefined;
  if (!Array.isArray(input)) {
    problems.push({ path, message: `prerequisites must be a list of {"flag", "variant"}, got ${show(input)}` });
    return undefined;
  }
  if (input.length > MAX_PREREQUISITES) problems.push({ path, message: `a flag has at most ${MAX_PREREQUISITES} prerequisites` });
  const out: Prerequisite[] = [];
  input.forEach((item, i) => {
    if (
      !isObject(item) ||
      typeof item["flag"] !== "string" ||
      item["flag"] === "" ||
      typeof item["variant"] !== "string" ||
      Object.keys(item).length !== 2
    ) {
      problems.push({ path: `${path}[${i}]`, message: `a prerequisite is {"flag": "<key>", "variant": "<name>"}, got ${show(item)}` });
      return;
    }
    if (item["flag"] === key) problems.push({ path: `${path}[${i}].flag`, message: "a flag cannot be its own prerequisite" });
    out.push({ flag: item["flag"], variant: item["variant"] });
  });
  return out;
}

/**
 * Checks prerequisites across the set: each names an existing flag and one of its variants, and
 * they form no cycle. A cycle's message starts with `prerequisite cycle:` and names it.
 */
function checkPrerequisiteGraph(flags: Record<string, FlagDefinition>, problems: FlagSetProblem[]): void {
  for (const [key, flag] of Object.entries(flags)) {
    (flag.prerequisites ?? []).forEach((p, i) => {
      const target = ownValue(flags, p.flag);
      if (!target)
        problems.push({ path: `flags.${key}.prerequisites[${i}].flag`, message: `there is no flag "${p.flag}" in this flag set` });
      else if (!Object.hasOwn(target.variants, p.variant)) {
        problems.push({
          path: `flags.${key}.prerequisites[${i}].variant`,
          message: `"${p.variant}" is not a variant of "${p.flag}" (${Object.keys(target.variants).join(", ")})`,
        });
      }
    });
  }
  const cycle = findPrerequisiteCycle(flags);
  if (cycle) {
    problems.push({ path: `flags.${cycle[0]}.prerequisites`, message: `prerequisite cycle: ${cycle.join(" → ")}` });
    return;
  }
  for (const [key, size] of prerequisiteTreeSizes(flags)) {
    if (size <= MAX_PREREQUISITE_TREE) continue;
    problems.push({
      path: `flags.${key}.prerequisites`,
      message: `evaluating "${key}" evaluates more than ${MAX_PREREQUISITE_TREE} prerequisite flags (directly and through their prerequisites, a flag counted once per way it is reached); depend on fewer flags, or on flags with fewer prerequisites of their own`,
    });
  }
}

/** Operators the engine compiles, for error messages and documentation. */
export const SUPPORTED_OPERATORS: readonly string[] = OPERATOR_NAMES;
