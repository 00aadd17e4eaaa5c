/**
 * The `before` and `after` operators, edgeflags extensions to flagd: `{"before": [a, b]}` is true
 * when date `a` is earlier than date `b`, `{"after": [a, b]}` when it is later.
 *
 * A date is an ISO 8601 date-time with an offset or `Z` (`2025-03-01T09:30:00+01:00`, fractions of
 * a second allowed), a bare date (`2025-03-01`, midnight UTC), or a number of unix milliseconds.
 * Anything else (a date-time without an offset, `null`, an impossible day) is not a date, and the
 * comparison is false. Constant sides are parsed once, when the flag set is compiled. The current
 * time in milliseconds is `{"*": [{"var": "$flagd.timestamp"}, 1000]}`.
 */
import type { Rule, Scope } from "./json-logic";

// One fixed shape, anchored, without nested quantifiers: linear time on any input.
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2})))?$/;

/**
 * A date as unix milliseconds, or `undefined` when the value is not one.
 *
 * @example parseDate("2025-03-01T10:00:00+01:00") // 1740819600000
 * @example parseDate("2025-03-01") // 1740787200000
 */
export function parseDate(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "string" || value.length > 40) return undefined;
  const m = ISO.exec(value);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (m[4] === undefined) return Date.UTC(year, month - 1, day);
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const millis = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  let offset = 0;
  if (m[9] !== undefined) {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    if (oh > 23 || om > 59) return undefined;
    offset = (m[9] === "-" ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offset;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Why a constant cannot be a side of `before`/`after`, or `null` when it can. */
export function dateProblem(value: unknown): string | null {
  if (parseDate(value) !== undefined) return null;
  return `${JSON.stringify(value)} is not a date: use an ISO 8601 date ("2025-03-01"), a date-time with an offset ("2025-03-01T09:30:00Z") or unix milliseconds`;
}

const isRule = (v: unknown): boolean => typeof v === "object" && v !== null;

/**
 * Compiles `before` (`later` false) or `after` (`later` true). Wrong arity compiles to false;
 * validation reports it.
 */
export function compileDateCompare(
  list: readonly unknown[],
  at: string,
  later: boolean,
  compileArg: (arg: unknown, at: string) => Rule,
): Rule {
  if (list.length !== 2) return () => false;
  const side = (i: number): ((s: Scope, d: unknown) => number | undefined) => {
    if (isRule(list[i])) {
      const rule = compileArg(list[i], `${at}[${i}]`);
      return (s, d) => parseDate(rule(s, d));
    }
    const constant = parseDate(list[i]);
    return () => constant;
  };
  const left = side(0);
  const right = side(1);
  return (s, d) => {
    const a = left(s, d);
    const b = right(s, d);
    if (a === undefined || b === undefined) return false;
    return later ? a > b : a < b;
  };
}
