/**
 * A readable before/after diff of two JSON documents: one line per changed leaf, addressed by a
 * dotted path, for the audit log and the conflict view.
 *
 * @example
 * diffJson({ state: "ENABLED" }, { state: "DISABLED" })
 * // [{ path: "state", change: "changed", before: '"ENABLED"', after: '"DISABLED"' }]
 */
export interface DiffLine {
  path: string;
  change: "added" | "removed" | "changed";
  before: string | null;
  after: string | null;
}

/** Arrays of scalars are compared whole (a list of ids reads better as one line than as 500). */
function flatten(value: unknown, path: string, out: Map<string, string>): void {
  if (value !== null && typeof value === "object") {
    const scalarArray = Array.isArray(value) && value.every((item) => item === null || typeof item !== "object");
    const entries = Object.entries(value);
    if (!scalarArray && entries.length > 0) {
      for (const [key, child] of entries) flatten(child, path ? `${path}.${key}` : key, out);
      return;
    }
  }
  out.set(path || "(value)", JSON.stringify(value));
}

export function diffJson(before: unknown, after: unknown): DiffLine[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  if (before !== null && before !== undefined) flatten(before, "", a);
  if (after !== null && after !== undefined) flatten(after, "", b);
  const lines: DiffLine[] = [];
  const covered = (map: Map<string, string>, path: string) => [...map.keys()].some((key) => key.startsWith(`${path}.`));
  for (const path of new Set([...a.keys(), ...b.keys()])) {
    const was = a.get(path) ?? null;
    const now = b.get(path) ?? null;
    if (was === now) continue;
    // `{}` becoming `{"x": 1}` reads better as "x added" alone.
    if (was !== null && now === null && (was === "{}" || was === "[]") && covered(b, path)) continue;
    if (now !== null && was === null && (now === "{}" || now === "[]") && covered(a, path)) continue;
    lines.push({ path, change: was === null ? "added" : now === null ? "removed" : "changed", before: was, after: now });
  }
  return lines.sort((x, y) => x.path.localeCompare(y.path));
}

/**
 * A long diff folded to its first `depth` path segments (for a flag set: one line per flag),
 * each marked added, removed or changed.
 *
 * @example
 * summarizeDiff(diffJson({ flags: {} }, { flags: { a: { state: "ENABLED" } } }), 2)
 * // [{ path: "flags.a", change: "added", before: null, after: null }]
 */
export function summarizeDiff(lines: DiffLine[], depth: number): DiffLine[] {
  const groups = new Map<string, DiffLine["change"][]>();
  for (const line of lines) {
    const path = line.path.split(".").slice(0, depth).join(".");
    groups.set(path, [...(groups.get(path) ?? []), line.change]);
  }
  return [...groups].map(([path, changes]) => ({
    path,
    change: changes.every((c) => c === "added") ? "added" : changes.every((c) => c === "removed") ? "removed" : "changed",
    before: null,
    after: null,
  }));
}
