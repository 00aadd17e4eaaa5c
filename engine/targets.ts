/**
 * Individual targets, an edgeflags extension to flagd: `targets` maps a variant to the targeting
 * keys that are served it (a customer override), checked after the kill switch and the
 * prerequisites and before `targeting`. Validated and normalised here (each id once, ids in code
 * point order, no empty lists), compiled once per flag set into a `Map` of id → variant.
 *
 * In a snapshot a long list may be shared with other flags (`share-lists.ts`): the variant then
 * holds `{"$ref": "<name>"}`, a list in `$evaluators`, which the compiler reads in place of the list.
 */
import { setOwn } from "./names";
import type { JsonValue } from "./types";

/** A validation problem, as `validate.ts` reports them. */
interface Problem {
  path: string;
  message: string;
}

/** The most targeting keys one flag may list, across its variants. */
export const MAX_TARGETS_PER_FLAG = 100_000;
/** The longest targeting key a target may name. */
export const MAX_TARGET_LENGTH = 256;
/** Problems reported per flag about its ids; the rest are counted in the last one. */
const MAX_ID_PROBLEMS = 10;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why `id` cannot be a target, or null when it can. */
export function targetIdProblem(id: unknown): string | null {
  if (typeof id !== "string") return `a target is a targeting key (a string), got ${id === null ? "null" : typeof id}`;
  if (id === "") return "a target must not be empty";
  if (id.length > MAX_TARGET_LENGTH) return `a target is at most ${MAX_TARGET_LENGTH} characters, got ${id.length}`;
  if (CONTROL.test(id)) return "a target must not contain control characters";
  return null;
}

/** Orders targeting keys by code point, the order SQLite's BINARY collation (UTF-8 bytes) keeps them in. */
export function compareTargetIds(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800–DFFF) encode code points above U+FFFF: they sort after U+E000–FFFF.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/**
 * Checks a flag's `targets` against its variants and returns them normalised (undefined when
 * there are none); pushes a problem (path under `path`) for each thing wrong.
 */
export function checkTargets(
  input: unknown,
  variants: readonly string[],
  path: string,
  problems: Problem[],
): Record<string, string[]> | undefined {
  if (input === undefined) return undefined;
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    problems.push({ path, message: 'targets must be an object of variant → targeting keys, e.g. {"on": ["customer-1"]}' });
    return undefined;
  }
  const out: Record<string, string[]> = {};
  const seen = new Map<string, string>();
  let idProblems = 0;
  const idProblem = (at: string, message: string) => {
    if (idProblems++ < MAX_ID_PROBLEMS) problems.push({ path: at, message });
  };
  for (const [variant, ids] of Object.entries(input)) {
    const at = `${path}.${variant}`;
    if (!variants.includes(variant)) {
      problems.push({ path: at, message: `"${variant}" is not one of the variants (${variants.join(", ")})` });
      continue;
    }
    if (!Array.isArray(ids)) {
      problems.push({ path: at, message: "a variant's targets are a list of targeting keys" });
      continue;
    }
    const kept: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id: unknown = ids[i];
      const problem = targetIdProblem(id);
      if (problem !== null || typeof id !== "string") {
        idProblem(`${at}[${i}]`, problem ?? "a target is a targeting key (a string)");
        continue;
      }
      const other = seen.get(id);
      if (other === undefined) {
        seen.set(id, variant);
        kept.push(id);
      } else if (other !== variant) idProblem(`${at}[${i}]`, `"${id}" is also a target of variant "${other}": a key serves one variant`);
    }
    if (kept.length > 0) setOwn(out, variant, kept.sort(compareTargetIds));
  }
  if (idProblems > MAX_ID_PROBLEMS) {
    problems.push({ path, message: `${idProblems - MAX_ID_PROBLEMS} more targets have problems like the ones above` });
  }
  if (seen.size > MAX_TARGETS_PER_FLAG) {
    problems.push({
      path,
      message: `a flag lists at most ${MAX_TARGETS_PER_FLAG} targets, got ${seen.size}; use a segment for larger groups`,
    });
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Compiles a flag's targets into id → variant, resolving shared lists (`{"$ref"}`) from
 * `evaluators`. Never throws: returns `{ error }` for anything the validator would have refused
 * (an unknown variant, a list that is not a list of strings), so the flag degrades alone.
 */
export function compileTargets(
  input: unknown,
  variants: Readonly<Record<string, unknown>>,
  evaluators: Readonly<Record<string, unknown>>,
): { targets?: ReadonlyMap<string, string>; error?: string } {
  if (input === undefined || input === null) return {};
  if (typeof input !== "object" || Array.isArray(input)) return { error: "targets: must be an object of variant → targeting keys" };
  const targets = new Map<string, string>();
  for (const [variant, raw] of Object.entries(input)) {
    if (!Object.hasOwn(variants, variant)) return { error: `targets.${variant}: not one of the variants` };
    const ids = resolveList(raw, evaluators);
    if (!ids) return { error: `targets.${variant}: not a list of targeting keys` };
    for (const id of ids) {
      if (typeof id !== "string") return { error: `targets.${variant}: not a list of targeting keys` };
      if (!targets.has(id)) targets.set(id, variant);
    }
  }
  return targets.size > 0 ? { targets } : {};
}

function resolveList(raw: unknown, evaluators: Readonly<Record<string, unknown>>): readonly unknown[] | undefined {
  if (Array.isArray(raw)) return raw;
  if (typeof raw === "object" && raw !== null && Object.keys(raw).length === 1 && Object.hasOwn(raw, "$ref")) {
    const name: unknown = (raw as { $ref: unknown }).$ref;
    if (typeof name !== "string" || !Object.hasOwn(evaluators, name)) return undefined;
    const list = evaluators[name];
    return Array.isArray(list) ? list : undefined;
  }
  return undefined;
}

/**
 * The plain-flagd rule for a flag's targets in front of `rest` (its own rule or its default):
 * `{"if": [{"in": [{"var": "targetingKey"}, [ids]]}, "variant", …, rest]}`; `rest` itself when
 * there are no targets.
 */
export function targetsRule(targets: Record<string, string[]> | undefined, rest: JsonValue): JsonValue {
  const entries = Object.entries(targets ?? {}).filter(([, ids]) => ids.length > 0);
  if (entries.length === 0) return rest;
  const branches: JsonValue[] = [];
  for (const [variant, ids] of entries) branches.push({ in: [{ var: "targetingKey" }, ids] }, variant);
  return { if: [...branches, rest] };
}
