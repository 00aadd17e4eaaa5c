/**
 * The outbox: replication work queued in the same transaction as the change that caused it, and
 * performed by the alarm until it succeeds. Rows are coalesced per target, so a burst of changes
 * to one environment publishes its latest snapshot once rather than once per change, and a target
 * is written to KV at most once per `KV_WRITE_INTERVAL_MS` (KV's per-key write rate).
 *
 * A row stays in the table until its work has succeeded. While the work runs the row is leased
 * (`lease_until`, `lease_owner`); a change queued meanwhile bumps the row's `generation`, so the
 * success of the older work completes nothing and the row runs again. A reset or eviction
 * mid-call leaves the row leased by an incarnation that no longer exists, and the next pass of
 * the new incarnation takes it at once (a Durable Object has one live instance at a time).
 */

/**
 * `publish`, `key-index`, `project` (the project's registry entry), `audit-head` (the audit
 * chain's anchor) and `access-index` (the single sign-on index, `contracts/access-index.ts`) write
 * KV; `notify` announces a version to the environment's broadcaster.
 */
export type OutboxKind = "publish" | "key-index" | "notify" | "project" | "audit-head" | "access-index";

/** The kinds that write KV, and so wait out its per-key write interval. */
const KV_KINDS: ReadonlySet<OutboxKind> = new Set<OutboxKind>(["publish", "key-index", "project", "audit-head", "access-index"]);

export interface OutboxRow extends Record<string, SqlStorageValue> {
  id: number;
  kind: OutboxKind;
  target: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  /** Bumped by every change queued for the target; a lease completes only its own generation. */
  generation: number;
  /** While work on the row is in flight: when its lease ends, and which incarnation holds it. */
  lease_until: number | null;
  lease_owner: string | null;
}

/** KV accepts about one write per second per key. */
export const KV_WRITE_INTERVAL_MS = 1_000;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 5 * 60_000;

/** Delay before retry number `attempts` (1-based): 1 s, 2 s, 4 s, … capped at 5 minutes. */
export function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

/**
 * Queues work for `target`; a row already waiting for the same target covers this change too,
 * because the work always publishes the target's state at the time it runs. The row becomes due
 * at the earlier of the two times: a key revoked while its rotation's expiry row waits for the end
 * of the overlap is withdrawn from KV now, not then.
 */
export function enqueue(sql: SqlStorage, kind: OutboxKind, target: string, now: number, at = now): void {
  const last = KV_KINDS.has(kind)
    ? sql.exec<{ published_at: number }>("SELECT published_at FROM published WHERE kind = ? AND target = ?", kind, target).toArray()[0]
    : undefined;
  const notBefore = last ? Math.max(at, last.published_at + KV_WRITE_INTERVAL_MS) : at;
  sql.exec(
    `INSERT INTO outbox (kind, target, attempts, next_attempt_at, created_at) VALUES (?, ?, 0, ?, ?)
     ON CONFLICT (kind, target) DO UPDATE SET next_attempt_at = min(outbox.next_attempt_at, excluded.next_attempt_at),
       generation = outbox.generation + 1`,
    kind,
    target,
    notBefore,
    now,
  );
}

/**
 * Rows due at `now`, oldest first: not waiting out a backoff, and not leased by a pass of this
 * incarnation that is still within its lease. `owner` identifies the incarnation asking.
 */
export function dueRows(sql: SqlStorage, now: number, owner: string): OutboxRow[] {
  return sql
    .exec<OutboxRow>(
      `SELECT * FROM outbox WHERE next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1 OR lease_owner IS NOT ?2)
       ORDER BY next_attempt_at, id`,
      now,
      owner,
    )
    .toArray();
}

/**
 * Whether a row of `kind` is due at `now`, in flight or not: a change committed while its
 * target's work is in flight is performed by a pass after it (see `complete`).
 */
export function hasDue(sql: SqlStorage, kind: OutboxKind, now: number): boolean {
  return sql.exec("SELECT 1 FROM outbox WHERE kind = ?1 AND next_attempt_at <= ?2 LIMIT 1", kind, now).toArray().length > 0;
}

/**
 * Marks a row in flight before its work starts. The row stays: until `complete`, a reset or a
 * crash at any instant leaves it queued, and `/replication` shows it pending.
 */
export function lease(sql: SqlStorage, row: OutboxRow, owner: string, until: number): void {
  sql.exec("UPDATE outbox SET lease_until = ?, lease_owner = ? WHERE id = ?", until, owner, row.id);
}

/**
 * Settles a row whose work succeeded. The row is removed unless a change was queued while the
 * work ran (a newer generation): then it stays, due again once KV's write interval allows.
 */
export function complete(sql: SqlStorage, row: OutboxRow, now: number): void {
  const removed = sql.exec("DELETE FROM outbox WHERE id = ? AND generation = ?", row.id, row.generation).rowsWritten;
  if (removed > 0) return;
  const notBefore = KV_KINDS.has(row.kind) ? now + KV_WRITE_INTERVAL_MS : now;
  sql.exec(
    `UPDATE outbox SET lease_until = NULL, lease_owner = NULL, attempts = 0, last_error = NULL,
       next_attempt_at = max(next_attempt_at, ?) WHERE id = ?`,
    notBefore,
    row.id,
  );
}

/** Records a success: what version of the target KV now holds, and when it was written. */
export function markPublished(sql: SqlStorage, kind: OutboxKind, target: string, version: number, now: number): void {
  sql.exec(
    `INSERT INTO published (kind, target, version, published_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (kind, target) DO UPDATE SET version = excluded.version, published_at = excluded.published_at`,
    kind,
    target,
    version,
    now,
  );
}

/** Releases a failed row with its attempt counted and the next try pushed out by the backoff. */
export function retryLater(sql: SqlStorage, row: OutboxRow, error: string, now: number): void {
  const attempts = row.attempts + 1;
  sql.exec(
    `UPDATE outbox SET attempts = ?, next_attempt_at = max(next_attempt_at, ?), last_error = ?,
       lease_until = NULL, lease_owner = NULL WHERE id = ?`,
    attempts,
    now + backoffMs(attempts),
    error.slice(0, 500),
    row.id,
  );
}

/** When the alarm should next run, or null when nothing is queued. */
export function nextDue(sql: SqlStorage): number | null {
  const row = sql.exec<{ due: number | null }>("SELECT min(max(next_attempt_at, coalesce(lease_until, 0))) AS due FROM outbox").one();
  return row.due;
}

/** What is queued, for the admin API's replication status. */
export function pending(sql: SqlStorage): OutboxRow[] {
  return sql.exec<OutboxRow>("SELECT * FROM outbox ORDER BY next_attempt_at, id").toArray();
}
