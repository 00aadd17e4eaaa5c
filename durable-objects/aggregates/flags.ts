/**
 * The flags aggregate: one environment's flags — whole flag sets, single flags, the kill switch,
 * comparing and promoting between environments. Every write is validated against the environment
 * it will live in, and a write that changes nothing commits nothing.
 */
import { validateFlagSet } from "../../engine/index";
import type { FlagDefinition, FlagSet, JsonValue } from "../../engine/types";
import { fail, ok, type Result } from "../../contracts/result";
import { canonical } from "../../contracts/flagset-diff";
import { segmentEvaluators } from "../segments";
import { toRampInfo } from "../ramps";
import { iso, toFlagRecord, noFlag, checkIfMatch, rejected, describeProblems, diffEnvironments, flagSetChanges } from "../store-records";
import type { AuditAction } from "../../contracts/audit-actions";
import { rampRow } from "./ramps";
import { auditedDefinition, environmentTargets, putFlag, withTargets } from "../target-rows";
import type { UnitOfWork } from "../unit-of-work";
import type { FlagRecord, FlagWritten, ChangeMeta, EnvironmentDiff, EnvironmentRow, FlagRow } from "../store-types";

/** The environment's flags as a flagd flag set, with the version it was read at. */
export async function getFlagSet(
  w: UnitOfWork,
  environment: string,
): Promise<Result<{ flagSet: FlagSet; version: number; updatedAt: string }>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  return ok({ flagSet: w.flagSet(env.value), version: env.value.version, updatedAt: iso(env.value.updated_at) });
}

/**
 * Replaces every flag of an environment with a flagd flag set. With `ifMatch`, the write only
 * happens if the environment is still at that version. Each flag added, changed, toggled or
 * removed is audited and announced on its own (`flag.created`, `flag.updated`, `flag.toggled`,
 * `flag.deleted`), besides one `flagset.replaced`; a set equal to the stored one changes
 * nothing and answers `changed: false`.
 */
export async function replaceFlagSet(
  w: UnitOfWork,
  environment: string,
  input: unknown,
  meta: ChangeMeta & { ifMatch: number | null },
): Promise<Result<{ version: number; changed: boolean }>> {
  const validated = validateFlagSet(input);
  if (!validated.ok) {
    return fail(rejected(validated.problems));
  }
  const env = w.environment(environment);
  if (!env.ok) return env;
  if (meta.ifMatch !== null && meta.ifMatch !== env.value.version) {
    return fail({
      kind: "precondition_failed",
      detail: `environment "${environment}" is at version ${env.value.version}, not ${meta.ifMatch}; re-read it and apply your change again`,
      currentVersion: env.value.version,
    });
  }
  const flagSet = validated.flagSet;
  // Project segments come back in an exported flag set's $evaluators; they stay segments.
  const segments = segmentEvaluators(w.sql);
  const ownEvaluators: Record<string, JsonValue> = {};
  for (const [name, rule] of Object.entries(flagSet.$evaluators ?? {})) {
    if (!(name in segments)) ownEvaluators[name] = rule;
    else if (JSON.stringify(rule) !== JSON.stringify(segments[name])) {
      return fail({
        kind: "conflict",
        detail: `$evaluators.${name} is a project segment; change it through /admin/v1/projects/{project}/segments/${name}`,
      });
    }
  }
  const before = w.flagSet(env.value);
  const flagChanges = flagSetChanges(before.flags, flagSet.flags);
  const restChanged =
    canonical(JSON.parse(env.value.evaluators)) !== canonical(ownEvaluators) ||
    canonical(JSON.parse(env.value.metadata)) !== canonical(flagSet.metadata ?? {});
  if (flagChanges.length === 0 && !restChanged) return ok({ version: env.value.version, changed: false });
  const version = w.transaction(() => {
    const now = Date.now();
    const v = w.commit(
      environment,
      meta,
      (version) => {
        for (const change of flagChanges) {
          const definition = flagSet.flags[change.key];
          // A deleted flag's target rows go with it (they reference it, ON DELETE CASCADE).
          if (definition === undefined) w.sql.exec("DELETE FROM flags WHERE environment = ? AND key = ?", environment, change.key);
          else putFlag(w.sql, environment, change.key, definition, version, now, meta.actor);
        }
        w.sql.exec(
          "UPDATE environments SET evaluators = ?, metadata = ? WHERE name = ?",
          JSON.stringify(ownEvaluators),
          JSON.stringify(flagSet.metadata ?? {}),
          environment,
        );
        const summary = {
          added: flagChanges.filter((c) => c.action === "flag.created").map((c) => c.key),
          removed: flagChanges.filter((c) => c.action === "flag.deleted").map((c) => c.key),
          changed: flagChanges.filter((c) => c.action !== "flag.created" && c.action !== "flag.deleted").map((c) => c.key),
        };
        return [
          ...flagChanges.map((c) => ({
            action: c.action,
            target: `flag:${c.key}`,
            before: auditedDefinition(c.before),
            after: auditedDefinition(c.after),
          })),
          {
            action: "flagset.replaced",
            target: "flagset",
            before: restChanged ? { $evaluators: JSON.parse(env.value.evaluators), metadata: JSON.parse(env.value.metadata) } : null,
            after: { ...summary, ...(restChanged ? { $evaluators: ownEvaluators, metadata: flagSet.metadata ?? {} } : {}) },
          },
        ];
      },
      now,
    );
    for (const change of flagChanges) if (change.action === "flag.deleted") endFlagDependents(w, environment, change.key, meta, now);
    return v;
  });
  await w.scheduleDrain();
  return ok({ version, changed: true });
}

