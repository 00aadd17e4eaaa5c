/**
 * The audit log: append-only and hash-chained. Each entry's hash covers the previous entry's hash
 * and every field of the entry, so editing or deleting a row breaks the chain at that row, which
 * `verifyAuditChain` reports.
 */
import { createHash } from "node:crypto";

export interface NewAuditEntry {
  actor: string;
  action: string;
  environment: string | null;
  /** What changed: `flag:<key>`, `flagset`, `project`, `key:<id>`. */
  target: string;
  version: number | null;
  before: unknown;
  after: unknown;
  reason: string | null;
}

export interface AuditEntry extends NewAuditEntry {
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
}

interface AuditRow extends Record<string, SqlStorageValue> {
  seq: number;
  at: number;
  actor: string;
  action: string;
  environment: string | null;
  target: string;
  version: number | null;
  before: string | null;
  after: string | null;
  reason: string | null;
  prev_hash: string;
  hash: string;
}

const GENESIS = "0".repeat(64);

function entryHash(prevHash: string, row: Omit<AuditRow, "prev_hash" | "hash">): string {
  const canonical = JSON.stringify([
    prevHash,
    row.seq,
    row.at,
    row.actor,
    row.action,
    row.environment,
    row.target,
    row.version,
    row.before,
    row.after,
    row.reason,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

/** Appends one entry; call inside the transaction that makes the change. */
export function appendAudit(sql: SqlStorage, entry: NewAuditEntry, now: number): void {
  const last = sql.exec<{ seq: number; hash: string }>("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").toArray()[0];
  const row = {
    seq: (last?.seq ?? 0) + 1,
    at: now,
    actor: entry.actor,
    action: entry.action,
    environment: entry.environment,
    target: entry.target,
    version: entry.version,
    before: entry.before === undefined || entry.before === null ? null : JSON.stringify(entry.before),
    after: entry.after === undefined || entry.after === null ? null : JSON.stringify(entry.after),
    reason: entry.reason,
  };
  const prevHash = last?.hash ?? GENESIS;
  sql.exec(
    `INSERT INTO audit (seq, at, actor, action, environment, target, version, before, after, reason, prev_hash, hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    row.seq, row.at, row.actor, row.action, row.environment, row.target, row.version,
    row.before, row.after, row.reason, prevHash, entryHash(prevHash, row),
  );
}

export interface AuditFilter {
  environment?: string | undefined;
  flag?: string | undefined;
  actor?: string | undefined;
  /** Only entries at or after this time (ms since epoch). */
  since?: number | undefined;
  /** Only entries before this time (ms since epoch). */
  until?: number | undefined;
  /** Paging cursor: only entries with a smaller sequence number. */
  beforeSeq?: number | undefined;
  limit: number;
}

/** Entries newest first, with the cursor of the next page when there is one. */
export function listAudit(sql: SqlStorage, filter: AuditFilter): { entries: AuditEntry[]; nextCursor: number | null } {
  const where: string[] = [];
  const args: SqlStorageValue[] = [];
  if (filter.environment !== undefined) { where.push("environment = ?"); args.push(filter.environment); }
  if (filter.flag !== undefined) { where.push("target = ?"); args.push(`flag:${filter.flag}`); }
  if (filter.actor !== undefined) { where.push("actor = ?"); args.push(filter.actor); }
  if (filter.since !== undefined) { where.push("at >= ?"); args.push(filter.since); }
  if (filter.until !== undefined) { where.push("at < ?"); args.push(filter.until); }
  if (filter.beforeSeq !== undefined) { where.push("seq < ?"); args.push(filter.beforeSeq); }
  const rows = sql
    .exec<AuditRow>(
      `SELECT * FROM audit ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`,
      ...args,
      filter.limit + 1,
    )
    .toArray();
  const page = rows.slice(0, filter.limit);
  return {
    entries: page.map(toEntry),
    nextCursor: rows.length > filter.limit ? page[page.length - 1]!.seq : null,
  };
}

/** Recomputes the chain from the first entry; reports the first entry whose link does not hold. */
export function verifyAuditChain(sql: SqlStorage): { ok: true; entries: number } | { ok: false; entries: number; brokenAt: number; detail: string } {
  let prevHash = GENESIS;
  let expectedSeq = 1;
  let count = 0;
  for (const row of sql.exec<AuditRow>("SELECT * FROM audit ORDER BY seq ASC")) {
    count++;
    if (row.seq !== expectedSeq) {
      return { ok: false, entries: count, brokenAt: expectedSeq, detail: `entry ${expectedSeq} is missing` };
    }
    if (row.prev_hash !== prevHash) {
      return { ok: false, entries: count, brokenAt: row.seq, detail: `entry ${row.seq} does not link to the entry before it` };
    }
    if (entryHash(prevHash, row) !== row.hash) {
      return { ok: false, entries: count, brokenAt: row.seq, detail: `entry ${row.seq} was changed after it was written` };
    }
    prevHash = row.hash;
    expectedSeq++;
  }
  return { ok: true, entries: count };
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    action: row.action,
    environment: row.environment,
    target: row.target,
    version: row.version,
    before: row.before === null ? null : JSON.parse(row.before),
    after: row.after === null ? null : JSON.parse(row.after),
    reason: row.reason,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
