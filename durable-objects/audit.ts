/**
 * The audit log: append-only and chained. Each entry's hash is an HMAC-SHA256, under a key the
 * Durable Object's storage does not hold (derived from the deployment's signing secret), of the
 * previous entry's hash and every field of the entry: editing or deleting a row breaks the chain
 * at that row, and rewriting the whole chain needs the key. The head (seq and hash) is also
 * anchored outside the chain — in KV and in every webhook delivery — so cutting entries off the
 * end is detected too. Entries written before the keyed chain existed (seq below
 * `audit_hmac_from` in `meta`) keep their plain SHA-256 hashes and verify as such.
 *
 * Hashing is synchronous (`lib/sha256-sync.ts`, not Web Crypto): an entry is appended inside the
 * change's `transactionSync`, and its hash needs the previous entry's, read in that transaction.
 */
import { hexEncode } from "../lib/crypto";
import { hmacSha256Sync, sha256Sync } from "../lib/sha256-sync";
import { deriveKey } from "../lib/signing";
import type { AuditAction } from "../contracts/audit-actions";

export interface NewAuditEntry {
  actor: string;
  action: AuditAction;
  environment: string | null;
  /** What changed: `flag:<key>`, `flagset`, `project`, `key:<id>`. */
  target: string;
  version: number | null;
  before: unknown;
  after: unknown;
  reason: string | null;
}

export interface AuditEntry extends Omit<NewAuditEntry, "action"> {
  /** An `AuditAction`, as the release that wrote the entry named it. */
  action: string;
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

/**
 * The audit chain's key: HKDF-SHA256 of the deployment's `SIGNING_SECRET`, or — on a deployment
 * that has none yet (legacy) — of `ADMIN_TOKEN`, with a purpose of its own so it signs nothing else.
 */
export function auditKey(secret: string): Uint8Array {
  return deriveKey(secret, "audit chain v1");
}

/** Where an audit chain's head was anchored: the sequence number and hash of its last entry then. */
export interface AuditHead {
  seq: number;
  hash: string;
}

function entryHash(prevHash: string, row: Omit<AuditRow, "prev_hash" | "hash">, key: Uint8Array | null): string {
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
  return hexEncode(key === null ? sha256Sync(canonical) : hmacSha256Sync(key, canonical));
}

/** Appends one entry; call inside the transaction that makes the change. Returns the new head. */
export function appendAudit(sql: SqlStorage, key: Uint8Array, entry: NewAuditEntry, now: number): AuditHead {
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
  const hash = entryHash(prevHash, row, key);
  sql.exec(
    `INSERT INTO audit (seq, at, actor, action, environment, target, version, before, after, reason, prev_hash, hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    prevHash,
    hash,
  );
  return { seq: row.seq, hash };
}

/** The chain's last entry, or null when it is empty. */
export function auditHead(sql: SqlStorage): AuditHead | null {
  return sql.exec<{ seq: number; hash: string }>("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").toArray()[0] ?? null;
}

export interface AuditFilter {
  environment?: string | undefined;
  flag?: string | undefined;
  actor?: string | undefined;
  /** Only entries of this action, e.g. `flag.toggled`. */
  action?: string | undefined;
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
  // Each filter's condition and the value it binds; `satisfies` makes the table name every filter.
  const conditions = {
    environment: ["environment = ?", filter.environment],
    flag: ["target = ?", filter.flag === undefined ? undefined : `flag:${filter.flag}`],
    actor: ["actor = ?", filter.actor],
    action: ["action = ?", filter.action],
    since: ["at >= ?", filter.since],
    until: ["at < ?", filter.until],
    beforeSeq: ["seq < ?", filter.beforeSeq],
  } satisfies Record<Exclude<keyof AuditFilter, "limit">, [condition: string, value: string | number | undefined]>;
  const table: [string, string | number | undefined][] = Object.values(conditions);
  const applied = table.filter((entry): entry is [string, string | number] => entry[1] !== undefined);
  const where = applied.map(([condition]) => condition);
  const args = applied.map(([, value]) => value);
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

export type AuditVerification =
  | { ok: true; entries: number; anchor: AuditHead | null; legacyBefore: number }
  | { ok: false; entries: number; brokenAt: number; detail: string; anchor: AuditHead | null; legacyBefore: number };

/**
 * Recomputes the chain from the first entry and reports the first entry whose link does not
 * hold; then checks it against `anchor`, the head recorded outside the chain: an anchor past the
 * chain's end means entries were cut off, an anchor whose hash differs means the chain was
 * rewritten. `legacyBefore` is the first seq hashed with the key (earlier: plain SHA-256).
 */
export function verifyAuditChain(sql: SqlStorage, key: Uint8Array, anchor: AuditHead | null): AuditVerification {
  const legacyBefore = Number(sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'audit_hmac_from'").toArray()[0]?.value ?? 1);
  const broken = (entries: number, brokenAt: number, detail: string): AuditVerification => ({
    ok: false,
    entries,
    brokenAt,
    detail,
    anchor,
    legacyBefore,
  });
  let prevHash = GENESIS;
  let expectedSeq = 1;
  let count = 0;
  let anchorSeen = false;
  for (const row of sql.exec<AuditRow>("SELECT * FROM audit ORDER BY seq ASC")) {
    count++;
    if (row.seq !== expectedSeq) return broken(count, expectedSeq, `entry ${expectedSeq} is missing`);
    if (row.prev_hash !== prevHash) return broken(count, row.seq, `entry ${row.seq} does not link to the entry before it`);
    if (entryHash(prevHash, row, row.seq < legacyBefore ? null : key) !== row.hash) {
      return broken(
        count,
        row.seq,
        `entry ${row.seq} was changed after it was written (its hash does not match its content under the audit key)`,
      );
    }
    if (anchor && row.seq === anchor.seq) {
      if (row.hash !== anchor.hash)
        return broken(count, row.seq, `entry ${row.seq} is not the one anchored outside the chain: the chain was rewritten`);
      anchorSeen = true;
    }
    prevHash = row.hash;
    expectedSeq++;
  }
  if (anchor && !anchorSeen) {
    return broken(
      count,
      count + 1,
      `the chain ends at entry ${count}, but its head was anchored at entry ${anchor.seq}: entries were removed from the end`,
    );
  }
  return { ok: true, entries: count, anchor, legacyBefore };
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
