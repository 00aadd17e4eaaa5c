/**
 * The migration aggregate: per environment, the exit criterion of audit mode and which system
 * answers (the legacy one, or edgeflags), in the `migration` table. A cut-over is decided on the
 * evidence the admin route read from the MigrationLedger, recorded with it in the audit log
 * (`migration.cut-over`), announced to webhooks, and bumps the environment's version so the
 * snapshot (`Snapshot.migration`) tells audit-mode clients at the edge.
 */
import { fail, ok, type Result } from "../../contracts/result";
import {
  DEFAULT_CRITERION,
  type CriterionStatus,
  type CutOverDecision,
  type CutOverOutcome,
  type MigrationCriterion,
  type MigrationState,
} from "../../contracts/migration";
import type { Snapshot } from "../../contracts/snapshot";
import { iso } from "../store-records";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta } from "../store-types";

const DAY_MS = 86_400_000;

type MigrationRow = {
  environment: string;
  min_comparisons: number;
  days: number;
  max_mismatches: number;
  authority: "legacy" | "edgeflags";
  since: number | null;
  grace_until: number | null;
};

function stateOf(environment: string, row: MigrationRow | undefined): MigrationState {
  if (!row) return { environment, authority: "legacy", since: null, graceUntil: null, criterion: { ...DEFAULT_CRITERION } };
  return {
    environment,
    authority: row.authority,
    since: row.since === null ? null : iso(row.since),
    graceUntil: row.grace_until === null ? null : iso(row.grace_until),
    criterion: { minComparisons: row.min_comparisons, days: row.days, maxMismatches: row.max_mismatches },
  };
}

function rowOf(w: UnitOfWork, environment: string): MigrationRow | undefined {
  return w.sql.exec<MigrationRow>("SELECT * FROM migration WHERE environment = ?", environment).toArray()[0];
}

function sameCriterion(a: MigrationCriterion, b: MigrationCriterion): boolean {
  return a.minComparisons === b.minComparisons && a.days === b.days && a.maxMismatches === b.maxMismatches;
}

/** Writes an environment's row, creating it with the defaults first. */
function upsert(w: UnitOfWork, environment: string, state: MigrationState, decision: unknown, now: number, actor: string): void {
  const { criterion } = state;
  w.sql.exec(
    `INSERT INTO migration (environment, min_comparisons, days, max_mismatches, authority, since, grace_until, decision, updated_at, updated_by)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
     ON CONFLICT (environment) DO UPDATE SET min_comparisons = ?2, days = ?3, max_mismatches = ?4, authority = ?5, since = ?6,
       grace_until = ?7, decision = coalesce(?8, decision), updated_at = ?9, updated_by = ?10`,
    environment,
    criterion.minComparisons,
    criterion.days,
    criterion.maxMismatches,
    state.authority,
    state.since === null ? null : Date.parse(state.since),
    state.graceUntil === null ? null : Date.parse(state.graceUntil),
    decision === null ? null : JSON.stringify(decision),
    now,
    actor,
  );
}

/** Every environment's migration state (or one environment's), in display order. */
export async function getMigration(w: UnitOfWork, environment: string | null): Promise<Result<MigrationState[]>> {
  if (environment !== null) {
    const env = w.environment(environment);
    if (!env.ok) return env;
    return ok([stateOf(environment, rowOf(w, environment))]);
  }
  const project = w.requireProject();
  if (!project.ok) return project;
  return ok(w.environmentRows().map((env) => stateOf(env.name, rowOf(w, env.name))));
}

/** The flag keys of every environment (or one), sorted: what the migration view measures coverage against. */
export async function migrationFlagKeys(w: UnitOfWork, environment: string | null): Promise<Result<Record<string, string[]>>> {
  const names = await getMigration(w, environment);
  if (!names.ok) return names;
  // Own properties whatever the name (see MigrationLedger.comparisons).
  const keys: Record<string, string[]> = Object.fromEntries(
    names.value.map(({ environment: name }) => [
      name,
      w.sql
        .exec<{ key: string }>("SELECT key FROM flags WHERE environment = ? ORDER BY key", name)
        .toArray()
        .map((row) => row.key),
    ]),
  );
  return ok(keys);
}

