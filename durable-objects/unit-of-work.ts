/**
 * The unit of work every FlagStore change goes through, and the project/environment guards every
 * read starts with. A change to an environment is one `transactionSync`: bump the environment's
 * version, apply the change, append its audit entries (`audit`, typed by `AuditAction`), queue
 * the webhook events they announce, and queue the outbox rows that replicate it (the snapshot,
 * the broadcaster notice, the audit chain's anchor). Either all of it is durable or none of it is.
 */
import { log } from "../lib/log";
import { appendAudit, auditHead, type NewAuditEntry } from "./audit";
import * as outbox from "./replication/outbox";
import * as webhooks from "./webhooks";
import { segmentEvaluators } from "./segments";
import { nextMetricCheck } from "./metric-schedule";
import { eventFor, iso, parseDefinition, toFlagRecord, type Change } from "./store-records";
import { environmentTargets, flagTargets, withTargets } from "./target-rows";
import { fail, ok, type Result } from "../contracts/result";
import type { WebhookEventType } from "../contracts/webhook-events";
import type { AuditAction } from "../contracts/audit-actions";
import type { FlagDefinition, FlagSet, JsonValue } from "../engine/types";
import type { ChangeMeta, EnvironmentRow, FlagRecord, FlagRow } from "./store-types";

/** What an audited change outside an environment's version records besides its action and actor. */
export interface AuditedChange {
  /** `flag:<key>`, `key:<id>`, `webhook:<id>`, `trigger:<name>`, `project`. */
  target: string;
  environment?: string | null;
  before?: unknown;
  after?: unknown;
  reason?: string | null;
}

/** The store's SQLite, its bindings and the transaction that makes one change durable. */
export class UnitOfWork {
  readonly sql: SqlStorage;
  readonly #storage: DurableObjectStorage;
  readonly #env: () => Env;
  /** The audit chain's HMAC key; derived from secrets of the deployment, never stored here. */
  readonly auditKey: Uint8Array;
  /** Announces the due `notify` rows (the publisher's `announceDue`), once registered. */
  #announce: (() => Promise<void>) | null = null;

  /** `env` is read at each use: the bindings are the object's, whatever they are at that moment. */
  constructor(storage: DurableObjectStorage, env: () => Env, auditKey: Uint8Array) {
    this.#storage = storage;
    this.sql = storage.sql;
    this.#env = env;
    this.auditKey = auditKey;
  }

  get env(): Env {
    return this.#env();
  }

  /** Runs `work` as one SQLite transaction: all of it commits, or none of it. */
  transaction<T>(work: () => T): T {
    return this.#storage.transactionSync(work);
  }

  // ---- guards -------------------------------------------------------------------------------

  /** The project this store belongs to, or null before `putProject`. */
  project(): string | null {
    return this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'project'").toArray()[0]?.value ?? null;
  }

  /** The 404 of a store whose project was never created. */
  noProject() {
    return { kind: "not_found" as const, detail: "this project does not exist; create it with PUT /admin/v1/projects/{project}" };
  }

  /**
   * The guard every project-wide call starts with: the project's name, or the 404 of a store
   * whose project was never created.
   *
   * @example
   * const project = w.requireProject();
   * if (!project.ok) return project;
   */
  requireProject(): Result<string> {
    const project = this.project();
    return project === null ? fail(this.noProject()) : ok(project);
  }

  /** `read(project)`, or the 404 of a store without a project. */
  ifProject<T>(read: (project: string) => T): Result<T> {
    const project = this.requireProject();
    return project.ok ? ok(read(project.value)) : project;
  }

  /** The project's environments, in display order. */
  environmentRows(): EnvironmentRow[] {
    return this.sql.exec<EnvironmentRow>("SELECT * FROM environments ORDER BY position, name").toArray();
  }

  /** The named environment, or a 404 naming the environments the project has. */
  environment(name: string): Result<EnvironmentRow> {
    const project = this.requireProject();
    if (!project.ok) return project;
    const row = this.sql.exec<EnvironmentRow>("SELECT * FROM environments WHERE name = ?", name).toArray()[0];
    if (!row) {
      const known = this.environmentRows()
        .map((env) => env.name)
        .join(", ");
      return fail({ kind: "not_found", detail: `project "${project.value}" has no environment "${name}" (it has: ${known || "none"})` });
    }
    return ok(row);
  }

  /** One flag's row, if the environment has it. */
  flagRow(environment: string, key: string): FlagRow | undefined {
    return this.sql.exec<FlagRow>("SELECT * FROM flags WHERE environment = ? AND key = ?", environment, key).toArray()[0];
  }

  /** A flag row's definition as read: its stored JSON with its targets (`flag_targets`). */
  definition(row: FlagRow): FlagDefinition {
    return withTargets(parseDefinition(row.definition), flagTargets(this.sql, row.environment, row.key));
  }

  /** A flag row as the store returns it, its definition with its targets. */
  flagRecord(row: FlagRow): FlagRecord {
    return { ...toFlagRecord(row), definition: this.definition(row) };
  }

  /**
   * The environment's flags as a flagd flag set, each with its targets (unless `targets: false`,
   * for validating a change to other parts of the set), with the project's segments among its
   * `$evaluators`.
   */
  flagSet(env: EnvironmentRow, options: { targets?: boolean } = {}): FlagSet {
    const flags: Record<string, FlagDefinition> = {};
    const targets = options.targets === false ? new Map() : environmentTargets(this.sql, env.name);
    for (const row of this.sql.exec<FlagRow>("SELECT key, definition FROM flags WHERE environment = ? ORDER BY key", env.name)) {
      flags[row.key] = withTargets(parseDefinition(row.definition), targets.get(row.key));
    }
    const flagSet: FlagSet = { flags };
    const evaluators = { ...(JSON.parse(env.evaluators) as Record<string, JsonValue>), ...segmentEvaluators(this.sql) };
    const metadata = JSON.parse(env.metadata) as FlagSet["metadata"];
    if (Object.keys(evaluators).length > 0) flagSet.$evaluators = evaluators;
    if (metadata && Object.keys(metadata).length > 0) flagSet.metadata = metadata;
    return flagSet;
  }

