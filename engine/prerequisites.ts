/**
 * Prerequisites, an edgeflags extension to flagd: a flag may require other flags to evaluate to a
 * given variant for the same context before its own rules apply.
 */
import type { Prerequisite } from "./types";

/** The first prerequisite cycle in a set of flags, as the keys along it (first key repeated last), or null. */
export function findPrerequisiteCycle(flags: Record<string, { prerequisites?: Prerequisite[] | undefined }>): string[] | null {
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (key: string): string[] | null => {
    const seen = state.get(key);
    if (seen === "done") return null;
    if (seen === "visiting") return [...path.slice(path.indexOf(key)), key];
    state.set(key, "visiting");
    path.push(key);
    for (const p of flags[key]?.prerequisites ?? []) {
      if (!Object.hasOwn(flags, p.flag)) continue;
      const cycle = visit(p.flag);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(key, "done");
    return null;
  };
  for (const key of Object.keys(flags)) {
    const cycle = visit(key);
    if (cycle) return cycle;
  }
  return null;
}
