/**
 * The project's single sign-on configuration (Cloudflare Access): one row, replaced whole,
 * audited with what it was before. The admin API verifies identity tokens against it
 * (`admin/access.ts`); the store only keeps it.
 */
import { AccessMemberSchema, type AccessConfig, type AccessSettings } from "../../contracts/access";
import { fail, ok, type Result } from "../../contracts/result";
import { readJson } from "../../lib/json-read";
import * as z from "zod";
import { iso } from "../store-records";
import type { ChangeMeta } from "../store-types";
import type { UnitOfWork } from "../unit-of-work";

const AccessRowSchema = z.object({
  team_domain: z.string(),
  audience: z.string(),
  members: z.string(),
  updated_at: z.number(),
  updated_by: z.string(),
});
const MembersSchema = z.array(AccessMemberSchema);

/** The configuration, or null when single sign-on is not set up for this project. */
export async function getAccess(w: UnitOfWork): Promise<Result<AccessSettings | null>> {
  if (w.project() === null) return fail(w.noProject());
  return ok(readAccess(w));
}

function readAccess(w: UnitOfWork): AccessSettings | null {
  const raw = w.sql.exec("SELECT * FROM access_config WHERE id = 1").toArray()[0];
  const row = raw === undefined ? null : AccessRowSchema.safeParse(raw);
  if (!row?.success) return null;
  const read = readJson(row.data.members);
  const members = MembersSchema.safeParse(read.ok ? read.value : null);
  return {
    teamDomain: row.data.team_domain,
    audience: row.data.audience,
    // A list that no longer reads grants nobody anything: never more than was configured.
    members: members.success ? members.data : [],
    updatedAt: iso(row.data.updated_at),
    updatedBy: row.data.updated_by,
  };
}

/** Replaces the configuration; an identical one changes nothing and records nothing. */
export async function putAccess(
  w: UnitOfWork,
  config: AccessConfig,
  meta: ChangeMeta,
): Promise<Result<AccessSettings & { changed: boolean }>> {
  if (w.project() === null) return fail(w.noProject());
  for (const member of config.members) {
    for (const name of member.environments ?? []) {
      if (!w.environment(name).ok) {
        const detail = `a member's environments name "${name}", which this project does not have`;
        return fail({ kind: "invalid", detail, problems: [{ path: "members", message: detail }] });
      }
    }
  }
  const before = readAccess(w);
  const same =
    before !== null &&
    before.teamDomain === config.teamDomain &&
    before.audience === config.audience &&
    JSON.stringify(before.members) === JSON.stringify(config.members);
  if (same) return ok({ ...before, changed: false });
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec(
      `INSERT INTO access_config (id, team_domain, audience, members, updated_at, updated_by) VALUES (1, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET team_domain = excluded.team_domain, audience = excluded.audience,
         members = excluded.members, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      config.teamDomain,
      config.audience,
      JSON.stringify(config.members),
      now,
      meta.actor,
    );
    const summary = (c: { teamDomain: string; audience: string; members: unknown[] }) => ({
      teamDomain: c.teamDomain,
      audience: c.audience,
      members: c.members,
    });
    w.audit("access.configured", meta, { target: "access", before: before && summary(before), after: summary(config) }, now);
    w.enqueue("access-index", w.project()!, now);
  });
  return ok({ ...readAccess(w)!, changed: true });
}

/** Turns single sign-on off: tokens are no longer accepted. Nothing to remove is a no-op. */
export async function removeAccess(w: UnitOfWork, meta: ChangeMeta): Promise<Result<{ removed: boolean }>> {
  if (w.project() === null) return fail(w.noProject());
  const before = readAccess(w);
  if (before === null) return ok({ removed: false });
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec("DELETE FROM access_config WHERE id = 1");
    w.audit(
      "access.removed",
      meta,
      { target: "access", before: { teamDomain: before.teamDomain, audience: before.audience, members: before.members } },
      now,
    );
    w.enqueue("access-index", w.project()!, now);
  });
  return ok({ removed: true });
}
