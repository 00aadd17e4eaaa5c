/**
 * Change requests: a diff of some flags of one environment, recorded against the environment's
 * version (`base_version`), that another person approves or rejects. Approval applies the diff
 * in one transaction with the same validation, audit entries, webhook events and outbox rows as
 * a direct write (audited as the approver, the requester named in the reason), and only if the
 * environment is still at `base_version`; otherwise the request must be rebased, which succeeds
 * when none of the flags it touches changed meanwhile.
 */
import { validateFlagSet } from "../../engine/index";
import type { FlagDefinition } from "../../engine/types";
import { fail, ok, type Result } from "../../contracts/result";
import { canonical } from "../../contracts/flagset-diff";
import type { ChangeRequestInfo, ChangeRequestStatus } from "../../contracts/approvals";
import type { AuditAction } from "../../contracts/audit-actions";
import * as webhooks from "../webhooks";
import { flagSetChanges, iso, rejected } from "../store-records";
import { auditedDefinition, putFlag } from "../target-rows";
import { endFlagDependents } from "./flags";
import type { Asker } from "./protection";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta, EnvironmentRow } from "../store-types";

/** What a change request asks for: per flag key, its new definition, or null to delete it. */
export type FlagChanges = Record<string, FlagDefinition | null>;

/** A decision the store refuses to whoever asked (403): the requester approving their own request. */
export type Decided<T> = Result<{ refused: string } | { done: T }>;

interface ChangeRequestRow extends Record<string, SqlStorageValue> {
  id: string;
  environment: string;
  base_version: number;
  flags: string;
  before: string;
  reason: string;
  status: ChangeRequestStatus;
  requested_by: string;
  requested_at: number;
  decided_by: string | null;
  decided_at: number | null;
  decision_reason: string | null;
  applied_version: number | null;
}

/** Opens a change request against the environment's current version; the diff is validated as the write would be. */
export async function openChangeRequest(
  w: UnitOfWork,
  environment: string,
  flags: FlagChanges,
  meta: ChangeMeta & { reason: string },
): Promise<Result<ChangeRequestInfo>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const checked = candidate(w, env.value, flags);
  if (!checked.ok) return checked;
  const { before, after } = checked.value;
  if (flagSetChanges(before, after).length === 0) {
    return fail({
      kind: "invalid",
      detail: `the change request changes nothing: every flag it names is already so in "${environment}"`,
      problems: [{ path: "flags", message: "no change" }],
    });
  }
  const id = webhooks.newId("cr");
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec(
      `INSERT INTO change_requests (id, environment, base_version, flags, before, reason, status, requested_by, requested_at)
       VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)`,
      id,
      environment,
      env.value.version,
      JSON.stringify(after),
      JSON.stringify(before),
      meta.reason,
      meta.actor,
      now,
    );
    w.audit("change-request.opened", meta, { target: `change-request:${id}`, environment, after: summary(flags) }, now);
    w.queueEvent("change-request.opened", environment, meta, eventData(w, id), now);
  });
  await w.scheduleDrain();
  return ok(info(w, row(w, id)!));
}

/** The environment's change requests, newest first (`status` filters). */
export async function listChangeRequests(
  w: UnitOfWork,
  environment: string,
  status: ChangeRequestStatus | null,
): Promise<Result<ChangeRequestInfo[]>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const rows = w.sql
    .exec<ChangeRequestRow>(
      "SELECT * FROM change_requests WHERE environment = ? AND (? IS NULL OR status = ?) ORDER BY requested_at DESC, id DESC LIMIT 200",
      environment,
      status,
      status,
    )
    .toArray();
  return ok(rows.map((r) => info(w, r)));
}

/** One change request, with its diff. */
export async function getChangeRequest(w: UnitOfWork, environment: string, id: string): Promise<Result<ChangeRequestInfo>> {
  const found = requestIn(w, environment, id);
  return found.ok ? ok(info(w, found.value)) : found;
}

/**
 * Approves a change request: applied at once, atomically, when the environment is still at its
 * base version (else 409 asking for a rebase); only recorded as approved when a scheduled change
 * is to apply it. The requester cannot approve their own request.
 */
