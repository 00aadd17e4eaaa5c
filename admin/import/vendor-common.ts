/**
 * What the LaunchDarkly and Unleash converters share: naming variants and segments, renaming
 * environments, and the last step of every plan, which validates each environment's flags with
 * the engine and moves any flag it refuses into `unmapped` (with the engine's reasons), so a plan
 * never carries a flag the FlagStore would reject and never loses one silently.
 */
import { validateFlagSet } from "../../engine/index";
import { emptyRecord } from "../../engine/names";
import type { FlagDefinition, JsonValue } from "../../engine/types";
import type { ImportedFlag, ImportedSegment, ImportNote, ImportPlan, ImportSource, UnmappedConstruct } from "../../contracts/import-plan";
import { segmentEvaluator } from "../../contracts/segments";
import type { ImportOptions } from "./options";
import { fail } from "../../contracts/result";
import type { Result } from "../../contracts/result";
import type { z } from "zod";

/** Collects what a conversion could not map and what the operator should know. */
export class Findings {
  readonly unmapped: UnmappedConstruct[] = [];
  readonly notes: ImportNote[] = [];

  unmappable(flag: string | null, environment: string | null, construct: string, detail: string): void {
    this.unmapped.push({ flag, environment, construct, detail });
  }

  note(flag: string, environment: string | null, kind: ImportNote["kind"], detail: string): void {
    this.notes.push({ flag, environment, kind, detail });
  }
}

/** A refusal of input that is not the vendor's export, naming the first 20 offending paths. */
export function notAnExport(error: z.ZodError, detail: string): Result<never> {
  const problems = error.issues.slice(0, 20).map((i) => ({ path: i.path.join("."), message: i.message }));
  return fail({ kind: "invalid", detail, problems });
}

/** The edgeflags environment a source environment goes to, or `null` when the options leave it out. */
export function targetEnvironment(source: string, options: ImportOptions): string | null {
  if (!options.environments) return source;
  return Object.hasOwn(options.environments, source) ? options.environments[source]! : null;
}

/** A segment name the admin API accepts (`^[a-z0-9][a-z0-9_-]{0,62}$`), from a vendor's key or name. */
export function segmentName(raw: string): string {
  const slug = raw
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+/, "")
    .slice(0, 63);
  return slug === "" ? "segment" : slug;
}

/** Names unique within `taken`: `name`, then `name-2`, `name-3`, … */
export function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let i = 2; taken.has(candidate); i++) candidate = `${name.slice(0, 60)}-${i}`;
  taken.add(candidate);
  return candidate;
}

/** A flag variant's value as flagd allows it (boolean, string, number, object), or `undefined`. */
export function variantValue(value: unknown): JsonValue | undefined {
  if (typeof value === "boolean" || typeof value === "string" || (typeof value === "number" && Number.isFinite(value))) return value;
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return toJson(value, 0);
  return undefined;
}

/** `value` as JSON, or `undefined` when it holds something else (or nests deeper than 32). */
export function toJson(value: unknown, depth: number): JsonValue | undefined {
  if (depth > 32) return undefined;
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (Array.isArray(value)) {
    const out: JsonValue[] = [];
    for (const item of value) {
      const json = toJson(item, depth + 1);
      if (json === undefined) return undefined;
      out.push(json);
    }
    return out;
  }
  if (typeof value !== "object") return undefined;
  const out = emptyRecord<JsonValue>();
  for (const [key, item] of Object.entries(value)) {
    const json = toJson(item, depth + 1);
    if (json === undefined) return undefined;
    out[key] = json;
  }
  return out;
}

/** A JsonLogic `if` chain from condition/result pairs and an optional final result; `undefined` when empty. */
export function ifChain(pairs: [JsonValue, JsonValue][], otherwise: JsonValue | undefined): JsonValue | undefined {
  if (pairs.length === 0) return otherwise;
  const chain: JsonValue[] = pairs.flat();
  if (otherwise !== undefined) chain.push(otherwise);
  return { if: chain };
}

/**
 * Why edgeflags would refuse a condition (a constant that is not a date or a version, a bad
 * pattern), from the engine's own validation; `null` when it accepts it. Converters check each
 * clause, so one bad clause leaves out its rule, not the whole flag.
 */
export function conditionProblem(condition: JsonValue): string | null {
  const probe = { state: "ENABLED", variants: { a: true }, defaultVariant: "a", targeting: { if: [condition, "a", null] } };
  const result = validateFlagSet({ flags: { probe } });
  if (result.ok) return null;
  return result.problems.map((p) => p.message).join("; ");
}

/** A version as `sem_ver` takes it: vendors accept `2` and `2.1` for `2.0.0` and `2.1.0`. */
export function fullVersion(version: JsonValue): JsonValue {
  if (typeof version !== "string" || !/^\d+(\.\d+)?$/.test(version)) return version;
  return version.split(".").length === 1 ? `${version}.0.0` : `${version}.0`;
}

/** `text` as an RE2 pattern matching it literally. */
export function quote(text: string): string {
  return text.replace(/[\\.+*?()[\]{}|^$]/g, "\\$&");
}

/** `and` of conditions, without the wrapper for one. */
export function allOf(conditions: JsonValue[]): JsonValue {
  return conditions.length === 1 ? conditions[0]! : { and: conditions };
}

/** `or` of conditions, without the wrapper for one. */
export function anyOf(conditions: JsonValue[]): JsonValue {
  return conditions.length === 1 ? conditions[0]! : { or: conditions };
}

/**
 * Assembles a plan and validates every environment's flags with the engine, as the FlagStore
 * will; a flag it refuses leaves the plan for that environment and is listed in `unmapped` with
 * the engine's reasons. Repeats until each environment validates (a refused flag can be another's
 * prerequisite).
 */
export function finishPlan(
  source: ImportSource,
  environments: string[],
  flags: ImportedFlag[],
  segments: ImportedSegment[],
  findings: Findings,
): ImportPlan {
  const evaluators: Record<string, JsonValue> = {};
  for (const segment of segments) evaluators[segment.name] = segmentEvaluator(segment);
  for (const environment of environments) {
    for (let round = 0; round < 10; round++) {
      const set: Record<string, FlagDefinition> = {};
      for (const flag of flags) if (Object.hasOwn(flag.perEnvironment, environment)) set[flag.key] = flag.perEnvironment[environment]!;
      const result = validateFlagSet({ flags: set, $evaluators: evaluators });
      if (result.ok) break;
      const refused = new Map<string, string[]>();
      for (const problem of result.problems) {
        const at = Object.keys(set)
          .filter((k) => problem.path === `flags.${k}` || problem.path.startsWith(`flags.${k}.`))
          .sort((a, b) => b.length - a.length)[0];
        if (at === undefined) continue;
        refused.set(at, [...(refused.get(at) ?? []), `${problem.path}: ${problem.message}`]);
      }
      if (refused.size === 0) {
        for (const problem of result.problems) findings.unmappable(null, environment, "flag set", `${problem.path}: ${problem.message}`);
        break;
      }
      for (const [key, problems] of refused) {
        const flag = flags.find((f) => f.key === key)!;
        delete flag.perEnvironment[environment];
        findings.unmappable(key, environment, "flag definition", `not imported, edgeflags refuses it: ${problems.join("; ")}`);
      }
    }
  }
  return {
    source,
    environments,
    flags: flags.filter((f) => Object.keys(f.perEnvironment).length > 0),
    segments,
    unmapped: findings.unmapped,
    notes: findings.notes,
  };
}
