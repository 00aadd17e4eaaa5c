/** Conversions between the FlagStore's rows and what it returns, and its small shared rules. */
import { canonical, diffFlagSets } from "../contracts/flagset-diff";
import type { FlagDefinition, FlagSet } from "../engine/types";
import type { StoreError } from "../contracts/result";
import type { ApiKeyInfo, EnvironmentDiff, FlagRecord, FlagRow, KeyRow, TriggerInfo, TriggerRow } from "./store-types";
import type { WebhookEventType } from "../contracts/webhook-events";
import type { AuditAction } from "../contracts/audit-actions";

export function isActive(key: KeyRow, now: number): boolean {
  return key.revoked_at === null && (key.expires_at === null || key.expires_at > now);
}

/** One change to one environment, as `UnitOfWork.commit` records it. */
export interface Change {
  action: AuditAction;
  target: string;
  before: unknown;
  after: unknown;
}

/**
 * The webhook event a change committed to an environment announces, per audit action; null for
 * actions announced otherwise (their own event, queued where they happen) or not at all. A new
 * action does not compile until it has an entry here.
 */
export const eventFor: Record<AuditAction, WebhookEventType | null> = {
  "project.created": null,
  "project.updated": null,
  "flag.created": "flag.created",
  "flag.updated": "flag.updated",
  "flag.enabled": "flag.toggled",
  "flag.disabled": "flag.toggled",
  "flag.deleted": "flag.deleted",
  "flag.info.updated": null,
  // Individual targets are part of the flag's configuration: receivers see a flag update.
  "flag.targets-changed": "flag.updated",
  "flagset.replaced": "flagset.replaced",
  // A promotion announces itself as `flagset.replaced`, naming the environment it came from.
  "flags.promoted": null,
  "key.created": null,
  "key.revoked": null,
  "key.rotated": null,
  "segment.changed": "segment.changed",
  "webhook.created": null,
  "webhook.updated": null,
  "webhook.deleted": null,
  "trigger.created": null,
  "trigger.enabled": null,
  "trigger.disabled": null,
  "trigger.rotated": null,
  "trigger.deleted": null,
  "ramp.created": null,
  "ramp.deleted": null,
  "ramp.step": "ramp.step",
  "ramp.paused": null,
  "ramp.resumed": null,
  "ramp.rolled-back": "ramp.rolled-back",
  "ramp.completed": "ramp.completed",
  "experiment.started": null,
  "experiment.stopped": null,
  "srm.detected": null,
  "draft.staged": null,
  "draft.discarded": null,
  "import.applied": null,
  "migration.criterion-changed": null,
  "migration.cut-over": "migration.cut-over",
  // Approvals and schedules queue their own events where they happen (change-requests.ts, schedules.ts).
  "protection.changed": null,
  "change-request.opened": null,
  "change-request.approved": null,
  "change-request.rejected": null,
  "change-request.rebased": null,
  "change-request.withdrawn": null,
  "change-request.applied": null,
  "schedule.created": null,
  "schedule.cancelled": null,
  "schedule.applied": null,
  "schedule.failed": null,
  "access.configured": null,
  "access.removed": null,
  // Announced by the guardrail pass itself (with its evidence), not by `commit`.
  "metric.changed": null,
  "ramp.guardrails-changed": null,
  "guardrail.tripped": null,
};

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function parseDefinition(text: string): FlagDefinition {
  return JSON.parse(text) as FlagDefinition;
}

export function toFlagRecord(row: FlagRow): FlagRecord {
  return {
    key: row.key,
    environment: row.environment,
    version: row.version,
    updatedAt: iso(row.updated_at),
    updatedBy: row.updated_by,
    definition: parseDefinition(row.definition),
  };
}

