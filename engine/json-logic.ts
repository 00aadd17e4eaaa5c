/**
 * Runtime pieces of the JsonLogic engine: the compiled-rule type, the evaluation scope, and the
 * json-logic-js semantics every operator shares (truthiness, `var` lookup, numeric coercion).
 *
 * Rules are compiled once (see `compile.ts`) into closures `(scope, data) => value`. `data` is the
 * value `var` reads from: the sentinel `ROOT` for the evaluation context (then `$flagd.*` comes
 * from the scope and everything else from the caller's context, which is never copied), or the
 * current element inside `map`, `filter`, `reduce`, `all`, `none` and `some`.
 */

/** Marks "the evaluation context" as the data `var` reads from. */
export const ROOT: unique symbol = Symbol("edgeflags.root");

/** Per-evaluation state. One scope is reused across all flags of a bulk evaluation. */
export interface Scope {
  /** The caller's evaluation context, read in place. */
  ctx: Readonly<Record<string, unknown>>;
  /** `$flagd.flagKey`: the key of the flag being evaluated. */
  flagKey: string;
  /** `$flagd.timestamp`: unix seconds, an integer. */
  timestamp: number;
}

/** A compiled JsonLogic rule. */
export type Rule = (scope: Scope, data: unknown) => unknown;

/** A rule that cannot compile: unknown operator, bad `$ref`, bad `fractional` arguments, … */
export class RuleError extends Error {
  constructor(
    /** Where in the rule, e.g. `if[0].fractional[1]`. */
    readonly at: string,
    /** What is wrong, without the location. */
    readonly detail: string,
  ) {
    super(at ? `${at}: ${detail}` : detail);
    this.name = "RuleError";
  }
}

/** json-logic-js truthiness: like JavaScript's, except that an empty array is falsy. */
export function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return !!value;
}

const hasOwn = Object.hasOwn;

/**
 * Reads a dotted path as json-logic-js `var` does: a missing step (or an `undefined` leaf) gives
 * `notFound`; a `null` leaf is returned as `null`. Only own properties are read, so `constructor`
 * or `__proto__` in a path never reach the prototype.
 */
export function lookup(scope: Scope, data: unknown, path: readonly string[], notFound: unknown): unknown {
  let current: unknown = data;
  let i = 0;
  if (data === ROOT) {
    if (path[0] === "$flagd") {
      if (path.length === 1) return { flagKey: scope.flagKey, timestamp: scope.timestamp };
      const property = path[1];
      current = property === "flagKey" ? scope.flagKey : property === "timestamp" ? scope.timestamp : undefined;
      if (current === undefined) return notFound;
      i = 2;
    } else {
      current = scope.ctx;
    }
  }
  for (; i < path.length; i++) {
    if (current === null || typeof current !== "object") return notFound;
    const key = path[i]!;
    if (!hasOwn(current, key)) return notFound;
    current = (current as Record<string, unknown>)[key];
  }
  return current === undefined ? notFound : current;
}

/** The whole data `var` sees for an empty path: at the root, the context with `$flagd`. */
export function wholeData(scope: Scope, data: unknown): unknown {
  if (data !== ROOT) return data;
  return { ...scope.ctx, $flagd: { flagKey: scope.flagKey, timestamp: scope.timestamp } };
}

/** json-logic-js `+` and `*` read their operands with `parseFloat`. */
export function toFloat(value: unknown): number {
  return typeof value === "number" ? value : Number.parseFloat(String(value));
}
