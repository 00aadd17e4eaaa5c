/**
 * Flags across the project: a flag created in every environment at once, its project-level facts
 * (description, owner, tags, lifetime), and the reports over all environments (stale flags,
 * usage).
 */
import { validateFlagSet } from "../../engine/index";
import type { FlagDefinition } from "../../engine/types";
import { fail, ok, type Result } from "../../contracts/result";
import { iso, rejected } from "../store-records";
import { auditedDefinition, putFlag } from "../target-rows";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta, FlagInfoInput, ProjectFlag, FlagInfoRow, StaleReport, FlagRow } from "../store-types";

/**
 * Creates a flag in every environment at once: one definition (variants, default, targeting),
 * optionally adjusted per environment, plus the project-level facts (description, owner, tags,
 * lifetime). One transaction; 409 if the key exists anywhere.
 */
export async function createFlagEverywhere(
  w: UnitOfWork,
  key: string,
  info: FlagInfoInput,
  base: FlagDefinition,
  overrides: Record<string, Partial<FlagDefinition>>,
  meta: ChangeMeta,
): Promise<Result<ProjectFlag>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  const envs = w.environmentRows();
  const unknown = Object.keys(overrides).filter((name) => !envs.some((env) => env.name === name));
  if (unknown.length > 0)
    return fail({ kind: "not_found", detail: `this project has no environment ${unknown.map((u) => `"${u}"`).join(", ")}` });
  const taken = envs.filter((env) => w.flagRow(env.name, key)).map((env) => env.name);
  if (taken.length > 0) return fail({ kind: "conflict", detail: `flag "${key}" already exists in ${taken.join(", ")}` });
  const definitions = new Map<string, FlagDefinition>();
  for (const env of envs) {
    const definition = { ...base, ...overrides[env.name] } as FlagDefinition;
    const candidate = w.flagSet(env);
    candidate.flags[key] = definition;
    const validated = validateFlagSet(candidate, { before: w.flagSet(env) });
    if (!validated.ok) {
      return fail(
        rejected(
          validated.problems.map((p) => ({ ...p, path: `${env.name}.${p.path}` })),
          `in environment "${env.name}": `,
        ),
      );
    }
    definitions.set(env.name, validated.flagSet.flags[key]!);
  }
  const now = Date.now();
  w.transaction(() => {
    writeFlagInfo(w, key, info, meta.actor, now);
    for (const env of envs) {
      const definition = definitions.get(env.name)!;
      w.commit(
        env.name,
        meta,
        (version) => {
          putFlag(w.sql, env.name, key, definition, version, now, meta.actor);
          return { action: "flag.created", target: `flag:${key}`, before: null, after: auditedDefinition(definition) };
        },
        now,
      );
    }
  });
  await w.scheduleDrain();
  return ok(projectFlag(w, key)!);
}

/** Every flag of the project with its facts and its state in each environment, side by side. */
export async function listProjectFlags(w: UnitOfWork): Promise<Result<{ environments: string[]; flags: ProjectFlag[] }>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  const keys = w.sql.exec<{ key: string }>("SELECT key FROM flags UNION SELECT key FROM flag_info ORDER BY key").toArray();
  return ok({
    environments: w.environmentRows().map((env) => env.name),
    flags: keys.map((row) => projectFlag(w, row.key)).filter((flag): flag is ProjectFlag => flag !== null),
  });
}

/** One flag across the project: its facts and each environment's configuration. */
export async function getProjectFlag(w: UnitOfWork, key: string): Promise<Result<ProjectFlag>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  const flag = projectFlag(w, key);
  if (!flag) return fail({ kind: "not_found", detail: `there is no flag "${key}" in any environment of this project` });
  return ok(flag);
}

/** Updates a flag's project-level facts (description, owner, tags, lifetime). */
export async function updateFlagInfo(
  w: UnitOfWork,
  key: string,
  patch: Partial<FlagInfoInput>,
  meta: ChangeMeta,
): Promise<Result<ProjectFlag & { changed: boolean }>> {
  const before = projectFlag(w, key);
  if (!before) return fail({ kind: "not_found", detail: `there is no flag "${key}" in any environment of this project` });
  const now = Date.now();
  const next: FlagInfoInput = { ...before.info, ...patch };
  // Facts patched to what they already are change nothing and audit nothing.
  if (JSON.stringify(next) === JSON.stringify({ ...next, ...before.info })) return ok({ ...before, changed: false });
  w.transaction(() => {
    writeFlagInfo(w, key, next, meta.actor, now);
    w.audit("flag.info.updated", meta, { target: `flag:${key}`, before: before.info, after: next }, now);
  });
  return ok({ ...projectFlag(w, key)!, changed: true });
}

