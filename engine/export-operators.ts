/**
 * `matches`, `before` and `after` (edgeflags extensions) in the plain-flagd export. flagd has no
 * regular expressions and no dates, so each is rewritten only where plain flagd says exactly the same:
 *
 * - `matches` whose pattern is literal text, optionally anchored (`^`, `$`, `\A`, `\z`) or an
 *   alternation of such (`^(?:gold|platinum)$`): anchored at both ends → `===`, at the start →
 *   `starts_with`, at the end → `ends_with`, neither → `in` (substring) guarded by
 *   `ends_with [subject, ""]` (true only for strings, as `matches`); wrapped in `!!` so a
 *   non-string is `false`, not flagd's `null`. With `i`, only text without letters; with `m`,
 *   only `\A`/`\z` anchors.
 * - `before`/`after` of two constants → `true`/`false`; of the current time (`$flagd.timestamp`, or
 *   `{"*": [{"var": "$flagd.timestamp"}, 1000]}` in milliseconds) and a constant date → `<`/`>` on
 *   `$flagd.timestamp`.
 *
 * Anything else (a real regular expression, a date held in the context) plain flagd cannot
 * express. It is neither dropped nor approximated: the rule is exported unchanged, so a flagd
 * evaluator refuses that flag (PARSE_ERROR, the caller's default) instead of answering wrongly,
 * and the flag's metadata names each such construct under `edgeflags.unexported`. A flag that
 * reaches one through a `$ref` or inlines one from a prerequisite is named too.
 */
import { parseDate } from "./dates";
import { emptyRecord, ownValue } from "./names";
import type { FlagDefinition, FlagSet, JsonValue } from "./types";

/**
 * The flag metadata key `toPlainFlagd` sets on a flag whose rules use what plain flagd cannot
 * express: `"matches at targeting.if[0].matches: …; after at …"`.
 */
export const UNEXPORTED_METADATA_KEY = "edgeflags.unexported";

const OPERATORS = new Set(["matches", "before", "after"]);
const isObject = (v: unknown): v is Record<string, JsonValue> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * `set` with `matches`/`before`/`after` rewritten where plain flagd can say the same, and the rest
 * named in `edgeflags.unexported`. The same object when the set uses none of them.
 *
 * @example exportOperators(set).flags["beta"]!.targeting // {"!!": [{"ends_with": [{"var": "email"}, "@example.com"]}]}
 */
export function exportOperators(set: FlagSet): FlagSet {
  if (!usesOperators(set)) return set;
  const evaluatorNotes = new Map<string, string[]>();
  let evaluators = set.$evaluators;
  if (evaluators) {
    const out = emptyRecord<JsonValue>();
    for (const [name, rule] of Object.entries(evaluators)) {
      const notes: string[] = [];
      out[name] = portable(rule, `$evaluators.${name}`, notes, 0);
      evaluatorNotes.set(name, notes);
    }
    evaluators = out;
  }
  const ownNotes = new Map<string, string[]>();
  const flags = emptyRecord<FlagDefinition>();
  for (const [key, flag] of Object.entries(set.flags)) {
    const notes: string[] = [];
    flags[key] = flag.targeting === undefined ? flag : { ...flag, targeting: portable(flag.targeting, "targeting", notes, 0) };
    for (const name of refsOf(flag.targeting, set.$evaluators ?? {}, new Set())) notes.push(...(evaluatorNotes.get(name) ?? []));
    ownNotes.set(key, notes);
  }
  for (const [key, flag] of Object.entries(flags)) {
    const notes = [...new Set([...ownNotes.get(key)!, ...viaPrerequisites(set, key, ownNotes, new Set([key]))])];
    if (notes.length > 0) flags[key] = { ...flag, metadata: { ...flag.metadata, [UNEXPORTED_METADATA_KEY]: notes.join("; ") } };
  }
  const out: FlagSet = { ...set, flags };
  if (evaluators) out.$evaluators = evaluators;
  return out;
}

