/**
 * The project aggregate: its name, its environments (created, reordered, removed while empty), and
 * its audit log as read by the admin API.
 */
import { DEADLINE_MS, withDeadline } from "../../lib/deadline";
import { fail, ok, type Result } from "../../contracts/result";
import { AuditHeadSchema, auditHeadKvKey } from "../../contracts/snapshot";
import { listAudit as listAuditEntries, verifyAuditChain, type AuditEntry, type AuditFilter, type AuditVerification } from "../audit";
import { iso } from "../store-records";
import type { UnitOfWork } from "../unit-of-work";
import type { ProjectInfo, ChangeMeta } from "../store-types";

/**
 * Creates the project or adds environments to it. An environment that still has flags cannot
 * be dropped from the list (409): its flags would be lost.
 */
export async function putProject(
  w: UnitOfWork,
  project: string,
  environments: string[],
  meta: ChangeMeta,
): Promise<Result<ProjectInfo & { created: boolean }>> {
  const existing = w.project();
  if (existing !== null && existing !== project) {
    return fail({ kind: "conflict", detail: `this store belongs to project "${existing}"` });
  }
  const current = w.environmentRows().map((row) => row.name);
  const removed = current.filter((name) => !environments.includes(name));
  for (const name of removed) {
    const count = flagCount(w, name);
    if (count > 0) {
      return fail({
        kind: "conflict",
        detail: `environment "${name}" still has ${count} flag(s); delete them before removing the environment`,
      });
    }
  }
  const now = Date.now();
  const added = environments.filter((name) => !current.includes(name));
  w.transaction(() => {
    if (existing === null) {
      w.sql.exec("INSERT INTO meta (key, value) VALUES ('project', ?), ('created_at', ?)", project, String(now));
      w.enqueue("project", project, now);
    }
    environments.forEach((name, position) => {
      if (added.includes(name)) {
        w.sql.exec("INSERT INTO environments (name, version, updated_at, position) VALUES (?, 1, ?, ?)", name, now, position);
        w.enqueue("publish", name, now);
      } else {
        w.sql.exec("UPDATE environments SET position = ? WHERE name = ?", position, name);
      }
    });
    for (const name of removed) {
      w.sql.exec("DELETE FROM environments WHERE name = ?", name);
      w.enqueue("publish", name, now);
    }
    if (existing === null || added.length > 0 || removed.length > 0) {
      w.audit(
        existing === null ? "project.created" : "project.updated",
        meta,
        { target: "project", before: existing === null ? null : { environments: current }, after: { environments } },
        now,
      );
    }
  });
  await w.scheduleDrain();
  return ok({ ...projectInfo(w, project), created: existing === null });
}

/** The project and its environments (version, last change, flag count). */
export async function getProject(w: UnitOfWork): Promise<Result<ProjectInfo>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  return ok(projectInfo(w, project.value));
}

/** Audit entries, newest first, filtered and paged. */
export async function listAudit(w: UnitOfWork, filter: AuditFilter): Promise<Result<{ entries: AuditEntry[]; nextCursor: number | null }>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  return ok(listAuditEntries(w.sql, filter));
}

/**
 * Verifies the audit chain, and checks it against the head anchored in KV (truncation and
 * rewrites); an anchor KV cannot give within its deadline is reported as null, not guessed.
 */
export async function verifyAudit(w: UnitOfWork): Promise<Result<AuditVerification>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  let anchor: unknown = null;
  try {
    anchor = await withDeadline(
      w.env.FLAGS_KV.get(auditHeadKvKey(project.value), "json"),
      DEADLINE_MS.edgeKvRead,
      "KV read of the audit anchor",
    );
  } catch {
    anchor = null;
  }
  const parsed = AuditHeadSchema.safeParse(anchor);
  return ok(verifyAuditChain(w.sql, w.auditKey, parsed.success ? parsed.data : null));
}

function flagCount(w: UnitOfWork, environment: string): number {
  return w.sql.exec<{ n: number }>("SELECT count(*) AS n FROM flags WHERE environment = ?", environment).one().n;
}

function projectInfo(w: UnitOfWork, project: string): ProjectInfo {
  return {
    project,
    environments: w.environmentRows().map((row) => ({
      name: row.name,
      version: row.version,
      updatedAt: iso(row.updated_at),
      flagCount: flagCount(w, row.name),
    })),
  };
}
