/**
 * "Try a context" without writing JSON: the context attributes a flag's rules read (in every
 * environment, through the segments they name), offered as fields, and the evaluation context
 * built from what was typed in them and in the optional JSON box.
 */
import type { JsonValue } from "../../engine/types";

/** How a typed value is read: as text, a number or true/false, from the literals a rule compares the attribute with. */
export type AttributeType = "text" | "number" | "boolean";

export interface TryAttribute {
  name: string;
  type: AttributeType;
}

/** The form field of an attribute (`attr.plan`). */
export const attributeField = (name: string) => `attr.${name}`;

const isObject = (v: unknown): v is Record<string, JsonValue> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The attribute a `{"var": …}` reads, or null for anything else. */
function varName(rule: unknown): string | null {
  if (!isObject(rule) || Object.keys(rule).length !== 1 || !("var" in rule)) return null;
  const arg = rule["var"];
  const name = Array.isArray(arg) ? arg[0] : arg;
  return typeof name === "string" && name !== "" ? name : null;
}

function literalType(value: unknown): AttributeType | null {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === "number") return "number";
  if (typeof first === "boolean") return "boolean";
  return typeof first === "string" ? "text" : null;
}

/**
 * The attributes `rules` read, in the order first met, with the type of the literals they are
 * compared with; `targetingKey` (a field of its own) and the engine's `$flagd.*` are left out.
 * Segments named by `{"$ref": name}` are read through `segment(name)`: a rule, or the attribute a
 * member list matches.
 *
 * @example
 * attributesRead([{ if: [{ in: [{ var: "country" }, ["CA"]] }, "on", null] }], () => null)
 * // [{ name: "country", type: "text" }]
 */
export function attributesRead(
  rules: readonly JsonValue[],
  segment: (name: string) => { rule: JsonValue | null; attribute: string | null; memberCount: number | null } | null,
): TryAttribute[] {
  const found = new Map<string, AttributeType>();
  const seenSegments = new Set<string>();
  const note = (name: string, type: AttributeType | null) => {
    if (name === "targetingKey" || name.startsWith("$flagd.")) return;
    const known = found.get(name);
    if (known === undefined || (known === "text" && type !== null && type !== "text")) found.set(name, type ?? known ?? "text");
  };
  const walk = (rule: unknown, depth: number): void => {
    if (depth > 64) return;
    if (Array.isArray(rule)) {
      for (const item of rule) walk(item, depth + 1);
      return;
    }
    if (!isObject(rule)) return;
    const direct = varName(rule);
    if (direct !== null) {
      note(direct, null);
      return;
    }
    const ref = rule["$ref"];
    if (typeof ref === "string" && Object.keys(rule).length === 1) {
      if (seenSegments.has(ref)) return;
      seenSegments.add(ref);
      const s = segment(ref);
      if (s?.memberCount !== null && s?.memberCount !== undefined) note(s.attribute ?? "targetingKey", "text");
      else if (s?.rule) walk(s.rule, depth + 1);
      return;
    }
    for (const args of Object.values(rule)) {
      if (Array.isArray(args)) {
        const literal = args.map(literalType).find((t) => t !== null) ?? null;
        for (const arg of args) {
          const name = varName(arg);
          if (name !== null) note(name, literal);
        }
      }
      walk(args, depth + 1);
    }
  };
  for (const rule of rules) walk(rule, 0);
  return [...found].map(([name, type]) => ({ name, type }));
}

export type BuiltContext = { ok: true; context: Record<string, JsonValue> } | { ok: false; error: string };

/**
 * The evaluation context from the try form: the JSON box (optional, an object), then the targeting
 * key and each attribute field typed (a typed field wins over the same key in the JSON). A number
 * or true/false attribute that does not read as one is an error naming the field.
 */
export function buildTryContext(form: Readonly<Record<string, unknown>>, attributes: readonly TryAttribute[]): BuiltContext {
  const text = typeof form["context"] === "string" ? form["context"] : "";
  let context: Record<string, JsonValue> = {};
  if (text.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return { ok: false, error: `The extra context is not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
    }
    if (!isObject(parsed)) return { ok: false, error: 'The extra context must be a JSON object, e.g. {"plan": "pro"}.' };
    context = parsed;
  }
  const key = typeof form["targetingKey"] === "string" ? form["targetingKey"].trim() : "";
  if (key !== "") context = { ...context, targetingKey: key };
  for (const { name, type } of attributes) {
    const raw = form[attributeField(name)];
    const value = typeof raw === "string" ? raw.trim() : "";
    if (value === "") continue;
    if (type === "number") {
      const n = Number(value);
      if (!Number.isFinite(n)) return { ok: false, error: `${name} is compared with numbers: type a number, e.g. 42.` };
      context = { ...context, [name]: n };
    } else if (type === "boolean") {
      if (value !== "true" && value !== "false") return { ok: false, error: `${name} is true or false: choose one.` };
      context = { ...context, [name]: value === "true" };
    } else context = { ...context, [name]: value };
  }
  return { ok: true, context };
}
