/**
 * Compiles JsonLogic (json-logic-js semantics, plus flagd's `fractional`, `sem_ver`,
 * `starts_with`, `ends_with` and `$ref`, and the edgeflags extensions `matches`, `before` and
 * `after`) into closures, once per flag set. No `eval` and no
 * `new Function`: Workers forbid both at request time.
 *
 * Compilation resolves `{"$ref": name}` against the flag set's `$evaluators` (refusing unknown
 * names and cycles), turns constant lists in `in` into members shared by every flag of the set
 * (a sorted list of strings searched in place, any other list a `Set`; see `Members`),
 * and rejects what cannot run (unknown operators, malformed `fractional`) with a `RuleError`.
 */
import { compileDateCompare } from "./dates";
import { compileFractional } from "./fractional";
import type { FractionalMode } from "./types";
import { lookup, ROOT, RuleError, toFloat, truthy, wholeData } from "./json-logic";
import type { Rule } from "./json-logic";
import { compileMatches } from "./regex";
import type { Pattern } from "./regex";
import { compareWith, parseSemVer, SEM_VER_OPERATORS, semVerOperator } from "./sem-ver";
import type { SemVer } from "./sem-ver";

/** Shared state of one flag-set compilation. */
export interface CompileEnv {
  readonly evaluators: Readonly<Record<string, unknown>>;
  readonly fractional: FractionalMode;
  /** Compiled `$evaluators`, by name. */
  readonly refs: Map<string, Rule>;
  /** `$ref` names being compiled, to detect cycles. */
  readonly refStack: string[];
  /** Constant `in` lists, shared across flags: candidates by length and end elements. */
  readonly sets: Map<string, { items: readonly unknown[]; members: Members }[]>;
  /** `matches` patterns, compiled once per flag set: flags + "/" + pattern → pattern. */
  readonly patterns: Map<string, Pattern>;
  /** `$evaluators` lists by identity → their members, or null when not all constants: each is read once, not once per flag using it. */
  readonly constantLists: Map<readonly unknown[], Members | null>;
}

/**
 * The members of a constant list in an `in`, shared by every flag using the list. A list of
 * strings in ascending order (how the FlagStore publishes a long list, see `share-lists.ts`) is
 * searched in place, by bisection, so a fresh isolate's first answers build nothing; once it has
 * answered `SET_AFTER_LOOKUPS` lookups the isolate is serving, and a `Set` is built for the rest.
 * Any other list gets its `Set` at compile time.
 */
export interface Members {
  /** The list, when its items are strings in strictly ascending order (UTF-16 code units). */
  readonly sorted: readonly string[] | undefined;
  set: ReadonlySet<unknown> | undefined;
  lookups: number;
}

/** Lookups a sorted list answers by bisection before its `Set` is built (a bulk answer makes one per flag using it). */
export const SET_AFTER_LOOKUPS = 512;

/** Creates the state for compiling the rules of one flag set. */
export function createCompileEnv(evaluators: unknown, fractional: FractionalMode): CompileEnv {
  const record =
    typeof evaluators === "object" && evaluators !== null && !Array.isArray(evaluators) ? (evaluators as Record<string, unknown>) : {};
  return { evaluators: record, fractional, refs: new Map(), refStack: [], sets: new Map(), patterns: new Map(), constantLists: new Map() };
}

type OpCompiler = (args: unknown[], at: string, env: CompileEnv) => Rule;

const UNDEFINED: Rule = () => undefined;
const hasOwn = Object.hasOwn;
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const isConstant = (item: unknown): boolean =>
  item === null || typeof item === "string" || typeof item === "number" || typeof item === "boolean";

/** Whether every item is a constant; one loop, no callback per item (lists run to thousands of ids). */
function allPrimitive(list: readonly unknown[]): boolean {
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (!(item === null || typeof item === "string" || typeof item === "number" || typeof item === "boolean")) return false;
  }
  return true;
}

/**
 * Compiles a JsonLogic value into a rule.
 *
 * @example compileRule({"==": [{"var": "plan"}, "pro"]}, "", env)(scope, ROOT) // true or false
 */
