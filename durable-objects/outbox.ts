/**
 * The outbox: replication work queued in the same transaction as the change that caused it, and
 * performed by the alarm until it succeeds. Rows are coalesced per target, so a burst of changes
 * to one environment publishes its latest snapshot once rather than once per change, and a target
 * is written to KV at most once per `KV_WRITE_INTERVAL_MS` (KV's per-key write rate).
 */

/** `publish` and `key-index` write KV; `notify` announces a version to the environment's broadcaster. */
export type OutboxKind = "publish" | "key-index" | "notify";

/** The kinds that write KV, and so wait out its per-key write interval. */
const KV_KINDS: ReadonlySet<OutboxKind> = new Set<OutboxKind>(["publish", "key-index"]);

export interface OutboxRow extends Record<string, SqlStorageValue> {
  id: number;
  kind: OutboxKind;
  target: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
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
     ON CONFLICT (kind, target) DO UPDATE SET next_attempt_at = min(outbox.next_attempt_at, excluded.next_attempt_at)`,
    kind, target, notBefore, now,
  );
}

/** Rows due at `now`, oldest first. */
export function dueRows(sql: SqlStorage, now: number): OutboxRow[] {
  return sql.exec<OutboxRow>("SELECT * FROM outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at, id", now).toArray();
}

/** Takes a row off the queue before its work starts, so a change made meanwhile queues anew. */
export function take(sql: SqlStorage, row: OutboxRow): void {
  sql.exec("DELETE FROM outbox WHERE id = ?", row.id);
}

/** Records a success: what version of the target KV now holds, and when it was written. */
export function markPublished(sql: SqlStorage, kind: OutboxKind, target: string, version: number, now: number): void {
  sql.exec(
    `INSERT INTO published (kind, target, version, published_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (kind, target) DO UPDATE SET version = excluded.version, published_at = excluded.published_at`,
    kind, target, version, now,
  );
}

/** Puts a failed row back with its attempt counted and the next try pushed out by the backoff. */
export function retryLater(sql: SqlStorage, row: OutboxRow, error: string, now: number): void {
  const attempts = row.attempts + 1;
  sql.exec(
    `INSERT INTO outbox (kind, target, attempts, next_attempt_at, last_error, created_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (kind, target) DO UPDATE SET attempts = excluded.attempts,
       next_attempt_at = max(outbox.next_attempt_at, excluded.next_attempt_at), last_error = excluded.last_error`,
    row.kind, row.target, attempts, now + backoffMs(attempts), error.slice(0, 500), now,
  );
}

/** When the alarm should next run, or null when nothing is queued. */
export function nextDue(sql: SqlStorage): number | null {
  const row = sql.exec<{ due: number | null }>("SELECT min(next_attempt_at) AS due FROM outbox").one();
  return row.due;
}

/** What is queued, for the admin API's replication status. */
export function pending(sql: SqlStorage): OutboxRow[] {
  return sql.exec<OutboxRow>("SELECT * FROM outbox ORDER BY next_attempt_at, id").toArray();
}