function usesOperators(set: FlagSet): boolean {
  const has = (rule: unknown, depth: number): boolean => {
    if (depth > 100) return false;
    if (Array.isArray(rule)) return rule.some((item) => has(item, depth + 1));
    if (!isObject(rule)) return false;
    return Object.entries(rule).some(([k, v]) => OPERATORS.has(k) || has(v, depth + 1));
  };
  return Object.values(set.$evaluators ?? {}).some((r) => has(r, 0)) || Object.values(set.flags).some((f) => has(f.targeting, 0));
}

/** `$ref` names a rule reaches, through evaluators that refer to others. */
function refsOf(rule: unknown, evaluators: Record<string, JsonValue>, seen: Set<string>): Set<string> {
  if (Array.isArray(rule)) for (const item of rule) refsOf(item, evaluators, seen);
  else if (isObject(rule)) {
    for (const [k, v] of Object.entries(rule)) {
      if (k === "$ref" && typeof v === "string" && !seen.has(v) && ownValue(evaluators, v) !== undefined) {
        seen.add(v);
        refsOf(evaluators[v], evaluators, seen);
      } else refsOf(v, evaluators, seen);
    }
  }
  return seen;
}

/** Notes of the flags `key` inlines as prerequisites (plain flagd evaluates them inside it). */
function viaPrerequisites(set: FlagSet, key: string, own: Map<string, string[]>, path: Set<string>): string[] {
  const out: string[] = [];
  for (const p of ownValue(set.flags, key)?.prerequisites ?? []) {
    if (path.has(p.flag) || !own.has(p.flag)) continue;
    for (const note of own.get(p.flag)!) out.push(`prerequisite ${p.flag}: ${note}`);
    out.push(...viaPrerequisites(set, p.flag, own, new Set([...path, p.flag])));
  }
  return out;
}

/** `rule` with every operator plain flagd can express rewritten; the others noted and kept. */
function portable(rule: JsonValue, path: string, notes: string[], depth: number): JsonValue {
  if (depth > 100) return rule;
  if (Array.isArray(rule)) {
    let changed = false;
    const items = rule.map((item, i) => {
      const next = portable(item, `${path}[${i}]`, notes, depth + 1);
      changed ||= next !== item;
      return next;
    });
    return changed ? items : rule;
  }
  if (!isObject(rule)) return rule;
  const entries = Object.entries(rule);
  if (entries.length !== 1) return rule;
  const [op, raw] = entries[0]!;
  const at = `${path}.${op}`;
  const args = portable(raw, at, notes, depth + 1);
  if (OPERATORS.has(op)) {
    const list = Array.isArray(args) ? args : [args];
    const rewritten = op === "matches" ? literalMatch(list) : dateCompare(list, op === "after");
    if (rewritten !== undefined) return rewritten;
    notes.push(
      op === "matches"
        ? `matches at ${at}: flagd has no regular expressions`
        : `${op} at ${at}: flagd cannot compare dates other than the current time with a constant`,
    );
  }
  return args === raw ? rule : { [op]: args };
}

interface Branch {
  start: boolean;
  end: boolean;
  text: string;
}

/** `matches` as plain flagd when its pattern is literal text; otherwise `undefined`. */
function literalMatch(args: JsonValue[]): JsonValue | undefined {
  const [subject, pattern, flags = ""] = args;
  if (args.length < 2 || args.length > 3 || typeof pattern !== "string" || typeof flags !== "string") return undefined;
  const branches = literalBranches(pattern, flags.includes("m"));
  if (!branches) return undefined;
  if (flags.includes("i") && branches.some((b) => b.text.toLowerCase() !== b.text || b.text.toUpperCase() !== b.text)) return undefined;
  const tests = branches.map((b): JsonValue => {
    if (b.start && b.end) return { "===": [subject!, b.text] };
    if (b.start) return { starts_with: [subject!, b.text] };
    if (b.end || b.text === "") return { ends_with: [subject!, b.text] };
    return { and: [{ ends_with: [subject!, ""] }, { in: [b.text, subject!] }] };
  });
  if (tests.length === 1 && branches[0]!.start && branches[0]!.end) return tests[0]!;
  return { "!!": [tests.length === 1 ? tests[0]! : { or: tests }] };
}