export function compileRule(logic: unknown, at: string, env: CompileEnv): Rule {
  // No closure is created in this function itself (they are made by the helpers it calls), so a
  // call allocates no context: it runs once per node of every rule in a fresh isolate.
  if (Array.isArray(logic)) {
    if (allPrimitive(logic)) return constantRule(Object.freeze(logic.slice()));
    return arrayRule(args(logic, at, env));
  }
  if (!isPlainObject(logic)) {
    if (logic === undefined) return UNDEFINED;
    return constantRule(logic);
  }
  // The operator, without an array of keys per node (a snapshot compiles thousands of nodes).
  let op: string | undefined;
  let count = 0;
  for (const key in logic) {
    if (!hasOwn(logic, key)) continue;
    op ??= key;
    count++;
  }
  if (op === undefined) return constantRule(Object.freeze({}));
  if (count > 1) {
    const keys = Object.keys(logic);
    throw new RuleError(at, `a rule must have exactly one operator, got ${keys.length} keys (${keys.join(", ")})`);
  }
  const opAt = at ? `${at}.${op}` : op;
  if (op === "$ref") return compileRef(logic[op], opAt, env);
  if (op === "fractional") return fractionalRule(logic[op], opAt, env);
  const compiler = Object.hasOwn(OPERATORS, op) ? OPERATORS[op] : undefined;
  if (!compiler) throw new RuleError(opAt, `unknown operator "${op}"`);
  const raw = logic[op];
  return compiler(Array.isArray(raw) ? raw : [raw], opAt, env);
}

function constantRule(value: unknown): Rule {
  return () => value;
}

function arrayRule(items: readonly Rule[]): Rule {
  return (s, d) => {
    const out = new Array<unknown>(items.length);
    for (let i = 0; i < items.length; i++) out[i] = items[i]!(s, d);
    return out;
  };
}

function fractionalRule(args: unknown, at: string, env: CompileEnv): Rule {
  return compileFractional(args, at, env.fractional, (arg, argAt) => compileRule(arg, argAt, env));
}

/**
 * How deep `$ref`s may nest (an evaluator referring to one that refers to another…): far more than
 * a shared rule needs, and few enough that a chain of thousands is refused with a message instead
 * of overflowing the stack of whoever compiles it.
 */
export const MAX_REF_DEPTH = 64;

function compileRef(name: unknown, at: string, env: CompileEnv): Rule {
  if (typeof name !== "string") throw new RuleError(at, `$ref must name an evaluator, got ${JSON.stringify(name)}`);
  const cached = env.refs.get(name);
  if (cached) return cached;
  if (!Object.hasOwn(env.evaluators, name)) {
    const known = Object.keys(env.evaluators);
    throw new RuleError(
      at,
      `$ref "${name}" does not name an evaluator in $evaluators (${known.length ? known.join(", ") : "none defined"})`,
    );
  }
  if (env.refStack.length >= MAX_REF_DEPTH) {
    throw new RuleError(
      at,
      `$ref nests more than ${MAX_REF_DEPTH} evaluators deep (${env.refStack.slice(0, 3).join(" → ")} → …); refer to the rule you mean more directly`,
    );
  }
  if (env.refStack.includes(name)) {
    throw new RuleError(at, `$ref cycle: ${[...env.refStack.slice(env.refStack.indexOf(name)), name].join(" → ")}`);
  }
  env.refStack.push(name);
  try {
    const rule = compileRule(env.evaluators[name], `$evaluators.${name}`, env);
    env.refs.set(name, rule);
    return rule;
  } finally {
    env.refStack.pop();
  }
}

/** Each argument compiled; a loop, not `map` with a closure per call. */
function args(list: readonly unknown[], at: string, env: CompileEnv): Rule[] {
  const rules = new Array<Rule>(list.length);
  for (let i = 0; i < list.length; i++) rules[i] = compileRule(list[i], `${at}[${i}]`, env);
  return rules;
}
const arg = (list: unknown[], i: number, at: string, env: CompileEnv): Rule =>
  i < list.length ? compileRule(list[i], `${at}[${i}]`, env) : UNDEFINED;

/** Builds an operator over eagerly evaluated arguments. */
function eager(fn: (values: unknown[]) => unknown): OpCompiler {
  return (list, at, env) => {
    const rules = args(list, at, env);
    return (s, d) => {
      const values = new Array<unknown>(rules.length);
      for (let i = 0; i < rules.length; i++) values[i] = rules[i]!(s, d);
      return fn(values);
    };
  };
}