export async function approveChangeRequest(
  w: UnitOfWork,
  environment: string,
  id: string,
  meta: ChangeMeta,
): Promise<Decided<ChangeRequestInfo>> {
  const found = requestIn(w, environment, id);
  if (!found.ok) return found;
  const request = found.value;
  if (request.requested_by === meta.actor) {
    return ok({ refused: `${meta.actor} requested this change; another person must approve it` });
  }
  if (request.status !== "open") return fail(notOpen(request));
  const now = Date.now();
  if (pendingSchedules(w, id).length > 0) {
    w.transaction(() => {
      decide(w, request, "approved", meta, now);
      w.queueEvent("change-request.approved", environment, meta, eventData(w, id), now);
    });
    await w.scheduleDrain();
    return ok({ done: info(w, row(w, id)!) });
  }
  const applied = await applyChangeRequest(w, request, meta, () => {
    decide(w, request, "approved", meta, now);
    w.queueEvent("change-request.approved", environment, meta, eventData(w, id), now);
  });
  if (!applied.ok) return applied;
  return ok({ done: info(w, row(w, id)!) });
}

/**
 * Applies an open or approved request in one transaction (with `alsoDo`, for the caller's own
 * record: the decision, a schedule's status), if the environment has not moved since its base.
 */
export async function applyChangeRequest(
  w: UnitOfWork,
  request: ChangeRequestRow,
  meta: ChangeMeta,
  alsoDo: (version: number, now: number) => void,
): Promise<Result<number>> {
  const env = w.environment(request.environment);
  if (!env.ok) return env;
  if (env.value.version !== request.base_version) {
    return fail({
      kind: "conflict",
      detail: `environment "${request.environment}" moved from version ${request.base_version} to ${env.value.version} since change request ${request.id} was opened; rebase it (POST …/change-requests/${request.id}/rebase), then approve it`,
    });
  }
  const flags = JSON.parse(request.flags) as FlagChanges;
  const applyMeta = { actor: meta.actor, reason: `change request ${request.id} by ${request.requested_by}: ${request.reason}` };
  const applied = await applyFlagChanges(w, env.value, flags, applyMeta, (version, now) => {
    w.sql.exec("UPDATE change_requests SET status = 'applied', applied_version = ? WHERE id = ?", version, request.id);
    alsoDo(version, now);
    w.audit(
      "change-request.applied",
      meta,
      { target: `change-request:${request.id}`, environment: request.environment, after: { version } },
      now,
    );
    w.queueEvent("change-request.applied", request.environment, meta, eventData(w, request.id), now);
  });
  return applied;
}

/**
 * Writes `flags` into the environment as one change: validated with the rest of its flags, each
 * flag created, changed, toggled or deleted audited and announced as a direct write is; `alsoDo`
 * runs in the same transaction. When every flag is already as asked, no version is committed
 * and `alsoDo` runs alone (with the current version).
 */
export async function applyFlagChanges(
  w: UnitOfWork,
  env: EnvironmentRow,
  flags: FlagChanges,
  meta: ChangeMeta,
  alsoDo: (version: number, now: number) => void,
): Promise<Result<number>> {
  const checked = candidate(w, env, flags);
  if (!checked.ok) return checked;
  const changes = flagSetChanges(checked.value.before, checked.value.after);
  const now = Date.now();
  const version = w.transaction(() => {
    if (changes.length === 0) {
      alsoDo(env.version, now);
      return env.version;
    }
    const v = w.commit(
      env.name,
      meta,
      (version) => {
        for (const change of changes) {
          if (change.after === null) w.sql.exec("DELETE FROM flags WHERE environment = ? AND key = ?", env.name, change.key);
          else putFlag(w.sql, env.name, change.key, change.after, version, now, meta.actor);
        }
        return changes.map((c) => ({
          action: c.action,
          target: `flag:${c.key}`,
          before: auditedDefinition(c.before),
          after: auditedDefinition(c.after),
        }));
      },
      now,
    );
    for (const change of changes) if (change.action === "flag.deleted") endFlagDependents(w, env.name, change.key, meta, now);
    alsoDo(v, now);
    return v;
  });
  await w.scheduleDrain();
  return ok(version);
}

