/**
 * SQLite schema of the FlagStore, applied in order and gated by a stored schema version, so an
 * object created by any earlier release upgrades itself on first use. Tables are documented in
 * `durable-objects/STORAGE.md`. Migrations only ever append to this list.
 */
export const MIGRATIONS: readonly string[] = [
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
  // 2: governance — project-level flag facts, segments, key expiry (rotation), webhooks, triggers.
  `
  CREATE TABLE flag_info (
    key          TEXT PRIMARY KEY,
    description  TEXT NOT NULL DEFAULT '',
    owner        TEXT NOT NULL DEFAULT '',
    tags         TEXT NOT NULL DEFAULT '[]',
    lifetime     TEXT NOT NULL DEFAULT 'permanent' CHECK (lifetime IN ('temporary', 'permanent')),
    expected_removal_at INTEGER,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL
  );
  CREATE TABLE segments (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    rule        TEXT,
    members     TEXT,
    attribute   TEXT,
    version     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL
  );
  ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
  ALTER TABLE api_keys ADD COLUMN replaced_by TEXT;
  CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    secret      TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL
  );
  CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
  CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries (webhook_id, created_at);
  CREATE TABLE triggers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    environment TEXT NOT NULL,
    flag        TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('enable', 'disable', 'set-default', 'pause-ramp', 'rollback-ramp')),
    variant     TEXT,
    token_hash  TEXT NOT NULL UNIQUE,
    secret      TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    last_fired_at INTEGER
  );
  `,
  // 3: progressive delivery — ramps, experiments, exposures, usage, drafts and shadow counts.
  `
  CREATE TABLE ramps (
    id                TEXT PRIMARY KEY,
    environment       TEXT NOT NULL,
    flag              TEXT NOT NULL,
    variant           TEXT NOT NULL,
    baseline          TEXT NOT NULL,
    steps             TEXT NOT NULL,
    base_targeting    TEXT,
    current_step      INTEGER NOT NULL DEFAULT -1,
    status            TEXT NOT NULL CHECK (status IN ('running', 'paused', 'completed', 'rolled-back')),
    next_at           INTEGER,
    applied_targeting TEXT,
    pause_reason      TEXT,
    history           TEXT NOT NULL DEFAULT '[]',
    created_at        INTEGER NOT NULL,
    created_by        TEXT NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (environment, flag)
  );
  CREATE TABLE experiments (
    id          TEXT PRIMARY KEY,
    environment TEXT NOT NULL,
    flag        TEXT NOT NULL,
    weights     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'stopped')),
    srm_flagged_at INTEGER,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    stopped_at  INTEGER
  );
  CREATE TABLE exposure_units (
    subject  TEXT NOT NULL,
    unit     TEXT NOT NULL,
    variant  TEXT NOT NULL,
    first_at INTEGER NOT NULL,
    PRIMARY KEY (subject, unit)
  ) WITHOUT ROWID;
  CREATE TABLE exposure_counts (
    subject TEXT NOT NULL,
    variant TEXT NOT NULL,
    units   INTEGER NOT NULL,
    PRIMARY KEY (subject, variant)
  ) WITHOUT ROWID;
  CREATE TABLE flag_usage (
    environment TEXT NOT NULL,
    flag        TEXT NOT NULL,
    variant     TEXT NOT NULL,
    evaluations INTEGER NOT NULL,
    first_at    INTEGER NOT NULL,
    last_at     INTEGER NOT NULL,
    PRIMARY KEY (environment, flag, variant)
  ) WITHOUT ROWID;
  CREATE TABLE drafts (
    environment TEXT PRIMARY KEY,
    id          TEXT NOT NULL,
    flagset     TEXT NOT NULL,
    sample_rate REAL NOT NULL,
    base_version INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL
  );
  CREATE TABLE shadow_units (
    draft_id     TEXT NOT NULL,
    flag         TEXT NOT NULL,
    unit         TEXT NOT NULL,
    live_variant TEXT NOT NULL,
    draft_variant TEXT NOT NULL,
    PRIMARY KEY (draft_id, flag, unit)
  ) WITHOUT ROWID;
  `,
  // 4: signed-trigger requests already accepted, refused if replayed within the signature window.
  `
  CREATE TABLE trigger_signatures (
    trigger_id TEXT NOT NULL,
    mac        TEXT NOT NULL,
    timestamp  INTEGER NOT NULL,
    PRIMARY KEY (trigger_id, mac)
  ) WITHOUT ROWID;
  `,
  // 5: outbox rows stay until their work succeeds: a lease while in flight, a generation per change.
  `
  ALTER TABLE outbox ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE outbox ADD COLUMN lease_until INTEGER;
  ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
  `,
  // 6: the project's registry entry in KV; an existing project queues it once, on upgrade.
  `
  INSERT OR IGNORE INTO meta (key, value)
    SELECT 'created_at', CAST(coalesce((SELECT min(at) FROM audit WHERE action = 'project.created'), CAST(strftime('%s', 'now') AS INTEGER) * 1000) AS TEXT)
    FROM meta WHERE key = 'project';
  INSERT OR IGNORE INTO outbox (kind, target, attempts, next_attempt_at, created_at)
    SELECT 'project', value, 0, 0, 0 FROM meta WHERE key = 'project';
  `,
  // 7: the keyed (HMAC) audit chain starts after the last plain SHA-256 entry; its head is anchored in KV.
  `
  INSERT OR IGNORE INTO meta (key, value) SELECT 'audit_hmac_from', CAST(coalesce(max(seq), 0) + 1 AS TEXT) FROM audit;
  INSERT OR IGNORE INTO outbox (kind, target, attempts, next_attempt_at, created_at)
    SELECT 'audit-head', value, 0, 0, 0 FROM meta WHERE key = 'project';
  `,
  // 8: individual targets, one row per targeting key, so adding one never rewrites the flag's definition
  // (idempotent, like 6 and 7: a store stood back to an earlier version runs it again).
  `
  CREATE TABLE IF NOT EXISTS flag_targets (
    environment TEXT NOT NULL,
    flag        TEXT NOT NULL,
    target      TEXT NOT NULL,
    variant     TEXT NOT NULL,
    added_at    INTEGER NOT NULL,
    added_by    TEXT NOT NULL,
    PRIMARY KEY (environment, flag, target),
    FOREIGN KEY (environment, flag) REFERENCES flags (environment, key) ON DELETE CASCADE
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS flag_targets_by_variant ON flag_targets (environment, flag, variant, target);
  `,
  // 9: audit mode — per environment, the exit criterion, which system answers, the last cut-over
  // (IF NOT EXISTS: safe to run again on a store whose recorded version was set back).
  `
  CREATE TABLE IF NOT EXISTS migration (
    environment     TEXT PRIMARY KEY REFERENCES environments(name) ON DELETE CASCADE,
    min_comparisons INTEGER NOT NULL,
    days            INTEGER NOT NULL,
    max_mismatches  INTEGER NOT NULL,
    authority       TEXT NOT NULL DEFAULT 'legacy' CHECK (authority IN ('legacy', 'edgeflags')),
    since           INTEGER,
    grace_until     INTEGER,
    decision        TEXT,
    updated_at      INTEGER NOT NULL,
    updated_by      TEXT NOT NULL
  );
  `,
  // 10: roles — the role an admin key carries (no row: a key made before roles, `admin`), and the
  // project's single sign-on (Cloudflare Access) configuration. New tables, IF NOT EXISTS: safe to
  // run again (a column added with ALTER TABLE would not be).
  `
  CREATE TABLE IF NOT EXISTS key_grants (
    key_id       TEXT PRIMARY KEY REFERENCES api_keys(id),
    role         TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'approver', 'admin')),
    environments TEXT
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS access_config (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    team_domain TEXT NOT NULL,
    audience    TEXT NOT NULL,
    members     TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL
  );
  `,
  // 11: approvals and scheduled changes — per environment, whether a change needs approval; change
  // requests (a diff against a version, decided by another person); changes scheduled for the alarm
  // (IF NOT EXISTS: safe to run again).
  `
  CREATE TABLE IF NOT EXISTS environment_protection (
    environment        TEXT PRIMARY KEY REFERENCES environments(name) ON DELETE CASCADE,
    require_approval   INTEGER NOT NULL,
    kill_switch_exempt INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    updated_by         TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS change_requests (
    id              TEXT PRIMARY KEY,
    environment     TEXT NOT NULL REFERENCES environments(name) ON DELETE CASCADE,
    base_version    INTEGER NOT NULL,
    flags           TEXT NOT NULL,
    before          TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'approved', 'applied', 'rejected', 'withdrawn')),
    requested_by    TEXT NOT NULL,
    requested_at    INTEGER NOT NULL,
    decided_by      TEXT,
    decided_at      INTEGER,
    decision_reason TEXT,
    applied_version INTEGER
  );
  CREATE INDEX IF NOT EXISTS change_requests_by_environment ON change_requests (environment, status, requested_at);
  CREATE TABLE IF NOT EXISTS schedules (
    id              TEXT PRIMARY KEY,
    environment     TEXT NOT NULL REFERENCES environments(name) ON DELETE CASCADE,
    at              INTEGER NOT NULL,
    change          TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'failed', 'cancelled')),
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    finished_by     TEXT,
    applied_version INTEGER,
    failure         TEXT
  );
  CREATE INDEX IF NOT EXISTS schedules_due ON schedules (status, at);
  `,
  // 12: webhook delivery options — the payload format (absent: the JSON event). A table of its own,
  // IF NOT EXISTS: safe to run again (a column added with ALTER TABLE would not be).
  `
  CREATE TABLE IF NOT EXISTS webhook_options (
    webhook_id TEXT PRIMARY KEY REFERENCES webhooks(id) ON DELETE CASCADE,
    format     TEXT NOT NULL CHECK (format IN ('edgeflags', 'slack'))
  ) WITHOUT ROWID;
  `,
  // 13: tracked events (the OFREP tracking extension) attributed to exposure subjects. Every
  // event received is kept for the dedupe window (its id counts it once; an exposure that arrives
  // after the event still finds it); per-unit counts and per-arm sums are maintained as events
  // are attributed, so a metric is read without scanning events. `exposure_subjects` names each
  // subject's environment: an event tracked with another environment's key is not attributed.
  // `shadow_counts` counts shadow comparisons per flip (kept from `shadow_units`, and summed from
  // the telemetry shards' roll-ups, each applied once per `telemetry_rollups` sequence number).
  `
  CREATE TABLE IF NOT EXISTS tracked_events (
    unit        TEXT NOT NULL,
    id          TEXT NOT NULL,
    environment TEXT NOT NULL,
    name        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    value       REAL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (unit, id)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS tracked_events_by_unit ON tracked_events (unit, at);
  CREATE INDEX IF NOT EXISTS tracked_events_by_received ON tracked_events (received_at);
  CREATE INDEX IF NOT EXISTS exposure_units_by_unit ON exposure_units (unit, first_at);
  CREATE TABLE IF NOT EXISTS exposure_subjects (
    subject     TEXT PRIMARY KEY,
    environment TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS unit_event_counts (
    subject TEXT NOT NULL,
    name    TEXT NOT NULL,
    unit    TEXT NOT NULL,
    events  INTEGER NOT NULL,
    PRIMARY KEY (subject, name, unit)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS arm_event_aggregates (
    subject           TEXT NOT NULL,
    name              TEXT NOT NULL,
    variant           TEXT NOT NULL,
    converted_units   INTEGER NOT NULL,
    events            INTEGER NOT NULL,
    events_squared    INTEGER NOT NULL,
    valued            INTEGER NOT NULL,
    value_sum         REAL NOT NULL,
    value_sum_squares REAL NOT NULL,
    PRIMARY KEY (subject, name, variant)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS shadow_counts (
    draft_id      TEXT NOT NULL,
    flag          TEXT NOT NULL,
    live_variant  TEXT NOT NULL,
    draft_variant TEXT NOT NULL,
    units         INTEGER NOT NULL,
    PRIMARY KEY (draft_id, flag, live_variant, draft_variant)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO shadow_counts (draft_id, flag, live_variant, draft_variant, units)
    SELECT draft_id, flag, live_variant, draft_variant, count(*) FROM shadow_units GROUP BY draft_id, flag, live_variant, draft_variant;
  CREATE TABLE IF NOT EXISTS telemetry_rollups (
    shard TEXT PRIMARY KEY,
    seq   INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 14: metrics on tracked events, guardrails on ramps, and each check of a metric on an arm
  // (what the console charts; a guardrail acts on the check it records). Re-runnable.
  `
  CREATE TABLE IF NOT EXISTS metrics (
    name        TEXT PRIMARY KEY,
    event       TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('rate', 'count', 'mean')),
    direction   TEXT NOT NULL CHECK (direction IN ('higher-is-better', 'higher-is-worse')),
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS ramp_guardrails (
    ramp     TEXT NOT NULL,
    metric   TEXT NOT NULL,
    position INTEGER NOT NULL,
    config   TEXT NOT NULL,
    PRIMARY KEY (ramp, metric)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS metric_checks (
    subject  TEXT NOT NULL,
    metric   TEXT NOT NULL,
    variant  TEXT NOT NULL,
    at       INTEGER NOT NULL,
    decision TEXT NOT NULL,
    result   TEXT NOT NULL,
    PRIMARY KEY (subject, metric, variant, at)
  ) WITHOUT ROWID;
  `,
  // 15: the single sign-on index in KV (`contracts/access-index.ts`); a project that already has
  // Access configured queues its entry once, on upgrade.
  `
  INSERT OR IGNORE INTO outbox (kind, target, attempts, next_attempt_at, created_at)
    SELECT 'access-index', value, 0, 0, 0 FROM meta WHERE key = 'project' AND EXISTS (SELECT 1 FROM access_config);
  `,
  // 16: which audit entry an import last wrote per flag (and environment; '' for a flag's project
  // facts), so a re-import tells a change made in edgeflags from its own by the entry, not by what
  // a person typed as a reason. Imports made before it are marked by their reason, which then was
  // the only sign (IF NOT EXISTS, OR IGNORE: safe to run again).
  `
  CREATE TABLE IF NOT EXISTS import_marks (
    environment TEXT NOT NULL,
    target      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (environment, target)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO import_marks (environment, target, seq)
    SELECT coalesce(environment, ''), target, max(seq) FROM audit
    WHERE target LIKE 'flag:%' AND reason LIKE 'import from %' GROUP BY coalesce(environment, ''), target;
  `,
];

/**
 * Brings the database up to the latest schema of `migrations` (the FlagStore's by default; the
 * MigrationLedger has its own list). Runs inside the caller's transaction. Returns whether any
 * migration ran (a migration may queue outbox work, which then needs the alarm).
 */
export function migrate(sql: SqlStorage, migrations: readonly string[] = MIGRATIONS): boolean {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const row = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0];
  const current = row?.version ?? 0;
  for (let i = current; i < migrations.length; i++) {
    sql.exec(migrations[i]!);
  }
  if (!row) sql.exec("INSERT INTO schema_version (version) VALUES (?)", migrations.length);
  else if (current < migrations.length) sql.exec("UPDATE schema_version SET version = ?", migrations.length);
  return current < migrations.length;
}

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