/** The environment's flags with the version they were read at. */
export async function listFlags(w: UnitOfWork, environment: string): Promise<Result<{ version: number; flags: FlagRecord[] }>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const targets = environmentTargets(w.sql, environment);
  const flags = w.sql
    .exec<FlagRow>("SELECT * FROM flags WHERE environment = ? ORDER BY key", environment)
    .toArray()
    .map((row) => {
      const record = toFlagRecord(row);
      return { ...record, definition: withTargets(record.definition, targets.get(row.key)) };
    });
  return ok({ version: env.value.version, flags });
}

/** One flag of one environment. */
export async function getFlag(w: UnitOfWork, environment: string, key: string): Promise<Result<FlagRecord>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const row = w.flagRow(environment, key);
  if (!row) return fail(noFlag(environment, key));
  return ok(w.flagRecord(row));
}

/** Creates a flag; 409 if the key is taken in that environment. */
export async function createFlag(
  w: UnitOfWork,
  environment: string,
  key: string,
  definition: FlagDefinition,
  meta: ChangeMeta,
): Promise<Result<FlagWritten>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  if (w.flagRow(environment, key)) {
    return fail({ kind: "conflict", detail: `flag "${key}" already exists in environment "${environment}"; update it with PUT instead` });
  }
  return writeFlag(w, env.value, key, definition, meta, "flag.created", null);
}

/**
 * Replaces a flag's definition, its `targets` included (absent: none). `ifMatch` is the flag
 * version the caller read (412 if stale). A definition equal to the stored one changes nothing
 * and answers `changed: false`.
 */
export async function updateFlag(
  w: UnitOfWork,
  environment: string,
  key: string,
  definition: FlagDefinition,
  meta: ChangeMeta & { ifMatch: number | null },
): Promise<Result<FlagWritten>> {
  const target = flagToChange(w, environment, key, meta.ifMatch);
  if (!target.ok) return target;
  const { env, row } = target.value;
  return writeFlag(w, env, key, definition, meta, "flag.updated", row);
}

/**
 * Turns a flag on or off in one environment: the kill switch. `null` flips the current state;
 * reading and writing happen in this one call, so concurrent flips cannot both read the old
 * state. Asking for the state the flag already has changes nothing (`changed: false`).
 */
export async function setFlagState(
  w: UnitOfWork,
  environment: string,
  key: string,
  requested: "ENABLED" | "DISABLED" | null,
  meta: ChangeMeta & { ifMatch: number | null },
): Promise<Result<FlagWritten>> {
  const target = flagToChange(w, environment, key, meta.ifMatch);
  if (!target.ok) return target;
  const { env, row } = target.value;
  const current = w.definition(row);
  const state = requested ?? (current.state === "ENABLED" ? "DISABLED" : "ENABLED");
  const definition = { ...current, state };
  return writeFlag(w, env, key, definition, meta, state === "ENABLED" ? "flag.enabled" : "flag.disabled", row);
}

