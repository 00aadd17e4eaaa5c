/**
 * A flag's individual targets as rows of `flag_targets`, one per targeting key, so adding or
 * removing one customer touches one row and never rewrites the flag's definition. The definition
 * JSON in `flags` never holds `targets`: they are attached wherever a definition is read (a flag,
 * a flag set, the snapshot) and taken off wherever one is written.
 */
import { setOwn } from "../engine/names";
import type { FlagDefinition } from "../engine/types";

/** Variant → targeting keys, as `FlagDefinition.targets`. */
export type Targets = Record<string, string[]>;

/** What replacing or changing a flag's targets did, id by id. */
export interface TargetsDelta {
  /** Keys that were not targeted before, by the variant they now serve. */
  added: Targets;
  /** Keys that now serve another variant, by that variant. */
  moved: Targets;
  /** Keys that left a variant (moved away or removed), by the variant they served. */
  left: Targets;
  removed: number;
}

interface TargetRow extends Record<string, SqlStorageValue> {
  flag: string;
  variant: string;
  target: string;
}

/** Groups rows ordered by (flag, variant, target) into targets per flag. Ordinary objects: they cross RPC. */
function group(rows: Iterable<TargetRow>): Map<string, Targets> {
  const out = new Map<string, Targets>();
  for (const row of rows) {
    let targets = out.get(row.flag);
    if (!targets) out.set(row.flag, (targets = {}));
    const ids = Object.hasOwn(targets, row.variant) ? targets[row.variant]! : undefined;
    if (ids) ids.push(row.target);
    else setOwn(targets, row.variant, [row.target]);
  }
  return out;
}

/** Every targeted flag's targets in one environment (one indexed scan); flags without targets are absent. */
export function environmentTargets(sql: SqlStorage, environment: string): Map<string, Targets> {
  return group(
    sql.exec<TargetRow>("SELECT flag, variant, target FROM flag_targets WHERE environment = ? ORDER BY flag, variant, target", environment),
  );
}

/** One flag's targets, or undefined when it has none. Ids per variant in byte (code point) order. */
export function flagTargets(sql: SqlStorage, environment: string, flag: string): Targets | undefined {
  return group(
    sql.exec<TargetRow>(
      "SELECT flag, variant, target FROM flag_targets WHERE environment = ? AND flag = ? ORDER BY variant, target",
      environment,
      flag,
    ),
  ).get(flag);
}

/** The definition as read: its stored JSON with the flag's targets, when it has any. */
export function withTargets(definition: FlagDefinition, targets: Targets | undefined): FlagDefinition {
  const { targets: _stored, ...rest } = definition;
  return targets && Object.keys(targets).length > 0 ? { ...rest, targets } : rest;
}

/** The definition as stored in `flags.definition`: everything but its targets. */
export function withoutTargets(definition: FlagDefinition): FlagDefinition {
  const { targets: _targets, ...rest } = definition;
  return rest;
}

/** The variant each listed key is targeted with. */
function byKey(targets: Targets | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const [variant, ids] of Object.entries(targets ?? {})) for (const id of ids) out.set(id, variant);
  return out;
}

/** Appends `id` to `into[variant]`, as an own property whatever the variant is called. */
export function pushTarget(into: Targets, variant: string, id: string): void {
  const ids = Object.hasOwn(into, variant) ? into[variant]! : undefined;
  if (ids) ids.push(id);
  else setOwn(into, variant, [id]);
}

/** Whether two target lists say the same (each key → the same variant), whatever their order. */
export function sameTargets(a: Targets | undefined, b: Targets | undefined): boolean {
  const left = byKey(a);
  const right = byKey(b);
  if (left.size !== right.size) return false;
  for (const [id, variant] of left) if (right.get(id) !== variant) return false;
  return true;
}

/** The variant one key is targeted with in a flag, or null. One primary-key lookup. */
export function targetVariant(sql: SqlStorage, environment: string, flag: string, id: string): string | null {
  return (
    sql
      .exec<{ variant: string }>(
        "SELECT variant FROM flag_targets WHERE environment = ? AND flag = ? AND target = ?",
        environment,
        flag,
        id,
      )
      .toArray()[0]?.variant ?? null
  );
}

/**
 * Sets one key's target row (`variant`) or deletes it (`null`); call inside the change's
 * transaction. `before` is the variant it has now, when the caller has just read it. Returns it.
 */
