/**
 * An object written by any earlier release upgrades itself when it is next constructed: its
 * database is rebuilt with the DDL of schema version N (the first N migrations of `schema.ts`),
 * filled as that release left it — a project, a flag, a key, a legacy (SHA-256) audit entry and
 * a queued publish — and the object is restarted. Data survives, the schema is current, and the
 * work the upgrade queues (the registry entry, the audit anchor) is published.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MIGRATIONS, SCHEMA_VERSION } from "../durable-objects/schema";
import { auditHeadKvKey, hashKey, ProjectEntrySchema, projectKvKey, snapshotKvKey } from "../contracts/snapshot";
import { accessIndexKvKey } from "../contracts/access-index";
import { call, drainOutbox, store } from "./helpers";
import { restartObject } from "./object-restart";

const KEY = "ef_server_migration-test-key-000000000000";
const DEFINITION = { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" };
const CREATED_AT = Date.UTC(2026, 0, 1);

/** Drops every table, then builds the schema of `version` and the rows that release wrote. */
function buildAtVersion(sql: SqlStorage, project: string, version: number): void {
  const tables = sql
    .exec<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY rowid DESC",
    )
    .toArray();
  for (const { name } of tables) sql.exec(`DROP TABLE "${name}"`);
  for (const ddl of MIGRATIONS.slice(0, version)) sql.exec(ddl);
  sql.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
  sql.exec("INSERT INTO schema_version (version) VALUES (?)", version);

  sql.exec("INSERT INTO meta (key, value) VALUES ('project', ?)", project);
  if (version >= 6) sql.exec("INSERT INTO meta (key, value) VALUES ('created_at', ?)", String(CREATED_AT));
  // Migration 7 ran on an empty audit log here; the release kept the legacy entry below it.
  if (version >= 7) sql.exec("UPDATE meta SET value = '2' WHERE key = 'audit_hmac_from'");
  sql.exec("INSERT INTO environments (name, version, updated_at, position) VALUES ('production', 3, ?, 0)", CREATED_AT);
  sql.exec(
    "INSERT INTO flags (environment, key, definition, version, updated_at, updated_by) VALUES ('production', 'kept', ?, 3, ?, 'token:bootstrap')",
    JSON.stringify(DEFINITION),
    CREATED_AT,
  );
  sql.exec(
    "INSERT INTO api_keys (id, hash, scope, environment, name, created_at, created_by) VALUES ('key_old', ?, 'server', 'production', 'old', ?, 'token:bootstrap')",
    hashKey(KEY),
    CREATED_AT,
  );
  // The audit chain as releases before the keyed chain wrote it: plain SHA-256.
  const entry = [
    1,
    CREATED_AT,
    "token:bootstrap",
    "project.created",
    null,
    "project",
    null,
    null,
    JSON.stringify({ environments: ["production"] }),
    null,
  ] as const;
  const hash = createHash("sha256")
    .update(JSON.stringify(["0".repeat(64), ...entry]))
    .digest("hex");
  sql.exec(
    "INSERT INTO audit (seq, at, actor, action, environment, target, version, before, after, reason, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ...entry,
    "0".repeat(64),
    hash,
  );
  // A store at version 7 or later reached it by upgrading after this entry: its keyed chain starts after it.
  if (version >= 7) sql.exec("UPDATE meta SET value = '2' WHERE key = 'audit_hmac_from'");
  // A publish that release had queued and not yet performed.
  sql.exec(
    "INSERT INTO outbox (kind, target, attempts, next_attempt_at, created_at) VALUES ('publish', 'production', 0, 0, ?)",
    CREATED_AT,
  );
}

/** Every table and column, and every index, of a store's database. */
function shape(sql: SqlStorage): string[] {
  const columns = sql
    .exec<{ tbl: string; col: string; type: string }>(
      `SELECT m.name AS tbl, p.name AS col, p.type AS type FROM sqlite_master m JOIN pragma_table_info(m.name) p
       WHERE m.type = 'table' AND m.name NOT LIKE '_cf_%' AND m.name NOT LIKE 'sqlite_%' ORDER BY tbl, col`,
    )
    .toArray()
    .map((row) => `${row.tbl}.${row.col} ${row.type}`);
  const indexes = sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .toArray();
  return [...columns, ...indexes.map((row) => `index ${row.name}`)];
}

const EARLIER = Array.from({ length: SCHEMA_VERSION - 1 }, (_, i) => i + 1);

