/**
 * FlagStore: the source of truth for one project (addressed by `idFromName(project)`).
 *
 * Every change is one SQLite transaction that bumps the changed environment's version, appends
 * an audit entry and queues the environment's snapshot in the outbox; the alarm then publishes
 * the snapshot to KV, retrying with backoff until it succeeds. Public methods form the typed RPC
 * surface; they return a `Result` for every failure a caller is expected to handle.
 */
import { DurableObject } from "cloudflare:workers";
import { randomBytes } from "node:crypto";
import { validateFlagSet } from "../worker/engine/index";
import type { FlagDefinition, FlagSet, JsonValue } from "../worker/engine/types";
import { appendAudit, listAudit, verifyAuditChain, type AuditEntry, type AuditFilter } from "./audit";
import * as outbox from "./outbox";
import { fail, ok, type Result } from "./result";
import { migrate } from "./schema";
import {
  hashKey,
  keyIndexKvKey,
  snapshotEtag,
  snapshotKvKey,
  SNAPSHOT_FORMAT,
  type KeyIdentity,
  type KeyScope,
  type Snapshot,
} from "./snapshot";

export interface EnvironmentInfo {
  name: string;
  version: number;
  updatedAt: string;
  flagCount: number;
}

export interface ProjectInfo {
  project: string;
  environments: EnvironmentInfo[];
}

export interface FlagRecord {
  key: string;
  environment: string;
  /** The environment version at which this flag last changed; the flag's `If-Match` value. */
  version: number;
  updatedAt: string;
  updatedBy: string;
  definition: FlagDefinition;
}

/** Who makes a change and why; recorded in the audit log. */
export interface ChangeMeta {
  actor: string;
  reason: string | null;
}

