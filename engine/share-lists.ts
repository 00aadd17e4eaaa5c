/**
 * Normalises a flag set for the edge: each long constant list in an `in` (the same 4,000 ids
 * copied into forty flags) moves into `$evaluators` once, and the flags refer to it with `$ref`.
 * flagd inlines a `$ref`, so the meaning is unchanged; the snapshot shrinks by the copies, parses
 * faster, and the engine builds one `Set` for the list (see `compileIn`). A long list of individual
 * targets (`targets.<variant>`, the same customers overridden in many flags) is shared the same
 * way: the variant holds `{"$ref": name}`, which the engine reads back (see `compileTargets`).
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
  const share = (list: JsonValue): string => {
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
  if (!changed) return set;
  return { ...set, flags, $evaluators: { ...set.$evaluators, ...lists } };
}

function isLongConstantList(value: JsonValue): boolean {
  return Array.isArray(value) && value.length >= MIN_SHARED_LENGTH && value.every((item) => item === null || typeof item !== "object");
}
