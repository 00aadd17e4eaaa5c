/**
 * The targets aggregate: a flag's individual targets in one environment (variant → targeting
 * keys, rows of `flag_targets`, see `target-rows.ts`). Adding or removing keys costs the keys in
 * the call, never the keys already there, and never rewrites the flag's definition.
 */
import * as z from "zod";
import { MAX_TARGETS_PER_FLAG, targetIdProblem } from "../../engine/targets";
import { base64urlDecode, base64urlEncode } from "../../lib/crypto";
import { fail, ok, type Result } from "../../contracts/result";
import { describeProblems, iso, noFlag, parseDefinition } from "../store-records";
import { pushTarget, setTarget, targetCounts, targetVariant, writeTargets, type Targets, type TargetsDelta } from "../target-rows";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta } from "../store-types";
import {
  MAX_TARGET_CHARS_PER_CALL,
  MAX_TARGETS_PER_CALL,
  type TargetsChange,
  type TargetsChanged,
  type TargetsPage,
  type TargetsQuery,
} from "../../contracts/targets";

export {
  environmentTargets,
  flagTargets,
  putFlag,
  withTargets,
  withoutTargets,
  type Targets,
  type TargetsDelta,
} from "../target-rows";

/**
 * Makes a flag's targets exactly `targets` (undefined or `{}`: none), for a change that replaces
 * the flag as a whole (PUT flag, PUT flagd, an import). Call inside the caller's transaction
 * (`w.transaction` / `w.commit`), after the flag's row is written: the rows reference it. The
 * targets are not validated here; validate the flag (`validateFlagSet`) first. Only the keys
 * that differ are written; the result names them.
 *
 * A whole flag written with `putFlag` (its row, then its targets from `definition.targets`)
 * needs no separate call.
 *
 * @example
 * // inside w.commit(env, meta, (version, now) => …), once the flag "beta" has its row:
 * const delta = replaceTargets(w, env, "beta", { on: ["acme", "globex"] }, now, meta.actor);
 */
export function replaceTargets(
  w: UnitOfWork,
  environment: string,
  flag: string,
  targets: Targets | undefined,
  now: number,
  actor: string,
): TargetsDelta {
  return writeTargets(w.sql, environment, flag, targets, now, actor);
}

/**
 * Adds, moves and removes targeting keys of one flag in one environment: a key added under a
 * variant serves it (moving it from another), a removed key goes back to the flag's rules. Costs
 * the keys in the call (one indexed lookup each), never the keys already there, and never
 * rewrites the flag's definition. Bumps the environment's and the flag's version, audits
 * `flag.targets-changed` naming each key changed, announces `flag.updated`. A call that changes
 * nothing commits nothing (`changed: false`). Bad input (unknown variant, bad key, a key twice,
 * too many keys) is refused whole (400) and changes nothing.
 */
export async function changeTargets(
  w: UnitOfWork,
  environment: string,
  key: string,
  change: TargetsChange,
  meta: ChangeMeta,
): Promise<Result<TargetsChanged>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const row = w.flagRow(environment, key);
  if (!row) return fail(noFlag(environment, key));
  const variants = Object.keys(parseDefinition(row.definition).variants);
  const problems = checkChange(change, variants);
  if (problems.length > 0) return fail({ kind: "invalid", detail: describeProblems(problems), problems });

  const sql = w.sql;
  const current = (id: string) => targetVariant(sql, environment, key, id) ?? undefined;
  const writes: { id: string; variant: string | null; before: string | undefined }[] = [];
  let notPresent = 0;
  for (const [variant, ids] of Object.entries(change.add ?? {})) {
    for (const id of new Set(ids)) {
      const before = current(id);
      if (before !== variant) writes.push({ id, variant, before });
    }
  }
  for (const id of new Set(change.remove ?? [])) {
    const before = current(id);
    if (before === undefined) notPresent++;
    else writes.push({ id, variant: null, before });
  }
  const added = writes.filter((write) => write.before === undefined).length;
  if (added > 0) {
    const total = sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM flag_targets WHERE environment = ? AND flag = ?", environment, key)
      .one().n;
    const removed = writes.filter((write) => write.variant === null).length;
    if (total + added - removed > MAX_TARGETS_PER_FLAG) {
      const detail = `flag "${key}" would have ${total + added - removed} targets; a flag has at most ${MAX_TARGETS_PER_FLAG}: use a segment for larger groups`;
      return fail({ kind: "invalid", detail, problems: [{ path: "add", message: detail }] });
    }
  }
  const outcome = (changed: boolean, version: number): TargetsChanged => ({
    changed,
    version,
    added,
    moved: writes.filter((write) => write.before !== undefined && write.variant !== null).length,
    removed: writes.filter((write) => write.variant === null).length,
    notPresent,
    counts: targetCounts(sql, environment, key),
  });
  if (writes.length === 0) return ok(outcome(false, row.version));

  let done: TargetsChanged | undefined;
  w.transaction(() =>
    w.commit(
      environment,
      meta,
      (version, now) => {
        const joined: Record<string, string[]> = {};
        const left: Record<string, string[]> = {};
        for (const write of writes) {
          setTarget(sql, environment, key, write.id, write.variant, now, meta.actor, write.before ?? null);
          if (write.variant !== null) pushTarget(joined, write.variant, write.id);
          if (write.before !== undefined) pushTarget(left, write.before, write.id);
        }
        // The flag's own version moves too: a PUT based on what it was before is stale (412).
        sql.exec(
          "UPDATE flags SET version = ?, updated_at = ?, updated_by = ? WHERE environment = ? AND key = ?",
          version,
          now,
          meta.actor,
          environment,
          key,
        );
        done = outcome(true, version);
        return {
          action: "flag.targets-changed",
          target: `flag:${key}`,
          before: { targets: left },
          after: { targets: joined, added: done.added, moved: done.moved, removed: done.removed, counts: done.counts },
        };
      },
      Date.now(),
    ),
  );
  await w.scheduleDrain();
  return ok(done!);
}