/** Builds a binary operator (missing arguments are `undefined`, as in json-logic-js). */
function binary(fn: (a: unknown, b: unknown) => unknown): OpCompiler {
  return (list, at, env) => {
    const a = arg(list, 0, at, env);
    const b = arg(list, 1, at, env);
    return (s, d) => fn(a(s, d), b(s, d));
  };
}

type Cmp = (a: unknown, b: unknown) => boolean;
/* eslint-disable @typescript-eslint/no-explicit-any -- JavaScript's relational coercion is the json-logic-js semantics */
const lt: Cmp = (a, b) => (a as any) < (b as any);
const le: Cmp = (a, b) => (a as any) <= (b as any);
const gt: Cmp = (a, b) => (a as any) > (b as any);
const ge: Cmp = (a, b) => (a as any) >= (b as any);
const minus = (a: unknown, b: unknown): number => (a as any) - (b as any);
const divide = (a: unknown, b: unknown): number => (a as any) / (b as any);
const modulo = (a: unknown, b: unknown): number => (a as any) % (b as any);
/* eslint-enable @typescript-eslint/no-explicit-any */

/** `<` and `<=` also take three arguments: `a < b < c`. */
function between(cmp: Cmp): OpCompiler {
  return (list, at, env) => {
    const a = arg(list, 0, at, env);
    const b = arg(list, 1, at, env);
    if (list.length < 3) return (s, d) => cmp(a(s, d), b(s, d));
    const c = arg(list, 2, at, env);
    return (s, d) => {
      const bv = b(s, d);
      return cmp(a(s, d), bv) && cmp(bv, c(s, d));
    };
  };
}

function compileVar(list: unknown[], at: string, env: CompileEnv): Rule {
  const path = list[0];
  const fallback = list.length > 1 ? compileRule(list[1], `${at}[1]`, env) : undefined;
  if (isPlainObject(path) || Array.isArray(path)) return computedVar(compileRule(path, `${at}[0]`, env), fallback);
  if (path === undefined || path === null || path === "") return WHOLE_DATA;
  // Read only by `lookup`, never handed out: not frozen (a runtime call per `var` in a fresh isolate).
  const segments: readonly string[] = String(path).split(".");
  const key = segments[0]!;
  // The common case, `{"var": "plan"}` against the context: one own-property read.
  if (!fallback && segments.length === 1 && key !== "$flagd") return contextVar(segments, key);
  return fallback ? varOr(segments, fallback) : varOf(segments);
}

const WHOLE_DATA: Rule = (s, d) => wholeData(s, d);

/** `var` of a path computed by a rule. */
function computedVar(pathRule: Rule, fallback: Rule | undefined): Rule {
  return (s, d) => {
    const p = pathRule(s, d);
    if (p === undefined || p === null || p === "") return wholeData(s, d);
    const found = lookup(s, d, String(p).split("."), undefined);
    return found === undefined ? (fallback ? fallback(s, d) : null) : found;
  };
}

function contextVar(segments: readonly string[], key: string): Rule {
  return (s, d) => {
    if (d !== ROOT) return lookup(s, d, segments, null);
    const ctx = s.ctx;
    if (!hasOwn(ctx, key)) return null;
    const value = ctx[key];
    return value === undefined ? null : value;
  };
}

function varOf(segments: readonly string[]): Rule {
  return (s, d) => lookup(s, d, segments, null);
}

function varOr(segments: readonly string[], fallback: Rule): Rule {
  return (s, d) => {
    const found = lookup(s, d, segments, undefined);
    return found === undefined ? fallback(s, d) : found;
  };
}

function compileMissing(list: unknown[], at: string, env: CompileEnv): Rule {
  const rules = args(list, at, env);
  return (s, d) => {
    const first = rules.length > 0 ? rules[0]!(s, d) : undefined;
    const keys: unknown[] = Array.isArray(first) ? first : rules.map((r) => r(s, d));
    const missing: unknown[] = [];
    for (const key of keys) {
      const value = key === null || key === undefined || key === "" ? wholeData(s, d) : lookup(s, d, String(key).split("."), null);
      if (value === null || value === "") missing.push(key);
    }
    return missing;
  };
}

