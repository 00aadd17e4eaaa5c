/**
 * The `matches` operator, an edgeflags extension to flagd: `{"matches": [subject, "pattern", "flags"?]}`
 * is true when the subject is a string containing a match of the pattern (an unanchored search, as
 * LaunchDarkly's `matches` and Go's `regexp.MatchString`; anchor with `^`/`$`).
 *
 * Patterns use RE2 syntax through `re2js`, which matches in time linear in the input: no pattern,
 * however hostile (`(a+)+$`), can stall the edge with catastrophic backtracking. The pattern must be
 * a constant string and is compiled once, when the flag set is; flags are `i` (case-insensitive),
 * `m` (`^`/`$` at line breaks) and `s` (`.` matches a newline). A non-string subject is false.
 */
import { RE2JS } from "re2js";
import { RuleError } from "./json-logic";
import type { Rule } from "./json-logic";

/** The flags `matches` accepts, with their RE2 bits. */
const FLAG_BITS: Readonly<Record<string, number>> = { i: RE2JS.CASE_INSENSITIVE, m: RE2JS.MULTILINE, s: RE2JS.DOTALL };

/** Longer patterns are refused: compiling is linear in the pattern, but a flag set's rules stay small. */
export const MAX_PATTERN_LENGTH = 4096;

/** A compiled pattern: `test` is an unanchored search. */
export interface Pattern {
  test(input: string): boolean;
}

/** Why a `matches` pattern or its flags cannot be used, or `null` when they can. */
export function patternProblem(pattern: unknown, flags: unknown): string | null {
  const parsed = parsePattern(pattern, flags);
  return "problem" in parsed ? parsed.problem : null;
}

type Parsed = { pattern: Pattern } | { problem: string; argument: 1 | 2 };

function parsePattern(pattern: unknown, flags: unknown): Parsed {
  if (typeof pattern !== "string") {
    return {
      argument: 1,
      problem: `the pattern must be a constant string (it is compiled once, with the flag set), got ${JSON.stringify(pattern)}`,
    };
  }
  if (pattern.length > MAX_PATTERN_LENGTH)
    return { argument: 1, problem: `the pattern is ${pattern.length} characters long; at most ${MAX_PATTERN_LENGTH}` };
  let bits = 0;
  if (flags !== undefined) {
    if (typeof flags !== "string")
      return { argument: 2, problem: `the flags must be a string of i, m and s, got ${JSON.stringify(flags)}` };
    for (const flag of flags) {
      const bit = Object.hasOwn(FLAG_BITS, flag) ? FLAG_BITS[flag]! : 0;
      if (bit === 0 || bits & bit)
        return { argument: 2, problem: `the flags must be a string of i, m and s, each at most once, got ${JSON.stringify(flags)}` };
      bits |= bit;
    }
  }
  try {
    return { pattern: RE2JS.compile(pattern, bits) };
  } catch (e) {
    // re2js explains the syntax error ("missing closing )", "invalid or unsupported Perl syntax").
    return { argument: 1, problem: `not an RE2 regular expression: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/**
 * Compiles `{"matches": [subject, pattern, flags?]}`. `cache` shares one compiled pattern between
 * every rule of a flag set that uses it.
 *
 * @example compileMatches([{ var: "email" }, "@example\\.com$"], "matches", compileArg, new Map())
 */
export function compileMatches(
  list: readonly unknown[],
  at: string,
  compileArg: (arg: unknown, at: string) => Rule,
  cache: Map<string, Pattern>,
): Rule {
  if (list.length !== 2 && list.length !== 3) {
    throw new RuleError(at, `matches takes 2 or 3 arguments (subject, pattern, flags), got ${list.length}`);
  }
  const flags = list[2];
  const key = typeof list[1] === "string" && (flags === undefined || typeof flags === "string") ? `${flags ?? ""}/${list[1]}` : null;
  let pattern = key === null ? undefined : cache.get(key);
  if (!pattern) {
    const parsed = parsePattern(list[1], flags);
    if ("problem" in parsed) throw new RuleError(`${at}[${parsed.argument}]`, parsed.problem);
    pattern = parsed.pattern;
    if (key !== null) cache.set(key, pattern);
  }
  const subject = compileArg(list[0], `${at}[0]`);
  const compiled = pattern;
  return (s, d) => {
    const value = subject(s, d);
    if (typeof value !== "string") return false;
    try {
      return compiled.test(value);
    } catch {
      return false; // evaluation never throws; re2js does not on a compiled pattern, this guards it
    }
  };
}
