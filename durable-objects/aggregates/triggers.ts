/**
 * The triggers aggregate: secret-URL and signed-request triggers that enable, disable, set a
 * default, pause or roll back a ramp, each firing audited as `trigger:<name>`.
 */
import { randomToken } from "../../lib/crypto";
import { SIGNATURE_TOLERANCE_SECONDS, verifySignature } from "../../lib/signature";
import type { FlagDefinition } from "../../engine/types";
import { fail, ok, type Result } from "../../contracts/result";
import { hashKey } from "../../contracts/snapshot";
import * as webhooks from "../webhooks";
import { toRampInfo } from "../ramps";
import { parseDefinition, noFlag, toTriggerInfo, noTrigger } from "../store-records";
import { pauseRamp, rampRow, rollbackRamp } from "./ramps";
import { writeFlag } from "./flags";
import { requiresApproval } from "./protection";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta, TriggerInput, TriggerOutcome, TriggerInfo, TriggerRow } from "../store-types";

/** Creates a trigger; returns its secret token (for the URL) and signing secret, shown once. */
export async function createTrigger(
  w: UnitOfWork,
  input: TriggerInput,
  meta: ChangeMeta,
): Promise<Result<TriggerInfo & { token: string; secret: string }>> {
  const env = w.environment(input.environment);
  if (!env.ok) return env;
  const flag = w.flagRow(input.environment, input.flag);
  if (!flag) return fail(noFlag(input.environment, input.flag));
  if (input.action === "set-default" && !(input.variant! in parseDefinition(flag.definition).variants)) {
    return fail({
      kind: "invalid",
      detail: `flag "${input.flag}" has no variant "${input.variant}"`,
      problems: [{ path: "variant", message: "not one of the flag's variants" }],
    });
  }
  if (w.sql.exec("SELECT 1 FROM triggers WHERE name = ?", input.name).toArray().length > 0) {
    return fail({ kind: "conflict", detail: `a trigger named "${input.name}" already exists` });
  }
  const id = webhooks.newId("trg");
  const token = `eft_${randomToken(24)}`;
  const secret = `trsec_${randomToken(24)}`;
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec(
      "INSERT INTO triggers (id, name, environment, flag, action, variant, token_hash, secret, active, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
      id,
      input.name,
      input.environment,
      input.flag,
      input.action,
      input.variant ?? null,
      hashKey(token),
      secret,
      now,
      meta.actor,
    );
    w.audit("trigger.created", meta, { target: `trigger:${input.name}`, environment: input.environment, after: input }, now);
  });
  return ok({ ...triggerInfo(w, id)!, token, secret });
}

/** The project's triggers; never their tokens or secrets. */
export async function listTriggers(w: UnitOfWork): Promise<Result<TriggerInfo[]>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  return ok(w.sql.exec<TriggerRow>("SELECT * FROM triggers ORDER BY created_at, id").toArray().map(toTriggerInfo));
}

/** Enables or disables a trigger. */
export async function setTriggerActive(
  w: UnitOfWork,
  id: string,
  active: boolean,
  meta: ChangeMeta,
): Promise<Result<TriggerInfo & { changed: boolean }>> {
  const trigger = triggerInfo(w, id);
  if (!trigger) return fail(noTrigger(id));
  // Enabling an enabled trigger (or disabling a disabled one) changes nothing and audits nothing.
  if (trigger.active === active) return ok({ ...trigger, changed: false });
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec("UPDATE triggers SET active = ? WHERE id = ?", active ? 1 : 0, id);
    w.audit(
      active ? "trigger.enabled" : "trigger.disabled",
      meta,
      { target: `trigger:${trigger.name}`, environment: trigger.environment, before: { active: trigger.active }, after: { active } },
      now,
    );
  });
  return ok({ ...triggerInfo(w, id)!, changed: true });
}

/** New token and secret; the old URL stops working at once. */
export async function rotateTrigger(
  w: UnitOfWork,
  id: string,
  meta: ChangeMeta,
): Promise<Result<TriggerInfo & { token: string; secret: string }>> {
  const trigger = triggerInfo(w, id);
  if (!trigger) return fail(noTrigger(id));
  const token = `eft_${randomToken(24)}`;
  const secret = `trsec_${randomToken(24)}`;
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec("UPDATE triggers SET token_hash = ?, secret = ? WHERE id = ?", hashKey(token), secret, id);
    w.audit("trigger.rotated", meta, { target: `trigger:${trigger.name}`, environment: trigger.environment }, now);
  });
  return ok({ ...triggerInfo(w, id)!, token, secret });
}

/** Deletes a trigger; its URL stops working at once. */
export async function deleteTrigger(w: UnitOfWork, id: string, meta: ChangeMeta): Promise<Result<{ deleted: string }>> {
  const trigger = triggerInfo(w, id);
  if (!trigger) return fail(noTrigger(id));
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec("DELETE FROM triggers WHERE id = ?", id);
    w.audit("trigger.deleted", meta, { target: `trigger:${trigger.name}`, environment: trigger.environment, before: trigger }, now);
  });
  return ok({ deleted: id });
}

