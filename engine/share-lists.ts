/**
 * Normalises a flag set for the edge: each long constant list in an `in` (the same 4,000 ids
 * copied into forty flags) moves into `$evaluators` once, and the flags refer to it with `$ref`.
 * flagd inlines a `$ref`, so the meaning is unchanged; the snapshot shrinks by the copies, parses
 * faster, and the engine builds one `Set` for the list (see `compileIn`).
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
  const visit = (rule: JsonValue): JsonValue => {
    if (Array.isArray(rule)) return rule.map(visit);
    if (rule === null || typeof rule !== "object") return rule;
    const out: Record<string, JsonValue> = {};
    for (const [op, args] of Object.entries(rule)) {
      if (op === "in" && Array.isArray(args) && args.length === 2 && isLongConstantList(args[1]!)) {
        const text = JSON.stringify(args[1]);
        let name = names.get(text);
        if (!name) {
          name = `${SHARED_LIST_PREFIX}${names.size}`;
          names.set(text, name);
          setOwn(lists, name, args[1]!);
        }
        setOwn(out, op, [visit(args[0]!), { $ref: name }]);
        changed = true;
      } else setOwn(out, op, visit(args));
    }
    return out;
  };
  const flags: FlagSet["flags"] = {};
  for (const [key, flag] of Object.entries(set.flags)) {
    setOwn(flags, key, flag.targeting === undefined ? flag : { ...flag, targeting: visit(flag.targeting) });
  }
  if (!changed) return set;
  return { ...set, flags, $evaluators: { ...set.$evaluators, ...lists } };
}

function isLongConstantList(value: JsonValue): boolean {
  return Array.isArray(value) && value.length >= MIN_SHARED_LENGTH && value.every((item) => item === null || typeof item !== "object");
}