function compileMissingSome(list: unknown[], at: string, env: CompileEnv): Rule {
  const need = arg(list, 0, at, env);
  const options = arg(list, 1, at, env);
  return (s, d) => {
    const wanted = options(s, d);
    const keys: unknown[] = Array.isArray(wanted) ? wanted : [];
    const missing: unknown[] = [];
    for (const key of keys) {
      const value = lookup(s, d, String(key).split("."), null);
      if (value === null || value === "") missing.push(key);
    }
    return keys.length - missing.length >= (need(s, d) as number) ? [] : missing;
  };
}

function compileIf(list: unknown[], at: string, env: CompileEnv): Rule {
  const rules = args(list, at, env);
  if (rules.length === 0) return () => null;
  if (rules.length === 3) {
    // By index: destructuring would run the array iterator for every `if` compiled.
    const c = rules[0]!;
    const t = rules[1]!;
    const e = rules[2]!;
    return (s, d) => (truthy(c(s, d)) ? t(s, d) : e(s, d));
  }
  return (s, d) => {
    let i = 0;
    for (; i < rules.length - 1; i += 2) {
      if (truthy(rules[i]!(s, d))) return rules[i + 1]!(s, d);
    }
    return i === rules.length - 1 ? rules[i]!(s, d) : null;
  };
}

function logical(isAnd: boolean): OpCompiler {
  return (list, at, env) => {
    const rules = args(list, at, env);
    return (s, d) => {
      let current: unknown = null;
      for (let i = 0; i < rules.length; i++) {
        current = rules[i]!(s, d);
        if (truthy(current) !== isAnd) return current;
      }
      return current;
    };
  };
}

/** `map`, `filter`, `all`, `none`, `some`: the second argument runs against each element. */
function scoped(finish: (items: unknown[], each: (item: unknown) => unknown) => unknown, empty: unknown): OpCompiler {
  return (list, at, env) => {
    const source = arg(list, 0, at, env);
    const each = arg(list, 1, at, env);
    return (s, d) => {
      const items = source(s, d);
      if (!Array.isArray(items)) return typeof empty === "function" ? (empty as () => unknown)() : empty;
      return finish(items, (item) => each(s, item));
    };
  };
}

function compileReduce(list: unknown[], at: string, env: CompileEnv): Rule {
  const source = arg(list, 0, at, env);
  const each = arg(list, 1, at, env);
  const initial = arg(list, 2, at, env);
  return (s, d) => {
    const start = initial(s, d);
    let accumulator: unknown = start === undefined ? null : start;
    const items = source(s, d);
    if (!Array.isArray(items)) return accumulator;
    for (const current of items) accumulator = each(s, { current, accumulator });
    return accumulator;
  };
}

function compileIn(list: unknown[], at: string, env: CompileEnv): Rule {
  const needle = arg(list, 0, at, env);
  const haystack = list[1];
  const members = Array.isArray(haystack) ? sharedMembers(env, haystack) : sharedEvaluatorMembers(haystack, env);
  if (members) return membership(needle, members);
  return dynamicIn(list, needle, at, env);
}

/** `in` over a string, or over a list evaluated with the context. */
function dynamicIn(list: unknown[], needle: Rule, at: string, env: CompileEnv): Rule {
  const haystack = list[1];
  if (typeof haystack === "string") return (s, d) => haystack.includes(String(needle(s, d)));
  const dynamic = arg(list, 1, at, env);
  return (s, d) => {
    const a = needle(s, d);
    const b = dynamic(s, d);
    if (typeof b === "string") return b.includes(String(a));
    if (Array.isArray(b)) return b.indexOf(a) !== -1;
    return false;
  };
}

/**
 * The members of a `$ref` to an evaluator that is a list of constants (how the FlagStore publishes
 * a long list used by many flags), read the first time a flag refers to it and shared by the rest.
 */
function sharedEvaluatorMembers(haystack: unknown, env: CompileEnv): Members | null {
  if (!isPlainObject(haystack) || typeof haystack["$ref"] !== "string" || Object.keys(haystack).length !== 1) return null;
  const name = haystack["$ref"];
  const target = Object.hasOwn(env.evaluators, name) ? env.evaluators[name] : undefined;
  if (!Array.isArray(target)) return null;
  let members = env.constantLists.get(target);
  if (members === undefined) {
    members = membersOf(target);
    env.constantLists.set(target, members);
  }
  return members;
}

