/**
 * FlagStore: the source of truth for one project (addressed by `idFromName(project)`).
 *
 * Every change is one SQLite transaction that bumps the changed environment's version, appends
 * an audit entry and queues the environment's snapshot in the outbox; the alarm then publishes
 * the snapshot to KV, retrying with backoff until it succeeds. Public methods form the typed RPC
 * surface; they return a `Result` for every failure a caller is expected to handle.
 */
import { DurableObject } from "cloudflare:workers";
import { signingSecret } from "../lib/signing";
import { allowsLocalWebhooks } from "../lib/webhook-url";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { randomBytes } from "node:crypto";
import { shareConstantLists, validateFlagSet } from "../engine/index";
import type { FlagDefinition, FlagSet, JsonValue } from "../engine/types";
import { appendAudit, auditHead, auditKey, listAudit, verifyAuditChain, type AuditEntry, type AuditFilter, type AuditVerification } from "./audit";
import * as outbox from "./outbox";
import { notifyEnvironment } from "./broadcaster";
import { fail, ok, type Result } from "../contracts/result";
import { migrate } from "./schema";
import { memberChanges, refersTo, segmentEvaluator, segmentEvaluators, toSegmentInfo, type SegmentInfo, type SegmentInput, type SegmentRow } from "./segments";
import * as webhooks from "./webhooks";
import { checkSteps, withoutRampSplit, rampTargeting, stepDueAt, toRampInfo, type RampHistoryEntry, type RampInfo, type RampRow, type RampStatus, type RampStepInput } from "./ramps";
import { sampleRatioTest, type SrmResult } from "./stats";
import { answersEveryone, servedWeights } from "../engine/served-split";
import { applyTelemetry, shadowReport, unitCounts } from "./telemetry";
import { LAST_USED_RESOLUTION_MS, TelemetryBatchSchema } from "../contracts/telemetry";
import type { WebhookEventType } from "../contracts/webhook-events";
import { SIGNATURE_TOLERANCE_SECONDS, verifySignature } from "../lib/signature";
import { canonical } from "../contracts/flagset-diff";
import {
  hashKey,
  keyIndexKvKey,
  projectKvKey,
  auditHeadKvKey,
  AuditHeadSchema,
  snapshotEtag,
  snapshotKvKey,
  SNAPSHOT_FORMAT,
  type KeyIdentity,
  type KeyScope,
  type ProjectEntry,
  type Snapshot,
} from "../contracts/snapshot";
import type {
  EnvironmentInfo,
  ProjectInfo,
  FlagRecord,
  FlagWritten,
  ChangeMeta,
  ApiKeyInfo,
  CreatedKey,
  ReplicationStatus,
  FlagInfoInput,
  ProjectFlag,
  FlagDiff,
  EnvironmentDiff,
  TriggerInput,
  TriggerOutcome,
  TriggerInfo,
  FlagInfoRow,
  TriggerRow,
  ExperimentInfo,
  StaleReport,
  DraftInfo,
  ExperimentRow,
  DraftRow,
  EnvironmentRow,
  FlagRow,
  KeyRow,
} from "./store-types";
import {
  isActive,
  type Change,
  eventFor,
  iso,
  parseDefinition,
  toFlagRecord,
  toKeyInfo,
  noFlag,
  checkIfMatch,
  rejected,
  describeProblems,
  toTriggerInfo,
  noWebhook,
  noTrigger,
  diffEnvironments,
  flagSetChanges,
} from "./store-records";

// What the RPC methods return, for callers of the stub.
export type * from "./store-types";


