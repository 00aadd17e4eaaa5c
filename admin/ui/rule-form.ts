/**
 * The rule builder's form: what the flag page renders (every field a string, as the browser posts
 * it) and reads back. `toForm` fills it from a flag, `readForm` parses a posted form, `editForm`
 * applies the structural buttons (add a rule, a condition, a variant…), and `formToFlag` turns it
 * into the variants, default and off variants and targeting to save, through `rule-model.ts`: the
 * one conversion between targeting and the builder, so the browser script converts nothing.
 */
import { OFF_VARIANT_METADATA_KEY } from "../../engine/types";
import type { JsonValue } from "../../engine/types";
import {
  conditionJson,
  fromTargeting,
  OPERATORS,
  renameVariants,
  showScalar,
  toTargeting,
  type Condition,
  type OperatorId,
  type RuleModel,
  type Scalar,
  type Serve,
} from "./rule-model";

export type ValueType = "string" | "number" | "boolean";
/**
 * A condition row: a comparison (`op` an operator id), a segment (`op` "segment"/"not_segment"),
 * raw JSON (`op` "raw"), or an AND/OR group of rows inside a rule (`op` "group", its rows in
 * `items`). A group inside such a group is kept as raw JSON: one level of nesting is edited in the
 * form, deeper ones round-trip as they are.
 */
export interface ConditionForm {
  op: string;
  attr: string;
  value: string;
  type: ValueType;
  flags: string;
  json: string;
  /** For a group: how its rows join. */
  join?: "and" | "or";
  /** For a group: its rows. */
  items?: ConditionForm[];
}
export interface ServeForm {
  kind: "variant" | "split" | "default" | "raw";
  variant: string;
  by: string;
  /** One row per variant of the flag; `listed` when the split names it (even at weight 0). */
  buckets: { variant: string; weight: string; listed: boolean }[];
  json: string;
}
export interface RuleForm {
  join: "and" | "or";
  /** Written as an `and`/`or` even with one condition (it was one). */
  group: boolean;
  conditions: ConditionForm[];
  serve: ServeForm;
}
export interface VariantForm {
  name: string;
  value: string;
  /** Its name when the page was opened ("" for a new variant): renames follow it. */
  was: string;
}
export interface BuilderForm {
  kind: "boolean" | "string" | "number" | "object";
  variants: VariantForm[];
  defaultVariant: string;
  offVariant: string;
  rules: RuleForm[];
  otherwise: ServeForm;
  /** JSON of the targeting's blank form (absent: ""), written back when there are no rules. */
  blank: string;
}

/** The parts of a flag the builder edits. */
export interface BuiltFlag {
  variants: Record<string, JsonValue>;
  defaultVariant?: string | null | undefined;
  targeting?: JsonValue | undefined;
  metadata?: Record<string, string | number | boolean> | undefined;
}

export const SEGMENT_OPS = { segment: "is in segment", not_segment: "is not in segment" } as const;
export const NOW_ATTRIBUTE = "$now";

function kindOf(value: unknown): BuilderForm["kind"] {
  return typeof value === "boolean" ? "boolean" : typeof value === "number" ? "number" : typeof value === "string" ? "string" : "object";
}

function showVariantValue(value: JsonValue, kind: BuilderForm["kind"]): string {
  return kind === "string" && typeof value === "string" ? value : JSON.stringify(value);
}

