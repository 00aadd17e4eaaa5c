/**
 * Scheduled changes: "at 09:00 UTC Monday, turn on X in production" — a flag's state, default
 * variant or targeting, or a whole approved change request — applied by the FlagStore's alarm
 * (`applyDueSchedules`) exactly once: the schedule is marked applied in the transaction that makes
 * the change, so an object reset mid-apply leaves either both or neither. Applied changes are
 * audited as `scheduler:<person who scheduled it>`. One whose precondition fails at its time (the
 * flag is gone, the change request is not approved or the environment moved) is marked failed
 * with the reason and announced (`schedule.failed`), never skipped in silence.
 */
import type { FlagDefinition } from "../../engine/types";
import { fail, ok, type Result } from "../../contracts/result";
import { ScheduledChangeSchema, type ScheduledChange, type ScheduleInfo, type ScheduleStatus } from "../../contracts/approvals";
import * as webhooks from "../webhooks";
import { iso, noFlag } from "../store-records";
import { applyChangeRequest, applyFlagChanges, candidate, row as changeRequestRow, type Decided } from "./change-requests";
import { requiresApproval, type Asker } from "./protection";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta } from "../store-types";

/** How far in the past `at` may be (a clock a little behind): such a change applies at once. */
const PAST_TOLERANCE_MS = 60_000;

interface ScheduleRow extends Record<string, SqlStorageValue> {
  id: string;
  environment: string;
  at: number;
  change: string;
  reason: string;
  status: ScheduleStatus;
  created_by: string;
  created_at: number;
  finished_at: number | null;
  finished_by: string | null;
  applied_version: number | null;
  failure: string | null;
}

/**
 * Schedules a change. A direct change (state, default variant, targeting) in a protected
 * environment is refused to a non-admin as a direct write would be (a state change counts as the
 * kill switch); scheduling a change request is always allowed: it applies only once approved.
 */
export async function createSchedule(
  w: UnitOfWork,
  environment: string,
  input: { at: string; change: ScheduledChange; reason: string },
  asker: Asker,
  meta: ChangeMeta,
): Promise<Decided<ScheduleInfo>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const at = Date.parse(input.at);
  const now = Date.now();
  if (!Number.isFinite(at) || at < now - PAST_TOLERANCE_MS) {
    return fail({
      kind: "invalid",
      detail: `at: ${input.at} is in the past; give a time to come (ISO 8601, e.g. ${iso(now + 3_600_000)})`,
      problems: [{ path: "at", message: "in the past" }],
    });
  }
  const problem = precondition(w, environment, input.change);
  if (problem !== null) return fail(problem);
  if (input.change.kind !== "change-request") {
    // Validated now as it will be at its time, so a bad targeting is refused at once, not at 09:00.
    const checked = candidate(w, env.value, { [input.change.flag]: scheduledDefinition(w, environment, input.change) });
    if (!checked.ok) return checked;
    const refused = requiresApproval(w, environment, asker, input.change.kind === "state" ? "kill-switch" : "write");
    if (refused !== null) return ok({ refused: `${refused}, then schedule it ({"kind": "change-request", "id": …})` });
  }
  const id = webhooks.newId("sched");
  w.transaction(() => {
    w.sql.exec(
      `INSERT INTO schedules (id, environment, at, change, reason, status, created_by, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`,
      id,
      environment,
      at,
      JSON.stringify(input.change),
      input.reason,
      meta.actor,
      now,
    );
    w.audit("schedule.created", meta, { target: `schedule:${id}`, environment, after: { at: iso(at), change: input.change } }, now);
  });
  await w.scheduleDrain();
  return ok({ done: toInfo(scheduleRow(w, id)!) });
}

/** The environment's scheduled changes, soonest first (`status` filters). */
export async function listSchedules(w: UnitOfWork, environment: string, status: ScheduleStatus | null): Promise<Result<ScheduleInfo[]>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  return ok(
    w.sql
      .exec<ScheduleRow>(
        "SELECT * FROM schedules WHERE environment = ? AND (? IS NULL OR status = ?) ORDER BY at, id LIMIT 500",
        environment,
        status,
        status,
      )
      .toArray()
      .map(toInfo),
  );
}

/** Cancels a pending scheduled change; it never applies. */
export async function cancelSchedule(w: UnitOfWork, environment: string, id: string, meta: ChangeMeta): Promise<Result<ScheduleInfo>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const found = scheduleRow(w, id);
  if (!found || found.environment !== environment) {
    return fail({ kind: "not_found", detail: `there is no scheduled change "${id}" in environment "${environment}"` });
  }
  if (found.status !== "pending") {
    return fail({ kind: "conflict", detail: `scheduled change ${id} is already ${found.status}; only a pending one can be cancelled` });
  }
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec("UPDATE schedules SET status = 'cancelled', finished_at = ?, finished_by = ? WHERE id = ?", now, meta.actor, id);
    w.audit(
      "schedule.cancelled",
      meta,
      { target: `schedule:${id}`, environment, before: { status: "pending" }, after: { status: "cancelled" } },
      now,
    );
  });
  return ok(toInfo(scheduleRow(w, id)!));
}

/** Applies every scheduled change that is due, in time order, each exactly once (or marks it failed). */
export async function applyDueSchedules(w: UnitOfWork): Promise<void> {
  for (let guard = 0; guard < 1000; guard++) {
    const due = w.sql
      .exec<ScheduleRow>("SELECT * FROM schedules WHERE status = 'pending' AND at <= ? ORDER BY at, id LIMIT 1", Date.now())
      .toArray()[0];
    if (!due) return;
    const applied = await applyOne(w, due);
    if (!applied.ok) recordFailure(w, due, applied.error.detail);
  }
}