/**
 * Sets an environment's exit criterion, audited (`migration.criterion-changed`) with the status it
 * has under the new criterion when the ledger could tell (`status`, else null). The same criterion
 * again changes nothing (`changed: false`).
 */
export async function setMigrationCriterion(
  w: UnitOfWork,
  environment: string,
  criterion: MigrationCriterion,
  status: CriterionStatus | null,
  meta: ChangeMeta,
): Promise<Result<MigrationState & { changed: boolean; status: CriterionStatus | null }>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const current = stateOf(environment, rowOf(w, environment));
  if (sameCriterion(current.criterion, criterion)) return ok({ ...current, changed: false, status });
  const next = { ...current, criterion };
  const now = Date.now();
  w.transaction(() => {
    upsert(w, environment, next, null, now, meta.actor);
    w.audit(
      "migration.criterion-changed",
      meta,
      { target: "migration", environment, before: current.criterion, after: { criterion, status } },
      now,
    );
  });
  return ok({ ...next, changed: true, status });
}

/**
 * Makes `decision.authority` answer for an environment. To edgeflags, the criterion must be met
 * by `decision.status` unless `decision.override` (409 naming what is unmet); the criterion the
 * status was judged under must still be the environment's (409 otherwise: judge again). Recorded
 * with its evidence, announced, and published with a new version. The authority the environment
 * already has changes nothing (`changed: false`).
 */
export async function cutOver(
  w: UnitOfWork,
  environment: string,
  decision: CutOverDecision,
  meta: ChangeMeta,
): Promise<Result<CutOverOutcome>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const current = stateOf(environment, rowOf(w, environment));
  const { authority, status, override } = decision;
  if (!sameCriterion(current.criterion, decision.criterion)) {
    return fail({ kind: "conflict", detail: "the exit criterion changed while the evidence was read; try again" });
  }
  if (authority === current.authority) {
    return ok({ ...current, changed: false, version: env.value.version, overridden: false, status });
  }
  const unmet = authority === "edgeflags" && !status.met;
  if (unmet && !override) {
    return fail({
      kind: "conflict",
      detail: `the exit criterion of "${environment}" is not met: ${status.reasons.join("; ")}. Send "override": true to cut over anyway (recorded as overridden)`,
    });
  }
  const now = Date.now();
  const next: MigrationState = {
    ...current,
    authority,
    since: iso(now),
    graceUntil: authority === "edgeflags" ? iso(now + decision.graceDays * DAY_MS) : null,
  };
  const evidence = {
    authority,
    since: next.since,
    graceUntil: next.graceUntil,
    criterion: current.criterion,
    status,
    coverage: decision.coverage,
    overridden: unmet,
    decidedBy: meta.actor,
  };
  const version = w.transaction(() => {
    upsert(w, environment, next, evidence, now, meta.actor);
    return w.commit(
      environment,
      meta,
      () => ({
        action: "migration.cut-over",
        target: "migration",
        before: { authority: current.authority, since: current.since, graceUntil: current.graceUntil },
        after: evidence,
      }),
      now,
    );
  });
  await w.scheduleDrain();
  return ok({ ...next, changed: true, version, overridden: unmet, status });
}

/** What an environment's snapshot says of its migration: present once it has been cut over (either way). */
export function snapshotMigration(w: UnitOfWork, environment: string): Pick<Snapshot, "migration"> {
  const row = rowOf(w, environment);
  if (!row || row.since === null) return {};
  return {
    migration: { authority: row.authority, since: iso(row.since), graceUntil: row.grace_until === null ? null : iso(row.grace_until) },
  };
}
