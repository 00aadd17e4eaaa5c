/**
 * A flag's rules in plain words, one line per rule, for people who do not read JsonLogic:
 *
 *   off: everyone gets false (off variant "off")
 *   only when checkout-v2 is on; otherwise → off (the default)
 *   3 individual targets → on
 *   staff (email ends with @example.com) → on
 *   country in CA, US, MX → on
 *   everyone else: 20% on, 80% off
 *
 * Read through the rule builder's model (`./rule-model.ts`), so the words and the builder always
 * agree; what neither can say is shown as compact JSON.
 */
import type { FlagDefinition, JsonValue } from "../../engine/types";
import { OFF_VARIANT_METADATA_KEY } from "../../engine/types";
import { fromTargeting, readCondition, showScalar, type Condition, type OperatorId, type Scalar, type Serve } from "./rule-model";

/** How a segment named in a rule is described: from `$evaluators`, or by a lookup (the console's segment list). */
export type SegmentWords = Readonly<Record<string, JsonValue>> | ((name: string) => string | null);

/** The longest JSON shown for a piece the words cannot say. */
const MAX_JSON = 120;
/** Values of a list shown before "and N more". */
const MAX_VALUES = 5;

const WORDS: Record<OperatorId, string> = {
  in: "in",
  not_in: "not in",
  "==": "is",
  "!=": "is not",
  "===": "is exactly",
  "!==": "is not exactly",
  contains: "contains",
  not_contains: "does not contain",
  starts_with: "starts with",
  not_starts_with: "does not start with",
  ends_with: "ends with",
  not_ends_with: "does not end with",
  ">": ">",
  ">=": "≥",
  "<": "<",
  "<=": "≤",
  "sem_ver =": "is version",
  "sem_ver !=": "is not version",
  "sem_ver <": "is a version before",
  "sem_ver <=": "is version at most",
  "sem_ver >": "is a version after",
  "sem_ver >=": "is version at least",
  "sem_ver ^": "is a version compatible with",
  "sem_ver ~": "is a version close to",
  matches: "matches",
  before: "is before",
  after: "is after",
};

/** Compact JSON, cut at `MAX_JSON` characters. */
export function compactJson(value: unknown): string {
  const text = JSON.stringify(value) ?? "null";
  return text.length > MAX_JSON ? `${text.slice(0, MAX_JSON - 1)}…` : text;
}

function valueList(values: readonly Scalar[]): string {
  if (values.length <= MAX_VALUES) return values.map(showScalar).join(", ");
  const more = values.length - MAX_VALUES + 1;
  return `${values
    .slice(0, MAX_VALUES - 1)
    .map(showScalar)
    .join(", ")} and ${more.toLocaleString("en-US")} more`;
}

function segmentText(name: string, segments: SegmentWords, depth: number): string | null {
  if (typeof segments === "function") return segments(name);
  if (!Object.hasOwn(segments, name) || depth > 4) return null;
  return conditionWords(readCondition(segments[name]!), segments, depth + 1);
}

/**
 * One condition in words.
 *
 * @example conditionWords(readCondition({ ends_with: [{ var: "email" }, "@example.com"] })) // "email ends with @example.com"
 */
export function conditionWords(condition: Condition, segments: SegmentWords = {}, depth = 0): string {
  switch (condition.kind) {
    case "raw":
      return compactJson(condition.json);
    case "segment": {
      const inside = segmentText(condition.name, segments, depth);
      const named = inside ? `${condition.name} (${inside})` : `segment ${condition.name}`;
      return condition.negate ? `not ${named}` : named;
    }
    case "group":
      return condition.items
        .map((item) => (item.kind === "group" ? `(${conditionWords(item, segments, depth)})` : conditionWords(item, segments, depth)))
        .join(condition.op === "and" ? " and " : " or ");
    case "compare": {
      const subject = condition.subject.kind === "now" ? "now" : condition.subject.name;
      if (condition.op === "matches") {
        return `${subject} matches /${String(condition.values[0])}/${condition.flags ?? ""}`;
      }
      const values =
        condition.op === "in" || condition.op === "not_in" ? valueList(condition.values) : showScalar(condition.values[0] ?? "");
      return `${subject} ${WORDS[condition.op]} ${values}`;
    }
  }
}