describe("schema upgrade from every earlier version", () => {
  it("covers every earlier version", () => {
    expect(EARLIER.length).toBe(SCHEMA_VERSION - 1);
    expect(EARLIER.length).toBeGreaterThan(0);
  });

  it.each(EARLIER)("upgrades a database at version %i to the current schema, keeping its data", async (version) => {
    const project = `migrate-v${version}`;
    await runInDurableObject(store(project), (_instance, state) => buildAtVersion(state.storage.sql, project, version));
    // From version 6 on, the release itself wrote the project's registry entry; before, the upgrade queues it.
    if (version >= 6)
      await env.FLAGS_KV.put(projectKvKey(project), JSON.stringify({ project, createdAt: new Date(CREATED_AT).toISOString() }));
    await restartObject(project, "upgrade");

    const schema = await runInDurableObject(store(project), (_instance, state) => ({
      version: state.storage.sql.exec<{ version: number }>("SELECT version FROM schema_version").one().version,
      alarm: state.storage.getAlarm(),
    }));
    expect(schema.version).toBe(SCHEMA_VERSION);
    // The same tables, columns and indexes as a store created by this release.
    const fresh = await runInDurableObject(store("migrate-fresh"), (_instance, state) => shape(state.storage.sql));
    expect(await runInDurableObject(store(project), (_instance, state) => shape(state.storage.sql))).toEqual(fresh);
    // The upgrade queued work (at least the audit anchor), so the alarm is armed for it.
    expect(await schema.alarm).not.toBeNull();

    const read = await call("GET", `/admin/v1/projects/${project}`);
    expect(read.status).toBe(200);
    expect(read.body.environments).toEqual([expect.objectContaining({ name: "production", version: 3, flagCount: 1 })]);
    const flag = await call("GET", `/admin/v1/projects/${project}/environments/production/flags/kept`);
    expect(flag.body).toMatchObject({ version: 3, ...DEFINITION });
    const identity = await store(project).authenticate(hashKey(KEY));
    expect(identity).toMatchObject({ id: "key_old", project, environment: "production", scope: "server", expiresAt: null });

    // The legacy entry still verifies (as SHA-256); the keyed chain starts after it.
    const verified = await call("GET", `/admin/v1/projects/${project}/audit/verify`);
    expect(verified.body).toMatchObject({ ok: true, entries: 1, legacyBefore: 2 });

    // A write works on the upgraded schema and is chained with the key.
    const toggled = await call("POST", `/admin/v1/projects/${project}/environments/production/flags/kept/toggle`, {
      body: { state: "DISABLED" },
    });
    expect(toggled.body).toMatchObject({ version: 4, changed: true });

    await drainOutbox(project);
    expect((await env.FLAGS_KV.get<{ version: number }>(snapshotKvKey(project, "production"), "json"))?.version).toBe(4);
    expect(ProjectEntrySchema.parse(await env.FLAGS_KV.get(projectKvKey(project), "json")).project).toBe(project);
    expect((await env.FLAGS_KV.get<{ seq: number }>(auditHeadKvKey(project), "json"))?.seq).toBe(2);
    expect((await call("GET", `/admin/v1/projects/${project}/audit/verify`)).body).toMatchObject({ ok: true, entries: 2, legacyBefore: 2 });
    expect((await call("GET", `/admin/v1/projects/${project}/replication`)).body.pending).toEqual([]);
  });
});

describe("single sign-on index backfill (migration 15)", () => {
  it("queues the index entry of a project that had single sign-on before the index existed", async () => {
    const project = "migrate-sso";
    const members = [{ email: "ana@example.com", role: "admin" }];
    await runInDurableObject(store(project), (_instance, state) => {
      buildAtVersion(state.storage.sql, project, 14);
      state.storage.sql.exec(
        "INSERT INTO access_config (id, team_domain, audience, members, updated_at, updated_by) VALUES (1, ?, ?, ?, ?, ?)",
        "acme.cloudflareaccess.com",
        "aud-1",
        JSON.stringify(members),
        CREATED_AT,
        "token:bootstrap",
      );
    });
    await restartObject(project, "upgrade");
    await drainOutbox(project);
    const entry = await env.FLAGS_KV.get<{ project: string; audience: string; members: unknown }>(accessIndexKvKey(project), "json");
    expect(entry).toMatchObject({ project, audience: "aud-1", members });
    // A project without single sign-on gets no entry.
    await runInDurableObject(store("migrate-no-sso"), (_instance, state) => buildAtVersion(state.storage.sql, "migrate-no-sso", 14));
    await restartObject("migrate-no-sso", "upgrade");
    await drainOutbox("migrate-no-sso");
    expect(await env.FLAGS_KV.get(accessIndexKvKey("migrate-no-sso"))).toBeNull();
  });
});

describe("import marks backfill (migration 16)", () => {
  it("marks each flag's last entry an import wrote before the marks existed, so a re-import after the upgrade names no edits that are not", async () => {
    const project = "migrate-import-marks";
    const entry = (seq: number, action: string, environment: string | null, target: string, reason: string | null) =>
      [seq, CREATED_AT + seq, "token:bootstrap", action, environment, target, null, null, null, reason, "0".repeat(64), "x"] as const;
    await runInDurableObject(store(project), (_instance, state) => {
      const sql = state.storage.sql;
      buildAtVersion(sql, project, 15);
      const insert = (row: readonly unknown[]) =>
        sql.exec(
          "INSERT INTO audit (seq, at, actor, action, environment, target, version, before, after, reason, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          ...(row as SqlStorageValue[]),
        );
      insert(entry(2, "flag.created", "production", "flag:kept", "import from homegrown"));
      insert(entry(3, "flag.info.updated", null, "flag:kept", "import from homegrown"));
      insert(entry(4, "flag.updated", "production", "flag:kept", "import from homegrown; phase 2"));
      insert(entry(5, "flag.disabled", "production", "flag:other", "kill switch"));
    });
    await restartObject(project, "upgrade");
    const marks = await runInDurableObject(store(project), (_instance, state) =>
      state.storage.sql.exec("SELECT environment, target, seq FROM import_marks ORDER BY environment, target").toArray(),
    );
    expect(marks).toEqual([
      { environment: "", target: "flag:kept", seq: 3 },
      { environment: "production", target: "flag:kept", seq: 4 },
    ]);
  });
});