export function toKeyInfo(row: KeyRow): ApiKeyInfo {
  return {
    id: row.id,
    scope: row.scope,
    environment: row.environment,
    name: row.name,
    createdAt: iso(row.created_at),
    createdBy: row.created_by,
    revokedAt: row.revoked_at === null ? null : iso(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : iso(row.last_used_at),
    expiresAt: row.expires_at === null ? null : iso(row.expires_at),
    replacedBy: row.replaced_by,
  };
}

export function noFlag(environment: string, key: string) {
  return { kind: "not_found" as const, detail: `there is no flag "${key}" in environment "${environment}"` };
}

export function checkIfMatch(row: FlagRow, ifMatch: number | null) {
  if (ifMatch === null || ifMatch === row.version) return null;
  return {
    kind: "precondition_failed" as const,
    detail: `flag "${row.key}" was changed by ${row.updated_by} at ${iso(row.updated_at)} (now version ${row.version}, you sent ${ifMatch}); re-read it and apply your change again`,
    currentVersion: row.version,
  };
}

/**
 * A failed validation as a store error: a prerequisite cycle is a conflict (409) naming the cycle;
 * anything else is invalid input (400) with each problem.
 */
export function rejected(problems: { path: string; message: string }[], prefix = ""): StoreError {
  const cycle = problems.find((problem) => problem.message.startsWith("prerequisite cycle:"));
  if (cycle) return { kind: "conflict", detail: `${prefix}${cycle.message}; remove one of these prerequisites` };
  return { kind: "invalid", detail: `${prefix}${describeProblems(problems)}`, problems };
}

export function describeProblems(problems: { path: string; message: string }[]): string {
  const [first, ...rest] = problems;
  if (!first) return "the flag set is not valid";
  return `${first.path}: ${first.message}${rest.length ? ` (and ${rest.length} more problem${rest.length > 1 ? "s" : ""})` : ""}`;
}

export function toTriggerInfo(row: TriggerRow): TriggerInfo {
  return {
    id: row.id,
    name: row.name,
    environment: row.environment,
    flag: row.flag,
    action: row.action,
    ...(row.variant === null ? {} : { variant: row.variant }),
    active: row.active === 1,
    createdAt: iso(row.created_at),
    createdBy: row.created_by,
    lastFiredAt: row.last_fired_at === null ? null : iso(row.last_fired_at),
  };
}

export function noWebhook(id: string) {
  return { kind: "not_found" as const, detail: `there is no webhook "${id}" in this project` };
}

export function noTrigger(id: string) {
  return { kind: "not_found" as const, detail: `there is no trigger "${id}" in this project` };
}

/** Compares two environments' flag sets flag by flag (all flags of both, or only `keys`). */
export function diffEnvironments(from: string, a: FlagSet, to: string, b: FlagSet, keys: string[] | null): EnvironmentDiff {
  return diffFlagSets(from, a, to, b, keys);
}

/** One flag's change between two flag sets, as the audit action that records it. */
export interface FlagChange {
  key: string;
  action: "flag.created" | "flag.updated" | "flag.enabled" | "flag.disabled" | "flag.deleted";
  before: FlagDefinition | null;
  after: FlagDefinition | null;
}

/**
 * The flags that differ between `before` and `after` (whole definitions, object keys sorted): a
 * flag only in `after` is created, only in `before` deleted; one whose only difference is its
 * `state` is enabled or disabled (a kill switch), any other difference an update.
 */
export function flagSetChanges(before: Record<string, FlagDefinition>, after: Record<string, FlagDefinition>): FlagChange[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const changes: FlagChange[] = [];
  for (const key of keys) {
    const from = Object.hasOwn(before, key) ? before[key]! : null;
    const to = Object.hasOwn(after, key) ? after[key]! : null;
    if (from === null) changes.push({ key, action: "flag.created", before: null, after: to });
    else if (to === null) changes.push({ key, action: "flag.deleted", before: from, after: null });
    else if (canonical(from) !== canonical(to)) {
      const stateOnly = from.state !== to.state && canonical({ ...from, state: to.state }) === canonical(to);
      const action = stateOnly ? (to.state === "ENABLED" ? "flag.enabled" : "flag.disabled") : "flag.updated";
      changes.push({ key, action, before: from, after: to });
    }
  }
  return changes;
}