export class FlagStore extends DurableObject<Env> {
  #sql: SqlStorage;
  #draining: Promise<void> | null = null;
  /** The audit chain's HMAC key; derived from secrets of the deployment, never stored here. */
  readonly #auditKey: Buffer;
  /** Tells this instance's outbox leases from those of an instance that was reset or evicted. */
  readonly #incarnation = randomBytes(9).toString("base64url");

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    // SIGNING_SECRET is the dedicated secret; a deployment without one yet (legacy) keys the
    // chain from ADMIN_TOKEN, with the same derivation.
    this.#auditKey = auditKey(signingSecret(env) ?? env.ADMIN_TOKEN);
    const upgraded = ctx.storage.transactionSync(() => migrate(this.#sql));
    // An upgrade may have queued outbox work (the project's registry entry): arm the alarm for it.
    if (upgraded) void ctx.blockConcurrencyWhile(() => this.#scheduleDrain());
  }

  // ---- project and environments -------------------------------------------------------------

  /**
   * Creates the project or adds environments to it. An environment that still has flags cannot
   * be dropped from the list (409): its flags would be lost.
   */
  async putProject(project: string, environments: string[], meta: ChangeMeta): Promise<Result<ProjectInfo & { created: boolean }>> {
    const existing = this.#projectName();
    if (existing !== null && existing !== project) {
      return fail({ kind: "conflict", detail: `this store belongs to project "${existing}"` });
    }
    const current = this.#environmentRows().map((row) => row.name);
    const removed = current.filter((name) => !environments.includes(name));
    for (const name of removed) {
      const count = this.#flagCount(name);
      if (count > 0) {
        return fail({
          kind: "conflict",
          detail: `environment "${name}" still has ${count} flag(s); delete them before removing the environment`,
        });
      }
    }
    const now = Date.now();
    const added = environments.filter((name) => !current.includes(name));
    this.ctx.storage.transactionSync(() => {
      if (existing === null) {
        this.#sql.exec("INSERT INTO meta (key, value) VALUES ('project', ?), ('created_at', ?)", project, String(now));
        outbox.enqueue(this.#sql, "project", project, now);
      }
      environments.forEach((name, position) => {
        if (added.includes(name)) {
          this.#sql.exec(
            "INSERT INTO environments (name, version, updated_at, position) VALUES (?, 1, ?, ?)",
            name, now, position,
          );
          outbox.enqueue(this.#sql, "publish", name, now);
        } else {
          this.#sql.exec("UPDATE environments SET position = ? WHERE name = ?", position, name);
        }
      });
      for (const name of removed) {
        this.#sql.exec("DELETE FROM environments WHERE name = ?", name);
        outbox.enqueue(this.#sql, "publish", name, now);
      }
      if (existing === null || added.length > 0 || removed.length > 0) {
        this.#appendAudit({
          actor: meta.actor,
          action: existing === null ? "project.created" : "project.updated",
          environment: null,
          target: "project",
          version: null,
          before: existing === null ? null : { environments: current },
          after: { environments },
          reason: meta.reason,
        }, now);
      }
    });
    await this.#scheduleDrain();
    return ok({ ...this.#projectInfo(project), created: existing === null });
  }

  async getProject(): Promise<Result<ProjectInfo>> {
    const project = this.#projectName();
    if (project === null) return fail(this.#noProject());
    return ok(this.#projectInfo(project));
  }

  // ---- whole flag sets ----------------------------------------------------------------------

  /** The environment's flags as a flagd flag set, with the version it was read at. */
  async getFlagSet(environment: string): Promise<Result<{ flagSet: FlagSet; version: number; updatedAt: string }>> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    return ok({ flagSet: this.#flagSet(env.value), version: env.value.version, updatedAt: iso(env.value.updated_at) });
  }

  /**
   * Replaces every flag of an environment with a flagd flag set. With `ifMatch`, the write only
   * happens if the environment is still at that version. Each flag added, changed, toggled or
   * removed is audited and announced on its own (`flag.created`, `flag.updated`, `flag.toggled`,
   * `flag.deleted`), besides one `flagset.replaced`; a set equal to the stored one changes
   * nothing and answers `changed: false`.
   */
  async replaceFlagSet(environment: string, input: unknown, meta: ChangeMeta & { ifMatch: number | null }): Promise<Result<{ version: number; changed: boolean }>> {
    const validated = validateFlagSet(input);
    if (!validated.ok) {
      return fail(rejected(validated.problems));
    }
    const env = this.#environment(environment);
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
    const segments = segmentEvaluators(this.#sql);
    const ownEvaluators: Record<string, JsonValue> = {};
    for (const [name, rule] of Object.entries(flagSet.$evaluators ?? {})) {
      if (!(name in segments)) ownEvaluators[name] = rule;
      else if (JSON.stringify(rule) !== JSON.stringify(segments[name])) {
        return fail({ kind: "conflict", detail: `$evaluators.${name} is a project segment; change it through /admin/v1/projects/{project}/segments/${name}` });
      }
    }
    const before = this.#flagSet(env.value);
    const flagChanges = flagSetChanges(before.flags, flagSet.flags);
    const restChanged =
      canonical(JSON.parse(env.value.evaluators)) !== canonical(ownEvaluators) || canonical(JSON.parse(env.value.metadata)) !== canonical(flagSet.metadata ?? {});
    if (flagChanges.length === 0 && !restChanged) return ok({ version: env.value.version, changed: false });
    const version = this.ctx.storage.transactionSync(() => {
      const now = Date.now();
      const v = this.#commitInTransaction(environment, meta, (version) => {
        for (const change of flagChanges) {
          const definition = flagSet.flags[change.key];
          if (definition === undefined) {
            this.#sql.exec("DELETE FROM flags WHERE environment = ? AND key = ?", environment, change.key);
          } else {
            this.#sql.exec(
              `INSERT INTO flags (environment, key, definition, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (environment, key) DO UPDATE SET definition = excluded.definition, version = excluded.version,
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
              environment, change.key, JSON.stringify(definition), version, now, meta.actor,
            );
          }
        }
        this.#sql.exec(
          "UPDATE environments SET evaluators = ?, metadata = ? WHERE name = ?",
          JSON.stringify(ownEvaluators), JSON.stringify(flagSet.metadata ?? {}), environment,
        );
        const summary = { added: flagChanges.filter((c) => c.action === "flag.created").map((c) => c.key), removed: flagChanges.filter((c) => c.action === "flag.deleted").map((c) => c.key), changed: flagChanges.filter((c) => c.action !== "flag.created" && c.action !== "flag.deleted").map((c) => c.key) };
        return [
          ...flagChanges.map((c) => ({ action: c.action, target: `flag:${c.key}`, before: c.before, after: c.after })),
          { action: "flagset.replaced", target: "flagset", before: restChanged ? { $evaluators: JSON.parse(env.value.evaluators), metadata: JSON.parse(env.value.metadata) } : null, after: { ...summary, ...(restChanged ? { $evaluators: ownEvaluators, metadata: flagSet.metadata ?? {} } : {}) } },
        ];
      }, now);
      for (const change of flagChanges) if (change.action === "flag.deleted") this.#endFlagDependents(environment, change.key, meta, now);
      return v;
    });
    await this.#scheduleDrain();
    return ok({ version, changed: true });
  }

  // ---- single flags -------------------------------------------------------------------------

  async listFlags(environment: string): Promise<Result<{ version: number; flags: FlagRecord[] }>> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    const flags = this.#sql
      .exec<FlagRow>("SELECT * FROM flags WHERE environment = ? ORDER BY key", environment)
      .toArray()
      .map(toFlagRecord);
    return ok({ version: env.value.version, flags });
  }

  async getFlag(environment: string, key: string): Promise<Result<FlagRecord>> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    const row = this.#flagRow(environment, key);
    if (!row) return fail(noFlag(environment, key));
    return ok(toFlagRecord(row));
  }

  /** Creates a flag; 409 if the key is taken in that environment. */
  async createFlag(environment: string, key: string, definition: FlagDefinition, meta: ChangeMeta): Promise<Result<FlagWritten>> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    if (this.#flagRow(environment, key)) {
      return fail({ kind: "conflict", detail: `flag "${key}" already exists in environment "${environment}"; update it with PUT instead` });
    }
    return this.#writeFlag(env.value, key, definition, meta, "flag.created", null);
  }

  /**
   * Replaces a flag's definition. `ifMatch` is the flag version the caller read (412 if stale).
   * A definition equal to the stored one changes nothing and answers `changed: false`.
   */
  async updateFlag(environment: string, key: string, definition: FlagDefinition, meta: ChangeMeta & { ifMatch: number | null }): Promise<Result<FlagWritten>> {
    const target = this.#flagToChange(environment, key, meta.ifMatch);
    if (!target.ok) return target;
    const { env, row } = target.value;
    return this.#writeFlag(env, key, definition, meta, "flag.updated", row);
  }

  /**
   * Turns a flag on or off in one environment: the kill switch. `null` flips the current state;
   * reading and writing happen in this one call, so concurrent flips cannot both read the old
   * state. Asking for the state the flag already has changes nothing (`changed: false`).
   */
  async setFlagState(environment: string, key: string, requested: "ENABLED" | "DISABLED" | null, meta: ChangeMeta & { ifMatch: number | null }): Promise<Result<FlagWritten>> {
    const target = this.#flagToChange(environment, key, meta.ifMatch);
    if (!target.ok) return target;
    const { env, row } = target.value;
    const current = parseDefinition(row.definition);
    const state = requested ?? (current.state === "ENABLED" ? "DISABLED" : "ENABLED");
    const definition = { ...current, state };
    return this.#writeFlag(env, key, definition, meta, state === "ENABLED" ? "flag.enabled" : "flag.disabled", row);
  }

  async deleteFlag(environment: string, key: string, meta: ChangeMeta & { ifMatch: number | null }): Promise<Result<{ version: number }>> {
    const target = this.#flagToChange(environment, key, meta.ifMatch);
    if (!target.ok) return target;
    const { env, row } = target.value;
    const remaining = this.#flagSet(env);
    delete remaining.flags[key];
    const validated = validateFlagSet(remaining, { before: this.#flagSet(env) });
    if (!validated.ok) {
      return fail({ kind: "conflict", detail: `flag "${key}" cannot be deleted: ${describeProblems(validated.problems)}` });
    }
    const version = this.ctx.storage.transactionSync(() => {
      const now = Date.now();
      const v = this.#commitInTransaction(environment, meta, () => {
        this.#sql.exec("DELETE FROM flags WHERE environment = ? AND key = ?", environment, key);
        return { action: "flag.deleted", target: `flag:${key}`, before: parseDefinition(row.definition), after: null };
      }, now);
      this.#endFlagDependents(environment, key, meta, now);
      return v;
    });
    await this.#scheduleDrain();
    return ok({ version });
  }

  /**
   * A deleted flag takes what runs on it along, in the deleting transaction: its ramp is removed
   * (nothing is left to ramp; a ramp kept behind would find no flag on every alarm) and a running
   * experiment on it is stopped. Both are audited as done by the deleting actor.
   */
  #endFlagDependents(environment: string, key: string, meta: ChangeMeta, now: number): void {
    const ramp = this.#rampRow(environment, key);
    if (ramp) {
      this.#sql.exec("DELETE FROM ramps WHERE id = ?", ramp.id);
      this.#appendAudit({ actor: meta.actor, action: "ramp.deleted", environment, target: `flag:${key}`, version: null, before: toRampInfo(ramp), after: null, reason: `flag "${key}" was deleted` }, now);
    }
    for (const experiment of this.#sql.exec<{ id: string }>("SELECT id FROM experiments WHERE environment = ? AND flag = ? AND status = 'running'", environment, key).toArray()) {
      this.#sql.exec("UPDATE experiments SET status = 'stopped', stopped_at = ? WHERE id = ?", now, experiment.id);
      this.#appendAudit({ actor: meta.actor, action: "experiment.stopped", environment, target: `flag:${key}`, version: null, before: { status: "running" }, after: { status: "stopped" }, reason: `flag "${key}" was deleted` }, now);
    }
  }

  // ---- keys ---------------------------------------------------------------------------------

  /** Creates an API key. `environment` is required for `client`/`server` keys, null for `admin`. */
  async createKey(scope: KeyScope, environment: string | null, name: string, meta: ChangeMeta): Promise<Result<CreatedKey>> {
    const project = this.#projectName();
    if (project === null) return fail(this.#noProject());
    if (environment !== null) {
      const env = this.#environment(environment);
      if (!env.ok) return env;
    }
    const created = this.#newKey(scope, environment, name, meta, Date.now());
    await this.#scheduleDrain();
    return ok(created);
  }

  async listKeys(environment: string | null): Promise<Result<ApiKeyInfo[]>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    const rows = environment === null
      ? this.#sql.exec<KeyRow>("SELECT * FROM api_keys ORDER BY created_at, id").toArray()
      : this.#sql.exec<KeyRow>("SELECT * FROM api_keys WHERE environment = ? ORDER BY created_at, id", environment).toArray();
    return ok(rows.map(toKeyInfo));
  }

  /** Revokes a key at once in this store; the edge stops accepting it within the propagation bound. */
  async revokeKey(id: string, meta: ChangeMeta): Promise<Result<ApiKeyInfo>> {
    const row = this.#sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).toArray()[0];
    if (!row) return fail({ kind: "not_found", detail: `there is no key with id "${id}" in this project` });
    if (row.revoked_at === null) {
      const now = Date.now();
      this.ctx.storage.transactionSync(() => {
        this.#sql.exec("UPDATE api_keys SET revoked_at = ? WHERE id = ?", now, id);
        this.#appendAudit({
          actor: meta.actor, action: "key.revoked", environment: row.environment, target: `key:${id}`, version: null,
          before: { revoked: false }, after: { revoked: true }, reason: meta.reason,
        }, now);
        outbox.enqueue(this.#sql, "key-index", row.hash, now);
        this.#queueEvent("key.revoked", row.environment, meta, { key: toKeyInfo({ ...row, revoked_at: now }) }, now);
      });
      await this.#scheduleDrain();
    }
    return ok(toKeyInfo(this.#sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).one()));
  }

  /** Looks a key up by its hash; null when unknown or revoked. Records when it was last used. */
  async authenticate(keyHash: string): Promise<KeyIdentity | null> {
    const project = this.#projectName();
    const row = this.#sql.exec<KeyRow>("SELECT * FROM api_keys WHERE hash = ?", keyHash).toArray()[0];
    const now = Date.now();
    if (!row || project === null || !isActive(row, now)) return null;
    if (row.last_used_at === null || now - row.last_used_at > LAST_USED_RESOLUTION_MS) {
      this.#sql.exec("UPDATE api_keys SET last_used_at = ? WHERE id = ?", now, row.id);
    }
    return { id: row.id, project, environment: row.environment, scope: row.scope, expiresAt: row.expires_at === null ? null : iso(row.expires_at) };
  }

  /**
   * Rotates a key: a new key with the same scope, environment and name, while the old one keeps
   * working for `overlapSeconds` so clients can switch without an outage.
   */
  async rotateKey(id: string, overlapSeconds: number, meta: ChangeMeta): Promise<Result<{ key: CreatedKey; previous: ApiKeyInfo }>> {
    const old = this.#sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).toArray()[0];
    const now = Date.now();
    if (!old) return fail({ kind: "not_found", detail: `there is no key with id "${id}" in this project` });
    if (!isActive(old, now)) return fail({ kind: "conflict", detail: `key "${id}" is revoked or expired; create a new key instead` });
    if (old.replaced_by !== null) return fail({ kind: "conflict", detail: `key "${id}" was already rotated to "${old.replaced_by}"; rotate that one` });
    const created = this.#newKey(old.scope, old.environment, old.name, meta, now, (newId) => {
      const expiresAt = now + overlapSeconds * 1000;
      this.#sql.exec("UPDATE api_keys SET expires_at = ?, replaced_by = ? WHERE id = ?", expiresAt, newId, id);
      this.#appendAudit({
        actor: meta.actor, action: "key.rotated", environment: old.environment, target: `key:${id}`, version: null,
        before: { expiresAt: null }, after: { expiresAt: iso(expiresAt), replacedBy: newId }, reason: meta.reason,
      }, now);
      outbox.enqueue(this.#sql, "key-index", old.hash, now);
    });
    await this.#scheduleDrain();
    return ok({ key: created, previous: toKeyInfo(this.#sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).one()) });
  }

  // ---- segments -----------------------------------------------------------------------------

  async listSegments(): Promise<Result<SegmentInfo[]>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    return ok(this.#sql.exec<SegmentRow>("SELECT * FROM segments ORDER BY name").toArray().map((row) => toSegmentInfo(row)));
  }

  async getSegment(name: string): Promise<Result<SegmentInfo & { members?: string[] }>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    const row = this.#segmentRow(name);
    if (!row) return fail({ kind: "not_found", detail: `there is no segment "${name}" in this project` });
    return ok(toSegmentInfo(row, true));
  }

  /**
   * Creates or replaces a segment. Every environment's flags are re-validated with it, and every
   * environment gets a new version, since each snapshot carries the segment.
   */
  async putSegment(name: string, input: SegmentInput, meta: ChangeMeta & { ifMatch: number | null }): Promise<Result<SegmentInfo>> {
    const project = this.#projectName();
    if (project === null) return fail(this.#noProject());
    const existing = this.#segmentRow(name);
    if (meta.ifMatch !== null && meta.ifMatch !== (existing?.version ?? 0)) {
      return fail({ kind: "precondition_failed", detail: `segment "${name}" is at version ${existing?.version ?? 0}, not ${meta.ifMatch}; re-read it`, currentVersion: existing?.version ?? 0 });
    }
    const row = {
      rule: input.rule === undefined ? null : JSON.stringify(input.rule),
      members: input.members === undefined ? null : JSON.stringify([...new Set(input.members)]),
      attribute: input.members === undefined ? null : (input.attribute ?? "targetingKey"),
    };
    const evaluator = segmentEvaluator(row);
    for (const env of this.#environmentRows()) {
      const own = JSON.parse(env.evaluators) as Record<string, JsonValue>;
      if (name in own) {
        return fail({ kind: "conflict", detail: `environment "${env.name}" has its own $evaluators entry "${name}"; remove it from that flag set or choose another segment name` });
      }
      const candidate = this.#flagSet(env);
      candidate.$evaluators = { ...candidate.$evaluators, [name]: evaluator };
      const validated = validateFlagSet(candidate, { before: this.#flagSet(env) });
      if (!validated.ok) {
        return fail(rejected(validated.problems, `with this segment, environment "${env.name}" would not be valid: `));
      }
    }
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      const version = (existing?.version ?? 0) + 1;
      this.#sql.exec(
        `INSERT INTO segments (name, description, rule, members, attribute, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET description = excluded.description, rule = excluded.rule, members = excluded.members,
           attribute = excluded.attribute, version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        name, input.description, row.rule, row.members, row.attribute, version, now, meta.actor,
      );
      this.#touchAllEnvironments(meta, now, {
        action: "segment.changed",
        target: `segment:${name}`,
        before: existing ? toSegmentInfo(existing) : null,
        after: { ...toSegmentInfo(this.#segmentRow(name)!), ...memberChanges(existing?.members ?? null, row.members) },
      });
    });
    await this.#scheduleDrain();
    return ok(toSegmentInfo(this.#segmentRow(name)!));
  }

  /** Deletes a segment no flag uses; 409 naming the flags that still do. */
  async deleteSegment(name: string, meta: ChangeMeta): Promise<Result<{ deleted: string }>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    const existing = this.#segmentRow(name);
    if (!existing) return fail({ kind: "not_found", detail: `there is no segment "${name}" in this project` });
    const users: string[] = [];
    for (const row of this.#sql.exec<FlagRow>("SELECT environment, key, definition FROM flags ORDER BY environment, key")) {
      if (refersTo(parseDefinition(row.definition).targeting, name)) users.push(`${row.environment}/${row.key}`);
    }
    for (const env of this.#environmentRows()) {
      for (const [evaluator, rule] of Object.entries(JSON.parse(env.evaluators) as Record<string, JsonValue>)) {
        if (refersTo(rule, name)) users.push(`${env.name}/$evaluators.${evaluator}`);
      }
    }
    for (const other of this.#sql.exec<SegmentRow>("SELECT * FROM segments WHERE name != ?", name)) {
      if (refersTo(segmentEvaluator(other), name)) users.push(`segment ${other.name}`);
    }
    // A ramp restores its base rules on every step, and a staged draft is published as a whole.
    for (const ramp of this.#sql.exec<RampRow>("SELECT environment, flag, base_targeting FROM ramps WHERE base_targeting IS NOT NULL")) {
      if (refersTo(JSON.parse(ramp.base_targeting!) as JsonValue, name)) users.push(`the ramp of ${ramp.environment}/${ramp.flag}`);
    }
    for (const draft of this.#sql.exec<DraftRow>("SELECT environment, flagset FROM drafts")) {
      const staged = JSON.parse(draft.flagset) as FlagSet;
      if (Object.values(staged.flags).some((flag) => refersTo(flag.targeting, name))) users.push(`the draft of ${draft.environment}`);
    }
    if (users.length > 0) {
      return fail({ kind: "conflict", detail: `segment "${name}" is in use by ${users.join(", ")}; change those first` });
    }
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM segments WHERE name = ?", name);
      this.#touchAllEnvironments(meta, now, { action: "segment.changed", target: `segment:${name}`, before: { ...toSegmentInfo(existing), ...memberChanges(existing.members, null) }, after: null });
    });
    await this.#scheduleDrain();
    return ok({ deleted: name });
  }

  // ---- flags across environments ------------------------------------------------------------

  /**
   * Creates a flag in every environment at once: one definition (variants, default, targeting),
   * optionally adjusted per environment, plus the project-level facts (description, owner, tags,
   * lifetime). One transaction; 409 if the key exists anywhere.
   */
  async createFlagEverywhere(key: string, info: FlagInfoInput, base: FlagDefinition, overrides: Record<string, Partial<FlagDefinition>>, meta: ChangeMeta): Promise<Result<ProjectFlag>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    const envs = this.#environmentRows();
    const unknown = Object.keys(overrides).filter((name) => !envs.some((env) => env.name === name));
    if (unknown.length > 0) return fail({ kind: "not_found", detail: `this project has no environment ${unknown.map((u) => `"${u}"`).join(", ")}` });
    const taken = envs.filter((env) => this.#flagRow(env.name, key)).map((env) => env.name);
    if (taken.length > 0) return fail({ kind: "conflict", detail: `flag "${key}" already exists in ${taken.join(", ")}` });
    const definitions = new Map<string, FlagDefinition>();
    for (const env of envs) {
      const definition = { ...base, ...overrides[env.name] } as FlagDefinition;
      const candidate = this.#flagSet(env);
      candidate.flags[key] = definition;
      const validated = validateFlagSet(candidate, { before: this.#flagSet(env) });
      if (!validated.ok) {
        return fail(rejected(validated.problems.map((p) => ({ ...p, path: `${env.name}.${p.path}` })), `in environment "${env.name}": `));
      }
      definitions.set(env.name, validated.flagSet.flags[key]!);
    }
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#writeFlagInfo(key, info, meta.actor, now);
      for (const env of envs) {
        const definition = definitions.get(env.name)!;
        this.#commitInTransaction(env.name, meta, (version) => {
          this.#sql.exec(
            "INSERT INTO flags (environment, key, definition, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)",
            env.name, key, JSON.stringify(definition), version, now, meta.actor,
          );
          return { action: "flag.created", target: `flag:${key}`, before: null, after: definition };
        }, now);
      }
    });
    await this.#scheduleDrain();
    return ok(this.#projectFlag(key)!);
  }

  /** Every flag of the project with its facts and its state in each environment, side by side. */
  async listProjectFlags(): Promise<Result<{ environments: string[]; flags: ProjectFlag[] }>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    const keys = this.#sql.exec<{ key: string }>("SELECT key FROM flags UNION SELECT key FROM flag_info ORDER BY key").toArray();
    return ok({
      environments: this.#environmentRows().map((env) => env.name),
      flags: keys.map((row) => this.#projectFlag(row.key)).filter((flag): flag is ProjectFlag => flag !== null),
    });
  }

  async getProjectFlag(key: string): Promise<Result<ProjectFlag>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    const flag = this.#projectFlag(key);
    if (!flag) return fail({ kind: "not_found", detail: `there is no flag "${key}" in any environment of this project` });
    return ok(flag);
  }

  /** Updates a flag's project-level facts (description, owner, tags, lifetime). */
  async updateFlagInfo(key: string, patch: Partial<FlagInfoInput>, meta: ChangeMeta): Promise<Result<ProjectFlag>> {
    const before = this.#projectFlag(key);
    if (!before) return fail({ kind: "not_found", detail: `there is no flag "${key}" in any environment of this project` });
    const now = Date.now();
    const next: FlagInfoInput = { ...before.info, ...patch };
    this.ctx.storage.transactionSync(() => {
      this.#writeFlagInfo(key, next, meta.actor, now);
      this.#appendAudit({ actor: meta.actor, action: "flag.info.updated", environment: null, target: `flag:${key}`, version: null, before: before.info, after: next, reason: meta.reason }, now);
    });
    return ok(this.#projectFlag(key)!);
  }

  /** How two environments' flags differ: per flag, only in one, different (which fields), or the same. */
  async compareEnvironments(from: string, to: string, keys: string[] | null): Promise<Result<EnvironmentDiff>> {
    const a = this.#environment(from);
    if (!a.ok) return a;
    const b = this.#environment(to);
    if (!b.ok) return b;
    return ok(diffEnvironments(from, this.#flagSet(a.value), to, this.#flagSet(b.value), keys));
  }

  /**
   * Copies `from`'s configuration of the named flags (all of them when `keys` is null) to `to`,
   * atomically; flags only in `to` are left alone. With `dryRun`, only reports the diff.
   */
  async promote(from: string, to: string, keys: string[] | null, meta: ChangeMeta & { dryRun: boolean; ifMatch: number | null }): Promise<Result<{ diff: EnvironmentDiff; version: number | null }>> {
    const source = this.#environment(from);
    if (!source.ok) return source;
    const target = this.#environment(to);
    if (!target.ok) return target;
    if (from === to) return fail({ kind: "invalid", detail: "promote needs two different environments", problems: [{ path: "to", message: "must differ from 'from'" }] });
    const sourceSet = this.#flagSet(source.value);
    const missing = (keys ?? []).filter((key) => !(key in sourceSet.flags));
    if (missing.length > 0) return fail({ kind: "not_found", detail: `environment "${from}" has no flag ${missing.map((m) => `"${m}"`).join(", ")}` });
    const diff = diffEnvironments(from, sourceSet, to, this.#flagSet(target.value), keys);
    if (meta.ifMatch !== null && meta.ifMatch !== target.value.version) {
      return fail({ kind: "precondition_failed", detail: `environment "${to}" is at version ${target.value.version}, not ${meta.ifMatch}; preview the promotion again`, currentVersion: target.value.version });
    }
    const changes = diff.flags.filter((flag) => flag.status !== "same" && flag.status !== `only-in-${to}`);
    if (changes.length === 0) return ok({ diff, version: null });
    // A dry run validates exactly as the promotion would, so a clean preview means it will apply.
    const candidate = this.#flagSet(target.value);
    for (const change of changes) candidate.flags[change.key] = sourceSet.flags[change.key]!;
    const validated = validateFlagSet(candidate, { before: this.#flagSet(target.value) });
    if (!validated.ok) return fail(rejected(validated.problems, `environment "${to}" would not be valid: `));
    if (meta.dryRun) return ok({ diff, version: null });
    const now = Date.now();
    let version = 0;
    this.ctx.storage.transactionSync(() => {
      version = this.#commitInTransaction(to, meta, (v) => {
        for (const change of changes) {
          this.#sql.exec(
            `INSERT INTO flags (environment, key, definition, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (environment, key) DO UPDATE SET definition = excluded.definition, version = excluded.version,
               updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
            to, change.key, JSON.stringify(sourceSet.flags[change.key]), v, now, meta.actor,
          );
        }
        return { action: "flags.promoted", target: "flagset", before: Object.fromEntries(changes.map((c) => [c.key, c.to])), after: Object.fromEntries(changes.map((c) => [c.key, c.from])) };
      }, now);
      this.#queueEvent("flagset.replaced", to, meta, { promotedFrom: from, version, flags: changes.map((c) => c.key) }, now);
    });
    await this.#scheduleDrain();
    return ok({ diff, version });
  }

  // ---- webhooks -----------------------------------------------------------------------------

  async createWebhook(input: { url: string; events: WebhookEventType[]; description: string; secret: string | null }, meta: ChangeMeta): Promise<Result<webhooks.WebhookInfo & { secret: string }>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    const now = Date.now();
    const created = this.ctx.storage.transactionSync(() => {
      const hook = webhooks.createWebhook(this.#sql, input, meta.actor, now);
      this.#appendAudit({ actor: meta.actor, action: "webhook.created", environment: null, target: `webhook:${hook.id}`, version: null, before: null, after: { url: hook.url, events: hook.events }, reason: meta.reason }, now);
      return hook;
    });
    return ok(created);
  }

  async listWebhooks(): Promise<Result<webhooks.WebhookInfo[]>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    return ok(webhooks.listWebhooks(this.#sql));
  }

  async getWebhook(id: string): Promise<Result<webhooks.WebhookInfo>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    const hook = webhooks.listWebhooks(this.#sql).find((h) => h.id === id);
    return hook ? ok(hook) : fail(noWebhook(id));
  }

  async updateWebhook(id: string, patch: { url?: string | undefined; events?: WebhookEventType[] | undefined; description?: string | undefined; active?: boolean | undefined }, meta: ChangeMeta): Promise<Result<webhooks.WebhookInfo>> {
    if (!webhooks.getWebhookRow(this.#sql, id)) return fail(noWebhook(id));
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      webhooks.updateWebhook(this.#sql, id, patch);
      this.#appendAudit({ actor: meta.actor, action: "webhook.updated", environment: null, target: `webhook:${id}`, version: null, before: null, after: patch, reason: meta.reason }, now);
    });
    return ok(webhooks.listWebhooks(this.#sql).find((hook) => hook.id === id)!);
  }

  async deleteWebhook(id: string, meta: ChangeMeta): Promise<Result<{ deleted: string }>> {
    if (!webhooks.getWebhookRow(this.#sql, id)) return fail(noWebhook(id));
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      webhooks.deleteWebhook(this.#sql, id);
      this.#appendAudit({ actor: meta.actor, action: "webhook.deleted", environment: null, target: `webhook:${id}`, version: null, before: null, after: null, reason: meta.reason }, now);
    });
    return ok({ deleted: id });
  }

  /** Queues a `ping` event to one webhook, to test the receiver. */
  async pingWebhook(id: string, meta: ChangeMeta): Promise<Result<{ queued: number }>> {
    if (!webhooks.getWebhookRow(this.#sql, id)) return fail(noWebhook(id));
    const now = Date.now();
    this.ctx.storage.transactionSync(() => this.#queueEvent("ping", null, meta, { webhookId: id }, now, id));
    await this.#scheduleDrain();
    return ok({ queued: 1 });
  }

  async listDeliveries(id: string, limit: number): Promise<Result<webhooks.DeliveryInfo[]>> {
    if (!webhooks.getWebhookRow(this.#sql, id)) return fail(noWebhook(id));
    return ok(webhooks.listDeliveries(this.#sql, id, limit));
  }

  async redeliver(id: string, deliveryId: string): Promise<Result<webhooks.DeliveryInfo>> {
    const hook = webhooks.getWebhookRow(this.#sql, id);
    if (!hook) return fail(noWebhook(id));
    if (hook.active !== 1) return fail({ kind: "conflict", detail: `webhook "${id}" is inactive; activate it before redelivering` });
    if (!webhooks.getDelivery(this.#sql, id, deliveryId)) return fail({ kind: "not_found", detail: `webhook "${id}" has no delivery "${deliveryId}"` });
    webhooks.redeliver(this.#sql, deliveryId, Date.now());
    await this.#scheduleDrain();
    return ok(webhooks.getDelivery(this.#sql, id, deliveryId)!);
  }

  // ---- triggers -----------------------------------------------------------------------------

  /** Creates a trigger; returns its secret token (for the URL) and signing secret, shown once. */
  async createTrigger(input: TriggerInput, meta: ChangeMeta): Promise<Result<TriggerInfo & { token: string; secret: string }>> {
    const env = this.#environment(input.environment);
    if (!env.ok) return env;
    const flag = this.#flagRow(input.environment, input.flag);
    if (!flag) return fail(noFlag(input.environment, input.flag));
    if (input.action === "set-default" && !(input.variant! in parseDefinition(flag.definition).variants)) {
      return fail({ kind: "invalid", detail: `flag "${input.flag}" has no variant "${input.variant}"`, problems: [{ path: "variant", message: "not one of the flag's variants" }] });
    }
    if (this.#sql.exec("SELECT 1 FROM triggers WHERE name = ?", input.name).toArray().length > 0) {
      return fail({ kind: "conflict", detail: `a trigger named "${input.name}" already exists` });
    }
    const id = webhooks.newId("trg");
    const token = `eft_${randomBytes(24).toString("base64url")}`;
    const secret = `trsec_${randomBytes(24).toString("base64url")}`;
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec(
        "INSERT INTO triggers (id, name, environment, flag, action, variant, token_hash, secret, active, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
        id, input.name, input.environment, input.flag, input.action, input.variant ?? null, hashKey(token), secret, now, meta.actor,
      );
      this.#appendAudit({ actor: meta.actor, action: "trigger.created", environment: input.environment, target: `trigger:${input.name}`, version: null, before: null, after: input, reason: meta.reason }, now);
    });
    return ok({ ...this.#triggerInfo(id)!, token, secret });
  }

  async listTriggers(): Promise<Result<TriggerInfo[]>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    return ok(this.#sql.exec<TriggerRow>("SELECT * FROM triggers ORDER BY created_at, id").toArray().map(toTriggerInfo));
  }

  async setTriggerActive(id: string, active: boolean, meta: ChangeMeta): Promise<Result<TriggerInfo>> {
    const trigger = this.#triggerInfo(id);
    if (!trigger) return fail(noTrigger(id));
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("UPDATE triggers SET active = ? WHERE id = ?", active ? 1 : 0, id);
      this.#appendAudit({ actor: meta.actor, action: active ? "trigger.enabled" : "trigger.disabled", environment: trigger.environment, target: `trigger:${trigger.name}`, version: null, before: { active: trigger.active }, after: { active }, reason: meta.reason }, now);
    });
    return ok(this.#triggerInfo(id)!);
  }

  /** New token and secret; the old URL stops working at once. */
  async rotateTrigger(id: string, meta: ChangeMeta): Promise<Result<TriggerInfo & { token: string; secret: string }>> {
    const trigger = this.#triggerInfo(id);
    if (!trigger) return fail(noTrigger(id));
    const token = `eft_${randomBytes(24).toString("base64url")}`;
    const secret = `trsec_${randomBytes(24).toString("base64url")}`;
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("UPDATE triggers SET token_hash = ?, secret = ? WHERE id = ?", hashKey(token), secret, id);
      this.#appendAudit({ actor: meta.actor, action: "trigger.rotated", environment: trigger.environment, target: `trigger:${trigger.name}`, version: null, before: null, after: null, reason: meta.reason }, now);
    });
    return ok({ ...this.#triggerInfo(id)!, token, secret });
  }

  async deleteTrigger(id: string, meta: ChangeMeta): Promise<Result<{ deleted: string }>> {
    const trigger = this.#triggerInfo(id);
    if (!trigger) return fail(noTrigger(id));
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM triggers WHERE id = ?", id);
      this.#appendAudit({ actor: meta.actor, action: "trigger.deleted", environment: trigger.environment, target: `trigger:${trigger.name}`, version: null, before: trigger, after: null, reason: meta.reason }, now);
    });
    return ok({ deleted: id });
  }

  /** Fires the trigger whose secret URL token hashes to `tokenHash`. Unknown and disabled triggers look the same. */
  async fireTrigger(tokenHash: string, reason: string | null): Promise<Result<TriggerOutcome>> {
    const row = this.#sql.exec<TriggerRow>("SELECT * FROM triggers WHERE token_hash = ? AND active = 1", tokenHash).toArray()[0];
    if (!row) return fail({ kind: "not_found", detail: "no active trigger has this URL" });
    return this.#fire(row, reason);
  }

  /** Fires a trigger from a signed request: HMAC of the body with the trigger's secret, within the replay window. */
  async fireSignedTrigger(id: string, body: string, signature: string | null, reason: string | null): Promise<Result<TriggerOutcome>> {
    const row = this.#sql.exec<TriggerRow>("SELECT * FROM triggers WHERE id = ? AND active = 1", id).toArray()[0];
    if (!row) return fail({ kind: "not_found", detail: "no active trigger has this id" });
    const now = Math.floor(Date.now() / 1000);
    const check = verifySignature(row.secret, body, signature, now);
    if (!check.ok) return fail({ kind: "invalid", detail: check.reason, problems: [{ path: "Edgeflags-Signature", message: check.reason }] });
    // Each signed request fires once: a copy replayed inside the timestamp window is refused.
    const fresh = this.ctx.storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM trigger_signatures WHERE timestamp < ?", now - 2 * SIGNATURE_TOLERANCE_SECONDS);
      return this.#sql.exec("INSERT OR IGNORE INTO trigger_signatures (trigger_id, mac, timestamp) VALUES (?, ?, ?)", row.id, check.mac, check.timestamp).rowsWritten > 0;
    });
    if (!fresh) {
      const reason = "this signed request was already used; sign every request anew";
      return fail({ kind: "invalid", detail: reason, problems: [{ path: "Edgeflags-Signature", message: reason }] });
    }
    return this.#fire(row, reason);
  }

  // ---- ramps --------------------------------------------------------------------------------

  /**
   * Starts a ramp of `variant` over `baseline` on a flag in one environment. The first step is
   * applied at once when it is due now; later steps by the alarm, each exactly once.
   */
  async startRamp(environment: string, key: string, input: { variant: string; baseline: string; steps: RampStepInput[]; startAt: string | null }, meta: ChangeMeta): Promise<Result<RampInfo>> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    const flag = this.#flagRow(environment, key);
    if (!flag) return fail(noFlag(environment, key));
    const definition = parseDefinition(flag.definition);
    const problems = checkSteps(input.steps);
    for (const [field, variant] of [["variant", input.variant], ["baseline", input.baseline]] as const) {
      if (!(variant in definition.variants)) problems.push({ path: field, message: `"${variant}" is not a variant of flag "${key}" (it has: ${Object.keys(definition.variants).join(", ")})` });
    }
    if (input.variant === input.baseline) problems.push({ path: "baseline", message: "the baseline must differ from the variant being rolled out" });
    if (problems.length > 0) return fail({ kind: "invalid", detail: problems.map((p) => `${p.path}: ${p.message}`).join("; "), problems });
    const previous = this.#rampRow(environment, key);
    if (previous && (previous.status === "running" || previous.status === "paused")) {
      return fail({ kind: "conflict", detail: `flag "${key}" already has a ${previous.status} ramp in "${environment}"; complete, roll back or delete it first` });
    }
    // A finished (completed or rolled-back) ramp is replaced; its split, or one a deleted ramp
    // left behind, is not kept in front of the new one.
    const base = previous && JSON.stringify(definition.targeting ?? null) === (previous.applied_targeting ?? "null")
      ? (previous.base_targeting === null ? null : (JSON.parse(previous.base_targeting) as JsonValue))
      : withoutRampSplit(definition.targeting ?? null, input.variant, input.baseline);
    const decidesAll = answersEveryone(base);
    if (decidesAll !== null) {
      // A conflict with the flag's current state (409), not a malformed request.
      return fail({
        kind: "conflict",
        detail: `flag "${key}" in "${environment}" already answers every context with its own targeting (${decidesAll}), so a ramp after it would reach nobody; change the flag's targeting to leave the contexts to ramp undecided`,
      });
    }
    const now = Date.now();
    const start = input.startAt === null ? now : Date.parse(input.startAt);
    const id = webhooks.newId("ramp");
    this.ctx.storage.transactionSync(() => {
      if (previous) {
        this.#sql.exec("DELETE FROM ramps WHERE id = ?", previous.id);
        this.#appendAudit({ actor: meta.actor, action: "ramp.deleted", environment, target: `flag:${key}`, version: null, before: toRampInfo(previous), after: null, reason: "replaced by a new ramp" }, now);
      }
      this.#sql.exec(
        `INSERT INTO ramps (id, environment, flag, variant, baseline, steps, base_targeting, current_step, status, next_at, applied_targeting, created_at, created_by, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, -1, 'running', ?, ?, ?, ?, ?)`,
        id, environment, key, input.variant, input.baseline, JSON.stringify(input.steps),
        base === null ? null : JSON.stringify(base),
        stepDueAt(input.steps, 0, start), JSON.stringify(definition.targeting ?? null), now, meta.actor, now,
      );
      this.#appendAudit({ actor: meta.actor, action: "ramp.created", environment, target: `flag:${key}`, version: null, before: null, after: { variant: input.variant, baseline: input.baseline, steps: input.steps }, reason: meta.reason }, now);
    });
    await this.#advanceRamps();
    await this.#scheduleDrain();
    return ok(toRampInfo(this.#rampRow(environment, key)!));
  }

  async getRamp(environment: string, key: string): Promise<Result<RampInfo>> {
    const ramp = this.#rampOrFail(environment, key);
    return ramp.ok ? ok(toRampInfo(ramp.value)) : ramp;
  }

  async pauseRamp(environment: string, key: string, meta: ChangeMeta): Promise<Result<RampInfo>> {
    const ramp = this.#rampOrFail(environment, key);
    if (!ramp.ok) return ramp;
    if (ramp.value.status !== "running") return fail({ kind: "conflict", detail: `the ramp is ${ramp.value.status}, not running` });
    this.#setRampStatus(ramp.value, "paused", meta.reason ?? `paused by ${meta.actor}`, meta, "ramp.paused");
    await this.#scheduleDrain();
    return ok(toRampInfo(this.#rampRow(environment, key)!));
  }

  /** Resumes a paused or rolled-back ramp: the next step is due after its own delay from now. */
  async resumeRamp(environment: string, key: string, meta: ChangeMeta): Promise<Result<RampInfo>> {
    const ramp = this.#rampOrFail(environment, key);
    if (!ramp.ok) return ramp;
    const row = ramp.value;
    if (row.status !== "paused" && row.status !== "rolled-back") return fail({ kind: "conflict", detail: `the ramp is ${row.status}; only a paused or rolled-back ramp resumes` });
    const steps = JSON.parse(row.steps) as RampStepInput[];
    if (row.current_step + 1 >= steps.length) return fail({ kind: "conflict", detail: "the ramp has no step left; it is at its last step" });
    const now = Date.now();
    const nextAt = Math.max(now, stepDueAt(steps, row.current_step + 1, now));
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("UPDATE ramps SET status = 'running', pause_reason = NULL, next_at = ?, updated_at = ? WHERE id = ?", nextAt, now, row.id);
      this.#appendAudit({ actor: meta.actor, action: "ramp.resumed", environment, target: `flag:${key}`, version: null, before: { status: row.status }, after: { status: "running", nextAt: iso(nextAt) }, reason: meta.reason }, now);
      this.#queueEvent("ramp.resumed", environment, meta, { flag: key, ramp: row.id }, now);
    });
    await this.#advanceRamps();
    await this.#scheduleDrain();
    return ok(toRampInfo(this.#rampRow(environment, key)!));
  }

  /** Rolls a ramp back to a named step, or to 0% when `toStep` is null; the ramp stays stopped until resumed. */
  async rollbackRamp(environment: string, key: string, toStep: number | null, meta: ChangeMeta): Promise<Result<RampInfo>> {
    const ramp = this.#rampOrFail(environment, key);
    if (!ramp.ok) return ramp;
    const row = ramp.value;
    const steps = JSON.parse(row.steps) as RampStepInput[];
    // Already at 0% and stopped: a repeated rollback (a trigger fired again) writes nothing.
    if (toStep === null && row.status === "rolled-back" && row.current_step === -1) return ok(toRampInfo(row));
    if (toStep !== null && (toStep < 0 || toStep >= row.current_step)) {
      return fail({ kind: "invalid", detail: `roll back to a step before the current one (0 to ${row.current_step - 1}), or omit toStep for 0%`, problems: [{ path: "toStep", message: "out of range" }] });
    }
    const applied = await this.#applyRampStep(row, toStep ?? -1, toStep === null ? 0 : steps[toStep]!.percent, meta, "rolled-back", "ramp.rolled-back");
    if (!applied.ok) return applied;
    return ok(toRampInfo(this.#rampRow(environment, key)!));
  }

  /** Jumps a ramp to 100%. */
  async completeRamp(environment: string, key: string, meta: ChangeMeta): Promise<Result<RampInfo>> {
    const ramp = this.#rampOrFail(environment, key);
    if (!ramp.ok) return ramp;
    const steps = JSON.parse(ramp.value.steps) as RampStepInput[];
    const last = steps.length - 1;
    const applied = await this.#applyRampStep(ramp.value, steps[last]!.percent === 100 ? last : steps.length, 100, meta, "completed", "ramp.completed");
    if (!applied.ok) return applied;
    return ok(toRampInfo(this.#rampRow(environment, key)!));
  }

  /** Removes a ramp; the flag keeps the targeting of the step it reached. */
  async deleteRamp(environment: string, key: string, meta: ChangeMeta): Promise<Result<{ deleted: string }>> {
    const ramp = this.#rampOrFail(environment, key);
    if (!ramp.ok) return ramp;
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM ramps WHERE id = ?", ramp.value.id);
      this.#commitInTransaction(environment, meta, () => ({ action: "ramp.deleted", target: `flag:${key}`, before: toRampInfo(ramp.value), after: null }), now);
    });
    await this.#scheduleDrain();
    return ok({ deleted: ramp.value.id });
  }

  // ---- experiments, exposures, sample-ratio mismatch ----------------------------------------

  /**
   * Marks a flag as an experiment with the weights its variants are meant to get; exposures start
   * counting. Without `weights`, they are the weights the flag actually serves (its fractional
   * split), so the sample-ratio test compares the traffic with what the flag really does; a flag
   * whose targeting is not one split needs them given (422).
   */
  async startExperiment(environment: string, key: string, requested: Record<string, number> | null, meta: ChangeMeta): Promise<Result<ExperimentInfo>> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    const flag = this.#flagRow(environment, key);
    if (!flag) return fail(noFlag(environment, key));
    const definition = parseDefinition(flag.definition);
    const weights = requested ?? servedWeights(definition.targeting);
    if (weights === null) {
      const detail = `flag "${key}" does not serve one fractional split in "${environment}", so its weights cannot be read from it; give the intended weights`;
      return fail({ kind: "invalid", detail, problems: [{ path: "weights", message: "required for this flag" }] });
    }
    const variants = Object.keys(definition.variants);
    const unknown = Object.keys(weights).filter((v) => !variants.includes(v));
    if (unknown.length > 0) return fail({ kind: "invalid", detail: `flag "${key}" has no variant ${unknown.join(", ")}`, problems: unknown.map((v) => ({ path: `weights.${v}`, message: "not a variant of the flag" })) });
    if (this.#sql.exec("SELECT 1 FROM experiments WHERE environment = ? AND flag = ? AND status = 'running'", environment, key).toArray().length > 0) {
      return fail({ kind: "conflict", detail: `flag "${key}" already has a running experiment in "${environment}"` });
    }
    const id = webhooks.newId("exp");
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("INSERT INTO experiments (id, environment, flag, weights, status, created_at, created_by) VALUES (?, ?, ?, ?, 'running', ?, ?)", id, environment, key, JSON.stringify(weights), now, meta.actor);
      this.#commitInTransaction(environment, meta, () => ({ action: "experiment.started", target: `flag:${key}`, before: null, after: { id, weights } }), now);
    });
    await this.#scheduleDrain();
    return ok(this.#experimentInfo(id)!);
  }

  async stopExperiment(id: string, meta: ChangeMeta): Promise<Result<ExperimentInfo>> {
    const experiment = this.#experimentInfo(id);
    if (!experiment) return fail({ kind: "not_found", detail: `there is no experiment "${id}" in this project` });
    if (experiment.status === "stopped") return ok(experiment);
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("UPDATE experiments SET status = 'stopped', stopped_at = ? WHERE id = ?", now, id);
      this.#commitInTransaction(experiment.environment, meta, () => ({ action: "experiment.stopped", target: `flag:${experiment.flag}`, before: { status: "running" }, after: { status: "stopped" } }), now);
    });
    await this.#scheduleDrain();
    return ok(this.#experimentInfo(id)!);
  }

  /** Experiments, newest first; only those of one environment and/or flag when given. */
  async listExperiments(filter: { environment?: string | undefined; flag?: string | undefined } = {}): Promise<Result<ExperimentInfo[]>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    const rows = this.#sql
      .exec<{ id: string }>(
        "SELECT id FROM experiments WHERE (?1 IS NULL OR environment = ?1) AND (?2 IS NULL OR flag = ?2) ORDER BY created_at DESC",
        filter.environment ?? null, filter.flag ?? null,
      )
      .toArray();
    return ok(rows.map((row) => this.#experimentInfo(row.id)!));
  }

  async getExperiment(id: string): Promise<Result<ExperimentInfo>> {
    const experiment = this.#experimentInfo(id);
    return experiment ? ok(experiment) : fail({ kind: "not_found", detail: `there is no experiment "${id}" in this project` });
  }

  /** Unique units and the SRM test of every step a ramp has reached. */
  async rampExposures(environment: string, key: string): Promise<Result<{ ramp: string; steps: { step: number; percent: number; srm: SrmResult }[] }>> {
    const ramp = this.#rampOrFail(environment, key);
    if (!ramp.ok) return ramp;
    const steps = JSON.parse(ramp.value.steps) as RampStepInput[];
    const reached = [...new Set((JSON.parse(ramp.value.history) as RampHistoryEntry[]).map((h) => h.step).filter((s) => s >= 0 && s < steps.length))].sort((a, b) => a - b);
    return ok({
      ramp: ramp.value.id,
      steps: reached.map((step) => ({ step, percent: steps[step]!.percent, srm: this.#rampSrm(ramp.value, step) })),
    });
  }

  /**
   * Takes a batch of evaluation telemetry from the edge; re-checks sample-ratio mismatch for every
   * experiment and ramp step that gained units, pausing a ramp whose split is off.
   */
  async recordTelemetry(input: unknown): Promise<Result<{ exposures: number }>> {
    const parsed = TelemetryBatchSchema.safeParse(input);
    if (!parsed.success) return fail({ kind: "invalid", detail: "not a telemetry batch", problems: [] });
    const touched = this.ctx.storage.transactionSync(() => applyTelemetry(this.#sql, parsed.data));
    for (const subject of touched) await this.#checkSrm(subject);
    return ok({ exposures: parsed.data.exposures.length });
  }

  /** Flags nobody evaluates, flags serving one variant to everyone, and temporary flags past their date. */
  async staleFlags(days: number): Promise<Result<StaleReport>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    const now = Date.now();
    const since = now - days * 86_400_000;
    const report: StaleReport = { days, notEvaluated: [], singleVariant: [], pastRemovalDate: [] };
    for (const row of this.#sql.exec<FlagRow>("SELECT environment, key, updated_at FROM flags ORDER BY environment, key")) {
      const usage = this.#sql
        .exec<{ variant: string; evaluations: number; first_at: number; last_at: number }>("SELECT * FROM flag_usage WHERE environment = ? AND flag = ?", row.environment, row.key)
        .toArray();
      const lastAt = usage.reduce<number | null>((max, u) => (max === null || u.last_at > max ? u.last_at : max), null);
      if ((lastAt === null || lastAt < since) && row.updated_at < since) {
        report.notEvaluated.push({ environment: row.environment, flag: row.key, lastEvaluatedAt: lastAt === null ? null : iso(lastAt) });
      }
      const recent = usage.filter((u) => u.last_at >= since);
      const firstAt = usage.reduce((min, u) => Math.min(min, u.first_at), Number.POSITIVE_INFINITY);
      if (recent.length === 1 && usage.length >= 1 && firstAt <= since && row.updated_at < since) {
        report.singleVariant.push({ environment: row.environment, flag: row.key, variant: recent[0]!.variant, evaluations: recent[0]!.evaluations });
      }
    }
    for (const info of this.#sql.exec<FlagInfoRow>("SELECT * FROM flag_info WHERE lifetime = 'temporary' AND expected_removal_at IS NOT NULL AND expected_removal_at < ? ORDER BY key", now)) {
      report.pastRemovalDate.push({ flag: info.key, owner: info.owner, expectedRemovalAt: iso(info.expected_removal_at!) });
    }
    return ok(report);
  }

  /** Last evaluation time and count per flag in one environment. */
  async flagUsage(environment: string): Promise<Result<Record<string, { evaluations: number; lastEvaluatedAt: string; variants: Record<string, number> }>>> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    const usage: Record<string, { evaluations: number; lastEvaluatedAt: string; variants: Record<string, number> }> = {};
    for (const row of this.#sql.exec<{ flag: string; variant: string; evaluations: number; last_at: number }>("SELECT * FROM flag_usage WHERE environment = ?", environment)) {
      const entry = (usage[row.flag] ??= { evaluations: 0, lastEvaluatedAt: iso(row.last_at), variants: {} });
      entry.evaluations += row.evaluations;
      entry.variants[row.variant] = row.evaluations;
      if (row.last_at > Date.parse(entry.lastEvaluatedAt)) entry.lastEvaluatedAt = iso(row.last_at);
    }
    return ok(usage);
  }

  // ---- drafts and shadow evaluation ---------------------------------------------------------

  /**
   * Stages a draft configuration of an environment. The edge evaluates it beside live for
   * `sampleRate` of evaluations (answers still come from live) and reports which units would flip.
   */
  async putDraft(environment: string, input: unknown, sampleRate: number, meta: ChangeMeta): Promise<Result<DraftInfo>> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    const validated = validateFlagSet(input);
    if (!validated.ok) return fail(rejected(validated.problems));
    const id = webhooks.newId("draft");
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec(
        `INSERT INTO drafts (environment, id, flagset, sample_rate, base_version, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (environment) DO UPDATE SET id = excluded.id, flagset = excluded.flagset, sample_rate = excluded.sample_rate,
           base_version = excluded.base_version, created_at = excluded.created_at, created_by = excluded.created_by`,
        environment, id, JSON.stringify(validated.flagSet), sampleRate, env.value.version, now, meta.actor,
      );
      this.#commitInTransaction(environment, meta, () => ({ action: "draft.staged", target: "draft", before: null, after: { id, sampleRate } }), now);
    });
    await this.#scheduleDrain();
    return ok(this.#draftInfo(environment)!);
  }

  async getDraft(environment: string): Promise<Result<DraftInfo>> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    const draft = this.#draftInfo(environment);
    return draft ? ok(draft) : fail({ kind: "not_found", detail: `environment "${environment}" has no draft; stage one with PUT .../draft` });
  }

  /** Publishes the draft as the environment's flag set, in one call (audited with `meta.reason`); the draft is then gone. */
  async publishDraft(environment: string, meta: ChangeMeta & { ifMatch: number | null }): Promise<Result<{ version: number }>> {
    const draft = this.#sql.exec<{ id: string; flagset: string }>("SELECT id, flagset FROM drafts WHERE environment = ?", environment).toArray()[0];
    if (!draft) return fail({ kind: "not_found", detail: `environment "${environment}" has no draft to publish` });
    const result = await this.replaceFlagSet(environment, JSON.parse(draft.flagset), meta);
    if (!result.ok) return result;
    this.#sql.exec("DELETE FROM drafts WHERE environment = ? AND id = ?", environment, draft.id);
    return result;
  }

  async deleteDraft(environment: string, meta: ChangeMeta): Promise<Result<{ deleted: string }>> {
    const draft = this.#draftInfo(environment);
    if (!draft) return fail({ kind: "not_found", detail: `environment "${environment}" has no draft` });
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM drafts WHERE environment = ?", environment);
      this.#commitInTransaction(environment, meta, () => ({ action: "draft.discarded", target: "draft", before: { id: draft.id }, after: null }), now);
    });
    await this.#scheduleDrain();
    return ok({ deleted: draft.id });
  }

  // ---- audit --------------------------------------------------------------------------------

  async listAudit(filter: AuditFilter): Promise<Result<{ entries: AuditEntry[]; nextCursor: number | null }>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    return ok(listAudit(this.#sql, filter));
  }

  /**
   * Verifies the audit chain, and checks it against the head anchored in KV (truncation and
   * rewrites); an anchor KV cannot give within its deadline is reported as null, not guessed.
   */
  async verifyAudit(): Promise<Result<AuditVerification>> {
    const project = this.#projectName();
    if (project === null) return fail(this.#noProject());
    let anchor: unknown = null;
    try {
      anchor = await withDeadline(this.env.FLAGS_KV.get(auditHeadKvKey(project), "json"), DEADLINE_MS.edgeKvRead, "KV read of the audit anchor");
    } catch {
      anchor = null;
    }
    const parsed = AuditHeadSchema.safeParse(anchor);
    return ok(verifyAuditChain(this.#sql, this.#auditKey, parsed.success ? parsed.data : null));
  }

  /** Appends an audit entry under this deployment's key, and queues the new head's anchor in KV. */
  #appendAudit(entry: Parameters<typeof appendAudit>[2], now: number): void {
    appendAudit(this.#sql, this.#auditKey, entry, now);
    const project = this.#projectName();
    if (project !== null) outbox.enqueue(this.#sql, "audit-head", project, now);
  }

  // ---- the edge's cold path and replication -------------------------------------------------

  /** The environment's current snapshot, for an edge that finds nothing (or nothing new enough) in KV. */
  async getSnapshot(environment: string): Promise<Snapshot | null> {
    const project = this.#projectName();
    const env = this.#sql.exec<EnvironmentRow>("SELECT * FROM environments WHERE name = ?", environment).toArray()[0];
    if (project === null || !env) return null;
    return this.#snapshot(project, env);
  }

  /** Built snapshots by environment, reused while the environment's version is the same. */
  #built = new Map<string, Snapshot>();

  async replicationStatus(): Promise<Result<ReplicationStatus>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    return ok({
      published: this.#sql
        .exec<{ kind: string; target: string; version: number; published_at: number }>(
          "SELECT * FROM published WHERE kind = 'publish' ORDER BY target",
        )
        .toArray()
        .map((row) => ({ kind: row.kind, target: row.target, version: row.version, publishedAt: iso(row.published_at) })),
      pending: outbox.pending(this.#sql).map((row) => ({
        kind: row.kind,
        target: row.kind === "key-index" ? "(key)" : row.target,
        attempts: row.attempts,
        nextAttemptAt: iso(row.next_attempt_at),
        lastError: row.last_error,
        inFlight: row.lease_until !== null,
      })),
    });
  }

  override async alarm(): Promise<void> {
    await this.#drain();
  }

  // ---- private ------------------------------------------------------------------------------

  #projectName(): string | null {
    return this.#sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'project'").toArray()[0]?.value ?? null;
  }

  #noProject() {
    return { kind: "not_found" as const, detail: "this project does not exist; create it with PUT /admin/v1/projects/{project}" };
  }

  #environmentRows(): EnvironmentRow[] {
    return this.#sql.exec<EnvironmentRow>("SELECT * FROM environments ORDER BY position, name").toArray();
  }

  #environment(name: string): Result<EnvironmentRow> {
    const project = this.#projectName();
    if (project === null) return fail(this.#noProject());
    const row = this.#sql.exec<EnvironmentRow>("SELECT * FROM environments WHERE name = ?", name).toArray()[0];
    if (!row) {
      const known = this.#environmentRows().map((env) => env.name).join(", ");
      return fail({ kind: "not_found", detail: `project "${project}" has no environment "${name}" (it has: ${known || "none"})` });
    }
    return ok(row);
  }

  #flagCount(environment: string): number {
    return this.#sql.exec<{ n: number }>("SELECT count(*) AS n FROM flags WHERE environment = ?", environment).one().n;
  }

  /** The environment and flag a change is about, if both exist and the flag is still at `ifMatch`. */
  #flagToChange(environment: string, key: string, ifMatch: number | null): Result<{ env: EnvironmentRow; row: FlagRow }> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    const row = this.#flagRow(environment, key);
    if (!row) return fail(noFlag(environment, key));
    const stale = checkIfMatch(row, ifMatch);
    if (stale) return fail(stale);
    return ok({ env: env.value, row });
  }

  #flagRow(environment: string, key: string): FlagRow | undefined {
    return this.#sql.exec<FlagRow>("SELECT * FROM flags WHERE environment = ? AND key = ?", environment, key).toArray()[0];
  }

  #projectInfo(project: string): ProjectInfo {
    return {
      project,
      environments: this.#environmentRows().map((row) => ({
        name: row.name,
        version: row.version,
        updatedAt: iso(row.updated_at),
        flagCount: this.#flagCount(row.name),
      })),
    };
  }

  #flagSet(env: EnvironmentRow): FlagSet {
    const flags: Record<string, FlagDefinition> = {};
    for (const row of this.#sql.exec<FlagRow>("SELECT key, definition FROM flags WHERE environment = ? ORDER BY key", env.name)) {
      flags[row.key] = parseDefinition(row.definition);
    }
    const flagSet: FlagSet = { flags };
    const evaluators = { ...(JSON.parse(env.evaluators) as Record<string, JsonValue>), ...segmentEvaluators(this.#sql) };
    const metadata = JSON.parse(env.metadata) as FlagSet["metadata"];
    if (Object.keys(evaluators).length > 0) flagSet.$evaluators = evaluators;
    if (metadata && Object.keys(metadata).length > 0) flagSet.metadata = metadata;
    return flagSet;
  }

  /**
   * The environment's snapshot at its current version. Every change that alters a snapshot bumps
   * the version, so a built one is reused until then: an edge demanding a version that does not
   * exist yet (a bogus or early `flagConfigEtag`) costs a lookup here, not a rebuild.
   */
  #snapshot(project: string, env: EnvironmentRow): Snapshot {
    const cached = this.#built.get(env.name);
    if (cached && cached.version === env.version && cached.project === project) return cached;
    const built = this.#buildSnapshot(project, env);
    this.#built.set(env.name, built);
    return built;
  }

  #buildSnapshot(project: string, env: EnvironmentRow): Snapshot {
    return {
      format: SNAPSHOT_FORMAT,
      project,
      environment: env.name,
      version: env.version,
      etag: snapshotEtag(env.version),
      updatedAt: iso(env.updated_at),
      // Long lists copied into many flags are stored once in the snapshot (same meaning).
      flagSet: shareConstantLists(this.#flagSet(env)),
      ...this.#tracking(env.name),
    };
  }

  #newKey(scope: KeyScope, environment: string | null, name: string, meta: ChangeMeta, now: number, alsoInTransaction?: (id: string) => void): CreatedKey {
    const key = `ef_${scope}_${randomBytes(24).toString("base64url")}`;
    const id = `key_${randomBytes(9).toString("base64url")}`;
    const hash = hashKey(key);
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec(
        "INSERT INTO api_keys (id, hash, scope, environment, name, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        id, hash, scope, environment, name, now, meta.actor,
      );
      this.#appendAudit({
        actor: meta.actor, action: "key.created", environment, target: `key:${id}`, version: null,
        before: null, after: { id, scope, environment, name }, reason: meta.reason,
      }, now);
      outbox.enqueue(this.#sql, "key-index", hash, now);
      alsoInTransaction?.(id);
    });
    return { ...toKeyInfo(this.#sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).one()), key };
  }

  #segmentRow(name: string): SegmentRow | undefined {
    return this.#sql.exec<SegmentRow>("SELECT * FROM segments WHERE name = ?", name).toArray()[0];
  }

  /** A project-wide change (a segment): every environment gets a new version, an audit entry and a publish. */
  #touchAllEnvironments(meta: ChangeMeta, now: number, change: Change): void {
    for (const env of this.#environmentRows()) {
      this.#commitInTransaction(env.name, meta, () => change, now);
    }
  }

  #writeFlagInfo(key: string, info: FlagInfoInput, actor: string, now: number): void {
    this.#sql.exec(
      `INSERT INTO flag_info (key, description, owner, tags, lifetime, expected_removal_at, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET description = excluded.description, owner = excluded.owner, tags = excluded.tags,
         lifetime = excluded.lifetime, expected_removal_at = excluded.expected_removal_at`,
      key, info.description, info.owner, JSON.stringify(info.tags), info.lifetime,
      info.expectedRemovalAt === null ? null : Date.parse(info.expectedRemovalAt), now, actor,
    );
  }

  #projectFlag(key: string): ProjectFlag | null {
    const info = this.#sql.exec<FlagInfoRow>("SELECT * FROM flag_info WHERE key = ?", key).toArray()[0];
    const environments: ProjectFlag["environments"] = {};
    for (const row of this.#sql.exec<FlagRow>("SELECT * FROM flags WHERE key = ?", key)) {
      environments[row.environment] = toFlagRecord(row);
    }
    if (!info && Object.keys(environments).length === 0) return null;
    return {
      key,
      info: info
        ? {
            description: info.description,
            owner: info.owner,
            tags: JSON.parse(info.tags) as string[],
            lifetime: info.lifetime,
            expectedRemovalAt: info.expected_removal_at === null ? null : iso(info.expected_removal_at),
          }
        : { description: "", owner: "", tags: [], lifetime: "permanent", expectedRemovalAt: null },
      createdAt: info ? iso(info.created_at) : null,
      environments,
    };
  }

  #triggerInfo(id: string): TriggerInfo | null {
    const row = this.#sql.exec<TriggerRow>("SELECT * FROM triggers WHERE id = ?", id).toArray()[0];
    return row ? toTriggerInfo(row) : null;
  }

  /** Performs a trigger's action, audited as `trigger:<name>`. */
  async #fire(row: TriggerRow, reason: string | null): Promise<Result<TriggerOutcome>> {
    const meta = { actor: `trigger:${row.name}`, reason: reason ?? `trigger ${row.name} fired` };
    let version: number | null = null;
    let changed: boolean;
    if (row.action === "pause-ramp" || row.action === "rollback-ramp") {
      const before = this.#rampRow(row.environment, row.flag);
      const result = row.action === "pause-ramp"
        ? await this.pauseRamp(row.environment, row.flag, meta)
        : await this.rollbackRamp(row.environment, row.flag, null, meta);
      if (!result.ok) return result;
      const after = this.#rampRow(row.environment, row.flag);
      changed = before?.status !== after?.status || before?.history !== after?.history;
      version = this.#environmentRows().find((env) => env.name === row.environment)?.version ?? null;
    } else {
      const env = this.#environment(row.environment);
      if (!env.ok) return env;
      const flag = this.#flagRow(row.environment, row.flag);
      if (!flag) return fail(noFlag(row.environment, row.flag));
      const current = parseDefinition(flag.definition);
      const definition: FlagDefinition =
        row.action === "set-default" ? { ...current, defaultVariant: row.variant } : { ...current, state: row.action === "enable" ? "ENABLED" : "DISABLED" };
      const action = row.action === "set-default" ? "flag.updated" : row.action === "enable" ? "flag.enabled" : "flag.disabled";
      const result = await this.#writeFlag(env.value, row.flag, definition, meta, action, flag);
      if (!result.ok) return result;
      version = result.value.version;
      changed = result.value.changed;
    }
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("UPDATE triggers SET last_fired_at = ? WHERE id = ?", now, row.id);
      // A trigger that found the flag already as it would leave it announces nothing.
      if (changed) this.#queueEvent("trigger.fired", row.environment, meta, { trigger: row.name, flag: row.flag, action: row.action, version }, now);
    });
    await this.#scheduleDrain();
    const flag = this.#flagRow(row.environment, row.flag);
    const definition = flag ? parseDefinition(flag.definition) : null;
    const ramp = this.#rampRow(row.environment, row.flag);
    return ok({
      trigger: row.name,
      action: row.action,
      environment: row.environment,
      flag: row.flag,
      version,
      state: definition?.state ?? null,
      defaultVariant: definition?.defaultVariant ?? null,
      changed,
      ...(ramp ? { ramp: toRampInfo(ramp) } : {}),
    });
  }

  #rampRow(environment: string, key: string): RampRow | undefined {
    return this.#sql.exec<RampRow>("SELECT * FROM ramps WHERE environment = ? AND flag = ?", environment, key).toArray()[0];
  }

  #rampOrFail(environment: string, key: string): Result<RampRow> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    const row = this.#rampRow(environment, key);
    return row ? ok(row) : fail({ kind: "not_found", detail: `flag "${key}" has no ramp in environment "${environment}"` });
  }

  #setRampStatus(row: RampRow, status: RampStatus, reason: string, meta: ChangeMeta, event: WebhookEventType): void {
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("UPDATE ramps SET status = ?, pause_reason = ?, next_at = NULL, updated_at = ? WHERE id = ?", status, reason, now, row.id);
      this.#appendAudit({ actor: meta.actor, action: event, environment: row.environment, target: `flag:${row.flag}`, version: null, before: { status: row.status }, after: { status, reason }, reason: meta.reason ?? reason }, now);
      this.#queueEvent(event, row.environment, meta, { flag: row.flag, ramp: row.id, status, reason }, now);
    });
  }

  /**
   * Applies one ramp step (or 0% for step -1) to the flag, as one audited change with a new
   * version; `status` is the ramp's state afterwards. If the flag's targeting is no longer what
   * the ramp last wrote, someone changed the flag outside the ramp: the ramp pauses instead.
   */
  async #applyRampStep(row: RampRow, step: number, percent: number, meta: ChangeMeta, status: RampStatus, action: string): Promise<Result<number>> {
    const env = this.#environment(row.environment);
    if (!env.ok) return env;
    const flag = this.#flagRow(row.environment, row.flag);
    if (!flag) return fail(noFlag(row.environment, row.flag));
    const definition = parseDefinition(flag.definition);
    if (JSON.stringify(definition.targeting ?? null) !== (row.applied_targeting ?? "null")) {
      const reason = `flag "${row.flag}" was changed outside the ramp; review it, then resume or delete the ramp`;
      this.#setRampStatus(row, "paused", reason, { actor: "system:ramp", reason }, "ramp.paused");
      await this.#scheduleDrain();
      return fail({ kind: "conflict", detail: reason });
    }
    const base = row.base_targeting === null ? null : (JSON.parse(row.base_targeting) as JsonValue);
    const updated: FlagDefinition = { ...definition, targeting: rampTargeting(base, row.variant, row.baseline, percent) };
    const candidate = this.#flagSet(env.value);
    candidate.flags[row.flag] = updated;
    const validated = validateFlagSet(candidate, { before: this.#flagSet(env.value) });
    if (!validated.ok) return fail(rejected(validated.problems));
    const steps = JSON.parse(row.steps) as RampStepInput[];
    const stored = validated.flagSet.flags[row.flag]!;
    const now = Date.now();
    const version = this.ctx.storage.transactionSync(() => {
      const v = this.#commitInTransaction(row.environment, meta, (version) => {
        this.#sql.exec(
          "UPDATE flags SET definition = ?, version = ?, updated_at = ?, updated_by = ? WHERE environment = ? AND key = ?",
          JSON.stringify(stored), version, now, meta.actor, row.environment, row.flag,
        );
        return { action, target: `flag:${row.flag}`, before: { step: row.current_step, targeting: definition.targeting ?? null }, after: { step, percent, targeting: stored.targeting ?? null } };
      }, now);
      const last = step >= steps.length - 1;
      const finalStatus: RampStatus = status === "running" && last ? "completed" : status;
      const nextAt = finalStatus === "running" ? stepDueAt(steps, step + 1, now) : null;
      const history = [...(JSON.parse(row.history) as RampHistoryEntry[]), { step, percent, at: iso(now), version: v, actor: meta.actor }];
      this.#sql.exec(
        "UPDATE ramps SET current_step = ?, status = ?, next_at = ?, applied_targeting = ?, history = ?, pause_reason = NULL, updated_at = ? WHERE id = ?",
        Math.min(step, steps.length - 1), finalStatus, nextAt, JSON.stringify(stored.targeting ?? null), JSON.stringify(history), now, row.id,
      );
      return v;
    });
    await this.#scheduleDrain();
    return ok(version);
  }

  /** Applies every ramp step that is due, in order, each exactly once. */
  async #advanceRamps(): Promise<void> {
    for (let guard = 0; guard < 1000; guard++) {
      const row = this.#sql.exec<RampRow>("SELECT * FROM ramps WHERE status = 'running' AND next_at <= ? ORDER BY next_at LIMIT 1", Date.now()).toArray()[0];
      if (!row) return;
      const steps = JSON.parse(row.steps) as RampStepInput[];
      const step = row.current_step + 1;
      if (step >= steps.length) {
        this.#sql.exec("UPDATE ramps SET status = 'completed', next_at = NULL WHERE id = ?", row.id);
        continue;
      }
      const applied = await this.#applyRampStep(row, step, steps[step]!.percent, { actor: "system:ramp", reason: `ramp step ${step + 1} of ${steps.length}: ${steps[step]!.percent}%` }, "running", "ramp.step");
      // A step that cannot be applied pauses the ramp (saying why) rather than staying due and
      // re-arming the alarm at once, for ever.
      const after = this.#sql.exec<RampRow>("SELECT * FROM ramps WHERE id = ?", row.id).toArray()[0];
      if (!applied.ok && after?.status === "running") {
        const reason = `step ${step + 1} could not be applied: ${applied.error.detail}; fix it, then resume or delete the ramp`;
        this.#setRampStatus(after, "paused", reason, { actor: "system:ramp", reason }, "ramp.paused");
      }
    }
  }

  #rampSrm(row: RampRow, step: number): SrmResult {
    const steps = JSON.parse(row.steps) as RampStepInput[];
    const percent = step < 0 ? 0 : step >= steps.length ? 100 : steps[step]!.percent;
    return sampleRatioTest(unitCounts(this.#sql, `ramp:${row.id}:${step}`), { [row.variant]: percent, [row.baseline]: 100 - percent });
  }

  /** Re-runs the SRM test of one subject; flags a mismatch once, and pauses a ramp that has one. */
  async #checkSrm(subject: string): Promise<void> {
    const meta = { actor: "system:srm", reason: null };
    if (subject.startsWith("exp:")) {
      const experiment = this.#experimentInfo(subject.slice(4));
      if (!experiment || experiment.status !== "running" || experiment.srmFlaggedAt !== null || !experiment.srm.mismatch) return;
      const now = Date.now();
      this.ctx.storage.transactionSync(() => {
        this.#sql.exec("UPDATE experiments SET srm_flagged_at = ? WHERE id = ?", now, experiment.id);
        this.#appendAudit({ ...meta, action: "srm.detected", environment: experiment.environment, target: `flag:${experiment.flag}`, version: null, before: null, after: { experiment: experiment.id, pValue: experiment.srm.pValue, observed: experiment.srm.observed }, reason: `sample ratio mismatch, p = ${experiment.srm.pValue.toExponential(2)}` }, now);
        this.#queueEvent("srm.detected", experiment.environment, meta, { experiment: experiment.id, flag: experiment.flag, srm: experiment.srm }, now);
      });
      await this.#scheduleDrain();
      return;
    }
    const match = /^ramp:(.+):(-?\d+)$/.exec(subject);
    if (!match) return;
    const row = this.#sql.exec<RampRow>("SELECT * FROM ramps WHERE id = ?", match[1]!).toArray()[0];
    const step = Number(match[2]);
    if (!row || row.status !== "running" || row.current_step !== step) return;
    const srm = this.#rampSrm(row, step);
    if (!srm.mismatch) return;
    const reason = `sample ratio mismatch at step ${step + 1} (p = ${srm.pValue.toExponential(2)}); the split is not what the ramp configured`;
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#queueEvent("srm.detected", row.environment, meta, { ramp: row.id, flag: row.flag, step, srm }, now);
    });
    this.#setRampStatus(row, "paused", reason, { actor: "system:srm", reason }, "ramp.paused");
    await this.#scheduleDrain();
  }

  #experimentInfo(id: string): ExperimentInfo | null {
    const row = this.#sql.exec<ExperimentRow>("SELECT * FROM experiments WHERE id = ?", id).toArray()[0];
    if (!row) return null;
    const weights = JSON.parse(row.weights) as Record<string, number>;
    const units = unitCounts(this.#sql, `exp:${id}`);
    return {
      id: row.id,
      environment: row.environment,
      flag: row.flag,
      weights,
      status: row.status,
      createdAt: iso(row.created_at),
      createdBy: row.created_by,
      stoppedAt: row.stopped_at === null ? null : iso(row.stopped_at),
      units,
      srm: sampleRatioTest(units, weights),
      srmFlaggedAt: row.srm_flagged_at === null ? null : iso(row.srm_flagged_at),
    };
  }

  #draftInfo(environment: string): DraftInfo | null {
    const row = this.#sql.exec<DraftRow>("SELECT * FROM drafts WHERE environment = ?", environment).toArray()[0];
    if (!row) return null;
    return {
      id: row.id,
      environment,
      sampleRate: row.sample_rate,
      baseVersion: row.base_version,
      createdAt: iso(row.created_at),
      createdBy: row.created_by,
      flagSet: JSON.parse(row.flagset) as FlagSet,
      shadow: shadowReport(this.#sql, row.id),
    };
  }

  /** What the edge records for an environment: exposure subjects per flag, and the draft to shadow. */
  #tracking(environment: string): Pick<Snapshot, "tracking" | "rampRules" | "draft"> {
    const tracking: Record<string, string[]> = {};
    const rampRules: Record<string, JsonValue> = {};
    for (const ramp of this.#sql.exec<RampRow>("SELECT id, flag, current_step, base_targeting FROM ramps WHERE environment = ? AND current_step >= 0", environment)) {
      (tracking[ramp.flag] ??= []).push(`ramp:${ramp.id}:${ramp.current_step}`);
      if (ramp.base_targeting !== null) rampRules[ramp.flag] = JSON.parse(ramp.base_targeting) as JsonValue;
    }
    for (const experiment of this.#sql.exec<ExperimentRow>("SELECT id, flag FROM experiments WHERE environment = ? AND status = 'running'", environment)) {
      (tracking[experiment.flag] ??= []).push(`exp:${experiment.id}`);
    }
    const draft = this.#sql.exec<DraftRow>("SELECT * FROM drafts WHERE environment = ?", environment).toArray()[0];
    return {
      ...(Object.keys(tracking).length > 0 ? { tracking } : {}),
      ...(Object.keys(rampRules).length > 0 ? { rampRules } : {}),
      ...(draft ? { draft: { id: draft.id, sampleRate: draft.sample_rate, flagSet: JSON.parse(draft.flagset) as FlagSet } } : {}),
    };
  }

  /**
   * Validates the environment's flag set with this flag in it, then commits the flag — unless
   * the result equals what is stored: then nothing is bumped, audited or announced.
   */
  async #writeFlag(env: EnvironmentRow, key: string, definition: FlagDefinition, meta: ChangeMeta, action: string, before: FlagRow | null): Promise<Result<FlagWritten>> {
    const candidate = this.#flagSet(env);
    candidate.flags[key] = definition;
    const validated = validateFlagSet(candidate, { before: this.#flagSet(env) });
    if (!validated.ok) {
      const problems = validated.problems.map((problem) => ({
        ...problem,
        path: problem.path.startsWith(`flags.${key}`) ? problem.path.slice(`flags.${key}`.length).replace(/^\./, "") || "(flag)" : problem.path,
      }));
      return fail(rejected(problems));
    }
    const stored = validated.flagSet.flags[key]!;
    if (before && canonical(stored) === canonical(parseDefinition(before.definition))) {
      return ok({ ...toFlagRecord(before), changed: false });
    }
    this.#commit(env.name, meta, (version, now) => {
      this.#sql.exec(
        `INSERT INTO flags (environment, key, definition, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (environment, key) DO UPDATE SET definition = excluded.definition, version = excluded.version,
           updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        env.name, key, JSON.stringify(stored), version, now, meta.actor,
      );
      return { action, target: `flag:${key}`, before: before ? parseDefinition(before.definition) : null, after: stored };
    });
    await this.#scheduleDrain();
    return ok({ ...toFlagRecord(this.#flagRow(env.name, key)!), changed: true });
  }

  /**
   * One change to one environment, atomically: bump the version, apply `apply`, audit it, queue
   * the snapshot. Returns the new version.
   */
  #commit(
    environment: string,
    meta: ChangeMeta,
    apply: (version: number, now: number) => Change,
  ): number {
    return this.ctx.storage.transactionSync(() => this.#commitInTransaction(environment, meta, apply, Date.now()));
  }

  /** The body of `#commit`, for changes that span environments inside one outer transaction. */
  #commitInTransaction(environment: string, meta: ChangeMeta, apply: (version: number, now: number) => Change | Change[], now: number): number {
    const { version } = this.#sql
      .exec<{ version: number }>("UPDATE environments SET version = version + 1, updated_at = ? WHERE name = ? RETURNING version", now, environment)
      .one();
    const applied = apply(version, now);
    for (const change of Array.isArray(applied) ? applied : [applied]) {
      this.#appendAudit({ action: change.action, target: change.target, before: change.before, after: change.after, actor: meta.actor, environment, version, reason: meta.reason }, now);
      const event = eventFor(change.action);
      if (event) {
        this.#queueEvent(event, environment, meta, { target: change.target, version, before: change.before ?? null, after: change.after ?? null }, now);
      }
    }
    outbox.enqueue(this.#sql, "publish", environment, now);
    outbox.enqueue(this.#sql, "notify", environment, now);
    return version;
  }

  /** Queues the webhook deliveries announcing a change; call inside its transaction. */
  #queueEvent(type: WebhookEventType, environment: string | null, meta: ChangeMeta, data: Record<string, unknown>, now: number, onlyWebhook?: string): void {
    webhooks.queueEvent(this.#sql, {
      id: webhooks.newId("evt"),
      type,
      createdAt: iso(now),
      project: this.#projectName() ?? "",
      environment,
      actor: meta.actor,
      reason: meta.reason,
      data,
      // Receivers hold a copy of the audit chain's head: an anchor the store cannot rewrite.
      auditHead: auditHead(this.#sql),
    }, now, onlyWebhook);
  }

  async #scheduleDrain(): Promise<void> {
    const nextStep = this.#sql.exec<{ due: number | null }>("SELECT min(next_at) AS due FROM ramps WHERE status = 'running'").one().due;
    const dues = [outbox.nextDue(this.#sql), webhooks.nextDeliveryDue(this.#sql), nextStep].filter((d): d is number => d !== null);
    if (dues.length === 0) return;
    const due = Math.min(...dues);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(Math.max(due, Date.now()));
  }

  /**
   * Performs every due outbox row; a failure is retried later with backoff, never dropped. One
   * pass runs at a time, so KV sees an environment's versions in order; a caller arriving during
   * a pass waits for it and then runs its own.
   */
  async #drain(): Promise<void> {
    while (this.#draining) await this.#draining;
    this.#draining = this.#drainOnce().finally(() => {
      this.#draining = null;
    });
    await this.#draining;
    await this.#scheduleDrain();
  }

  async #drainOnce(): Promise<void> {
    await this.#advanceRamps();
    await this.#publishDue();
    await webhooks.deliverDue(this.#sql, Date.now(), fetch, allowsLocalWebhooks(this.env));
  }

  async #publishDue(): Promise<void> {
    const project = this.#projectName();
    for (const row of outbox.dueRows(this.#sql, Date.now(), this.#incarnation)) {
      // Leased past the deadline of the call it makes, so a pass of this incarnation that
      // overlaps it leaves it alone while a fresh incarnation (after a reset) takes it at once.
      outbox.lease(this.#sql, row, this.#incarnation, Date.now() + leaseMs(row.kind));
      try {
        const version = project === null ? 0 : await this.#perform(project, row);
        outbox.markPublished(this.#sql, row.kind, row.target, version, Date.now());
        outbox.complete(this.#sql, row, Date.now());
        if (row.kind === "key-index") this.#queueKeyExpiry(row.target);
      } catch (error) {
        outbox.retryLater(this.#sql, row, error instanceof Error ? error.message : String(error), Date.now());
      }
    }
  }

  /** A rotated key's index entry is removed once its overlap window ends: queue that removal. */
  #queueKeyExpiry(keyHash: string): void {
    const key = this.#sql.exec<KeyRow>("SELECT * FROM api_keys WHERE hash = ?", keyHash).toArray()[0];
    if (key && key.expires_at !== null && isActive(key, Date.now())) outbox.enqueue(this.#sql, "key-index", keyHash, Date.now(), key.expires_at);
  }

  #kvPut(key: string, value: string, options?: KVNamespacePutOptions): Promise<void> {
    return withDeadline(this.env.FLAGS_KV.put(key, value, options), DEADLINE_MS.kvWrite, `KV write of ${key.split(":")[0]}`);
  }

  #kvDelete(key: string): Promise<void> {
    return withDeadline(this.env.FLAGS_KV.delete(key), DEADLINE_MS.kvWrite, `KV delete of ${key.split(":")[0]}`);
  }

  /** Writes one row's state to KV (or announces it); returns the version written (0 when it has none). */
  async #perform(project: string, row: outbox.OutboxRow): Promise<number> {
    switch (row.kind) {
      case "publish": {
        const env = this.#sql.exec<EnvironmentRow>("SELECT * FROM environments WHERE name = ?", row.target).toArray()[0];
        if (!env) {
          await this.#kvDelete(snapshotKvKey(project, row.target));
          return 0;
        }
        const snapshot = this.#snapshot(project, env);
        await this.#kvPut(snapshotKvKey(project, env.name), JSON.stringify(snapshot), { metadata: { version: snapshot.version } });
        return snapshot.version;
      }
      case "notify": {
        const env = this.#sql.exec<EnvironmentRow>("SELECT * FROM environments WHERE name = ?", row.target).toArray()[0];
        return env ? notifyEnvironment(this.env, project, env.name, env.version, env.updated_at) : 0;
      }
      case "key-index": {
        const key = this.#sql.exec<KeyRow>("SELECT * FROM api_keys WHERE hash = ?", row.target).toArray()[0];
        if (!key || !isActive(key, Date.now())) {
          await this.#kvDelete(keyIndexKvKey(row.target));
        } else {
          const identity: KeyIdentity = {
            id: key.id, project, environment: key.environment, scope: key.scope,
            expiresAt: key.expires_at === null ? null : iso(key.expires_at),
          };
          await this.#kvPut(keyIndexKvKey(row.target), JSON.stringify(identity));
        }
        return 0;
      }
      case "project": {
        const createdAt = Number(this.#sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'created_at'").toArray()[0]?.value ?? Date.now());
        const entry: ProjectEntry = { project, createdAt: iso(createdAt) };
        await this.#kvPut(projectKvKey(project), JSON.stringify(entry));
        return 0;
      }
      case "audit-head": {
        const head = auditHead(this.#sql);
        if (head) await this.#kvPut(auditHeadKvKey(project), JSON.stringify(head));
        return head?.seq ?? 0;
      }
    }
  }
}

/** How long a row's lease lasts: past the deadline of the one call its work makes. */
function leaseMs(kind: outbox.OutboxKind): number {
  return (kind === "notify" ? DEADLINE_MS.broadcaster : DEADLINE_MS.kvWrite) + 1_000;
}