/** A condition's row; `nested` for one inside a group row, where a further group stays raw JSON. */
function conditionForm(condition: Condition, nested = false): ConditionForm {
  const blank: ConditionForm = { op: "raw", attr: "", value: "", type: "string", flags: "", json: "" };
  switch (condition.kind) {
    case "group":
      if (nested) return { ...blank, json: JSON.stringify(conditionJson(condition)) };
      return { ...blank, op: "group", join: condition.op, items: condition.items.map((c) => conditionForm(c, true)) };
    case "segment":
      return { ...blank, op: condition.negate ? "not_segment" : "segment", value: condition.name };
    case "compare": {
      const first = condition.values[0];
      const type: ValueType = typeof first === "number" ? "number" : typeof first === "boolean" ? "boolean" : "string";
      // A value of another type than the operator's fields take, or a list of mixed types: kept as JSON.
      if (condition.values.some((v) => typeof v !== typeof first) || (forcedType(condition.op) ?? type) !== type) {
        return { ...blank, json: JSON.stringify(conditionJson(condition)) };
      }
      return {
        ...blank,
        op: condition.op,
        attr: condition.subject.kind === "now" ? NOW_ATTRIBUTE : condition.subject.name,
        value: OPERATORS[condition.op].arity === "list" ? condition.values.map(showScalar).join(", ") : String(first ?? ""),
        type,
        flags: condition.flags ?? "",
      };
    }
    default:
      return { ...blank, json: JSON.stringify(conditionJson(condition)) };
  }
}

function serveForm(serve: Serve, variants: string[]): ServeForm {
  const listed = serve.kind === "split" ? serve.buckets : [];
  const rest = variants.filter((v) => !listed.some((b) => b.variant === v)).map((variant) => ({ variant, weight: "0", listed: false }));
  return {
    kind: serve.kind,
    variant: serve.kind === "variant" ? serve.variant : (variants[0] ?? ""),
    by: serve.kind === "split" ? (serve.by ?? "") : "",
    buckets: [...listed.map((b) => ({ variant: b.variant, weight: String(b.weight), listed: true })), ...rest],
    json: serve.kind === "raw" ? JSON.stringify(serve.json) : "",
  };
}

/** The builder's form for a flag as stored. */
export function toForm(flag: BuiltFlag): BuilderForm {
  const names = Object.keys(flag.variants);
  const kind = kindOf(Object.values(flag.variants)[0]);
  const model = fromTargeting(flag.targeting);
  const off = flag.metadata?.[OFF_VARIANT_METADATA_KEY];
  return {
    kind,
    variants: Object.entries(flag.variants).map(([name, value]) => ({ name, value: showVariantValue(value, kind), was: name })),
    defaultVariant: flag.defaultVariant ?? "",
    offVariant: typeof off === "string" ? off : "",
    rules: model.rules.map((rule) => ({
      join: rule.when.kind === "group" ? rule.when.op : "and",
      group: rule.when.kind === "group",
      conditions: rule.when.kind === "group" ? rule.when.items.map((c) => conditionForm(c)) : [conditionForm(rule.when)],
      serve: serveForm(rule.serve, names),
    })),
    otherwise: serveForm(model.otherwise, names),
    blank: model.blank === undefined ? "" : JSON.stringify(model.blank),
  };
}

// ---- the posted form ----------------------------------------------------------------------------

/** Posted fields, by name. */
export type Fields = Readonly<Record<string, string>>;

const count = (fields: Fields, name: string, max: number) => Math.min(max, Math.max(0, Number.parseInt(fields[name] ?? "0", 10) || 0));
const text = (fields: Fields, name: string) => fields[name] ?? "";

/** The rows posted under `prefix` (`r0` → `r0.c0`, `r0.c1`…), a group row's own rows one level down. */
function readConditions(fields: Fields, prefix: string, nested = false): ConditionForm[] {
  return Array.from({ length: count(fields, `${prefix}.cn`, 100) }, (_, j) => {
    const p = `${prefix}.c${j}`;
    const type = text(fields, `${p}.type`);
    const op = text(fields, `${p}.op`);
    const row: ConditionForm = {
      op: op === "group" && nested ? "raw" : op,
      attr: text(fields, `${p}.attr`).trim(),
      value: text(fields, `${p}.value`),
      type: type === "number" || type === "boolean" ? type : "string",
      flags: text(fields, `${p}.flags`).trim(),
      json: text(fields, `${p}.json`),
    };
    if (row.op !== "group") return row;
    return { ...row, join: text(fields, `${p}.join`) === "or" ? "or" : "and", items: readConditions(fields, p, true) };
  });
}