/** Every problem with a change, each with its path in the request body. */
function checkChange(change: TargetsChange, variants: readonly string[]): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const addedTo = new Map<string, string>();
  let count = 0;
  let chars = 0;
  const checkId = (id: unknown, at: string): id is string => {
    count++;
    const problem = targetIdProblem(id);
    if (problem !== null || typeof id !== "string") {
      if (problems.length < 10) problems.push({ path: at, message: problem ?? "a target is a targeting key (a string)" });
      return false;
    }
    chars += id.length;
    return true;
  };
  for (const [variant, ids] of Object.entries(change.add ?? {})) {
    if (!variants.includes(variant)) {
      if (problems.length >= 10) continue;
      problems.push({ path: `add.${variant}`, message: `"${variant}" is not one of the variants (${variants.join(", ")})` });
      continue;
    }
    ids.forEach((id, i) => {
      if (!checkId(id, `add.${variant}[${i}]`)) return;
      const other = addedTo.get(id);
      if (other !== undefined && other !== variant && problems.length < 10)
        problems.push({ path: `add.${variant}[${i}]`, message: `"${id}" is also added to variant "${other}": a key serves one variant` });
      addedTo.set(id, variant);
    });
  }
  (change.remove ?? []).forEach((id, i) => {
    if (!checkId(id, `remove[${i}]`)) return;
    if (addedTo.has(id) && problems.length < 10)
      problems.push({ path: `remove[${i}]`, message: `"${id}" is both added and removed; send one or the other` });
  });
  if (count === 0)
    problems.push({ path: "(body)", message: 'name keys to change: {"add": {"<variant>": ["id"]}} and/or {"remove": ["id"]}' });
  if (count > MAX_TARGETS_PER_CALL)
    problems.push({ path: "(body)", message: `one call changes at most ${MAX_TARGETS_PER_CALL} keys, got ${count}; split the batch` });
  if (chars > MAX_TARGET_CHARS_PER_CALL)
    problems.push({
      path: "(body)",
      message: `one call names at most ${MAX_TARGET_CHARS_PER_CALL} characters of keys, got ${chars}; split the batch`,
    });
  return problems;
}

/** The cursor of a page: the last (variant, key) it held. */
const CursorSchema = z.tuple([z.string(), z.string()]);

function encodeCursor(variant: string, id: string): string {
  return base64urlEncode(JSON.stringify([variant, id]));
}

function decodeCursor(cursor: string): [string, string] | null {
  try {
    const bytes = base64urlDecode(cursor);
    if (bytes === null) return null;
    const parsed = CursorSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Pages a flag's targets in (variant, key) order, optionally of one variant only. */
export async function listTargets(w: UnitOfWork, environment: string, key: string, query: TargetsQuery): Promise<Result<TargetsPage>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const row = w.flagRow(environment, key);
  if (!row) return fail(noFlag(environment, key));
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
  if (query.cursor !== undefined && after === null)
    return fail({
      kind: "invalid",
      detail: "cursor: not a cursor this API returned; start again without it",
      problems: [{ path: "cursor", message: "not a cursor this API returned" }],
    });
  const [afterVariant, afterId] = after ?? ["", ""];
  const rows =
    query.variant === undefined
      ? w.sql
          .exec<TargetPageRow>(
            `SELECT target, variant, added_at, added_by FROM flag_targets WHERE environment = ? AND flag = ?
             AND (variant > ? OR (variant = ? AND target > ?)) ORDER BY variant, target LIMIT ?`,
            environment,
            key,
            afterVariant,
            afterVariant,
            afterId,
            query.limit + 1,
          )
          .toArray()
      : w.sql
          .exec<TargetPageRow>(
            `SELECT target, variant, added_at, added_by FROM flag_targets WHERE environment = ? AND flag = ? AND variant = ?
             AND target > ? ORDER BY target LIMIT ?`,
            environment,
            key,
            query.variant,
            afterVariant === query.variant ? afterId : "",
            query.limit + 1,
          )
          .toArray();
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return ok({
    version: row.version,
    counts: targetCounts(w.sql, environment, key),
    targets: page.map((r) => ({ id: r.target, variant: r.variant, addedAt: iso(r.added_at), addedBy: r.added_by })),
    next: rows.length > query.limit && last ? encodeCursor(last.variant, last.target) : null,
  });
}

interface TargetPageRow extends Record<string, SqlStorageValue> {
  target: string;
  variant: string;
  added_at: number;
  added_by: string;
}