/** Deletes a flag (412 if `ifMatch` is stale, 409 if another flag still needs it); its ramp and running experiment end with it. */
export async function deleteFlag(
  w: UnitOfWork,
  environment: string,
  key: string,
  meta: ChangeMeta & { ifMatch: number | null },
): Promise<Result<{ version: number }>> {
  const target = flagToChange(w, environment, key, meta.ifMatch);
  if (!target.ok) return target;
  const { env, row } = target.value;
  const remaining = w.flagSet(env, { targets: false });
  delete remaining.flags[key];
  const validated = validateFlagSet(remaining, { before: w.flagSet(env, { targets: false }) });
  if (!validated.ok) {
    return fail({ kind: "conflict", detail: `flag "${key}" cannot be deleted: ${describeProblems(validated.problems)}` });
  }
  const version = w.transaction(() => {
    const now = Date.now();
    const v = w.commit(
      environment,
      meta,
      () => {
        const before = auditedDefinition(w.definition(row));
        // Its target rows go with it (they reference it, ON DELETE CASCADE).
        w.sql.exec("DELETE FROM flags WHERE environment = ? AND key = ?", environment, key);
        return { action: "flag.deleted", target: `flag:${key}`, before, after: null };
      },
      now,
    );
    endFlagDependents(w, environment, key, meta, now);
    return v;
  });
  await w.scheduleDrain();
  return ok({ version });
}

/**
 * A deleted flag takes what runs on it along, in the deleting transaction: its ramp is removed
 * (nothing is left to ramp; a ramp kept behind would find no flag on every alarm) and a running
 * experiment on it is stopped. Both are audited as done by the deleting actor.
 */
export function endFlagDependents(w: UnitOfWork, environment: string, key: string, meta: ChangeMeta, now: number): void {
  const ramp = rampRow(w, environment, key);
  if (ramp) {
    w.sql.exec("DELETE FROM ramps WHERE id = ?", ramp.id);
    w.audit(
      "ramp.deleted",
      meta,
      { target: `flag:${key}`, environment, before: toRampInfo(ramp), reason: `flag "${key}" was deleted` },
      now,
    );
  }
  for (const experiment of w.sql
    .exec<{ id: string }>("SELECT id FROM experiments WHERE environment = ? AND flag = ? AND status = 'running'", environment, key)
    .toArray()) {
    w.sql.exec("UPDATE experiments SET status = 'stopped', stopped_at = ? WHERE id = ?", now, experiment.id);
    w.audit(
      "experiment.stopped",
      meta,
      {
        target: `flag:${key}`,
        environment,
        before: { status: "running" },
        after: { status: "stopped" },
        reason: `flag "${key}" was deleted`,
      },
      now,
    );
  }
}

/** How two environments' flags differ: per flag, only in one, different (which fields), or the same. */
export async function compareEnvironments(
  w: UnitOfWork,
  from: string,
  to: string,
  keys: string[] | null,
): Promise<Result<EnvironmentDiff>> {
  const a = w.environment(from);
  if (!a.ok) return a;
  const b = w.environment(to);
  if (!b.ok) return b;
  return ok(diffEnvironments(from, w.flagSet(a.value), to, w.flagSet(b.value), keys));
}

/**
 * Copies `from`'s configuration of the named flags (all of them when `keys` is null) to `to`,
 * atomically; flags only in `to` are left alone. With `dryRun`, only reports the diff.
 */