function readServe(fields: Fields, prefix: string): ServeForm {
  const kind = text(fields, `${prefix}.serve`);
  const n = count(fields, `${prefix}.bn`, 100);
  return {
    kind: kind === "split" || kind === "default" || kind === "raw" ? kind : "variant",
    variant: text(fields, `${prefix}.variant`),
    by: text(fields, `${prefix}.by`).trim(),
    buckets: Array.from({ length: n }, (_, k) => ({
      variant: text(fields, `${prefix}.b${k}.variant`),
      weight: text(fields, `${prefix}.b${k}.weight`).trim(),
      listed: text(fields, `${prefix}.b${k}.listed`) === "1",
    })),
    json: text(fields, `${prefix}.json`),
  };
}

/** Reads the builder's posted fields back into its form. */
export function readForm(fields: Fields): BuilderForm {
  const kind = text(fields, "kind");
  return {
    kind: kind === "boolean" || kind === "string" || kind === "number" ? kind : "object",
    variants: Array.from({ length: count(fields, "vn", 100) }, (_, k) => ({
      name: text(fields, `v${k}.name`).trim(),
      value: text(fields, `v${k}.value`),
      was: text(fields, `v${k}.was`),
    })),
    defaultVariant: text(fields, "defaultVariant"),
    offVariant: text(fields, "offVariant"),
    rules: Array.from({ length: count(fields, "rn", 200) }, (_, i) => ({
      join: text(fields, `r${i}.join`) === "or" ? "or" : "and",
      group: text(fields, `r${i}.group`) === "1",
      conditions: readConditions(fields, `r${i}`),
      serve: readServe(fields, `r${i}`),
    })),
    otherwise: readServe(fields, "else"),
    blank: text(fields, "blank"),
  };
}

/** The builder's form as fields, the names `readForm` reads (what the page renders, and tests post). */
export function formFields(form: BuilderForm): Record<string, string> {
  const out: Record<string, string> = {
    kind: form.kind,
    vn: String(form.variants.length),
    defaultVariant: form.defaultVariant,
    offVariant: form.offVariant,
    rn: String(form.rules.length),
    blank: form.blank,
  };
  form.variants.forEach((v, k) => {
    Object.assign(out, { [`v${k}.name`]: v.name, [`v${k}.value`]: v.value, [`v${k}.was`]: v.was });
  });
  const serve = (prefix: string, s: ServeForm) => {
    Object.assign(out, {
      [`${prefix}.serve`]: s.kind,
      [`${prefix}.variant`]: s.variant,
      [`${prefix}.by`]: s.by,
      [`${prefix}.json`]: s.json,
    });
    out[`${prefix}.bn`] = String(s.buckets.length);
    s.buckets.forEach((b, k) => {
      Object.assign(out, {
        [`${prefix}.b${k}.variant`]: b.variant,
        [`${prefix}.b${k}.weight`]: b.weight,
        [`${prefix}.b${k}.listed`]: b.listed ? "1" : "0",
      });
    });
  };
  const conditions = (prefix: string, rows: ConditionForm[]) => {
    out[`${prefix}.cn`] = String(rows.length);
    rows.forEach((c, j) => {
      const p = `${prefix}.c${j}`;
      Object.assign(out, {
        [`${p}.op`]: c.op,
        [`${p}.attr`]: c.attr,
        [`${p}.value`]: c.value,
        [`${p}.type`]: c.type,
        [`${p}.flags`]: c.flags,
        [`${p}.json`]: c.json,
      });
      if (c.op === "group") {
        out[`${p}.join`] = c.join ?? "and";
        conditions(p, c.items ?? []);
      }
    });
  };
  form.rules.forEach((rule, i) => {
    Object.assign(out, {
      [`r${i}.join`]: rule.join,
      [`r${i}.group`]: rule.group ? "1" : "0",
    });
    conditions(`r${i}`, rule.conditions);
    serve(`r${i}`, rule.serve);
  });
  serve("else", form.otherwise);
  return out;
}

