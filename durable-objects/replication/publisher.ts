/**
 * The publisher: performs the outbox rows (`./outbox.ts`) from the FlagStore's alarm — snapshots,
 * key-index entries, the project's registry and single sign-on entries and the audit anchor written to KV, versions
 * announced to the broadcaster — each under its deadline. A failure is logged and retried later
 * with backoff, never dropped; a row leaves the outbox only once its work has succeeded.
 */
import { randomToken } from "../../lib/crypto";
import { DEADLINE_MS, withDeadline } from "../../lib/deadline";
import { log } from "../../lib/log";
import { auditHeadKvKey, keyIndexKvKey, projectKvKey, snapshotKvKey, type KeyIdentity, type ProjectEntry } from "../../contracts/snapshot";
import { accessIndexWrite } from "../../contracts/access-index";
import { getAccess } from "../aggregates/access";
import { auditHead } from "../audit";
import { notifyEnvironment } from "../broadcaster";
import { isActive, iso } from "../store-records";
import * as outbox from "./outbox";
import type { Snapshots } from "./snapshot";
import type { UnitOfWork } from "../unit-of-work";
import type { EnvironmentRow, KeyRow, ReplicationStatus } from "../store-types";

/** Performs the outbox's due rows for one FlagStore instance (one incarnation). */
export class Publisher {
  /** Tells this instance's outbox leases from those of an instance that was reset or evicted. */
  readonly #incarnation = randomToken(9);
  /** The announcing pass in flight, if any: one runs at a time. */
  #announcing: Promise<void> | null = null;

  /**
   * Registers `announceDue` with the unit of work: every change's `notify` row goes out as soon
   * as the change has committed, in a pass of its own that waits for no KV write.
   */
  constructor(
    private readonly w: UnitOfWork,
    private readonly snapshots: Snapshots,
  ) {
    w.afterCommit(() => this.announceDue());
  }

  /** What KV holds and what is still queued. */
  status(): ReplicationStatus {
    const sql = this.w.sql;
    return {
      published: sql
        .exec<{ kind: string; target: string; version: number; published_at: number }>(
          "SELECT * FROM published WHERE kind = 'publish' ORDER BY target",
        )
        .toArray()
        .map((row) => ({ kind: row.kind, target: row.target, version: row.version, publishedAt: iso(row.published_at) })),
      pending: outbox.pending(sql).map((row) => ({
        kind: row.kind,
        target: shownTarget(row),
        attempts: row.attempts,
        nextAttemptAt: iso(row.next_attempt_at),
        lastError: row.last_error,
        inFlight: row.lease_until !== null,
      })),
    };
  }