/** Moves a request to the environment's current version, when none of the flags it touches changed since its base. */
export async function rebaseChangeRequest(
  w: UnitOfWork,
  environment: string,
  id: string,
  asker: Asker,
  meta: ChangeMeta,
): Promise<Decided<ChangeRequestInfo>> {
  const found = requestIn(w, environment, id);
  if (!found.ok) return found;
  const request = found.value;
  if (request.requested_by !== meta.actor && asker.role !== "approver" && asker.role !== "admin") {
    return ok({ refused: `only the requester (${request.requested_by}) or an approver may rebase this change request` });
  }
  if (request.status !== "open" && request.status !== "approved") return fail(notOpen(request));
  const env = w.environment(environment);
  if (!env.ok) return env;
  if (env.value.version === request.base_version) return ok({ done: info(w, request) });
  const before = JSON.parse(request.before) as Record<string, FlagDefinition>;
  const touched = Object.keys(JSON.parse(request.flags) as FlagChanges);
  const moved = touched.filter((key) => {
    const row = w.flagRow(environment, key);
    const now = row ? w.definition(row) : null;
    return canonical(now) !== canonical(Object.hasOwn(before, key) ? before[key] : null);
  });
  if (moved.length > 0) {
    return fail({
      kind: "conflict",
      detail: `flag${moved.length > 1 ? "s" : ""} ${moved.map((k) => `"${k}"`).join(", ")} changed in "${environment}" since this request was opened; withdraw it and open a new one from the current flags`,
    });
  }
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec("UPDATE change_requests SET base_version = ? WHERE id = ?", env.value.version, id);
    w.audit(
      "change-request.rebased",
      meta,
      {
        target: `change-request:${id}`,
        environment,
        before: { baseVersion: request.base_version },
        after: { baseVersion: env.value.version },
      },
      now,
    );
  });
  return ok({ done: info(w, row(w, id)!) });
}

/** Rejects an open (or approved, not yet applied) request, saying why. */
export async function rejectChangeRequest(
  w: UnitOfWork,
  environment: string,
  id: string,
  meta: ChangeMeta,
): Promise<Result<ChangeRequestInfo>> {
  return close(w, environment, id, "rejected", meta);
}

/** Withdraws a request: only its requester (or an admin) may. */
export async function withdrawChangeRequest(
  w: UnitOfWork,
  environment: string,
  id: string,
  asker: Asker,
  meta: ChangeMeta,
): Promise<Decided<ChangeRequestInfo>> {
  const found = requestIn(w, environment, id);
  if (!found.ok) return found;
  if (found.value.requested_by !== meta.actor && asker.role !== "admin") {
    return ok({
      refused: `only the requester (${found.value.requested_by}) or an admin may withdraw this change request; reject it instead`,
    });
  }
  const closed = await close(w, environment, id, "withdrawn", meta);
  return closed.ok ? ok({ done: closed.value }) : closed;
}

/** The change request row, if the store has it (any environment). */
export function row(w: UnitOfWork, id: string): ChangeRequestRow | undefined {
  return w.sql.exec<ChangeRequestRow>("SELECT * FROM change_requests WHERE id = ?", id).toArray()[0];
}

export type { ChangeRequestRow };

async function close(
  w: UnitOfWork,
  environment: string,
  id: string,
  status: "rejected" | "withdrawn",
  meta: ChangeMeta,
): Promise<Result<ChangeRequestInfo>> {
  const found = requestIn(w, environment, id);
  if (!found.ok) return found;
  const request = found.value;
  if (request.status !== "open" && request.status !== "approved") return fail(notOpen(request));
  const now = Date.now();
  w.transaction(() => {
    decide(w, request, status, meta, now);
    if (status === "rejected") w.queueEvent("change-request.rejected", environment, meta, eventData(w, id), now);
  });
  await w.scheduleDrain();
  return ok(info(w, row(w, id)!));
}

const DECISION_ACTION: Record<"approved" | "rejected" | "withdrawn", AuditAction> = {
  approved: "change-request.approved",
  rejected: "change-request.rejected",
  withdrawn: "change-request.withdrawn",
};

/** Records a decision on a request, audited; inside the caller's transaction. */
function decide(
  w: UnitOfWork,
  request: ChangeRequestRow,
  status: "approved" | "rejected" | "withdrawn",
  meta: ChangeMeta,
  now: number,
): void {
  // An approval applied at once leaves the request `applied` (set by the apply, in this transaction).
  w.sql.exec(
    "UPDATE change_requests SET status = CASE WHEN status = 'applied' THEN status ELSE ? END, decided_by = ?, decided_at = ?, decision_reason = ? WHERE id = ?",
    status,
    meta.actor,
    now,
    meta.reason,
    request.id,
  );
  w.audit(
    DECISION_ACTION[status],
    meta,
    {
      target: `change-request:${request.id}`,
      environment: request.environment,
      before: { status: request.status },
      after: { status, requestedBy: request.requested_by },
    },
    now,
  );
}

function requestIn(w: UnitOfWork, environment: string, id: string): Result<ChangeRequestRow> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const found = row(w, id);
  if (!found || found.environment !== environment) {
    return fail({ kind: "not_found", detail: `there is no change request "${id}" in environment "${environment}"` });
  }
  return ok(found);
}