// ---- structural edits -----------------------------------------------------------------------------

const newCondition = (): ConditionForm => ({ op: "in", attr: "", value: "", type: "string", flags: "", json: "" });

/** A group row of one new condition, joined by OR (an AND inside an AND adds nothing). */
const newGroup = (): ConditionForm => ({ ...newCondition(), op: "group", join: "or", items: [newCondition()] });

/** Removes row `at` of `rows`, keeping at least one. */
function removeRow(rows: ConditionForm[] | undefined, at: number): void {
  if (rows && rows.length > 1 && Number.isInteger(at)) rows.splice(at, 1);
}

/**
 * Applies one of the builder's buttons (`add-rule`, `remove-rule:2`, `add-condition:0`,
 * `add-group:0`, `remove-condition:0:1`, `add-variant`, `remove-variant:3`, `up-rule:1`; inside
 * group row 1 of rule 0: `add-condition:0:1`, `remove-condition:0:1:2`); unknown ones change nothing.
 */
export function editForm(form: BuilderForm, op: string): BuilderForm {
  const [name, a, b, d] = op.split(":");
  const i = Number(a);
  const next: BuilderForm = structuredClone(form);
  const names = next.variants.map((v) => v.name);
  const blankServe = (): ServeForm => ({
    kind: "variant",
    variant: names[0] ?? "",
    by: "",
    buckets: names.map((variant) => ({ variant, weight: "0", listed: false })),
    json: "",
  });
  switch (name) {
    case "add-rule":
      next.rules.push({ join: "and", group: false, conditions: [newCondition()], serve: blankServe() });
      break;
    case "remove-rule":
      next.rules.splice(i, 1);
      break;
    case "up-rule":
      if (i > 0 && i < next.rules.length) next.rules.splice(i - 1, 0, next.rules.splice(i, 1)[0]!);
      break;
    case "add-condition": {
      const rows = b === undefined ? next.rules[i]?.conditions : next.rules[i]?.conditions[Number(b)]?.items;
      rows?.push(newCondition());
      break;
    }
    case "add-group":
      next.rules[i]?.conditions.push(newGroup());
      break;
    case "remove-condition":
      if (d === undefined) removeRow(next.rules[i]?.conditions, Number(b));
      else removeRow(next.rules[i]?.conditions[Number(b)]?.items, Number(d));
      break;
    case "add-variant": {
      let n = next.variants.length + 1;
      while (names.includes(`variant-${n}`)) n++;
      const value = next.kind === "boolean" ? "false" : next.kind === "number" ? "0" : next.kind === "string" ? `variant-${n}` : "{}";
      next.variants.push({ name: `variant-${n}`, value, was: "" });
      for (const s of [...next.rules.map((r) => r.serve), next.otherwise])
        s.buckets.push({ variant: `variant-${n}`, weight: "0", listed: false });
      break;
    }
    case "remove-variant":
      next.variants.splice(i, 1);
      break;
  }
  return next;
}

// ---- the flag to save ------------------------------------------------------------------------------

/** Problems by field name (what `aria-describedby` points at). */
export type FormErrors = Record<string, string>;