/** Flags nobody evaluates, flags serving one variant to everyone, and temporary flags past their date. */
export async function staleFlags(w: UnitOfWork, days: number): Promise<Result<StaleReport>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  const now = Date.now();
  const since = now - days * 86_400_000;
  const report: StaleReport = { days, notEvaluated: [], singleVariant: [], pastRemovalDate: [] };
  for (const row of w.sql.exec<FlagRow>("SELECT environment, key, updated_at FROM flags ORDER BY environment, key")) {
    const usage = w.sql
      .exec<{ variant: string; evaluations: number; first_at: number; last_at: number }>(
        "SELECT * FROM flag_usage WHERE environment = ? AND flag = ?",
        row.environment,
        row.key,
      )
      .toArray();
    const lastAt = usage.reduce<number | null>((max, u) => (max === null || u.last_at > max ? u.last_at : max), null);
    if ((lastAt === null || lastAt < since) && row.updated_at < since) {
      report.notEvaluated.push({ environment: row.environment, flag: row.key, lastEvaluatedAt: lastAt === null ? null : iso(lastAt) });
    }
    const recent = usage.filter((u) => u.last_at >= since);
    const firstAt = usage.reduce((min, u) => Math.min(min, u.first_at), Number.POSITIVE_INFINITY);
    if (recent.length === 1 && usage.length >= 1 && firstAt <= since && row.updated_at < since) {
      report.singleVariant.push({
        environment: row.environment,
        flag: row.key,
        variant: recent[0]!.variant,
        evaluations: recent[0]!.evaluations,
      });
    }
  }
  for (const info of w.sql.exec<FlagInfoRow>(
    "SELECT * FROM flag_info WHERE lifetime = 'temporary' AND expected_removal_at IS NOT NULL AND expected_removal_at < ? ORDER BY key",
    now,
  )) {
    report.pastRemovalDate.push({ flag: info.key, owner: info.owner, expectedRemovalAt: iso(info.expected_removal_at!) });
  }
  return ok(report);
}

/** Last evaluation time and count per flag in one environment. */
export async function flagUsage(
  w: UnitOfWork,
  environment: string,
): Promise<Result<Record<string, { evaluations: number; lastEvaluatedAt: string; variants: Record<string, number> }>>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const usage: Record<string, { evaluations: number; lastEvaluatedAt: string; variants: Record<string, number> }> = {};
  for (const row of w.sql.exec<{ flag: string; variant: string; evaluations: number; last_at: number }>(
    "SELECT * FROM flag_usage WHERE environment = ?",
    environment,
  )) {
    const entry = (usage[row.flag] ??= { evaluations: 0, lastEvaluatedAt: iso(row.last_at), variants: {} });
    entry.evaluations += row.evaluations;
    entry.variants[row.variant] = row.evaluations;
    if (row.last_at > Date.parse(entry.lastEvaluatedAt)) entry.lastEvaluatedAt = iso(row.last_at);
  }
  return ok(usage);
}

export function writeFlagInfo(w: UnitOfWork, key: string, info: FlagInfoInput, actor: string, now: number): void {
  w.sql.exec(
    `INSERT INTO flag_info (key, description, owner, tags, lifetime, expected_removal_at, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET description = excluded.description, owner = excluded.owner, tags = excluded.tags,
       lifetime = excluded.lifetime, expected_removal_at = excluded.expected_removal_at`,
    key,
    info.description,
    info.owner,
    JSON.stringify(info.tags),
    info.lifetime,
    info.expectedRemovalAt === null ? null : Date.parse(info.expectedRemovalAt),
    now,
    actor,
  );
}

export function projectFlag(w: UnitOfWork, key: string): ProjectFlag | null {
  const info = w.sql.exec<FlagInfoRow>("SELECT * FROM flag_info WHERE key = ?", key).toArray()[0];
  const environments: ProjectFlag["environments"] = {};
  for (const row of w.sql.exec<FlagRow>("SELECT * FROM flags WHERE key = ?", key)) {
    environments[row.environment] = w.flagRecord(row);
  }
  if (!info && Object.keys(environments).length === 0) return null;
  return {
    key,
    info: info
      ? {
          description: info.description,
          owner: info.owner,
          tags: JSON.parse(info.tags) as string[],
          lifetime: info.lifetime,
          expectedRemovalAt: info.expected_removal_at === null ? null : iso(info.expected_removal_at),
        }
      : { description: "", owner: "", tags: [], lifetime: "permanent", expectedRemovalAt: null },
    createdAt: info ? iso(info.created_at) : null,
    environments,
  };
}
