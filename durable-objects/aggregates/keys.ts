/**
 * The API keys aggregate: created, listed, revoked and rotated (with an overlap), and looked up by
 * hash for the edge. Only the key's SHA-256 is stored; each change queues the key-index entry the
 * edge reads from KV.
 *
 * An admin key carries a role (`key_grants`, `contracts/roles.ts`); a key without a row there was
 * made before roles existed and stays `admin`. Client and server keys carry none.
 */
import { randomToken } from "../../lib/crypto";
import * as z from "zod";
import { readJson } from "../../lib/json-read";
import { fail, ok, type Result } from "../../contracts/result";
import { RoleSchema, type Grant } from "../../contracts/roles";
import { LAST_USED_RESOLUTION_MS } from "../../contracts/telemetry";
import { hashKey, type AuthenticatedKey, type KeyScope } from "../../contracts/snapshot";
import { isActive, iso, toKeyInfo } from "../store-records";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta, ApiKeyInfo, CreatedKey, KeyRow } from "../store-types";

/** A key as listed: for an admin key, the role it carries; null for client and server keys. */
export type RoledKeyInfo = ApiKeyInfo & { role: Grant["role"] | null; environments: string[] | null };
export type RoledCreatedKey = CreatedKey & RoledKeyInfo;

const ADMIN_GRANT: Grant = { role: "admin", environments: null };

const GrantRowSchema = z.object({ role: RoleSchema, environments: z.string().nullable() });
const EnvironmentListSchema = z.array(z.string());

/** The role an admin key carries: its `key_grants` row, else `admin` (keys made before roles). */
function grantOf(w: UnitOfWork, row: KeyRow): Grant | null {
  if (row.scope !== "admin") return null;
  const raw = w.sql.exec("SELECT role, environments FROM key_grants WHERE key_id = ?", row.id).toArray()[0];
  const parsed = raw === undefined ? null : GrantRowSchema.safeParse(raw);
  if (parsed === null) return ADMIN_GRANT;
  if (!parsed.success) return { role: "viewer", environments: null };
  if (parsed.data.environments === null) return { role: parsed.data.role, environments: null };
  // An unreadable list grants no environment: never more than was granted.
  const read = readJson(parsed.data.environments);
  const environments = EnvironmentListSchema.safeParse(read.ok ? read.value : null);
  return { role: parsed.data.role, environments: environments.success ? environments.data : [] };
}

function withGrant(w: UnitOfWork, row: KeyRow): RoledKeyInfo {
  const grant = grantOf(w, row);
  return { ...toKeyInfo(row), role: grant?.role ?? null, environments: grant?.environments ?? null };
}

/**
 * Creates an API key. `environment` is required for `client`/`server` keys, null for `admin`;
 * an admin key carries `grant` (default `admin`), whose environments must exist in the project.
 */
export async function createKey(
  w: UnitOfWork,
  scope: KeyScope,
  environment: string | null,
  name: string,
  meta: ChangeMeta,
  grant: Grant | null = null,
): Promise<Result<RoledCreatedKey>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  if (environment !== null) {
    const env = w.environment(environment);
    if (!env.ok) return env;
  }
  const roled = scope === "admin" ? (grant ?? ADMIN_GRANT) : null;
  for (const name of roled?.environments ?? []) {
    const env = w.environment(name);
    if (!env.ok) {
      const detail = `the key's environments name "${name}", which this project does not have`;
      return fail({ kind: "invalid", detail, problems: [{ path: "environments", message: detail }] });
    }
  }
  const created = newKey(w, scope, environment, name, meta, Date.now(), roled);
  await w.scheduleDrain();
  return ok(created);
}

/** The project's API keys (all, or one environment's); never their secrets. */
export async function listKeys(w: UnitOfWork, environment: string | null): Promise<Result<RoledKeyInfo[]>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  const rows =
    environment === null
      ? w.sql.exec<KeyRow>("SELECT * FROM api_keys ORDER BY created_at, id").toArray()
      : w.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE environment = ? ORDER BY created_at, id", environment).toArray();
  return ok(rows.map((row) => withGrant(w, row)));
}