/** `CA, US, "New York, NY"` → its items; quoted items are JSON strings; null when a quote is not closed. */
function splitList(input: string): string[] | null {
  const items: string[] = [];
  let i = 0;
  while (i < input.length) {
    while (input[i] === " " || input[i] === "\t" || input[i] === "\n") i++;
    if (input[i] === '"') {
      let end = i + 1;
      while (end < input.length && input[end] !== '"') end += input[end] === "\\" ? 2 : 1;
      if (end >= input.length) return null;
      try {
        items.push(JSON.parse(input.slice(i, end + 1)) as string);
      } catch {
        return null;
      }
      i = input.indexOf(",", end + 1);
      if (i === -1) break;
      i++;
    } else {
      const comma = input.indexOf(",", i);
      const item = input.slice(i, comma === -1 ? input.length : comma).trim();
      if (item !== "") items.push(item);
      if (comma === -1) break;
      i = comma + 1;
    }
  }
  return items;
}

function scalarOf(raw: string, type: ValueType): Scalar | string {
  if (type === "number") {
    const n = Number(raw);
    return raw.trim() !== "" && Number.isFinite(n) ? n : `"${raw}" is not a number`;
  }
  if (type === "boolean") return raw === "true" ? true : raw === "false" ? false : `"${raw}" is not true or false`;
  return raw;
}

const STRING_OPS = new Set(["contains", "not_contains", "starts_with", "not_starts_with", "ends_with", "not_ends_with", "matches"]);
const NUMBER_OPS = new Set([">", ">=", "<", "<="]);

/** The type an operator's value always has (comparisons take numbers, text operators strings). */
function forcedType(op: string): ValueType | null {
  return NUMBER_OPS.has(op) ? "number" : STRING_OPS.has(op) || op.startsWith("sem_ver") ? "string" : null;
}

function readCondition(c: ConditionForm, at: string, errors: FormErrors): Condition | null {
  if (c.op === "group") {
    const items = (c.items ?? []).map((row, k) => readCondition(row, `${at}.c${k}`, errors));
    if (items.length === 0) errors[`${at}.join`] = "A group needs at least one condition.";
    const kept = items.filter((row): row is Condition => row !== null);
    return kept.length === items.length && kept.length > 0 ? { kind: "group", op: c.join ?? "and", items: kept } : null;
  }
  if (c.op === "raw") {
    try {
      return { kind: "raw", json: JSON.parse(c.json) as JsonValue };
    } catch {
      errors[`${at}.json`] = "This is not valid JSON.";
      return null;
    }
  }
  if (c.op === "segment" || c.op === "not_segment") {
    if (!c.value.trim()) errors[`${at}.value`] = "Choose a segment.";
    return { kind: "segment", name: c.value.trim(), negate: c.op === "not_segment" };
  }
  if (!Object.hasOwn(OPERATORS, c.op)) {
    errors[`${at}.op`] = "Choose an operator.";
    return null;
  }
  const op = c.op as OperatorId;
  if (!c.attr) errors[`${at}.attr`] = "Name the context attribute (e.g. country).";
  const subject = c.attr === NOW_ATTRIBUTE ? ({ kind: "now" } as const) : ({ kind: "attribute", name: c.attr } as const);
  const type: ValueType = forcedType(op) ?? c.type;
  const raw = OPERATORS[op].arity === "list" ? splitList(c.value) : [type === "string" ? c.value : c.value.trim()];
  if (raw === null || raw.length === 0 || (raw.length === 1 && raw[0] === "" && type !== "string")) {
    errors[`${at}.value`] = OPERATORS[op].arity === "list" ? "List the values, separated by commas." : "Enter a value.";
    return null;
  }
  const values: Scalar[] = [];
  for (const item of raw) {
    const value = scalarOf(item, type);
    if (typeof value === "string" && type !== "string") {
      errors[`${at}.value`] = value;
      return null;
    }
    values.push(value);
  }
  return { kind: "compare", subject, op, values, ...(op === "matches" && c.flags ? { flags: c.flags } : {}) };
}