  /**
   * Announces every due `notify` row to the broadcaster, apart from and ahead of the KV rows: a
   * listener hears of a change one broadcaster call after its commit, however long KV takes.
   * The row stays in the outbox until the broadcaster took it, so a reset or crash between the
   * commit and the announcement leaves it queued for the alarm. One pass runs at a time; a caller
   * arriving during a pass waits for it and then runs its own (a change committed meanwhile is
   * announced by it).
   */
  async announceDue(): Promise<void> {
    while (this.#announcing) await this.#announcing;
    this.#announcing = this.#performDue((kind) => kind === "notify").finally(() => {
      this.#announcing = null;
    });
    await this.#announcing;
  }

  /** Performs every due row that writes KV once; a failed one is retried later. */
  publishDue(): Promise<void> {
    return this.#performDue((kind) => kind !== "notify");
  }

  /** Performs the due rows of the kinds `which` selects, oldest first; a failed one is retried later. */
  async #performDue(which: (kind: outbox.OutboxKind) => boolean): Promise<void> {
    const sql = this.w.sql;
    const project = this.w.project();
    for (const row of outbox.dueRows(sql, Date.now(), this.#incarnation)) {
      if (!which(row.kind)) continue;
      // Leased past the deadline of the call it makes, so a pass of this incarnation that
      // overlaps it leaves it alone while a fresh incarnation (after a reset) takes it at once.
      outbox.lease(sql, row, this.#incarnation, Date.now() + leaseMs(row.kind));
      try {
        const version = project === null ? 0 : await this.#perform(project, row);
        outbox.markPublished(sql, row.kind, row.target, version, Date.now());
        outbox.complete(sql, row, Date.now());
        if (row.kind === "key-index") this.#queueKeyExpiry(row.target);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        outbox.retryLater(sql, row, message, Date.now());
        log("warn", "outbox-retry", { project, kind: row.kind, target: shownTarget(row), attempts: row.attempts + 1, error: message });
      }
    }
  }

  /** A rotated key's index entry is removed once its overlap window ends: queue that removal. */
  #queueKeyExpiry(keyHash: string): void {
    const key = this.w.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE hash = ?", keyHash).toArray()[0];
    if (key && key.expires_at !== null && isActive(key, Date.now())) this.w.enqueue("key-index", keyHash, Date.now(), key.expires_at);
  }

  #kvPut(key: string, value: string, options?: KVNamespacePutOptions): Promise<void> {
    return withDeadline(this.w.env.FLAGS_KV.put(key, value, options), DEADLINE_MS.kvWrite, `KV write of ${key.split(":")[0]}`);
  }

  #kvDelete(key: string): Promise<void> {
    return withDeadline(this.w.env.FLAGS_KV.delete(key), DEADLINE_MS.kvWrite, `KV delete of ${key.split(":")[0]}`);
  }

  /** Writes one row's state to KV (or announces it); returns the version written (0 when it has none). */
  async #perform(project: string, row: outbox.OutboxRow): Promise<number> {
    const sql = this.w.sql;
    switch (row.kind) {
      case "publish": {
        const env = sql.exec<EnvironmentRow>("SELECT * FROM environments WHERE name = ?", row.target).toArray()[0];
        if (!env) {
          await this.#kvDelete(snapshotKvKey(project, row.target));
          return 0;
        }
        const snapshot = this.snapshots.of(project, env);
        await this.#kvPut(snapshotKvKey(project, env.name), JSON.stringify(snapshot), { metadata: { version: snapshot.version } });
        return snapshot.version;
      }
      case "notify": {
        const env = sql.exec<EnvironmentRow>("SELECT * FROM environments WHERE name = ?", row.target).toArray()[0];
        return env ? notifyEnvironment(this.w.env, project, env.name, env.version, env.updated_at) : 0;
      }
      case "key-index": {
        const key = sql.exec<KeyRow>("SELECT * FROM api_keys WHERE hash = ?", row.target).toArray()[0];
        if (!key || !isActive(key, Date.now())) {
          await this.#kvDelete(keyIndexKvKey(row.target));
        } else {
          const identity: KeyIdentity = {
            id: key.id,
            project,
            environment: key.environment,
            scope: key.scope,
            expiresAt: key.expires_at === null ? null : iso(key.expires_at),
          };
          await this.#kvPut(keyIndexKvKey(row.target), JSON.stringify(identity));
        }
        return 0;
      }
      case "project": {
        const createdAt = Number(
          sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'created_at'").toArray()[0]?.value ?? Date.now(),
        );
        const entry: ProjectEntry = { project, createdAt: iso(createdAt) };
        await this.#kvPut(projectKvKey(project), JSON.stringify(entry));
        return 0;
      }
      case "access-index": {
        // The settings as they are when the row runs: a burst of changes writes the last one.
        const settings = await getAccess(this.w);
        const write = await accessIndexWrite(project, settings.ok ? settings.value : null);
        if ("delete" in write) await this.#kvDelete(write.key);
        else await this.#kvPut(write.key, write.value, { metadata: write.metadata });
        return 0;
      }
      case "audit-head": {
        const head = auditHead(sql);
        if (head) await this.#kvPut(auditHeadKvKey(project), JSON.stringify(head));
        return head?.seq ?? 0;
      }
    }
  }
}

/** A row's target as shown and logged: a key-index row's target is a key hash, which stays hidden. */
function shownTarget(row: outbox.OutboxRow): string {
  return row.kind === "key-index" ? "(key)" : row.target;
}

/** How long a row's lease lasts: past the deadline of the one call its work makes. */
function leaseMs(kind: outbox.OutboxKind): number {
  return (kind === "notify" ? DEADLINE_MS.broadcaster : DEADLINE_MS.kvWrite) + 1_000;
}
