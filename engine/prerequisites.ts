/**
 * Prerequisites, an edgeflags extension to flagd: a flag may require other flags to evaluate to a
 * given variant for the same context before its own rules apply.
 *
 * Both walks here are iterative: a chain of thousands of prerequisites must get an answer (a
 * cycle, a tree too large), not overflow the stack of the Durable Object or isolate checking it.
 */
import type { Prerequisite } from "./types";

type Graph = Record<string, { prerequisites?: Prerequisite[] | undefined }>;

/**
 * The most flags evaluating one flag may evaluate through its prerequisites, counting a flag once
 * per way it is reached (`f → a → c` and `f → b → c` count `c` twice). Each is evaluated, and
 * inlined by the plain-flagd export, once per way, so the count must stay small: a lattice of 40
 * flags each requiring the next two would otherwise mean 10^8 evaluations per request.
 */
export const MAX_PREREQUISITE_TREE = 100;

/** The prerequisite keys of `key` that name a flag of the set. */
function edges(flags: Graph, key: string): string[] {
  const own = Object.hasOwn(flags, key) ? flags[key] : undefined;
  return (own?.prerequisites ?? []).map((p) => p.flag).filter((flag) => Object.hasOwn(flags, flag));
}

/** The first prerequisite cycle in a set of flags, as the keys along it (first key repeated last), or null. */
export function findPrerequisiteCycle(flags: Graph): string[] | null {
  const state = new Map<string, "visiting" | "done">();
  for (const root of Object.keys(flags)) {
    if (state.has(root)) continue;
    // Depth-first, with an explicit stack of (key, its prerequisites, the next one to visit).
    const stack: { key: string; next: string[]; at: number }[] = [{ key: root, next: edges(flags, root), at: 0 }];
    state.set(root, "visiting");
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.at === top.next.length) {
        state.set(top.key, "done");
        stack.pop();
        continue;
      }
      const key = top.next[top.at++]!;
      const seen = state.get(key);
      if (seen === "done") continue;
      if (seen === "visiting") {
        const path = stack.map((frame) => frame.key);
        return [...path.slice(path.indexOf(key)), key];
      }
      state.set(key, "visiting");
      stack.push({ key, next: edges(flags, key), at: 0 });
    }
  }
  return null;
}

/**
 * For each flag of an acyclic set, how many flag evaluations its prerequisites amount to (a flag
 * reached two ways counts twice), capped just above `MAX_PREREQUISITE_TREE` so the numbers stay
 * small whatever the set. Flags without prerequisites are left out.
 *
 * @example prerequisiteTreeSizes({ a: { prerequisites: [{ flag: "b", variant: "on" }] }, b: {} }) // Map { "a" => 1 }
 */
export function prerequisiteTreeSizes(flags: Graph): Map<string, number> {
  const cap = MAX_PREREQUISITE_TREE + 1;
  const size = new Map<string, number>();
  const expanding = new Set<string>();
  for (const root of Object.keys(flags)) {
    if (size.has(root)) continue;
    // Post-order: a flag's size once all its prerequisites have theirs.
    const stack: { key: string; expanded: boolean }[] = [{ key: root, expanded: false }];
    while (stack.length > 0) {
      const top = stack.pop()!;
      if (size.has(top.key)) continue;
      const next = edges(flags, top.key);
      if (!top.expanded) {
        if (expanding.has(top.key)) continue; // reached again through a cycle
        expanding.add(top.key);
        stack.push({ key: top.key, expanded: true });
        for (const key of next) if (!size.has(key)) stack.push({ key, expanded: false });
        continue;
      }
      let total = 0;
      // A flag still missing a size is on a cycle (reported elsewhere): count it once.
      for (const key of next) total = Math.min(cap, total + 1 + (size.get(key) ?? 0));
      size.set(top.key, total);
    }
  }
  for (const [key, total] of size) if (total === 0) size.delete(key);
  return size;
}
