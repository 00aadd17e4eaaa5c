/**
 * Protected environments: an environment may require that changes to it go through a change
 * request another person approves. `requiresApproval` is the one check; the admin API calls it
 * before any direct write into an environment (`admin/routes/protection.ts`), triggers call it
 * before firing. An admin is never held back (break-glass); the kill switch passes when the
 * environment exempts it (emergencies do not wait).
 */
import { ok, type Result } from "../../contracts/result";
import type { ProtectionInfo } from "../../contracts/approvals";
import { iso } from "../store-records";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta } from "../store-types";

/** Who asks: only the role matters to the check. */
export interface Asker {
  role: "viewer" | "editor" | "approver" | "admin";
}

/** A direct write, or the kill switch (a flag turned on or off, nothing else). */
export type WriteKind = "write" | "kill-switch";

interface ProtectionRow extends Record<string, SqlStorageValue> {
  environment: string;
  require_approval: number;
  kill_switch_exempt: number;
  updated_at: number;
  updated_by: string;
}

function protectionRow(w: UnitOfWork, environment: string): ProtectionRow | undefined {
  return w.sql.exec<ProtectionRow>("SELECT * FROM environment_protection WHERE environment = ?", environment).toArray()[0];
}

function toInfo(environment: string, row: ProtectionRow | undefined): ProtectionInfo {
  return {
    environment,
    requireApproval: row?.require_approval === 1,
    killSwitchExempt: row?.kill_switch_exempt === 1,
    updatedAt: row ? iso(row.updated_at) : null,
    updatedBy: row?.updated_by ?? null,
  };
}

/**
 * Why `asker` may not make a direct `kind` change to `environment`, or null when it may: the
 * refusal says to open a change request instead.
 *
 * @example
 * requiresApproval(w, "production", { role: "editor" }, "write")
 * // 'environment "production" requires approval: open a change request (POST …/environments/production/change-requests) …'
 */
export function requiresApproval(w: UnitOfWork, environment: string, asker: Asker, kind: WriteKind): string | null {
  if (asker.role === "admin") return null;
  const row = protectionRow(w, environment);
  if (row?.require_approval !== 1) return null;
  if (kind === "kill-switch" && row.kill_switch_exempt === 1) return null;
  return `environment "${environment}" requires approval: open a change request (POST /admin/v1/projects/{project}/environments/${environment}/change-requests) for an approver to apply${kind === "kill-switch" ? "; its kill switch is not exempt" : ""}`;
}

/** `requiresApproval` over several environments (all of the project's when `environments` is null); the first refusal. */
export async function checkProtection(
  w: UnitOfWork,
  environments: string[] | null,
  asker: Asker,
  kind: WriteKind,
): Promise<Result<{ refused: string | null }>> {
  const project = w.project();
  if (project === null) return ok({ refused: null });
  const names = environments ?? w.environmentRows().map((env) => env.name);
  for (const name of names) {
    const refused = requiresApproval(w, name, asker, kind);
    if (refused !== null) return ok({ refused });
  }
  return ok({ refused: null });
}

/** An environment's protection (unprotected until set). */
export async function getProtection(w: UnitOfWork, environment: string): Promise<Result<ProtectionInfo>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  return ok(toInfo(environment, protectionRow(w, environment)));
}

/** Sets an environment's protection, audited; the same settings again change nothing (`changed: false`). */
export async function putProtection(
  w: UnitOfWork,
  environment: string,
  input: { requireApproval: boolean; killSwitchExempt: boolean },
  meta: ChangeMeta,
): Promise<Result<ProtectionInfo & { changed: boolean }>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const before = toInfo(environment, protectionRow(w, environment));
  if (before.requireApproval === input.requireApproval && before.killSwitchExempt === input.killSwitchExempt) {
    return ok({ ...before, changed: false });
  }
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec(
      `INSERT INTO environment_protection (environment, require_approval, kill_switch_exempt, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (environment) DO UPDATE SET require_approval = excluded.require_approval, kill_switch_exempt = excluded.kill_switch_exempt,
         updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      environment,
      input.requireApproval ? 1 : 0,
      input.killSwitchExempt ? 1 : 0,
      now,
      meta.actor,
    );
    w.audit(
      "protection.changed",
      meta,
      {
        target: "protection",
        environment,
        before: { requireApproval: before.requireApproval, killSwitchExempt: before.killSwitchExempt },
        after: input,
      },
      now,
    );
  });
  return ok({ ...toInfo(environment, protectionRow(w, environment)), changed: true });
}
