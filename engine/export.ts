/**
 * Exports a flag set with edgeflags extensions as plain flagd, which every flagd evaluator
 * understands. Prerequisites become targeting: a flag's rules run only when every prerequisite
 * flag, evaluated inline for the same context, yields the required variant; otherwise the flag
 * serves its default variant (reason TARGETING_MATCH in flagd, PREREQUISITE_FAILED here).
 *
 * Inlining keeps the prerequisite flag's own bucketing: its `fractional` rules get an explicit
 * bucketing value of its key followed by the targeting key, which is what flagd's v2 bucketing
 * hashes by default, and `$flagd.flagKey` is replaced by its key. `$ref`s inside inlined rules are
 * expanded. Flag sets using fractional v3 are exported the same way, but v3 hashes an explicit
 * bucketing value differently from the implicit one, so a v3 prerequisite's split may differ.
 *
 * A DISABLED flag with an off variant serves that variant to everyone, which plain flagd can only
 * say as an ENABLED flag whose default variant is the off variant, with no targeting: flagd then
 * answers the same value and variant, with reason STATIC instead of DISABLED. The flag's metadata
 * says so with `"edgeflags.state": "DISABLED"`, and keeps `edgeflags.offVariant`.
 *
 * Individual targets become the first branches of the flag's targeting (after its prerequisites):
 * `{"if": [{"in": [{"var": "targetingKey"}, [ids]]}, "<variant>", …, <its own rule>]}`; a flag
 * without a rule of its own falls through to null, so flagd serves its default variant.
 */
import { exportOperators } from "./export-operators";
import { emptyRecord, ownValue } from "./names";
import { targetsRule } from "./targets";
import { EXPORTED_STATE_METADATA_KEY, OFF_VARIANT_METADATA_KEY } from "./types";
import type { FlagDefinition, FlagSet, JsonValue } from "./types";

/** The off variant of a DISABLED flag, when it has one. */
function killedVariant(flag: FlagDefinition): string | undefined {
  if (flag.state !== "DISABLED" || !flag.metadata || !Object.hasOwn(flag.metadata, OFF_VARIANT_METADATA_KEY)) return undefined;
  const name = flag.metadata[OFF_VARIANT_METADATA_KEY];
  return typeof name === "string" && Object.hasOwn(flag.variants, name) ? name : undefined;
}

/** `set` as plain flagd: no `prerequisites`, no `targets`, no off variants, same values. */
export function toPlainFlagd(set: FlagSet): FlagSet {
  set = exportOperators(set); // matches/before/after first, so inlined prerequisites carry the rewrite
  if (!Object.values(set.flags).some((flag) => flag.prerequisites?.length || hasTargets(flag) || killedVariant(flag) !== undefined))
    return set;
  const flags = emptyRecord<FlagDefinition>();
  for (const [key, flag] of Object.entries(set.flags)) {
    const { prerequisites, targets: _targets, ...rest } = flag;
    const off = killedVariant(flag);
    if (off !== undefined) {
      const { targeting: _targeting, ...plain } = rest;
      flags[key] = {
        ...plain,
        state: "ENABLED",
        defaultVariant: off,
        metadata: { ...flag.metadata, [EXPORTED_STATE_METADATA_KEY]: "DISABLED" },
      };
      continue;
    }
    if (!prerequisites?.length) {
      flags[key] = hasTargets(flag)
        ? { ...rest, targeting: targetsRule(flag.targets, hasRule(flag.targeting) ? flag.targeting! : null) }
        : rest;
      continue;
    }
    const fallback = flag.defaultVariant ?? null;
    const own = targetsRule(flag.targets, hasRule(flag.targeting) ? flag.targeting! : fallback);
    flags[key] = { ...rest, targeting: { if: [conditions(set, prerequisites, new Set([key])), own, fallback] } };
  }
  return { ...set, flags };
}

function hasTargets(flag: FlagDefinition): boolean {
  return Object.values(flag.targets ?? {}).some((ids) => ids.length > 0);
}

function hasRule(rule: JsonValue | undefined): boolean {
  return rule !== undefined && rule !== null && !(typeof rule === "object" && !Array.isArray(rule) && Object.keys(rule).length === 0);
}

function conditions(set: FlagSet, prerequisites: { flag: string; variant: string }[], path: Set<string>): JsonValue {
  return { and: prerequisites.map((p) => condition(set, p.flag, p.variant, path)) };
}

/** True when flag `key`, evaluated for the context, yields `variant`. */
function condition(set: FlagSet, key: string, variant: string, path: Set<string>): JsonValue {
  const flag = ownValue(set.flags, key);
  if (!flag || path.has(key)) return false;
  if (flag.state === "DISABLED") return killedVariant(flag) === variant;
  return { "===": [effectiveVariant(set, key, flag, new Set([...path, key])), variant] };
}

/** A rule yielding the variant name flag `key` serves (or null when it has none). */
function effectiveVariant(set: FlagSet, key: string, flag: FlagDefinition, path: Set<string>): JsonValue {
  const fallback = flag.defaultVariant ?? null;
  let value: JsonValue = fallback;
  if (hasRule(flag.targeting)) {
    const rule = localize(flag.targeting!, key, set.$evaluators ?? {}, 0);
    value = { if: [{ "!==": [rule, null] }, rule, fallback] };
  }
  value = targetsRule(flag.targets, value);
  if (flag.prerequisites?.length) value = { if: [conditions(set, flag.prerequisites, path), value, fallback] };
  return value;
}

/** Makes a flag's rule evaluate the same inside another flag: its key, its bucketing, its `$ref`s. */
function localize(rule: JsonValue, key: string, evaluators: Record<string, JsonValue>, depth: number): JsonValue {
  if (depth > 64) return rule;
  if (Array.isArray(rule)) return rule.map((item) => localize(item, key, evaluators, depth + 1));
  if (rule === null || typeof rule !== "object") return rule;
  const entries = Object.entries(rule);
  if (entries.length === 1) {
    const [operator, args] = entries[0]!;
    if (operator === "$ref" && typeof args === "string" && ownValue(evaluators, args) !== undefined) {
      return localize(evaluators[args]!, key, evaluators, depth + 1);
    }
    if (operator === "var" && (args === "$flagd.flagKey" || (Array.isArray(args) && args[0] === "$flagd.flagKey"))) return key;
    if (operator === "fractional" && Array.isArray(args) && Array.isArray(args[0])) {
      return { fractional: [{ cat: [key, { var: "targetingKey" }] }, ...args.map((a) => localize(a, key, evaluators, depth + 1))] };
    }
  }
  const out = emptyRecord<JsonValue>();
  for (const [k, v] of entries) out[k] = localize(v, key, evaluators, depth + 1);
  return out;
}