/** Revokes a key at once in this store; the edge stops accepting it within the propagation bound. */
export async function revokeKey(w: UnitOfWork, id: string, meta: ChangeMeta): Promise<Result<RoledKeyInfo>> {
  const row = w.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).toArray()[0];
  if (!row) return fail({ kind: "not_found", detail: `there is no key with id "${id}" in this project` });
  if (row.revoked_at === null) {
    const now = Date.now();
    w.transaction(() => {
      w.sql.exec("UPDATE api_keys SET revoked_at = ? WHERE id = ?", now, id);
      w.audit(
        "key.revoked",
        meta,
        { target: `key:${id}`, environment: row.environment, before: { revoked: false }, after: { revoked: true } },
        now,
      );
      w.enqueue("key-index", row.hash, now);
      w.queueEvent("key.revoked", row.environment, meta, { key: toKeyInfo({ ...row, revoked_at: now }) }, now);
    });
    await w.scheduleDrain();
  }
  return ok(withGrant(w, w.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).one()));
}

/**
 * Looks a key up by its hash; null when unknown or revoked. Records when it was last used. An
 * admin key's identity carries its role.
 */
export async function authenticate(w: UnitOfWork, keyHash: string): Promise<AuthenticatedKey | null> {
  const project = w.project();
  const row = w.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE hash = ?", keyHash).toArray()[0];
  const now = Date.now();
  if (!row || project === null || !isActive(row, now)) return null;
  if (row.last_used_at === null || now - row.last_used_at > LAST_USED_RESOLUTION_MS) {
    w.sql.exec("UPDATE api_keys SET last_used_at = ? WHERE id = ?", now, row.id);
  }
  return {
    id: row.id,
    project,
    environment: row.environment,
    scope: row.scope,
    expiresAt: row.expires_at === null ? null : iso(row.expires_at),
    name: row.name,
    grant: grantOf(w, row),
  };
}

/**
 * Rotates a key: a new key with the same scope, environment and name, while the old one keeps
 * working for `overlapSeconds` so clients can switch without an outage.
 */
export async function rotateKey(
  w: UnitOfWork,
  id: string,
  overlapSeconds: number,
  meta: ChangeMeta,
): Promise<Result<{ key: RoledCreatedKey; previous: RoledKeyInfo }>> {
  const old = w.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).toArray()[0];
  const now = Date.now();
  if (!old) return fail({ kind: "not_found", detail: `there is no key with id "${id}" in this project` });
  if (!isActive(old, now)) return fail({ kind: "conflict", detail: `key "${id}" is revoked or expired; create a new key instead` });
  if (old.replaced_by !== null)
    return fail({ kind: "conflict", detail: `key "${id}" was already rotated to "${old.replaced_by}"; rotate that one` });
  // The new key carries the old one's role: rotating changes the secret, never what it may do.
  const created = newKey(w, old.scope, old.environment, old.name, meta, now, grantOf(w, old), (newId) => {
    const expiresAt = now + overlapSeconds * 1000;
    w.sql.exec("UPDATE api_keys SET expires_at = ?, replaced_by = ? WHERE id = ?", expiresAt, newId, id);
    w.audit(
      "key.rotated",
      meta,
      {
        target: `key:${id}`,
        environment: old.environment,
        before: { expiresAt: null },
        after: { expiresAt: iso(expiresAt), replacedBy: newId },
      },
      now,
    );
    w.enqueue("key-index", old.hash, now);
  });
  await w.scheduleDrain();
  return ok({ key: created, previous: withGrant(w, w.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).one()) });
}

function newKey(
  w: UnitOfWork,
  scope: KeyScope,
  environment: string | null,
  name: string,
  meta: ChangeMeta,
  now: number,
  grant: Grant | null,
  alsoInTransaction?: (id: string) => void,
): RoledCreatedKey {
  const key = `ef_${scope}_${randomToken(24)}`;
  const id = `key_${randomToken(9)}`;
  const hash = hashKey(key);
  w.transaction(() => {
    w.sql.exec(
      "INSERT INTO api_keys (id, hash, scope, environment, name, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
      id,
      hash,
      scope,
      environment,
      name,
      now,
      meta.actor,
    );
    if (grant) {
      const environments = grant.environments === null ? null : JSON.stringify(grant.environments);
      w.sql.exec("INSERT INTO key_grants (key_id, role, environments) VALUES (?, ?, ?)", id, grant.role, environments);
    }
    const roleFields = grant ? { role: grant.role, environments: grant.environments } : {};
    w.audit("key.created", meta, { target: `key:${id}`, environment, after: { id, scope, environment, name, ...roleFields } }, now);
    w.enqueue("key-index", hash, now);
    alsoInTransaction?.(id);
  });
  return { ...withGrant(w, w.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).one()), key };
}
