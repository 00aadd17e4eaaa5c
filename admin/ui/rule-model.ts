/**
 * The rule builder's model of a flag's targeting, and the one conversion between it and flagd
 * JsonLogic, both ways. The console renders its forms from the model, reads posted forms back into
 * it (`./rule-form.ts`), describes it in plain words (`./describe.ts`) and saves what
 * `toTargeting` writes: the browser script never converts anything.
 *
 * Round trip: `toTargeting(fromTargeting(t))` deep-equals `t` for every `t`. Each piece is parsed
 * only in the exact shape `toTargeting` writes it back in (checked by writing it back); anything
 * else is kept as a `raw` piece, verbatim, so opening a flag made through the API and saving it
 * unedited writes nothing.
 */
import type { JsonValue } from "../../engine/types";

/** A constant a condition compares with. */
export type Scalar = string | number | boolean;

/** What a condition looks at: a context attribute (`{"var": name}`) or the evaluation time. */
export type Subject = { kind: "attribute"; name: string } | { kind: "now" };

/** Every leaf operator of the engine the builder offers, by id. */
export const OPERATORS = {
  in: { label: "is one of", arity: "list" },
  not_in: { label: "is not one of", arity: "list" },
  "==": { label: "equals", arity: "one" },
  "!=": { label: "does not equal", arity: "one" },
  "===": { label: "equals exactly (same type)", arity: "one" },
  "!==": { label: "differs from (value or type)", arity: "one" },
  contains: { label: "contains", arity: "one" },
  not_contains: { label: "does not contain", arity: "one" },
  starts_with: { label: "starts with", arity: "one" },
  not_starts_with: { label: "does not start with", arity: "one" },
  ends_with: { label: "ends with", arity: "one" },
  not_ends_with: { label: "does not end with", arity: "one" },
  ">": { label: ">", arity: "one" },
  ">=": { label: "≥", arity: "one" },
  "<": { label: "<", arity: "one" },
  "<=": { label: "≤", arity: "one" },
  "sem_ver =": { label: "version =", arity: "one" },
  "sem_ver !=": { label: "version ≠", arity: "one" },
  "sem_ver <": { label: "version <", arity: "one" },
  "sem_ver <=": { label: "version ≤", arity: "one" },
  "sem_ver >": { label: "version >", arity: "one" },
  "sem_ver >=": { label: "version ≥", arity: "one" },
  "sem_ver ^": { label: "version compatible with (^)", arity: "one" },
  "sem_ver ~": { label: "version approximately (~)", arity: "one" },
  matches: { label: "matches the pattern", arity: "one" },
  before: { label: "is before", arity: "one" },
  after: { label: "is after", arity: "one" },
} as const;
export type OperatorId = keyof typeof OPERATORS;
export const OPERATOR_IDS = Object.keys(OPERATORS) as OperatorId[];

/** A condition: one comparison, a segment, an AND/OR group, or JsonLogic the builder keeps as it is. */
export type Condition =
  | { kind: "compare"; subject: Subject; op: OperatorId; values: Scalar[]; flags?: string }
  | { kind: "segment"; name: string; negate: boolean }
  | { kind: "group"; op: "and" | "or"; items: Condition[] }
  | { kind: "raw"; json: JsonValue };

/** What a rule (or everyone else) is served. */
export type Serve =
  | { kind: "variant"; variant: string }
  | { kind: "split"; by: string | null; buckets: { variant: string; weight: number }[] }
  /** Nothing from the rules: the default variant. */
  | { kind: "default" }
  | { kind: "raw"; json: JsonValue };

export interface RuleModel {
  rules: { when: Condition; serve: Serve }[];
  otherwise: Serve;
  /** The targeting's own form when it has no rules (absent, `null` or `{}`), written back as it was. */
  blank?: JsonValue | undefined;
  /** Everyone's variant was written as a bare string (flagd evaluates it; the validator wants an object). */
  bare?: boolean;
}

const NEGATED: Partial<Record<OperatorId, OperatorId>> = {
  not_in: "in",
  not_contains: "contains",
  not_starts_with: "starts_with",
  not_ends_with: "ends_with",
};

/** Operators written as themselves: `{op: [subject, value]}`. */
const DIRECT: ReadonlySet<string> = new Set([
  "==",
  "!=",
  "===",
  "!==",
  "starts_with",
  "ends_with",
  ">",
  ">=",
  "<",
  "<=",
  "matches",
  "before",
  "after",
]);

const isObject = (v: unknown): v is Record<string, JsonValue> => typeof v === "object" && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is Scalar =>
  typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));

