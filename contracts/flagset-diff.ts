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
  targets?: unknown;
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

const FIELDS = ["state", "variants", "defaultVariant", "targeting", "metadata", "prerequisites", "targets"] as const;

/** Canonical JSON: object keys sorted, so key order never counts as a change. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Compares the flags of `a` (named `from`) and `b` (named `to`): all of both, or only `keys`. */
export function diffFlagSets<F extends DiffableFlag>(
  from: string,
  a: { flags: Record<string, F> },
  to: string,
  b: { flags: Record<string, F> },
  keys: string[] | null = null,
): FlagSetDiff<F> {
  const all = keys ?? [...new Set([...Object.keys(a.flags), ...Object.keys(b.flags)])].sort();
  const flags = all.map((key): FlagDiff<F> => {
    const left = Object.hasOwn(a.flags, key) ? a.flags[key]! : null;
    const right = Object.hasOwn(b.flags, key) ? b.flags[key]! : null;
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

/** A flag set as the 3-way check sees it: flags, plus the set-level `$evaluators` and `metadata`. */
export interface ComparableFlagSet {
  flags: Record<string, unknown>;
  $evaluators?: unknown;
  metadata?: unknown;
}

/** Something changed remotely since `base` that `local` does not already agree with. */
export interface RemoteChange {
  /** A flag key, or `$evaluators` / `metadata` for the set-level parts. */
  key: string;
  change: "changed" | "created" | "deleted";
}

/**
 * The 3-way check of a push: every flag (and the set-level `$evaluators` and `metadata`) that was
 * changed remotely since `base` was pulled, and that `local` would overwrite with something else.
 * A remote change `local` already has (both sides made the same edit) is no conflict.
 *
 * @example
 * remoteChanges(pulled, file, live); // [{ key: "checkout-kill-switch", change: "changed" }]
 */
export function remoteChanges(base: ComparableFlagSet, local: ComparableFlagSet, remote: ComparableFlagSet): RemoteChange[] {
  const entry = (set: ComparableFlagSet, key: string): string | null => (Object.hasOwn(set.flags, key) ? canonical(set.flags[key]) : null);
  const keys = [...new Set([...Object.keys(base.flags), ...Object.keys(local.flags), ...Object.keys(remote.flags)])].sort();
  const out: RemoteChange[] = [];
  for (const key of keys) {
    const [b, l, r] = [entry(base, key), entry(local, key), entry(remote, key)];
    if (r !== b && r !== l) out.push({ key, change: b === null ? "created" : r === null ? "deleted" : "changed" });
  }
  for (const part of ["$evaluators", "metadata"] as const) {
    const [b, l, r] = [canonical(base[part] ?? {}), canonical(local[part] ?? {}), canonical(remote[part] ?? {})];
    if (r !== b && r !== l) out.push({ key: part, change: "changed" });
  }
  return out;
}
