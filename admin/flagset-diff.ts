/**
 * How two flag sets differ, flag by flag: used by environment compare/promote and by the CLI's
 * `diff` and `push`. Self-contained (no imports) so the CLI can load it with Node directly.
 */

interface DiffableFlag {
  state: string;
  variants: Record<string, unknown>;
  defaultVariant?: string | null | undefined;
  targeting?: unknown;
  metadata?: Record<string, unknown> | undefined;
  prerequisites?: unknown;
}

export interface FlagDiff<F extends DiffableFlag = DiffableFlag> {
  key: string;
  status: "same" | "different" | `only-in-${string}`;
  /** Top-level fields that differ. */
  fields: string[];
  from: F | null;
  to: F | null;
}

export interface FlagSetDiff<F extends DiffableFlag = DiffableFlag> {
  from: string;
  to: string;
  flags: FlagDiff<F>[];
}

const FIELDS = ["state", "variants", "defaultVariant", "targeting", "metadata", "prerequisites"] as const;

/** Canonical JSON: object keys sorted, so key order never counts as a change. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Compares the flags of `a` (named `from`) and `b` (named `to`): all of both, or only `keys`. */
export function diffFlagSets<F extends DiffableFlag>(from: string, a: { flags: Record<string, F> }, to: string, b: { flags: Record<string, F> }, keys: string[] | null = null): FlagSetDiff<F> {
  const all = keys ?? [...new Set([...Object.keys(a.flags), ...Object.keys(b.flags)])].sort();
  const flags = all.map((key): FlagDiff<F> => {
    const left = a.flags[key] ?? null;
    const right = b.flags[key] ?? null;
    if (!left || !right) return { key, status: `only-in-${left ? from : to}`, fields: [], from: left, to: right };
    const fields = FIELDS.filter((field) => canonical(left[field]) !== canonical(right[field]));
    return { key, status: fields.length ? "different" : "same", fields, from: left, to: right };
  });
  return { from, to, flags };
}

/** The diff as lines for a terminal: `+ key` only in `to`, `- key` only in `from`, `~ key: fields`. */
export function describeDiff(diff: FlagSetDiff): string[] {
  const lines: string[] = [];
  for (const flag of diff.flags) {
    if (flag.status === "same") continue;
    if (flag.status === `only-in-${diff.to}`) lines.push(`+ ${flag.key} (only in ${diff.to})`);
    else if (flag.status === `only-in-${diff.from}`) lines.push(`- ${flag.key} (only in ${diff.from})`);
    else {
      lines.push(`~ ${flag.key}: ${flag.fields.join(", ")}`);
      for (const field of flag.fields) {
        lines.push(`    ${field}: ${canonical((flag.from as unknown as Record<string, unknown>)[field])}`);
        lines.push(`    ${" ".repeat(field.length)}→ ${canonical((flag.to as unknown as Record<string, unknown>)[field])}`);
      }
    }
  }
  return lines;
}