/**
 * The list's members, or null when an item is not a constant. One loop, no callback per item:
 * it checks the items are constants and whether they are strings in ascending order; a list that
 * is not gets its `Set`, filled from where the order broke (at once, for a list never sorted).
 */
function membersOf(list: readonly unknown[]): Members | null {
  let set: Set<unknown> | undefined;
  let previous = "";
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    // Written out, not a call per item: in a fresh isolate this loop runs in the interpreter.
    if (!(item === null || typeof item === "string" || typeof item === "number" || typeof item === "boolean")) return null;
    if (set !== undefined) set.add(item);
    else if (typeof item === "string" && (i === 0 || previous < item)) previous = item;
    else {
      set = new Set<unknown>();
      for (let j = 0; j <= i; j++) set.add(list[j]);
    }
  }
  // A copy (one block copy, no loop): the compiled set never depends on its input staying as it was.
  return set === undefined ? { sorted: list.slice() as string[], set: undefined, lookups: 0 } : { sorted: undefined, set, lookups: 0 };
}

function setOf(list: readonly unknown[]): ReadonlySet<unknown> {
  const set = new Set<unknown>();
  for (let i = 0; i < list.length; i++) set.add(list[i]);
  return set;
}

/** Whether `value` is one of the members: the `Set`, or bisection of the sorted list until the `Set` pays. */
function isMember(members: Members, value: unknown): boolean {
  const set = members.set;
  if (set !== undefined) return set.has(value);
  const sorted = members.sorted!;
  if (++members.lookups >= SET_AFTER_LOOKUPS) members.set = setOf(sorted);
  if (typeof value !== "string") return false;
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const item = sorted[mid]!;
    if (item === value) return true;
    if (item < value) low = mid + 1;
    else high = mid - 1;
  }
  return false;
}

/**
 * One set of members per distinct list in a flag set: identical lists (the same ids copied into
 * forty flags) share it. Candidates are found by length and end elements, then compared element
 * by element, which is cheaper than serialising every list to find its twin. Null when an item
 * is not a constant (then `in` evaluates the list with the context).
 */
function sharedMembers(env: CompileEnv, list: readonly unknown[]): Members | null {
  if (list.length > 0 && !(isConstant(list[0]) && isConstant(list[list.length - 1]))) return null;
  const key = `${list.length}\u0000${String(list[0])}\u0000${String(list[list.length - 1])}`;
  const candidates = env.sets.get(key);
  if (candidates) {
    for (const candidate of candidates) {
      if (sameItems(candidate.items, list)) return candidate.members;
    }
  }
  const members = membersOf(list);
  if (members === null) return null;
  const entry = { items: list, members };
  if (candidates) candidates.push(entry);
  else env.sets.set(key, [entry]);
  return members;
}

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Kept apart from `compileIn` so the closure retains only the members, not the list's rule. */
function membership(needle: Rule, members: Members): Rule {
  return (s, d) => isMember(members, needle(s, d));
}

function stringCompare(test: (subject: string, part: string) => boolean): OpCompiler {
  return (list, at, env) => {
    if (list.length !== 2) {
      args(list, at, env); // still refuse unknown operators inside
      return () => null;
    }
    const a = arg(list, 0, at, env);
    const b = arg(list, 1, at, env);
    return (s, d) => {
      const subject = a(s, d);
      const part = b(s, d);
      return typeof subject === "string" && typeof part === "string" ? test(subject, part) : null;
    };
  };
}

/** `sem_ver` with its operator and, when constant, its versions parsed once at compile time. */
function compileSemVer(list: unknown[], at: string, env: CompileEnv): Rule {
  const op = list[1];
  if (list.length !== 3 || typeof op !== "string" || !SEM_VER_OPERATORS.has(op)) return eager(semVerOperator)(list, at, env);
  const side = (i: number): ((s: Parameters<Rule>[0], d: unknown) => SemVer | undefined) => {
    const raw = list[i];
    if (isPlainObject(raw) || Array.isArray(raw)) {
      const rule = compileRule(raw, `${at}[${i}]`, env);
      return (s, d) => parseSemVer(rule(s, d));
    }
    const parsed = parseSemVer(raw);
    return () => parsed;
  };
  const left = side(0);
  const right = side(2);
  return (s, d) => {
    const l = left(s, d);
    const r = right(s, d);
    if (!l || !r) return null;
    return compareWith(op, l, r);
  };
}

