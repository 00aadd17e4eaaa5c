/**
 * Normalises a flag set for the edge: each long constant list in an `in` (the same 4,000 ids
 * copied into forty flags) moves into `$evaluators` once, and the flags refer to it with `$ref`.
 * flagd inlines a `$ref`, so the meaning is unchanged; the snapshot shrinks by the copies, parses
 * faster, and the engine builds one `Set` for the list (see `compileIn`). A long list of individual
 * targets (`targets.<variant>`, the same customers overridden in many flags) is shared the same
 * way: the variant holds `{"$ref": name}`, which the engine reads back (see `compileTargets`).
 *
 * A long list of strings is published sorted (UTF-16 code units, JavaScript's `<`) with each id
 * once, in `$evaluators` and in an `in` inside an evaluator alike: only membership is asked of it,
 * so the meaning is the same, and an edge searches the parsed list by bisection instead of building
 * a `Set` in a fresh isolate. Nothing marks it: the edge checks the order as it reads the list
 * (which it does anyway, to see that every item is a constant) and builds a `Set` for a list out of
 * order — what a store before this one published — so old and new snapshots read alike both ways.
 */
import { setOwn } from "./names";
import type { FlagSet, JsonValue } from "./types";

/** Lists shorter than this stay inline: moving them saves nothing. */
const MIN_SHARED_LENGTH = 32;
export const SHARED_LIST_PREFIX = "edgeflags.list.";

export function shareConstantLists(set: FlagSet): FlagSet {
  const names = new Map<string, string>();
  // Ordinary objects (the result crosses RPC), written with `setOwn` so no key can reach a prototype.
  const lists: Record<string, JsonValue> = {};
  let changed = false;
  /** The shared name of a long constant list, registering it the first time. */
  const share = (original: JsonValue): string => {
    const list = normalised(original);
    const text = JSON.stringify(list);
    let name = names.get(text);
    if (!name) {
      name = `${SHARED_LIST_PREFIX}${names.size}`;
      names.set(text, name);
      setOwn(lists, name, list);
    }
    changed = true;
    return name;
  };
  /** A flag's rule: each long list in an `in` becomes a `$ref` to its shared copy. */
  const visit = (rule: JsonValue): JsonValue => {
    if (Array.isArray(rule)) return rule.map(visit);
    if (rule === null || typeof rule !== "object") return rule;
    const out: Record<string, JsonValue> = {};
    for (const [op, args] of Object.entries(rule)) {
      if (op === "in" && Array.isArray(args) && args.length === 2 && isLongConstantList(args[1]!)) {
        setOwn(out, op, [visit(args[0]!), { $ref: share(args[1]!) }]);
      } else setOwn(out, op, visit(args));
    }
    return out;
  };
  /**
   * An evaluator's rule: a long list in an `in` stays where it is (flagd resolves a `$ref` in a
   * flag, not one inside an evaluator), sorted and without repeats.
   */
  const visitEvaluator = (rule: JsonValue): JsonValue => {
    if (Array.isArray(rule)) return rule.map(visitEvaluator);
    if (rule === null || typeof rule !== "object") return rule;
    const out: Record<string, JsonValue> = {};
    for (const [op, args] of Object.entries(rule)) {
      if (op === "in" && Array.isArray(args) && args.length === 2 && isLongConstantList(args[1]!)) {
        const list = normalised(args[1]!);
        if (list !== args[1]) changed = true;
        setOwn(out, op, [visitEvaluator(args[0]!), list]);
      } else setOwn(out, op, visitEvaluator(args));
    }
    return out;
  };
  const flags: FlagSet["flags"] = {};
  const shareTargets = (targets: Record<string, string[]>): Record<string, string[]> => {
    const out: Record<string, string[]> = {};
    for (const [variant, ids] of Object.entries(targets)) {
      // The engine reads `{"$ref"}` in place of the list; the flag set's type only knows lists.
      setOwn(out, variant, isLongConstantList(ids) ? ({ $ref: share(ids) } as unknown as string[]) : ids);
    }
    return out;
  };
  for (const [key, flag] of Object.entries(set.flags)) {
    let shared = flag.targeting === undefined ? flag : { ...flag, targeting: visit(flag.targeting) };
    if (flag.targets) shared = { ...shared, targets: shareTargets(flag.targets) };
    setOwn(flags, key, shared);
  }
  // An evaluator that is itself a list may be read in order (`map`, `cat`, …): only the rules in
  // an evaluator are visited.
  let evaluators: Record<string, JsonValue> | undefined;
  if (set.$evaluators) {
    evaluators = {};
    for (const [name, rule] of Object.entries(set.$evaluators)) {
      setOwn(evaluators, name, Array.isArray(rule) ? rule : visitEvaluator(rule));
    }
  }
  if (!changed) return set;
  return { ...set, flags, $evaluators: { ...evaluators, ...lists } };
}

/** A long list of strings sorted, each once (the list itself when it already is); any other list as it is. */
function normalised(list: JsonValue): JsonValue {
  if (!Array.isArray(list)) return list;
  let ascending = true;
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (typeof item !== "string") return list;
    if (i > 0 && !((list[i - 1] as string) < item)) ascending = false;
  }
  if (ascending) return list;
  const sorted = (list as string[]).slice().sort();
  const out: string[] = [];
  for (const id of sorted) if (out.length === 0 || out[out.length - 1] !== id) out.push(id);
  return out;
}

function isLongConstantList(value: JsonValue): boolean {
  return Array.isArray(value) && value.length >= MIN_SHARED_LENGTH && value.every((item) => item === null || typeof item !== "object");
}
