/**
 * flagd's `sem_ver` operator: `{"sem_ver": [version, operator, version]}` with the operators
 * `=`, `!=`, `<`, `<=`, `>`, `>=`, `^` (same major) and `~` (same major and minor).
 *
 * Versions follow SemVer 2.0 precedence (build metadata ignored). As in flagd, a leading `v`/`V`
 * is accepted, partial versions `1` and `1.2` mean `1.0.0` and `1.2.0`, and numbers are read as
 * their decimal text. Anything else is not a version, and the operator answers `null` so the
 * flag falls back to its default variant.
 */

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: readonly (string | number)[];
}

const NUM = "(0|[1-9]\\d*)";
const PRE_ID = "(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)";
const FULL = new RegExp(`^${NUM}\\.${NUM}\\.${NUM}(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$`);
const PARTIAL = /^(\d+)(?:\.(\d+))?$/;

export const SEM_VER_OPERATORS: ReadonlySet<string> = new Set(["=", "!=", "<", "<=", ">", ">=", "^", "~"]);

/**
 * Parses a version as flagd does; `undefined` when it is not one.
 *
 * @example parseSemVer("v1.2.3-rc.1") // { major: 1, minor: 2, patch: 3, prerelease: ["rc", 1] }
 */
export function parseSemVer(raw: unknown): SemVer | undefined {
  if (typeof raw !== "string" && typeof raw !== "number") return undefined;
  const text = String(raw);
  // Contexts repeat a handful of app versions; remember recent parses (bounded, so a flood of
  // distinct strings cannot grow memory).
  const cached = PARSED.get(text);
  if (cached !== undefined) return cached ?? undefined;
  const parsed = parseText(text);
  if (PARSED.size >= PARSED_LIMIT) PARSED.clear();
  PARSED.set(text, parsed ? Object.freeze(parsed) : null);
  return parsed;
}

const PARSED = new Map<string, SemVer | null>();
const PARSED_LIMIT = 1024;

function parseText(raw: string): SemVer | undefined {
  let text = raw;
  if (text.startsWith("v") || text.startsWith("V")) text = text.slice(1);
  const full = FULL.exec(text);
  if (full) {
    const major = Number(full[1]);
    const minor = Number(full[2]);
    const patch = Number(full[3]);
    if (!Number.isSafeInteger(major) || !Number.isSafeInteger(minor) || !Number.isSafeInteger(patch)) return undefined;
    const prerelease = Object.freeze(full[4] ? full[4].split(".").map((id) => (/^\d+$/.test(id) ? Number(id) : id)) : []);
    return { major, minor, patch, prerelease };
  }
  const partial = PARTIAL.exec(text);
  if (partial) {
    const major = Number(partial[1]);
    const minor = partial[2] === undefined ? 0 : Number(partial[2]);
    if (!Number.isSafeInteger(major) || !Number.isSafeInteger(minor)) return undefined;
    return { major, minor, patch: 0, prerelease: [] };
  }
  return undefined;
}

/** SemVer 2.0 precedence: negative, zero or positive. */
export function compareSemVer(a: SemVer, b: SemVer): number {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1;
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch !== b.patch) return a.patch < b.patch ? -1 : 1;
  const pa = a.prerelease;
  const pb = b.prerelease;
  if (pa.length === 0 || pb.length === 0) return pb.length - pa.length; // release > prerelease
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const xn = typeof x === "number";
    const yn = typeof y === "number";
    if (xn && yn) return x < y ? -1 : 1;
    if (xn) return -1; // numeric identifiers sort before alphanumeric ones
    if (yn) return 1;
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/**
 * Applies `sem_ver` to already evaluated arguments; `null` on any invalid input.
 *
 * @example semVerOperator(["1.2.3", "^", "1.0.0"]) // true
 */
export function semVerOperator(args: readonly unknown[]): boolean | null {
  if (args.length !== 3) return null;
  const op = args[1];
  if (typeof op !== "string" || !SEM_VER_OPERATORS.has(op)) return null;
  const left = parseSemVer(args[0]);
  const right = parseSemVer(args[2]);
  if (!left || !right) return null;
  return compareWith(op, left, right);
}

/** Applies a `sem_ver` operator (one of `SEM_VER_OPERATORS`) to two parsed versions. */
export function compareWith(op: string, left: SemVer, right: SemVer): boolean {
  switch (op) {
    case "^":
      return left.major === right.major;
    case "~":
      return left.major === right.major && left.minor === right.minor;
  }
  const c = compareSemVer(left, right);
  switch (op) {
    case "=":
      return c === 0;
    case "!=":
      return c !== 0;
    case "<":
      return c < 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    default:
      return c >= 0;
  }
}