/** The one operator of a JsonLogic object and its arguments as a list, or null. */
function single(rule: unknown): [string, JsonValue] | null {
  if (!isObject(rule)) return null;
  const keys = Object.keys(rule);
  return keys.length === 1 ? [keys[0]!, rule[keys[0]!]!] : null;
}

/** A value as the words and the builder's list fields show it: quoted only when it would not read back as itself. */
export function showScalar(value: Scalar): string {
  return typeof value === "string" && (value === "" || /^\s|\s$|,|"/.test(value)) ? JSON.stringify(value) : String(value);
}

/** Deep equality of JSON values (object key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]));
  }
  return false;
}

const NOW: JsonValue = { "*": [{ var: "$flagd.timestamp" }, 1000] };

function subjectJson(subject: Subject): JsonValue {
  return subject.kind === "now" ? NOW : { var: subject.name };
}

function readSubject(json: JsonValue | undefined): Subject | null {
  if (sameJson(json, NOW)) return { kind: "now" };
  const op = single(json);
  if (op && op[0] === "var" && typeof op[1] === "string" && op[1] !== "") return { kind: "attribute", name: op[1] };
  return null;
}

/** A condition as JsonLogic. */
export function conditionJson(condition: Condition): JsonValue {
  switch (condition.kind) {
    case "raw":
      return condition.json;
    case "segment":
      return condition.negate ? { "!": { $ref: condition.name } } : { $ref: condition.name };
    case "group":
      return { [condition.op]: condition.items.map(conditionJson) };
    case "compare": {
      const base = NEGATED[condition.op];
      if (base) return { "!": conditionJson({ ...condition, op: base }) };
      const subject = subjectJson(condition.subject);
      const value = condition.values[0] ?? "";
      if (condition.op === "in") return { in: [subject, [...condition.values]] };
      if (condition.op === "contains") return { in: [value, subject] };
      if (condition.op.startsWith("sem_ver ")) return { sem_ver: [subject, condition.op.slice(8), value] };
      if (condition.op === "matches" && condition.flags) return { matches: [subject, value, condition.flags] };
      return { [condition.op]: [subject, value] };
    }
  }
}

/** Reads one comparison in the exact shape `conditionJson` writes; null for anything else. */
function readCompare(json: JsonValue): Condition | null {
  const op = single(json);
  if (!op) return null;
  const [name, raw] = op;
  if (name === "!") {
    const inner = readCompare(raw);
    if (inner?.kind === "segment" && !inner.negate) return { ...inner, negate: true };
    if (inner?.kind !== "compare") return null;
    const negated = (Object.keys(NEGATED) as OperatorId[]).find((id) => NEGATED[id] === inner.op);
    return negated ? { ...inner, op: negated } : null;
  }
  if (name === "$ref") return typeof raw === "string" ? { kind: "segment", name: raw, negate: false } : null;
  if (!Array.isArray(raw)) return null;
  if (name === "in" && raw.length === 2) {
    const subject = readSubject(raw[0]);
    if (subject && Array.isArray(raw[1]) && raw[1].every(isScalar)) return { kind: "compare", subject, op: "in", values: raw[1] };
    const haystack = readSubject(raw[1]);
    if (haystack && typeof raw[0] === "string") return { kind: "compare", subject: haystack, op: "contains", values: [raw[0]] };
    return null;
  }
  if (name === "sem_ver" && raw.length === 3 && typeof raw[1] === "string" && typeof raw[2] === "string") {
    const id = `sem_ver ${raw[1]}`;
    const subject = readSubject(raw[0]);
    return subject && Object.hasOwn(OPERATORS, id) ? { kind: "compare", subject, op: id as OperatorId, values: [raw[2]] } : null;
  }
  if (name === "matches" && raw.length === 3 && typeof raw[1] === "string" && typeof raw[2] === "string") {
    const subject = readSubject(raw[0]);
    return subject ? { kind: "compare", subject, op: "matches", values: [raw[1]], flags: raw[2] } : null;
  }
  if (raw.length !== 2 || !DIRECT.has(name)) return null;
  const subject = readSubject(raw[0]);
  if (!subject || !isScalar(raw[1])) return null;
  return { kind: "compare", subject, op: name as OperatorId, values: [raw[1]] };
}

/** Reads a condition; what the builder cannot show is kept as a `raw` condition. */
export function readCondition(json: JsonValue): Condition {
  const op = single(json);
  if (op && (op[0] === "and" || op[0] === "or") && Array.isArray(op[1]) && op[1].length > 0) {
    const group: Condition = { kind: "group", op: op[0], items: op[1].map(readCondition) };
    if (sameJson(conditionJson(group), json)) return group;
  }
  const compare = readCompare(json);
  if (compare && sameJson(conditionJson(compare), json)) return compare;
  return { kind: "raw", json };
}

/** What is served, as JsonLogic (`undefined` for the default: no else branch). */
export function serveJson(serve: Serve): JsonValue | undefined {
  switch (serve.kind) {
    case "variant":
      return serve.variant;
    case "default":
      return undefined;
    case "raw":
      return serve.json;
    case "split": {
      const buckets: JsonValue[] = serve.buckets.map((b) => [b.variant, b.weight]);
      return { fractional: serve.by === null ? buckets : [{ var: serve.by }, ...buckets] };
    }
  }
}

function readServe(json: JsonValue): Serve {
  if (typeof json === "string") return { kind: "variant", variant: json };
  const op = single(json);
  if (op && op[0] === "fractional" && Array.isArray(op[1])) {
    const args = op[1];
    const by = readSubject(args[0]);
    const rest = by?.kind === "attribute" ? args.slice(1) : args;
    const buckets = rest.flatMap((b) =>
      Array.isArray(b) && b.length === 2 && typeof b[0] === "string" && typeof b[1] === "number" && Number.isInteger(b[1]) && b[1] >= 0
        ? [{ variant: b[0], weight: b[1] }]
        : [],
    );
    const split: Serve = { kind: "split", by: by?.kind === "attribute" ? by.name : null, buckets };
    if (buckets.length > 0 && sameJson(serveJson(split), json)) return split;
  }
  return { kind: "raw", json };
}

const isBlank = (t: unknown): boolean => t === undefined || t === null || (isObject(t) && Object.keys(t).length === 0);

/**
 * The builder's model of a flag's targeting.
 *
 * @example
 * fromTargeting({ if: [{ in: [{ var: "country" }, ["CA", "US"]] }, "on", { fractional: [["on", 10], ["off", 90]] }] })
 * // { rules: [{ when: { kind: "compare", op: "in", … }, serve: { kind: "variant", variant: "on" } }], otherwise: { kind: "split", … } }
 */
export function fromTargeting(targeting: JsonValue | undefined): RuleModel {
  if (isBlank(targeting)) return { rules: [], otherwise: { kind: "default" }, blank: targeting };
  if (typeof targeting === "string") return { rules: [], otherwise: { kind: "variant", variant: targeting }, bare: true };
  const op = single(targeting);
  if (op && op[0] === "if" && Array.isArray(op[1]) && op[1].length === 2 && op[1][0] === true && typeof op[1][1] === "string") {
    return { rules: [], otherwise: { kind: "variant", variant: op[1][1] } };
  }
  if (op && op[0] === "if" && Array.isArray(op[1]) && op[1].length >= 2) {
    const args = op[1];
    const rules: RuleModel["rules"] = [];
    for (let i = 0; i + 1 < args.length; i += 2) {
      const serve = args[i + 1]!;
      rules.push({ when: readCondition(args[i]!), serve: serve === null ? { kind: "default" } : readServe(serve) });
    }
    const otherwise: Serve = args.length % 2 === 1 ? readServe(args[args.length - 1]!) : { kind: "default" };
    // An explicit else that reads as "the default" (there is none) must stay explicit: keep it raw.
    const model: RuleModel = { rules, otherwise };
    if (sameJson(toTargeting(model), targeting)) return model;
    return { rules: [], otherwise: { kind: "raw", json: targeting! } };
  }
  return { rules: [], otherwise: readServe(targeting!) };
}

/** The flagd targeting a model stands for; `undefined` when it has no rules at all. */
export function toTargeting(model: RuleModel): JsonValue | undefined {
  const otherwise = serveJson(model.otherwise);
  if (model.rules.length === 0) {
    if (otherwise === undefined) return model.blank;
    // One variant for everyone: `{"if": [true, v]}`, a rule object as flagd's schema requires.
    return typeof otherwise === "string" && !model.bare ? { if: [true, otherwise] } : otherwise;
  }
  const args: JsonValue[] = [];
  for (const rule of model.rules) {
    const serve = serveJson(rule.serve);
    args.push(conditionJson(rule.when), serve === undefined ? null : serve);
  }
  if (otherwise !== undefined) args.push(otherwise);
  return { if: args };
}

/** The model with every variant it serves renamed by `rename` (raw pieces are left as they are). */
export function renameVariants(model: RuleModel, rename: (name: string) => string): RuleModel {
  const serve = (s: Serve): Serve =>
    s.kind === "variant"
      ? { kind: "variant", variant: rename(s.variant) }
      : s.kind === "split"
        ? { ...s, buckets: s.buckets.map((b) => ({ ...b, variant: rename(b.variant) })) }
        : s;
  return { ...model, rules: model.rules.map((r) => ({ when: r.when, serve: serve(r.serve) })), otherwise: serve(model.otherwise) };
}