function notOpen(request: ChangeRequestRow) {
  return {
    kind: "conflict" as const,
    detail: `change request ${request.id} is ${request.status}${request.decided_by ? ` (by ${request.decided_by})` : ""}; only an open request can be decided`,
  };
}

/** Pending schedules that will apply the request. */
function pendingSchedules(w: UnitOfWork, id: string): { id: string; at: number }[] {
  return w.sql
    .exec<{ id: string; at: number }>(
      "SELECT id, at FROM schedules WHERE status = 'pending' AND json_extract(change, '$.kind') = 'change-request' AND json_extract(change, '$.id') = ? ORDER BY at",
      id,
    )
    .toArray();
}

/**
 * The touched flags before and after `flags`, the after validated with the environment's other
 * flags (the stored definitions normalised by the validator); a deletion of a missing flag is invalid.
 */
export function candidate(
  w: UnitOfWork,
  env: EnvironmentRow,
  flags: FlagChanges,
): Result<{ before: Record<string, FlagDefinition>; after: Record<string, FlagDefinition> }> {
  const current = w.flagSet(env);
  const next = { ...current, flags: { ...current.flags } };
  const missing = Object.entries(flags)
    .filter(([key, definition]) => definition === null && !Object.hasOwn(current.flags, key))
    .map(([key]) => key);
  if (missing.length > 0) {
    return fail({
      kind: "invalid",
      detail: `environment "${env.name}" has no flag ${missing.map((k) => `"${k}"`).join(", ")} to delete`,
      problems: missing.map((key) => ({ path: `flags.${key}`, message: "no such flag" })),
    });
  }
  for (const [key, definition] of Object.entries(flags)) {
    if (definition === null) delete next.flags[key];
    else next.flags[key] = definition;
  }
  const validated = validateFlagSet(next, { before: current });
  if (!validated.ok) return fail(rejected(validated.problems, `environment "${env.name}" would not be valid: `));
  const before: Record<string, FlagDefinition> = {};
  const after: Record<string, FlagDefinition> = {};
  for (const key of Object.keys(flags)) {
    if (Object.hasOwn(current.flags, key)) before[key] = current.flags[key]!;
    if (Object.hasOwn(validated.flagSet.flags, key)) after[key] = validated.flagSet.flags[key]!;
  }
  return ok({ before, after });
}

function summary(flags: FlagChanges): Record<string, string> {
  return Object.fromEntries(Object.entries(flags).map(([key, definition]) => [key, definition === null ? "delete" : "set"]));
}

function eventData(w: UnitOfWork, id: string): Record<string, unknown> {
  const request = row(w, id)!;
  return {
    changeRequest: id,
    status: request.status,
    baseVersion: request.base_version,
    requestedBy: request.requested_by,
    decidedBy: request.decided_by,
    appliedVersion: request.applied_version,
    flags: Object.keys(JSON.parse(request.before) as object)
      .concat(Object.keys(JSON.parse(request.flags) as object))
      .filter((key, i, all) => all.indexOf(key) === i)
      .sort(),
  };
}

function info(w: UnitOfWork, request: ChangeRequestRow): ChangeRequestInfo {
  const before = JSON.parse(request.before) as Record<string, FlagDefinition>;
  const after = JSON.parse(request.flags) as Record<string, FlagDefinition>;
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const env = w.environmentRows().find((e) => e.name === request.environment);
  return {
    id: request.id,
    environment: request.environment,
    baseVersion: request.base_version,
    currentVersion: env?.version ?? request.base_version,
    status: request.status,
    reason: request.reason,
    requestedBy: request.requested_by,
    requestedAt: iso(request.requested_at),
    decidedBy: request.decided_by,
    decidedAt: request.decided_at === null ? null : iso(request.decided_at),
    decisionReason: request.decision_reason,
    appliedVersion: request.applied_version,
    scheduledFor: pendingSchedules(w, request.id).map((s) => ({ id: s.id, at: iso(s.at) })),
    flags: keys.map((key) => {
      const from = Object.hasOwn(before, key) ? before[key]! : null;
      const to = Object.hasOwn(after, key) ? after[key]! : null;
      return {
        key,
        change: from === null ? "create" : to === null ? "delete" : "update",
        before: from === null ? null : (auditedDefinition(from) as ChangeRequestInfo["flags"][number]["before"]),
        after: to === null ? null : (auditedDefinition(to) as ChangeRequestInfo["flags"][number]["after"]),
      };
    }),
  };
}