export interface ApiKeyInfo {
  id: string;
  scope: KeyScope;
  environment: string | null;
  name: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** A newly created key: the only time its secret is returned. */
export interface CreatedKey extends ApiKeyInfo {
  key: string;
}

export interface ReplicationStatus {
  published: { kind: string; target: string; version: number; publishedAt: string }[];
  pending: { kind: string; target: string; attempts: number; nextAttemptAt: string; lastError: string | null }[];
}

interface EnvironmentRow extends Record<string, SqlStorageValue> {
  name: string;
  version: number;
  updated_at: number;
  evaluators: string;
  metadata: string;
}

interface FlagRow extends Record<string, SqlStorageValue> {
  environment: string;
  key: string;
  definition: string;
  version: number;
  updated_at: number;
  updated_by: string;
}

interface KeyRow extends Record<string, SqlStorageValue> {
  id: string;
  hash: string;
  scope: KeyScope;
  environment: string | null;
  name: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  last_used_at: number | null;
}

/** `last_used_at` is written at most this often per key, so authentication stays read-mostly. */
const LAST_USED_RESOLUTION_MS = 60_000;

export class FlagStore extends DurableObject<Env> {
  #sql: SqlStorage;
  #draining: Promise<void> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    ctx.storage.transactionSync(() => migrate(this.#sql));
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
      if (existing === null) this.#sql.exec("INSERT INTO meta (key, value) VALUES ('project', ?)", project);
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
        appendAudit(this.#sql, {
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
   * happens if the environment is still at that version.
   */
  async replaceFlagSet(environment: string, input: unknown, meta: ChangeMeta & { ifMatch: number | null }): Promise<Result<{ version: number }>> {
    const validated = validateFlagSet(input);
    if (!validated.ok) {
      return fail({ kind: "invalid", detail: describeProblems(validated.problems), problems: validated.problems });
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
    const before = this.#flagSet(env.value);
    const version = this.#commit(environment, meta, (version, now) => {
      this.#sql.exec("DELETE FROM flags WHERE environment = ?", environment);
      for (const [key, definition] of Object.entries(flagSet.flags)) {
        this.#sql.exec(
          "INSERT INTO flags (environment, key, definition, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)",
          environment, key, JSON.stringify(definition), version, now, meta.actor,
        );
      }
      this.#sql.exec(
        "UPDATE environments SET evaluators = ?, metadata = ? WHERE name = ?",
        JSON.stringify(flagSet.$evaluators ?? {}), JSON.stringify(flagSet.metadata ?? {}), environment,
      );
      return { action: "flagset.replaced", target: "flagset", before, after: flagSet };
    });
    await this.#scheduleDrain();
    return ok({ version });
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
  async createFlag(environment: string, key: string, definition: FlagDefinition, meta: ChangeMeta): Promise<Result<FlagRecord>> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    if (this.#flagRow(environment, key)) {
      return fail({ kind: "conflict", detail: `flag "${key}" already exists in environment "${environment}"; update it with PUT instead` });
    }
    return this.#writeFlag(env.value, key, definition, meta, "flag.created", null);
  }

  /** Replaces a flag's definition. `ifMatch` is the flag version the caller read (412 if stale). */
  async updateFlag(environment: string, key: string, definition: FlagDefinition, meta: ChangeMeta & { ifMatch: number | null }): Promise<Result<FlagRecord>> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    const row = this.#flagRow(environment, key);
    if (!row) return fail(noFlag(environment, key));
    const stale = checkIfMatch(row, meta.ifMatch);
    if (stale) return fail(stale);
    return this.#writeFlag(env.value, key, definition, meta, "flag.updated", row);
  }

  /** Turns a flag on or off in one environment: the kill switch. */
  async setFlagState(environment: string, key: string, state: "ENABLED" | "DISABLED", meta: ChangeMeta & { ifMatch: number | null }): Promise<Result<FlagRecord>> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    const row = this.#flagRow(environment, key);
    if (!row) return fail(noFlag(environment, key));
    const stale = checkIfMatch(row, meta.ifMatch);
    if (stale) return fail(stale);
    const definition = { ...parseDefinition(row.definition), state };
    return this.#writeFlag(env.value, key, definition, meta, state === "ENABLED" ? "flag.enabled" : "flag.disabled", row);
  }

  async deleteFlag(environment: string, key: string, meta: ChangeMeta & { ifMatch: number | null }): Promise<Result<{ version: number }>> {
    const env = this.#environment(environment);
    if (!env.ok) return env;
    const row = this.#flagRow(environment, key);
    if (!row) return fail(noFlag(environment, key));
    const stale = checkIfMatch(row, meta.ifMatch);
    if (stale) return fail(stale);
    const remaining = this.#flagSet(env.value);
    delete remaining.flags[key];
    const validated = validateFlagSet(remaining);
    if (!validated.ok) {
      return fail({ kind: "conflict", detail: `flag "${key}" cannot be deleted: ${describeProblems(validated.problems)}` });
    }
    const version = this.#commit(environment, meta, () => {
      this.#sql.exec("DELETE FROM flags WHERE environment = ? AND key = ?", environment, key);
      return { action: "flag.deleted", target: `flag:${key}`, before: parseDefinition(row.definition), after: null };
    });
    await this.#scheduleDrain();
    return ok({ version });
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
    const key = `ef_${scope}_${randomBytes(24).toString("base64url")}`;
    const id = `key_${randomBytes(9).toString("base64url")}`;
    const hash = hashKey(key);
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec(
        "INSERT INTO api_keys (id, hash, scope, environment, name, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        id, hash, scope, environment, name, now, meta.actor,
      );
      appendAudit(this.#sql, {
        actor: meta.actor, action: "key.created", environment, target: `key:${id}`, version: null,
        before: null, after: { id, scope, environment, name }, reason: meta.reason,
      }, now);
      outbox.enqueue(this.#sql, "key-index", hash, now);
    });
    await this.#scheduleDrain();
    const row = this.#sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).one();
    return ok({ ...toKeyInfo(row), key });
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
        appendAudit(this.#sql, {
          actor: meta.actor, action: "key.revoked", environment: row.environment, target: `key:${id}`, version: null,
          before: { revoked: false }, after: { revoked: true }, reason: meta.reason,
        }, now);
        outbox.enqueue(this.#sql, "key-index", row.hash, now);
      });
      await this.#scheduleDrain();
    }
    return ok(toKeyInfo(this.#sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).one()));
  }

  /** Looks a key up by its hash; null when unknown or revoked. Records when it was last used. */
  async authenticate(keyHash: string): Promise<KeyIdentity | null> {
    const project = this.#projectName();
    const row = this.#sql.exec<KeyRow>("SELECT * FROM api_keys WHERE hash = ?", keyHash).toArray()[0];
    if (!row || project === null || row.revoked_at !== null) return null;
    const now = Date.now();
    if (row.last_used_at === null || now - row.last_used_at > LAST_USED_RESOLUTION_MS) {
      this.#sql.exec("UPDATE api_keys SET last_used_at = ? WHERE id = ?", now, row.id);
    }
    return { id: row.id, project, environment: row.environment, scope: row.scope };
  }

  // ---- audit --------------------------------------------------------------------------------

  async listAudit(filter: AuditFilter): Promise<Result<{ entries: AuditEntry[]; nextCursor: number | null }>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    return ok(listAudit(this.#sql, filter));
  }

  async verifyAudit(): Promise<Result<ReturnType<typeof verifyAuditChain>>> {
    if (this.#projectName() === null) return fail(this.#noProject());
    return ok(verifyAuditChain(this.#sql));
  }

  // ---- the edge's cold path and replication -------------------------------------------------

  /** The environment's current snapshot, for an edge that finds nothing (or nothing new enough) in KV. */
  async getSnapshot(environment: string): Promise<Snapshot | null> {
    const project = this.#projectName();
    const env = this.#sql.exec<EnvironmentRow>("SELECT * FROM environments WHERE name = ?", environment).toArray()[0];
    if (project === null || !env) return null;
    return this.#snapshot(project, env);
  }

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
    const evaluators = JSON.parse(env.evaluators) as Record<string, JsonValue>;
    const metadata = JSON.parse(env.metadata) as FlagSet["metadata"];
    if (Object.keys(evaluators).length > 0) flagSet.$evaluators = evaluators;
    if (metadata && Object.keys(metadata).length > 0) flagSet.metadata = metadata;
    return flagSet;
  }

  #snapshot(project: string, env: EnvironmentRow): Snapshot {
    return {
      format: SNAPSHOT_FORMAT,
      project,
      environment: env.name,
      version: env.version,
      etag: snapshotEtag(env.version),
      updatedAt: iso(env.updated_at),
      flagSet: this.#flagSet(env),
    };
  }

  /** Validates the environment's flag set with this flag in it, then commits the flag. */
  async #writeFlag(env: EnvironmentRow, key: string, definition: FlagDefinition, meta: ChangeMeta, action: string, before: FlagRow | null): Promise<Result<FlagRecord>> {
    const candidate = this.#flagSet(env);
    candidate.flags[key] = definition;
    const validated = validateFlagSet(candidate);
    if (!validated.ok) {
      const problems = validated.problems.map((problem) => ({
        ...problem,
        path: problem.path.startsWith(`flags.${key}`) ? problem.path.slice(`flags.${key}`.length).replace(/^\./, "") || "(flag)" : problem.path,
      }));
      return fail({ kind: "invalid", detail: describeProblems(validated.problems), problems });
    }
    const stored = validated.flagSet.flags[key]!;
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
    return ok(toFlagRecord(this.#flagRow(env.name, key)!));
  }

  /**
   * One change to one environment, atomically: bump the version, apply `apply`, audit it, queue
   * the snapshot. Returns the new version.
   */
  #commit(
    environment: string,
    meta: ChangeMeta,
    apply: (version: number, now: number) => { action: string; target: string; before: unknown; after: unknown },
  ): number {
    const now = Date.now();
    return this.ctx.storage.transactionSync(() => {
      const { version } = this.#sql
        .exec<{ version: number }>("UPDATE environments SET version = version + 1, updated_at = ? WHERE name = ? RETURNING version", now, environment)
        .one();
      const change = apply(version, now);
      appendAudit(this.#sql, { ...change, actor: meta.actor, environment, version, reason: meta.reason }, now);
      outbox.enqueue(this.#sql, "publish", environment, now);
      return version;
    });
  }

  async #scheduleDrain(): Promise<void> {
    const due = outbox.nextDue(this.#sql);
    if (due === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(due);
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
    const project = this.#projectName();
    for (const row of outbox.dueRows(this.#sql, Date.now())) {
      outbox.take(this.#sql, row);
      try {
        const version = project === null ? 0 : await this.#perform(project, row);
        outbox.markPublished(this.#sql, row.kind, row.target, version, Date.now());
      } catch (error) {
        outbox.retryLater(this.#sql, row, error instanceof Error ? error.message : String(error), Date.now());
      }
    }
  }

  /** Writes one row's state to KV; returns the version written (0 for key-index rows). */
  async #perform(project: string, row: outbox.OutboxRow): Promise<number> {
    switch (row.kind) {
      case "publish": {
        const env = this.#sql.exec<EnvironmentRow>("SELECT * FROM environments WHERE name = ?", row.target).toArray()[0];
        if (!env) {
          await this.env.FLAGS_KV.delete(snapshotKvKey(project, row.target));
          return 0;
        }
        const snapshot = this.#snapshot(project, env);
        await this.env.FLAGS_KV.put(snapshotKvKey(project, env.name), JSON.stringify(snapshot), {
          metadata: { version: snapshot.version },
        });
        return snapshot.version;
      }
      case "key-index": {
        const key = this.#sql.exec<KeyRow>("SELECT * FROM api_keys WHERE hash = ?", row.target).toArray()[0];
        if (!key || key.revoked_at !== null) {
          await this.env.FLAGS_KV.delete(keyIndexKvKey(row.target));
        } else {
          const identity: KeyIdentity = { id: key.id, project, environment: key.environment, scope: key.scope };
          await this.env.FLAGS_KV.put(keyIndexKvKey(row.target), JSON.stringify(identity));
        }
        return 0;
      }
    }
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function parseDefinition(text: string): FlagDefinition {
  return JSON.parse(text) as FlagDefinition;
}

function toFlagRecord(row: FlagRow): FlagRecord {
  return {
    key: row.key,
    environment: row.environment,
    version: row.version,
    updatedAt: iso(row.updated_at),
    updatedBy: row.updated_by,
    definition: parseDefinition(row.definition),
  };
}

function toKeyInfo(row: KeyRow): ApiKeyInfo {
  return {
    id: row.id,
    scope: row.scope,
    environment: row.environment,
    name: row.name,
    createdAt: iso(row.created_at),
    createdBy: row.created_by,
    revokedAt: row.revoked_at === null ? null : iso(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : iso(row.last_used_at),
  };
}

function noFlag(environment: string, key: string) {
  return { kind: "not_found" as const, detail: `there is no flag "${key}" in environment "${environment}"` };
}

function checkIfMatch(row: FlagRow, ifMatch: number | null) {
  if (ifMatch === null || ifMatch === row.version) return null;
  return {
    kind: "precondition_failed" as const,
    detail: `flag "${row.key}" was changed by ${row.updated_by} at ${iso(row.updated_at)} (now version ${row.version}, you sent ${ifMatch}); re-read it and apply your change again`,
    currentVersion: row.version,
  };
}

function describeProblems(problems: { path: string; message: string }[]): string {
  const [first, ...rest] = problems;
  if (!first) return "the flag set is not valid";
  return `${first.path}: ${first.message}${rest.length ? ` (and ${rest.length} more problem${rest.length > 1 ? "s" : ""})` : ""}`;
}
