/**
 * SQLite schema of the FlagStore, applied in order and gated by a stored schema version, so an
 * object created by any earlier release upgrades itself on first use. Tables are documented in
 * `durable-objects/STORAGE.md`. Migrations only ever append to this list.
 */
const MIGRATIONS: readonly string[] = [
  // 1: the core model.
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  CREATE TABLE environments (
    name        TEXT PRIMARY KEY,
    version     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    evaluators  TEXT NOT NULL DEFAULT '{}',
    metadata    TEXT NOT NULL DEFAULT '{}',
    position    INTEGER NOT NULL
  );
  CREATE TABLE flags (
    environment TEXT NOT NULL REFERENCES environments(name) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    definition  TEXT NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (environment, key)
  );
  CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    hash         TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL CHECK (scope IN ('client', 'server', 'admin')),
    environment  TEXT,
    name         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
  );
  CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    environment TEXT,
    target      TEXT NOT NULL,
    version     INTEGER,
    before      TEXT,
    after       TEXT,
    reason      TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
  );
  CREATE INDEX audit_by_target ON audit (target, seq);
  CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL,
    target          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (kind, target)
  );
  CREATE TABLE published (
    kind         TEXT NOT NULL,
    target       TEXT NOT NULL,
    version      INTEGER NOT NULL,
    published_at INTEGER NOT NULL,
    PRIMARY KEY (kind, target)
  );
  `,
];

/** Brings the database up to the latest schema. Runs inside the caller's transaction. */
export function migrate(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const row = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0];
  const current = row?.version ?? 0;
  for (let i = current; i < MIGRATIONS.length; i++) {
    sql.exec(MIGRATIONS[i]!);
  }
  if (!row) sql.exec("INSERT INTO schema_version (version) VALUES (?)", MIGRATIONS.length);
  else if (current < MIGRATIONS.length) sql.exec("UPDATE schema_version SET version = ?", MIGRATIONS.length);
}

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