  // ---- the change ---------------------------------------------------------------------------

  /**
   * Records `action` by `meta.actor`, for a change that bumps no environment's version (a key, a
   * webhook, a trigger, a ramp's state, a flag's facts); call inside the change's transaction.
   * `reason` defaults to the caller's.
   */
  audit(action: AuditAction, meta: ChangeMeta, change: AuditedChange, now: number): void {
    this.#append(
      {
        actor: meta.actor,
        action,
        environment: change.environment ?? null,
        target: change.target,
        version: null,
        before: change.before ?? null,
        after: change.after ?? null,
        reason: change.reason === undefined ? meta.reason : change.reason,
      },
      now,
    );
  }

  /** Appends an audit entry under this deployment's key, and queues the new head's anchor in KV. */
  #append(entry: NewAuditEntry, now: number): void {
    appendAudit(this.sql, this.auditKey, entry, now);
    const project = this.project();
    if (project !== null) outbox.enqueue(this.sql, "audit-head", project, now);
  }

  /**
   * One change to one environment, inside the caller's transaction: bump the version, apply
   * `apply`, audit each change it returns and queue the webhook event it announces, queue the
   * snapshot and the broadcaster notice. Returns the new version.
   */
  commit(environment: string, meta: ChangeMeta, apply: (version: number, now: number) => Change | Change[], now: number): number {
    const { version } = this.sql
      .exec<{ version: number }>(
        "UPDATE environments SET version = version + 1, updated_at = ? WHERE name = ? RETURNING version",
        now,
        environment,
      )
      .one();
    const applied = apply(version, now);
    for (const change of Array.isArray(applied) ? applied : [applied]) {
      this.#append(
        {
          action: change.action,
          target: change.target,
          before: change.before,
          after: change.after,
          actor: meta.actor,
          environment,
          version,
          reason: meta.reason,
        },
        now,
      );
      const event = eventFor[change.action];
      if (event) {
        this.queueEvent(
          event,
          environment,
          meta,
          { target: change.target, version, before: change.before ?? null, after: change.after ?? null },
          now,
        );
      }
    }
    outbox.enqueue(this.sql, "publish", environment, now);
    outbox.enqueue(this.sql, "notify", environment, now);
    return version;
  }

  /** `commit` in a transaction of its own. */
  commitNow(environment: string, meta: ChangeMeta, apply: (version: number, now: number) => Change): number {
    return this.transaction(() => this.commit(environment, meta, apply, Date.now()));
  }

  /** A project-wide change (a segment): every environment gets a new version, an audit entry and a publish. */
  commitEverywhere(meta: ChangeMeta, now: number, change: Change): void {
    for (const env of this.environmentRows()) this.commit(env.name, meta, () => change, now);
  }

  /** Queues the webhook deliveries announcing a change; call inside its transaction. */
  queueEvent(
    type: WebhookEventType,
    environment: string | null,
    meta: ChangeMeta,
    data: Record<string, unknown>,
    now: number,
    onlyWebhook?: string,
  ): void {
    webhooks.queueEvent(
      this.sql,
      {
        id: webhooks.newId("evt"),
        type,
        createdAt: iso(now),
        project: this.project() ?? "",
        environment,
        actor: meta.actor,
        reason: meta.reason,
        data,
        // Receivers hold a copy of the audit chain's head: an anchor the store cannot rewrite.
        auditHead: auditHead(this.sql),
      },
      now,
      onlyWebhook,
    );
  }

  /** Queues replication work (see `replication/outbox.ts`); call inside the change's transaction. */
  enqueue(kind: outbox.OutboxKind, target: string, now: number, at = now): void {
    outbox.enqueue(this.sql, kind, target, now, at);
  }

  /** Registers what `scheduleDrain` starts at once for the change just committed: its broadcaster notice. */
  afterCommit(announce: () => Promise<void>): void {
    this.#announce = announce;
  }

  /**
   * Called after every change has committed: starts announcing its `notify` row at once (one
   * announcing pass runs at a time, the alarm's included; a change committed during a pass is
   * announced by the next), then arms the alarm for the earliest queued work: an outbox row, a
   * webhook delivery, a ramp step, a scheduled change. The announcement is not awaited: the
   * caller's answer does not wait for the broadcaster, and a failure leaves the row queued with
   * its backoff for the alarm.
   */
  async scheduleDrain(): Promise<void> {
    if (this.#announce && outbox.hasDue(this.sql, "notify", Date.now())) {
      this.#announce().catch((error: unknown) => {
        log("error", "announce-threw", { project: this.project(), error: String(error) });
      });
    }
    const nextStep = this.sql.exec<{ due: number | null }>("SELECT min(next_at) AS due FROM ramps WHERE status = 'running'").one().due;
    const nextSchedule = this.sql.exec<{ due: number | null }>("SELECT min(at) AS due FROM schedules WHERE status = 'pending'").one().due;
    const dues = [outbox.nextDue(this.sql), webhooks.nextDeliveryDue(this.sql), nextStep, nextSchedule, nextMetricCheck(this.sql)].filter(
      (d): d is number => d !== null,
    );
    if (dues.length === 0) return;
    const due = Math.min(...dues);
    const current = await this.#storage.getAlarm();
    if (current === null || current > due) await this.#storage.setAlarm(Math.max(due, Date.now()));
  }
}