async function applyOne(w: UnitOfWork, schedule: ScheduleRow): Promise<Result<number>> {
  const meta = { actor: `scheduler:${schedule.created_by}`, reason: `scheduled by ${schedule.created_by}: ${schedule.reason}` };
  const parsed = ScheduledChangeSchema.safeParse(JSON.parse(schedule.change));
  if (!parsed.success) return fail({ kind: "invalid", detail: "the stored change is not readable", problems: [] });
  const change = parsed.data;
  const env = w.environment(schedule.environment);
  if (!env.ok) return env;
  const problem = precondition(w, schedule.environment, change);
  if (problem !== null) return fail(problem);
  const markApplied = (version: number, now: number) => {
    // Guards the exactly-once promise: a schedule no longer pending rolls the whole change back.
    const marked = w.sql
      .exec(
        "UPDATE schedules SET status = 'applied', finished_at = ?, finished_by = ?, applied_version = ? WHERE id = ? AND status = 'pending' RETURNING id",
        now,
        meta.actor,
        version,
        schedule.id,
      )
      .toArray().length;
    if (marked !== 1) throw new Error(`scheduled change ${schedule.id} is no longer pending`);
    w.audit("schedule.applied", meta, { target: `schedule:${schedule.id}`, environment: schedule.environment, after: { version } }, now);
    w.queueEvent("schedule.applied", schedule.environment, meta, { schedule: schedule.id, change, version }, now);
  };
  if (change.kind === "change-request") {
    const request = changeRequestRow(w, change.id)!;
    if (request.status !== "approved") {
      return fail({ kind: "conflict", detail: `change request ${change.id} is ${request.status}, not approved, at the scheduled time` });
    }
    return applyChangeRequest(w, request, meta, markApplied);
  }
  return applyFlagChanges(w, env.value, { [change.flag]: scheduledDefinition(w, schedule.environment, change) }, meta, markApplied);
}

/** The flag's definition as a direct scheduled change leaves it (the flag exists: `precondition` checked). */
function scheduledDefinition(
  w: UnitOfWork,
  environment: string,
  change: Exclude<ScheduledChange, { kind: "change-request" }>,
): FlagDefinition {
  const current = w.definition(w.flagRow(environment, change.flag)!);
  switch (change.kind) {
    case "state":
      return { ...current, state: change.state };
    case "default-variant":
      return { ...current, defaultVariant: change.variant };
    case "targeting":
      return { ...current, targeting: change.targeting };
  }
}

/** Marks a due change failed with the reason, audited and announced, in one transaction. */
function recordFailure(w: UnitOfWork, schedule: ScheduleRow, reason: string): void {
  const now = Date.now();
  const meta = { actor: `scheduler:${schedule.created_by}`, reason: schedule.reason };
  w.transaction(() => {
    w.sql.exec(
      "UPDATE schedules SET status = 'failed', failure = ?, finished_at = ?, finished_by = ? WHERE id = ? AND status = 'pending'",
      reason,
      now,
      meta.actor,
      schedule.id,
    );
    w.audit(
      "schedule.failed",
      meta,
      { target: `schedule:${schedule.id}`, environment: schedule.environment, after: { failure: reason } },
      now,
    );
    w.queueEvent(
      "schedule.failed",
      schedule.environment,
      meta,
      { schedule: schedule.id, change: JSON.parse(schedule.change), failure: reason },
      now,
    );
  });
}

/** What must hold for `change` to apply (now, or at its time): the flag or change request exists, the variant too. */
function precondition(w: UnitOfWork, environment: string, change: ScheduledChange) {
  if (change.kind === "change-request") {
    const request = changeRequestRow(w, change.id);
    if (!request || request.environment !== environment) {
      return { kind: "not_found" as const, detail: `there is no change request "${change.id}" in environment "${environment}"` };
    }
    if (request.status !== "open" && request.status !== "approved") {
      return { kind: "conflict" as const, detail: `change request ${change.id} is ${request.status}; it can no longer be applied` };
    }
    return null;
  }
  const flag = w.flagRow(environment, change.flag);
  if (!flag) return noFlag(environment, change.flag);
  if (change.kind === "default-variant") {
    const variants = Object.keys(w.definition(flag).variants);
    if (!variants.includes(change.variant)) {
      return {
        kind: "invalid" as const,
        detail: `"${change.variant}" is not a variant of flag "${change.flag}" (it has: ${variants.join(", ")})`,
        problems: [{ path: "change.variant", message: "no such variant" }],
      };
    }
  }
  return null;
}

function scheduleRow(w: UnitOfWork, id: string): ScheduleRow | undefined {
  return w.sql.exec<ScheduleRow>("SELECT * FROM schedules WHERE id = ?", id).toArray()[0];
}

function toInfo(row: ScheduleRow): ScheduleInfo {
  const parsed = ScheduledChangeSchema.safeParse(JSON.parse(row.change));
  return {
    id: row.id,
    environment: row.environment,
    at: iso(row.at),
    // Written by this module from a parsed change; unreadable only if the row was edited by hand.
    change: parsed.success ? parsed.data : { kind: "change-request", id: "(unreadable)" },
    reason: row.reason,
    status: row.status,
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
    finishedAt: row.finished_at === null ? null : iso(row.finished_at),
    finishedBy: row.finished_by,
    appliedVersion: row.applied_version,
    failure: row.failure,
  };
}