/** Fires the trigger whose secret URL token hashes to `tokenHash`. Unknown and disabled triggers look the same. */
export async function fireTrigger(w: UnitOfWork, tokenHash: string, reason: string | null): Promise<Result<TriggerOutcome>> {
  const row = w.sql.exec<TriggerRow>("SELECT * FROM triggers WHERE token_hash = ? AND active = 1", tokenHash).toArray()[0];
  if (!row) return fail({ kind: "not_found", detail: "no active trigger has this URL" });
  return fire(w, row, reason);
}

/** Fires a trigger from a signed request: HMAC of the body with the trigger's secret, within the replay window. */
export async function fireSignedTrigger(
  w: UnitOfWork,
  id: string,
  body: string,
  signature: string | null,
  reason: string | null,
): Promise<Result<TriggerOutcome>> {
  const row = w.sql.exec<TriggerRow>("SELECT * FROM triggers WHERE id = ? AND active = 1", id).toArray()[0];
  if (!row) return fail({ kind: "not_found", detail: "no active trigger has this id" });
  const now = Math.floor(Date.now() / 1000);
  const check = await verifySignature(row.secret, body, signature, now);
  if (!check.ok) return fail({ kind: "invalid", detail: check.reason, problems: [{ path: "Edgeflags-Signature", message: check.reason }] });
  // Verifying awaited: the trigger may have been disabled or rotated meanwhile.
  const current = w.sql.exec<TriggerRow>("SELECT * FROM triggers WHERE id = ? AND active = 1", id).toArray()[0];
  if (!current || current.secret !== row.secret) return fail({ kind: "not_found", detail: "no active trigger has this id" });
  // Each signed request fires once: a copy replayed inside the timestamp window is refused.
  const fresh = w.transaction(() => {
    w.sql.exec("DELETE FROM trigger_signatures WHERE timestamp < ?", now - 2 * SIGNATURE_TOLERANCE_SECONDS);
    return (
      w.sql.exec(
        "INSERT OR IGNORE INTO trigger_signatures (trigger_id, mac, timestamp) VALUES (?, ?, ?)",
        row.id,
        check.mac,
        check.timestamp,
      ).rowsWritten > 0
    );
  });
  if (!fresh) {
    const reason = "this signed request was already used; sign every request anew";
    return fail({ kind: "invalid", detail: reason, problems: [{ path: "Edgeflags-Signature", message: reason }] });
  }
  return fire(w, row, reason);
}

function triggerInfo(w: UnitOfWork, id: string): TriggerInfo | null {
  const row = w.sql.exec<TriggerRow>("SELECT * FROM triggers WHERE id = ?", id).toArray()[0];
  return row ? toTriggerInfo(row) : null;
}

/** Performs a trigger's action, audited as `trigger:<name>`. */
async function fire(w: UnitOfWork, row: TriggerRow, reason: string | null): Promise<Result<TriggerOutcome>> {
  const meta = { actor: `trigger:${row.name}`, reason: reason ?? `trigger ${row.name} fired` };
  // An alerting system's kill switch: in a protected environment it acts only when the kill switch is exempt.
  const held = requiresApproval(w, row.environment, { role: "editor" }, "kill-switch");
  if (held !== null) return fail({ kind: "conflict", detail: `trigger ${row.name} did nothing: ${held}` });
  let version: number | null = null;
  let changed: boolean;
  if (row.action === "pause-ramp" || row.action === "rollback-ramp") {
    const before = rampRow(w, row.environment, row.flag);
    const result =
      row.action === "pause-ramp"
        ? await pauseRamp(w, row.environment, row.flag, meta)
        : await rollbackRamp(w, row.environment, row.flag, null, meta);
    if (!result.ok) return result;
    const after = rampRow(w, row.environment, row.flag);
    changed = before?.status !== after?.status || before?.history !== after?.history;
    version = w.environmentRows().find((env) => env.name === row.environment)?.version ?? null;
  } else {
    const env = w.environment(row.environment);
    if (!env.ok) return env;
    const flag = w.flagRow(row.environment, row.flag);
    if (!flag) return fail(noFlag(row.environment, row.flag));
    const current = w.definition(flag);
    const definition: FlagDefinition =
      row.action === "set-default"
        ? { ...current, defaultVariant: row.variant }
        : { ...current, state: row.action === "enable" ? "ENABLED" : "DISABLED" };
    const action = row.action === "set-default" ? "flag.updated" : row.action === "enable" ? "flag.enabled" : "flag.disabled";
    const result = await writeFlag(w, env.value, row.flag, definition, meta, action, flag);
    if (!result.ok) return result;
    version = result.value.version;
    changed = result.value.changed;
  }
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec("UPDATE triggers SET last_fired_at = ? WHERE id = ?", now, row.id);
    // A trigger that found the flag already as it would leave it announces nothing.
    if (changed)
      w.queueEvent("trigger.fired", row.environment, meta, { trigger: row.name, flag: row.flag, action: row.action, version }, now);
  });
  await w.scheduleDrain();
  const flag = w.flagRow(row.environment, row.flag);
  const definition = flag ? parseDefinition(flag.definition) : null;
  const ramp = rampRow(w, row.environment, row.flag);
  return ok({
    trigger: row.name,
    action: row.action,
    environment: row.environment,
    flag: row.flag,
    version,
    state: definition?.state ?? null,
    defaultVariant: definition?.defaultVariant ?? null,
    changed,
    ...(ramp ? { ramp: toRampInfo(ramp) } : {}),
  });
}