/** `cat` of two arguments (the usual `flagKey + id`) without an intermediate array. */
function compileCat(list: unknown[], at: string, env: CompileEnv): Rule {
  if (list.length !== 2) {
    return eager((values) => {
      let out = "";
      for (const v of values) out += String(v);
      return out;
    })(list, at, env);
  }
  const a = arg(list, 0, at, env);
  const b = arg(list, 1, at, env);
  return (s, d) => String(a(s, d)) + String(b(s, d));
}

function substr(values: unknown[]): string {
  const source = String(values[0]);
  const start = Number(values[1]) || 0;
  const end = values[2];
  if (typeof end === "number" && end < 0) {
    const rest = source.substr(start);
    return rest.substr(0, rest.length + end);
  }
  return end === undefined ? source.substr(start) : source.substr(start, Number(end));
}

const OPERATORS: Readonly<Record<string, OpCompiler>> = {
  var: compileVar,
  missing: compileMissing,
  missing_some: compileMissingSome,
  if: compileIf,
  "?:": compileIf,
  // eslint-disable-next-line eqeqeq -- json-logic-js loose equality
  "==": binary((a, b) => a == b),
  "===": binary((a, b) => a === b),
  // eslint-disable-next-line eqeqeq -- json-logic-js loose equality
  "!=": binary((a, b) => a != b),
  "!==": binary((a, b) => a !== b),
  "!": (list, at, env) => {
    const a = arg(list, 0, at, env);
    return (s, d) => !truthy(a(s, d));
  },
  "!!": (list, at, env) => {
    const a = arg(list, 0, at, env);
    return (s, d) => truthy(a(s, d));
  },
  or: logical(false),
  and: logical(true),
  ">": binary(gt),
  ">=": binary(ge),
  "<": between(lt),
  "<=": between(le),
  max: eager((values) => Math.max(...(values as number[]))),
  min: eager((values) => Math.min(...(values as number[]))),
  "+": eager((values) => {
    let sum = 0;
    for (const v of values) sum += toFloat(v);
    return sum;
  }),
  "*": eager((values) => {
    if (values.length === 0) return null;
    let product = toFloat(values[0]);
    for (let i = 1; i < values.length; i++) product *= toFloat(values[i]);
    return product;
  }),
  "-": (list, at, env) => {
    const a = arg(list, 0, at, env);
    if (list.length < 2) return (s, d) => -(a(s, d) as number);
    const b = arg(list, 1, at, env);
    return (s, d) => minus(a(s, d), b(s, d));
  },
  "/": binary(divide),
  "%": binary(modulo),
  map: scoped(
    (items, each) => items.map(each),
    () => [],
  ),
  filter: scoped(
    (items, each) => items.filter((item) => truthy(each(item))),
    () => [],
  ),
  all: scoped((items, each) => items.length > 0 && items.every((item) => truthy(each(item))), false),
  none: scoped((items, each) => !items.some((item) => truthy(each(item))), true),
  some: scoped((items, each) => items.some((item) => truthy(each(item))), false),
  reduce: compileReduce,
  merge: eager((values) => {
    const out: unknown[] = [];
    for (const v of values) {
      if (Array.isArray(v)) out.push(...(v as unknown[]));
      else out.push(v);
    }
    return out;
  }),
  in: compileIn,
  cat: compileCat,
  substr: eager(substr),
  // json-logic-js prints here; a Worker evaluating thousands of contexts must not, so `log` only
  // passes its argument through.
  log: (list, at, env) => arg(list, 0, at, env),
  starts_with: stringCompare((subject, part) => subject.startsWith(part)),
  ends_with: stringCompare((subject, part) => subject.endsWith(part)),
  sem_ver: compileSemVer,
  matches: (list, at, env) => compileMatches(list, at, (a, argAt) => compileRule(a, argAt, env), env.patterns),
  before: (list, at, env) => compileDateCompare(list, at, false, (a, argAt) => compileRule(a, argAt, env)),
  after: (list, at, env) => compileDateCompare(list, at, true, (a, argAt) => compileRule(a, argAt, env)),
};

/** The operator names the compiler accepts (besides `$ref`). */
export const OPERATOR_NAMES: readonly string[] = Object.freeze([...Object.keys(OPERATORS), "fractional"]);