export function setTarget(
  sql: SqlStorage,
  environment: string,
  flag: string,
  id: string,
  variant: string | null,
  now: number,
  actor: string,
  before: string | null = targetVariant(sql, environment, flag, id),
): string | null {
  if (before === variant) return before;
  if (variant === null) {
    sql.exec("DELETE FROM flag_targets WHERE environment = ? AND flag = ? AND target = ?", environment, flag, id);
  } else if (before === null) {
    sql.exec(
      "INSERT INTO flag_targets (environment, flag, target, variant, added_at, added_by) VALUES (?, ?, ?, ?, ?, ?)",
      environment,
      flag,
      id,
      variant,
      now,
      actor,
    );
  } else {
    sql.exec(
      "UPDATE flag_targets SET variant = ?, added_at = ?, added_by = ? WHERE environment = ? AND flag = ? AND target = ?",
      variant,
      now,
      actor,
      environment,
      flag,
      id,
    );
  }
  return before;
}

/**
 * Makes a flag's target rows exactly `targets` (undefined or `{}`: none), touching only the keys
 * that differ; call inside the change's transaction, after the flag's row exists (the rows
 * reference it and go with it when it is deleted). Returns what changed.
 */
export function writeTargets(
  sql: SqlStorage,
  environment: string,
  flag: string,
  targets: Targets | undefined,
  now: number,
  actor: string,
): TargetsDelta {
  const current = byKey(flagTargets(sql, environment, flag));
  const wanted = byKey(targets);
  const delta: TargetsDelta = { added: {}, moved: {}, left: {}, removed: 0 };
  const gone: string[] = [];
  for (const [id, variant] of wanted) {
    const before = current.get(id);
    if (before === variant) continue;
    if (before === undefined) pushTarget(delta.added, variant, id);
    else {
      pushTarget(delta.moved, variant, id);
      pushTarget(delta.left, before, id);
      gone.push(id);
    }
  }
  for (const [id, variant] of current) {
    if (wanted.has(id)) continue;
    pushTarget(delta.left, variant, id);
    gone.push(id);
    delta.removed++;
  }
  // In bulk: a statement per chunk of keys, not per key (an import writes hundreds of thousands).
  // A moved key is deleted and inserted again under its new variant.
  for (const ids of chunks(gone)) {
    sql.exec(
      "DELETE FROM flag_targets WHERE environment = ? AND flag = ? AND target IN (SELECT value FROM json_each(?))",
      environment,
      flag,
      JSON.stringify(ids),
    );
  }
  for (const group of [delta.added, delta.moved]) {
    for (const [variant, ids] of Object.entries(group)) {
      for (const chunk of chunks(ids)) {
        sql.exec(
          `INSERT INTO flag_targets (environment, flag, target, variant, added_at, added_by)
           SELECT ?, ?, value, ?, ?, ? FROM json_each(?)`,
          environment,
          flag,
          variant,
          now,
          actor,
          JSON.stringify(chunk),
        );
      }
    }
  }
  return delta;
}

/** Keys per bulk statement: large enough to amortise the statement, small enough for one JSON argument. */
const BULK_CHUNK = 5_000;

function* chunks(ids: string[]): Generator<string[]> {
  for (let i = 0; i < ids.length; i += BULK_CHUNK) yield ids.slice(i, i + BULK_CHUNK);
}

/** Targeted keys per variant of one flag (a covering-index count). */
export function targetCounts(sql: SqlStorage, environment: string, flag: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of sql.exec<{ variant: string; n: number }>(
    "SELECT variant, count(*) AS n FROM flag_targets WHERE environment = ? AND flag = ? GROUP BY variant ORDER BY variant",
    environment,
    flag,
  ))
    setOwn(counts, row.variant, row.n);
  return counts;
}

/**
 * Writes a flag's row (its definition without targets) and makes its target rows `definition.targets`
 * (absent: none), inside the caller's transaction. `version` is the environment version of the
 * change: the flag's `If-Match` value from now on.
 */
export function putFlag(
  sql: SqlStorage,
  environment: string,
  key: string,
  definition: FlagDefinition,
  version: number,
  now: number,
  actor: string,
): TargetsDelta {
  sql.exec(
    `INSERT INTO flags (environment, key, definition, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (environment, key) DO UPDATE SET definition = excluded.definition, version = excluded.version,
       updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    environment,
    key,
    JSON.stringify(withoutTargets(definition)),
    version,
    now,
    actor,
  );
  return writeTargets(sql, environment, key, definition.targets, now, actor);
}

/**
 * A definition as an audit entry or a webhook event records it: its targets as counts per
 * variant (`targetCounts`), so a flag with 100,000 targets does not put them all in every entry
 * about it. The targets operation audits the ids it changes (`flag.targets-changed`).
 */
export function auditedDefinition(definition: FlagDefinition | null): unknown {
  if (definition === null || definition.targets === undefined) return definition;
  const counts: Record<string, number> = {};
  for (const [variant, ids] of Object.entries(definition.targets)) setOwn(counts, variant, ids.length);
  return { ...withoutTargets(definition), targetCounts: counts };
}