function readServeModel(s: ServeForm, at: string, errors: FormErrors): Serve {
  switch (s.kind) {
    case "variant":
      return { kind: "variant", variant: s.variant };
    case "default":
      return { kind: "default" };
    case "raw":
      try {
        return { kind: "raw", json: JSON.parse(s.json) as JsonValue };
      } catch {
        errors[`${at}.json`] = "This is not valid JSON.";
        return { kind: "default" };
      }
    case "split": {
      const buckets: { variant: string; weight: number }[] = [];
      s.buckets.forEach((b, k) => {
        const weight = Number(b.weight || "0");
        if (!Number.isInteger(weight) || weight < 0) {
          errors[`${at}.b${k}.weight`] = "A weight is a whole number, 0 or more.";
          return;
        }
        if (b.listed || weight > 0) buckets.push({ variant: b.variant, weight });
      });
      // All weights 0 is allowed, as flagd allows it: everyone then gets the default (the words say so).
      return { kind: "split", by: s.by || null, buckets };
    }
  }
}

function variantValue(v: VariantForm, kind: BuilderForm["kind"]): JsonValue | string {
  if (kind === "string") return v.value;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v.value);
  } catch {
    return kind === "object"
      ? "This is not valid JSON."
      : `This flag's variants are ${kind}s: enter ${kind === "boolean" ? "true or false" : "a number"}.`;
  }
  if (kindOf(parsed) !== kind) return `This flag's variants are ${kind}s; this value is not one.`;
  return parsed as JsonValue;
}

/**
 * The flag the form describes, or the problems by field. Renamed variants are renamed wherever the
 * rules, the default and the off variant name them.
 *
 * @example formToFlag(toForm(flag), flag) // { ok: true, flag: { variants, defaultVariant, targeting, metadata } } — equal to `flag`
 */
export function formToFlag(
  form: BuilderForm,
  stored: BuiltFlag,
): { ok: true; flag: Required<Pick<BuiltFlag, "variants">> & BuiltFlag; renamed: Map<string, string> } | { ok: false; errors: FormErrors } {
  const errors: FormErrors = {};
  const variants: Record<string, JsonValue> = {};
  const renamed = new Map<string, string>();
  form.variants.forEach((v, k) => {
    if (!v.name) errors[`v${k}.name`] = "Name the variant.";
    else if (Object.hasOwn(variants, v.name)) errors[`v${k}.name`] = `There are two variants named "${v.name}".`;
    const value = variantValue(v, form.kind);
    if (typeof value === "string" && form.kind !== "string") errors[`v${k}.value`] = value;
    else variants[v.name] = value;
    if (v.was && v.was !== v.name) renamed.set(v.was, v.name);
  });
  const rename = (name: string) => renamed.get(name) ?? name;
  const rules: RuleModel["rules"] = [];
  form.rules.forEach((rule, i) => {
    const items = rule.conditions.map((c, j) => readCondition(c, `r${i}.c${j}`, errors)).filter((c): c is Condition => c !== null);
    const when: Condition = items.length === 1 && !rule.group ? items[0]! : { kind: "group", op: rule.join, items };
    rules.push({ when, serve: readServeModel(rule.serve, `r${i}`, errors) });
  });
  let blank: JsonValue | undefined;
  try {
    blank = form.blank === "" ? undefined : (JSON.parse(form.blank) as JsonValue);
  } catch {
    blank = undefined;
  }
  const model = renameVariants({ rules, otherwise: readServeModel(form.otherwise, "else", errors), blank }, rename);
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const metadata = { ...(stored.metadata ?? {}) };
  if (form.offVariant) metadata[OFF_VARIANT_METADATA_KEY] = rename(form.offVariant);
  else delete metadata[OFF_VARIANT_METADATA_KEY];
  const targeting = toTargeting(model);
  return {
    ok: true,
    renamed,
    flag: {
      variants,
      defaultVariant: form.defaultVariant ? rename(form.defaultVariant) : null,
      ...(targeting === undefined ? {} : { targeting }),
      ...(Object.keys(metadata).length > 0 || stored.metadata ? { metadata } : {}),
    },
  };
}