const META = new Set([..."\\.+*?()[]{}|^$"]);

/**
 * The branches of a pattern made of literal text: `a|^b$` or `^(?:a|b)$` (one anchored group of
 * alternatives, no nesting); `undefined` for anything else.
 * `lineAnchors`: with `m`, `^`/`$` match at line breaks, so only `\A`/`\z` anchor the text.
 */
function literalBranches(pattern: string, lineAnchors: boolean): Branch[] | undefined {
  let body = pattern;
  const anchorStart = (): boolean => {
    if (body.startsWith("\\A")) body = body.slice(2);
    else if (body.startsWith("^") && !lineAnchors) body = body.slice(1);
    else return false;
    return true;
  };
  const anchorEnd = (): boolean => {
    if (body.endsWith("\\z") && !body.endsWith("\\\\z")) body = body.slice(0, -2);
    else if (body.endsWith("$") && !body.endsWith("\\$") && !lineAnchors) body = body.slice(0, -1);
    else return false;
    return true;
  };
  const start = anchorStart();
  const end = anchorEnd();
  const group = /^\((?:\?:)?([^()]*)\)$/.exec(body);
  if (group && (start || end)) {
    const texts = alternatives(group[1]!).map(literalText);
    return texts.every((t) => t !== undefined) ? texts.map((text) => ({ start, end, text: text! })) : undefined;
  }
  const out: Branch[] = [];
  for (const part of alternatives(pattern)) {
    body = part;
    const s = anchorStart();
    const e = anchorEnd();
    const text = literalText(body);
    if (text === undefined) return undefined;
    out.push({ start: s, end: e, text });
  }
  return out;
}

/** A pattern split at its unescaped `|`. */
function alternatives(pattern: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === "\\") i++;
    else if (pattern[i] === "|") {
      out.push(pattern.slice(from, i));
      from = i + 1;
    }
  }
  out.push(pattern.slice(from));
  return out;
}

/** The text a pattern fragment matches when it is literal (escaped punctuation allowed). */
function literalText(fragment: string): string | undefined {
  let out = "";
  for (let i = 0; i < fragment.length; i++) {
    const c = fragment[i]!;
    if (c === "\\") {
      const next = fragment[++i];
      if (next === undefined || /[0-9A-Za-z]/.test(next) || next.charCodeAt(0) > 0x7f) return undefined;
      out += next;
    } else if (META.has(c)) return undefined;
    else out += c;
  }
  return out;
}

/** `$flagd.timestamp` as a date: 1 (read as milliseconds) or ×1000 (now, in milliseconds). */
function timestampScale(rule: JsonValue | undefined): number | undefined {
  const isTimestamp = (r: JsonValue | undefined) => isObject(r) && Object.keys(r).length === 1 && r["var"] === "$flagd.timestamp";
  if (isTimestamp(rule)) return 1;
  if (!isObject(rule) || Object.keys(rule).length !== 1 || !Array.isArray(rule["*"]) || rule["*"].length !== 2) return undefined;
  const [a, b] = rule["*"];
  return (isTimestamp(a) && b === 1000) || (isTimestamp(b) && a === 1000) ? 1000 : undefined;
}

/** `before`/`after` as plain flagd when they compare constants or the current time; otherwise `undefined`. */
function dateCompare(args: JsonValue[], later: boolean): JsonValue | undefined {
  if (args.length !== 2) return undefined;
  const [a, b] = args;
  const constant = (v: JsonValue | undefined) => (isObject(v) || Array.isArray(v) ? undefined : parseDate(v));
  const ca = constant(a);
  const cb = constant(b);
  if (ca !== undefined && cb !== undefined) return later ? ca > cb : ca < cb;
  const timestamp = { var: "$flagd.timestamp" };
  const sa = timestampScale(a);
  if (sa !== undefined && cb !== undefined) return { [later ? ">" : "<"]: [timestamp, cb / sa] };
  const sb = timestampScale(b);
  if (sb !== undefined && ca !== undefined) return { [later ? "<" : ">"]: [timestamp, ca / sb] };
  return undefined;
}