export async function promote(
  w: UnitOfWork,
  from: string,
  to: string,
  keys: string[] | null,
  meta: ChangeMeta & { dryRun: boolean; ifMatch: number | null },
): Promise<Result<{ diff: EnvironmentDiff; version: number | null }>> {
  const source = w.environment(from);
  if (!source.ok) return source;
  const target = w.environment(to);
  if (!target.ok) return target;
  if (from === to)
    return fail({
      kind: "invalid",
      detail: "promote needs two different environments",
      problems: [{ path: "to", message: "must differ from 'from'" }],
    });
  const sourceSet = w.flagSet(source.value);
  const missing = (keys ?? []).filter((key) => !(key in sourceSet.flags));
  if (missing.length > 0)
    return fail({ kind: "not_found", detail: `environment "${from}" has no flag ${missing.map((m) => `"${m}"`).join(", ")}` });
  const diff = diffEnvironments(from, sourceSet, to, w.flagSet(target.value), keys);
  if (meta.ifMatch !== null && meta.ifMatch !== target.value.version) {
    return fail({
      kind: "precondition_failed",
      detail: `environment "${to}" is at version ${target.value.version}, not ${meta.ifMatch}; preview the promotion again`,
      currentVersion: target.value.version,
    });
  }
  const changes = diff.flags.filter((flag) => flag.status !== "same" && flag.status !== `only-in-${to}`);
  if (changes.length === 0) return ok({ diff, version: null });
  // A dry run validates exactly as the promotion would, so a clean preview means it will apply.
  // Targets concern their own flag only: the promoted flags carry theirs, the others need none.
  const candidate = w.flagSet(target.value, { targets: false });
  for (const change of changes) candidate.flags[change.key] = sourceSet.flags[change.key]!;
  const validated = validateFlagSet(candidate, { before: w.flagSet(target.value, { targets: false }) });
  if (!validated.ok) return fail(rejected(validated.problems, `environment "${to}" would not be valid: `));
  if (meta.dryRun) return ok({ diff, version: null });
  const now = Date.now();
  let version = 0;
  w.transaction(() => {
    version = w.commit(
      to,
      meta,
      (v) => {
        // A promoted flag takes its targets along: they are part of its configuration.
        for (const change of changes) putFlag(w.sql, to, change.key, sourceSet.flags[change.key]!, v, now, meta.actor);
        return {
          action: "flags.promoted",
          target: "flagset",
          before: Object.fromEntries(changes.map((c) => [c.key, auditedDefinition(c.to)])),
          after: Object.fromEntries(changes.map((c) => [c.key, auditedDefinition(c.from)])),
        };
      },
      now,
    );
    w.queueEvent("flagset.replaced", to, meta, { promotedFrom: from, version, flags: changes.map((c) => c.key) }, now);
  });
  await w.scheduleDrain();
  return ok({ diff, version });
}

/** The environment and flag a change is about, if both exist and the flag is still at `ifMatch`. */
function flagToChange(
  w: UnitOfWork,
  environment: string,
  key: string,
  ifMatch: number | null,
): Result<{ env: EnvironmentRow; row: FlagRow }> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const row = w.flagRow(environment, key);
  if (!row) return fail(noFlag(environment, key));
  const stale = checkIfMatch(row, ifMatch);
  if (stale) return fail(stale);
  return ok({ env: env.value, row });
}

/**
 * Validates the environment's flag set with this flag in it, then commits the flag and its
 * `targets` (absent: none; pass the definition as read, `w.definition(row)`, to keep them) —
 * unless the result equals what is stored: then nothing is bumped, audited or announced.
 */
export async function writeFlag(
  w: UnitOfWork,
  env: EnvironmentRow,
  key: string,
  definition: FlagDefinition,
  meta: ChangeMeta,
  action: AuditAction,
  before: FlagRow | null,
): Promise<Result<FlagWritten>> {
  // Targets concern their own flag only: validating the others' (100,000 each) would cost every write.
  const candidate = w.flagSet(env, { targets: false });
  candidate.flags[key] = definition;
  const validated = validateFlagSet(candidate, { before: w.flagSet(env, { targets: false }) });
  if (!validated.ok) {
    const problems = validated.problems.map((problem) => ({
      ...problem,
      path: problem.path.startsWith(`flags.${key}`)
        ? problem.path.slice(`flags.${key}`.length).replace(/^\./, "") || "(flag)"
        : problem.path,
    }));
    return fail(rejected(problems));
  }
  const stored = validated.flagSet.flags[key]!;
  const previous = before ? w.definition(before) : null;
  if (before && canonical(stored) === canonical(previous)) {
    return ok({ ...w.flagRecord(before), changed: false });
  }
  w.commitNow(env.name, meta, (version, now) => {
    putFlag(w.sql, env.name, key, stored, version, now, meta.actor);
    return { action, target: `flag:${key}`, before: auditedDefinition(previous), after: auditedDefinition(stored) };
  });
  await w.scheduleDrain();
  return ok({ ...w.flagRecord(w.flagRow(env.name, key)!), changed: true });
}