function percent(weight: number, total: number): string {
  const p = (weight * 100) / total;
  return `${Number.isInteger(p) ? p : Math.round(p * 10) / 10}%`;
}

/** What a rule serves, in words: `→ on`, `: 20% on, 80% off`. */
function serveWords(serve: Serve, defaultVariant: string | null | undefined): string {
  switch (serve.kind) {
    case "variant":
      return ` → ${serve.variant}`;
    case "default":
      return defaultVariant ? ` → ${defaultVariant} (the default)` : " → the caller's code default";
    case "raw":
      return ` → ${compactJson(serve.json)}`;
    case "split": {
      const total = serve.buckets.reduce((sum, b) => sum + b.weight, 0);
      if (total === 0) return serveWords({ kind: "default" }, defaultVariant);
      const parts = serve.buckets.filter((b) => b.weight > 0).map((b) => `${percent(b.weight, total)} ${b.variant}`);
      return `: ${parts.join(", ")}${serve.by ? ` (by ${serve.by})` : ""}`;
    }
  }
}

/** The parts of a flag the words read (a console `FlagView` or an engine `FlagDefinition`). */
export type DescribedFlag = Pick<FlagDefinition, "state" | "variants"> & {
  defaultVariant?: string | null | undefined;
  targeting?: JsonValue | undefined;
  metadata?: Readonly<Record<string, string | number | boolean>> | undefined;
  prerequisites?: readonly { flag: string; variant: string }[] | undefined;
  targets?: Readonly<Record<string, readonly string[]>> | undefined;
};

/**
 * A flag's rules in plain words, one line per rule in the order the engine applies them.
 *
 * @example
 * describeTargeting({ state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off",
 *   targeting: { fractional: [["on", 20], ["off", 80]] } })
 * // ["everyone: 20% on, 80% off"]
 */
export function describeTargeting(flag: DescribedFlag, segments: SegmentWords = {}): string[] {
  const lines: string[] = [];
  if (flag.state === "DISABLED") {
    const off = flag.metadata?.[OFF_VARIANT_METADATA_KEY];
    lines.push(
      typeof off === "string" && Object.hasOwn(flag.variants, off)
        ? `off: everyone gets ${off} (the off variant)`
        : "off: callers get their code default",
    );
  }
  for (const p of flag.prerequisites ?? []) {
    lines.push(`only when ${p.flag} is ${p.variant}; otherwise${serveWords({ kind: "default" }, flag.defaultVariant)}`);
  }
  for (const [variant, ids] of Object.entries(flag.targets ?? {})) {
    if (ids.length === 0) continue;
    lines.push(`${ids.length.toLocaleString("en-US")} individual target${ids.length === 1 ? "" : "s"} → ${variant}`);
  }
  const model = fromTargeting(flag.targeting);
  for (const rule of model.rules) lines.push(`${conditionWords(rule.when, segments)}${serveWords(rule.serve, flag.defaultVariant)}`);
  const who = model.rules.length > 0 || lines.length > (flag.state === "DISABLED" ? 1 : 0) ? "everyone else" : "everyone";
  lines.push(`${who}${serveWords(model.otherwise, flag.defaultVariant)}`);
  return lines;
}

/** How the console's segment list (`GET …/segments`) describes each segment, for `describeTargeting`. */
export function segmentWords(
  list: readonly { name: string; rule: JsonValue | null; attribute: string | null; memberCount: number | null }[],
): SegmentWords {
  const byName = new Map(list.map((s) => [s.name, s]));
  return (name) => {
    const segment = byName.get(name);
    if (!segment) return null;
    if (segment.memberCount !== null) {
      return `${segment.attribute ?? "targetingKey"} is one of ${segment.memberCount.toLocaleString("en-US")} listed ${segment.memberCount === 1 ? "id" : "ids"}`;
    }
    return segment.rule === null ? null : conditionWords(readCondition(segment.rule));
  };
}
