/**
 * The import aggregate: an `ImportPlan` (a homegrown export, a LaunchDarkly project, an Unleash
 * export, turned into flags by `admin/import/`) applied to the project in ONE transaction across
 * its environments. Environments the project lacks are created; a flag is created or replaced only
 * where it differs from what is stored, so re-running an import changes, bumps and audits nothing.
 * Every environment's resulting flag set is validated with the engine before anything is written.
 *
 * Cost: one statement per written flag, per changed segment and per target id written (through
 * `replaceTargets`), one version bump, one snapshot and one notice per touched environment; the
 * reads are one flag set per environment. 200 flags × 6 environments with a 4,000-id list on some
 * flags is a few hundred thousand rows: one transaction (see `test/import.test.ts`).
 */
import { validateFlagSet } from "../../engine/index";
import type { FlagDefinition, FlagSet, JsonValue } from "../../engine/types";
import { canonical } from "../../contracts/flagset-diff";
import type { ImportedSegment, ImportPlan } from "../../contracts/import-plan";
import type { ImportEdited, ImportEditedPolicy, ImportPin, ImportResult } from "../../contracts/import-result";
import { fail, ok, type Problem, type Result } from "../../contracts/result";
import { memberChanges, rowEvaluator, segmentEvaluators, toSegmentInfo, type SegmentRow } from "../segments";
import { flagSetChanges, rejected, type Change } from "../store-records";
import { projectFlag, writeFlagInfo } from "./project-flags";
import { replaceTargets, withoutTargets } from "./targets";
import { sameTargets } from "../target-rows";
import { auditHead } from "../audit";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta, EnvironmentRow, FlagInfoInput } from "../store-types";

/** The most environments a project may have (as `PUT /projects/{p}` allows). */
const MAX_ENVIRONMENTS = 20;

/**
 * The most target ids an audit entry (and the webhook event it announces) lists; a flag with more
 * is recorded with `targetCounts` instead. An entry is one SQLite row, and a row holds at most
 * 2 MB: 100,000 ids of 20 characters would not fit. The ids themselves are in `flag_targets`,
 * each with who added it and when.
 */
const MAX_AUDITED_TARGETS = 10_000;

/**
 * How the reason of every audit entry an import writes begins. An entry about a flag without it
 * is a change made in edgeflags (by hand, a trigger, a ramp…), which a re-import must not undo
 * without being told to.
 */
const IMPORT_REASON = "import from ";

/** What writing one environment's part of the plan takes, worked out before the transaction. */
interface EnvironmentWork {
  name: string;
  row: EnvironmentRow | null;
  /** The flags to write (validated, targets sorted), with the change each one records. */
  changes: ReturnType<typeof flagSetChanges>;
  unchanged: number;
  /** Keys whose targets differ from the stored ones. */
  targetsChanged: Set<string>;
}

interface SegmentWork {
  name: string;
  existing: SegmentRow | undefined;
  row: Pick<SegmentRow, "description" | "rule" | "members" | "attribute">;
}

/**
 * Applies `plan` (with `pins` added as targets) in one transaction, or with `dryRun` only answers
 * what it would change. A plan that would leave any environment invalid is refused naming the
 * environment and the flag, and nothing is written.
 */
export async function applyImport(
  w: UnitOfWork,
  plan: ImportPlan,
  options: { dryRun: boolean; pins: ImportPin[]; meta: ChangeMeta; edited?: ImportEditedPolicy },
): Promise<Result<ImportResult>> {
  const policy = options.edited ?? "refuse";
  const project = w.requireProject();
  if (!project.ok) return project;
  const flags = withPins(plan, options.pins);
  if (!flags.ok) return flags;
  const existingEnvs = w.environmentRows();
  const missing = plan.environments.filter((name) => !existingEnvs.some((env) => env.name === name));
  if (existingEnvs.length + missing.length > MAX_ENVIRONMENTS) {
    return fail(
      invalid(
        "environments",
        `the import would give this project ${existingEnvs.length + missing.length} environments; at most ${MAX_ENVIRONMENTS}`,
      ),
    );
  }
  const segments = segmentWork(w, plan.segments);
  if (!segments.ok) return segments;
  const segmentsChanged = segments.value.length > 0;
  const evaluators = { ...segmentEvaluators(w.sql) };
  for (const segment of segments.value) evaluators[segment.name] = rowEvaluator(segment.row);

  // Every environment the plan writes, and every other one when a segment changes (each snapshot carries them).
  const names = [
    ...plan.environments,
    ...(segmentsChanged ? existingEnvs.map((env) => env.name).filter((n) => !plan.environments.includes(n)) : []),
  ];
  const work: EnvironmentWork[] = [];
  const edited: ImportEdited[] = [];
  const absent = new Map<string, string[]>();
  for (const name of names) {
    const row = existingEnvs.find((env) => env.name === name) ?? null;
    if (row && segmentsChanged) {
      const own = JSON.parse(row.evaluators) as Record<string, JsonValue>;
      const clash = segments.value.find((segment) => segment.name in own);
      if (clash) {
        return fail({
          kind: "conflict",
          detail: `environment "${name}" has its own $evaluators entry "${clash.name}"; the import's segment of that name would replace it`,
        });
      }
    }
    const planned = flags.value.get(name) ?? new Map<string, FlagDefinition>();
    let prepared = environmentWork(w, name, row, planned, evaluators);
    if (!prepared.ok) return prepared;
    const found = editedFlags(w, prepared.value);
    if (policy === "keep" && found.length > 0) {
      // Validated again without the flags kept as they are: the rest must stand beside them.
      const kept = new Map([...planned].filter(([key]) => !found.some((e) => e.flag === key)));
      prepared = environmentWork(w, name, row, kept, evaluators);
      if (!prepared.ok) return prepared;
    }
    edited.push(...found);
    work.push(prepared.value);
    const held = row ? w.sql.exec<{ key: string }>("SELECT key FROM flags WHERE environment = ? ORDER BY key", name).toArray() : [];
    absent.set(
      name,
      held.map((r) => r.key).filter((key) => !planned.has(key)),
    );
  }
  let infos = infoWork(w, plan);
  const editedInfo = infos.flatMap((info) => {
    const last = info.before === null ? undefined : lastChange(w, null, info.key);
    return last && !byImport(last) ? [editedEntry(null, info.key, last)] : [];
  });
  if (policy === "keep") infos = infos.filter((info) => !editedInfo.some((e) => e.flag === info.key));
  edited.push(...editedInfo);
  const outcome = ({ refuse: "refused", keep: "kept", overwrite: "overwritten" } as const)[policy];
  for (const entry of edited) entry.outcome = outcome;
  edited.sort((a, b) => (a.environment ?? "").localeCompare(b.environment ?? "") || a.flag.localeCompare(b.flag));
  if (policy === "refuse" && edited.length > 0 && !options.dryRun) return fail({ kind: "conflict", detail: editedDetail(edited) });
  const changed = work.some((env) => env.changes.length > 0) || segmentsChanged || infos.length > 0 || missing.length > 0;
  const result: ImportResult = {
    dryRun: options.dryRun,
    source: plan.source,
    changed,
    environments: {},
    segments: {
      created: segments.value.filter((s) => !s.existing).map((s) => s.name),
      updated: segments.value.filter((s) => s.existing).map((s) => s.name),
    },
    edited,
    unmapped: plan.unmapped,
    notes: plan.notes,
  };
  for (const env of work) {
    if (!plan.environments.includes(env.name)) continue;
    result.environments[env.name] = {
      version: env.row?.version ?? 0,
      created: env.changes.filter((c) => c.action === "flag.created").map((c) => c.key),
      updated: env.changes.filter((c) => c.action !== "flag.created").map((c) => c.key),
      unchanged: env.unchanged,
      absent: absent.get(env.name) ?? [],
    };
  }
  if (options.dryRun || !changed) return ok(result);

  const meta: ChangeMeta = {
    actor: options.meta.actor,
    reason: options.meta.reason ? `${IMPORT_REASON}${plan.source}; ${options.meta.reason}` : `${IMPORT_REASON}${plan.source}`,
  };
  w.transaction(() => {
    const now = Date.now();
    const from = auditHead(w.sql)?.seq ?? 0;
    createEnvironments(w, existingEnvs, missing, meta, now);
    const segmentChanges = writeSegments(w, segments.value, meta.actor, now);
    for (const info of infos) {
      writeFlagInfo(w, info.key, info.next, meta.actor, now);
      w.audit("flag.info.updated", meta, { target: `flag:${info.key}`, before: info.before, after: info.next }, now);
    }
    for (const env of work) {
      if (env.changes.length === 0 && segmentChanges.length === 0 && env.row !== null) continue;
      const version = w.commit(env.name, meta, (v) => [...writeFlags(w, env, v, now, meta.actor), ...segmentChanges], now);
      const entry = result.environments[env.name];
      if (entry) entry.version = version;
    }
    w.audit("import.applied", meta, { target: "project", after: summary(result, plan) }, now);
    markImported(w, from);
  });
  await w.scheduleDrain();
  return ok(result);
}

/**
 * Marks, per flag (and environment), the last audit entry after `from` as the import's: every entry
 * of the transaction is the import's (a Durable Object runs one transaction at a time).
 */
function markImported(w: UnitOfWork, from: number): void {
  w.sql.exec(
    `INSERT OR REPLACE INTO import_marks (environment, target, seq)
     SELECT coalesce(environment, ''), target, max(seq) FROM audit WHERE seq > ? AND target LIKE 'flag:%'
     GROUP BY coalesce(environment, ''), target`,
    from,
  );
}

/**
 * The audit log's latest entry about a flag in an environment (null: about its project-level
 * facts), and whether an import wrote it: the entry an import marked, whatever its reason says.
 */
function lastChange(w: UnitOfWork, environment: string | null, key: string) {
  return w.sql
    .exec<{ action: string; actor: string; at: number; imported: number }>(
      `SELECT action, actor, at, EXISTS (SELECT 1 FROM import_marks m WHERE m.environment = coalesce(a.environment, '') AND m.target = a.target AND m.seq = a.seq) AS imported
       FROM audit a WHERE target = ? AND environment IS ? ORDER BY seq DESC LIMIT 1`,
      `flag:${key}`,
      environment,
    )
    .toArray()[0];
}

function byImport(entry: { imported: number }): boolean {
  return entry.imported === 1;
}

function editedEntry(environment: string | null, flag: string, last: { action: string; actor: string; at: number }): ImportEdited {
  return { environment, flag, change: last.action, by: last.actor, at: new Date(last.at).toISOString(), outcome: "refused" };
}

/**
 * The flags of an environment's changes whose latest change was not an import's: edited, toggled
 * or deleted in edgeflags since an import wrote them, or made there and never imported. One
 * indexed read of the audit log per flag the import would write.
 */
function editedFlags(w: UnitOfWork, env: EnvironmentWork): ImportEdited[] {
  return env.changes.flatMap((change) => {
    const last = lastChange(w, env.name, change.key);
    return last && !byImport(last) ? [editedEntry(env.name, change.key, last)] : [];
  });
}

/** The 409 of an import that would undo changes made in edgeflags: each one named, and the ways on. */
function editedDetail(edited: ImportEdited[]): string {
  const shown = edited
    .slice(0, 10)
    .map((e) => `${e.environment ?? "(project facts)"}/${e.flag} (${e.change} by ${e.by} at ${e.at})`)
    .join(", ");
  const more = edited.length > 10 ? ` and ${edited.length - 10} more` : "";
  return (
    `${edited.length} flag${edited.length === 1 ? " was" : "s were"} changed in edgeflags since an import wrote ${edited.length === 1 ? "it" : "them"}, ` +
    `and this import would undo that: ${shown}${more}. Nothing was written. Send "edited": "keep" to leave them as edgeflags has them ` +
    `and import the rest, or "edited": "overwrite" to replace them with the export (the CLI: --edited keep|overwrite; a dry run lists them all)`
  );
}

/** The plan's flags per environment, with each pin moved into its flag's targets. */
function withPins(plan: ImportPlan, pins: ImportPin[]): Result<Map<string, Map<string, FlagDefinition>>> {
  const byEnvironment = new Map<string, Map<string, FlagDefinition>>();
  for (const flag of plan.flags) {
    for (const [environment, definition] of Object.entries(flag.perEnvironment)) {
      if (!plan.environments.includes(environment))
        return fail(invalid(`flags.${flag.key}`, `environment "${environment}" is not among the plan's environments`));
      let flags = byEnvironment.get(environment);
      if (!flags) byEnvironment.set(environment, (flags = new Map()));
      if (flags.has(flag.key)) return fail(invalid(`flags.${flag.key}`, `flag "${flag.key}" appears twice in the import`));
      flags.set(flag.key, definition);
    }
  }
  // Per pinned definition: target id → variant (the plan's, then the pins'), and what the pins said.
  const assigned = new Map<FlagDefinition, { ids: Map<string, string>; pinned: Map<string, string> }>();
  for (const [index, pin] of pins.entries()) {
    const definition = byEnvironment.get(pin.environment)?.get(pin.flag);
    if (!definition) {
      return fail(invalid(`pin.${index}`, `the import has no flag "${pin.flag}" in environment "${pin.environment}" to pin`));
    }
    if (!Object.hasOwn(definition.variants, pin.variant)) {
      return fail(
        invalid(
          `pin.${index}.variant`,
          `flag "${pin.flag}" has no variant "${pin.variant}" (it has: ${Object.keys(definition.variants).join(", ")})`,
        ),
      );
    }
    let targets = assigned.get(definition);
    if (!targets) assigned.set(definition, (targets = { ids: targetMap(definition), pinned: new Map() }));
    const earlier = targets.pinned.get(pin.targetingKey);
    if (earlier !== undefined && earlier !== pin.variant) {
      return fail(
        invalid(
          `pin.${index}`,
          `"${pin.targetingKey}" is pinned to both "${earlier}" and "${pin.variant}" in "${pin.flag}" (${pin.environment})`,
        ),
      );
    }
    targets.pinned.set(pin.targetingKey, pin.variant);
    targets.ids.set(pin.targetingKey, pin.variant);
  }
  for (const flags of byEnvironment.values()) {
    for (const [key, definition] of flags) {
      const targets = assigned.get(definition);
      flags.set(key, targets ? { ...definition, targets: targetLists(targets.ids) } : sortTargets(definition));
    }
  }
  return ok(byEnvironment);
}

/** Target id → variant. */
function targetMap(definition: FlagDefinition): Map<string, string> {
  const map = new Map<string, string>();
  for (const [variant, ids] of Object.entries(definition.targets ?? {})) for (const id of ids) map.set(id, variant);
  return map;
}

/** Variant → sorted ids, variants sorted. */
function targetLists(map: Map<string, string>): Record<string, string[]> {
  const lists: Record<string, string[]> = {};
  for (const [id, variant] of map) (lists[variant] ??= []).push(id);
  for (const ids of Object.values(lists)) ids.sort();
  return lists;
}

/** The definition with each target list sorted and empty lists dropped: target order carries no meaning. */
function sortTargets(definition: FlagDefinition): FlagDefinition {
  if (definition.targets === undefined) return definition;
  const { targets, ...rest } = definition;
  const lists: Record<string, string[]> = {};
  for (const [variant, ids] of Object.entries(targets)) if (ids.length > 0) lists[variant] = [...new Set(ids)].sort();
  return Object.keys(lists).length > 0 ? { ...rest, targets: lists } : rest;
}

/** Validates the environment with the plan's flags in it and works out which of them differ. */
function environmentWork(
  w: UnitOfWork,
  name: string,
  row: EnvironmentRow | null,
  planned: Map<string, FlagDefinition>,
  evaluators: Record<string, JsonValue>,
): Result<EnvironmentWork> {
  const before: FlagSet = row ? w.flagSet(row) : { flags: {} };
  const candidate: FlagSet = { ...before, flags: { ...before.flags } };
  const own = row ? (JSON.parse(row.evaluators) as Record<string, JsonValue>) : {};
  if (Object.keys(own).length + Object.keys(evaluators).length > 0) candidate.$evaluators = { ...own, ...evaluators };
  for (const [key, definition] of planned) candidate.flags[key] = definition;
  const validated = validateFlagSet(candidate, { before });
  if (!validated.ok) return fail(rejected(validated.problems, `environment "${name}" would not be valid: `));
  const stored: Record<string, FlagDefinition> = {};
  const next: Record<string, FlagDefinition> = {};
  for (const key of planned.keys()) {
    next[key] = sortTargets(validated.flagSet.flags[key]!);
    if (Object.hasOwn(before.flags, key)) stored[key] = sortTargets(before.flags[key]!);
  }
  const changes = flagSetChanges(stored, next);
  const targetsChanged = new Set(changes.filter((c) => !sameTargets(c.before?.targets, c.after?.targets)).map((c) => c.key));
  return ok({ name, row, changes, unchanged: planned.size - changes.length, targetsChanged });
}

/** The segments of the plan that differ from the stored ones. */
function segmentWork(w: UnitOfWork, planned: ImportedSegment[]): Result<SegmentWork[]> {
  const out: SegmentWork[] = [];
  for (const segment of planned) {
    if ((segment.rule === undefined) === (segment.members === undefined)) {
      return fail(invalid(`segments.${segment.name}`, "a segment has either a rule or members, not both and not neither"));
    }
    const row = {
      description: segment.description,
      rule: segment.rule === undefined ? null : JSON.stringify(segment.rule),
      members: segment.members === undefined ? null : JSON.stringify([...new Set(segment.members)]),
      attribute: segment.members === undefined ? null : (segment.attribute ?? "targetingKey"),
    };
    const existing = w.sql.exec<SegmentRow>("SELECT * FROM segments WHERE name = ?", segment.name).toArray()[0];
    const same =
      existing &&
      existing.description === row.description &&
      existing.attribute === row.attribute &&
      canonical(existing.rule === null ? null : JSON.parse(existing.rule)) === canonical(segment.rule ?? null) &&
      existing.members === row.members;
    if (!same) out.push({ name: segment.name, existing, row });
  }
  return ok(out);
}

/** The plan's project-level flag facts that differ from the stored ones. */
function infoWork(w: UnitOfWork, plan: ImportPlan): { key: string; before: FlagInfoInput | null; next: FlagInfoInput }[] {
  const out: { key: string; before: FlagInfoInput | null; next: FlagInfoInput }[] = [];
  for (const flag of plan.flags) {
    if (flag.description === undefined && flag.tags === undefined && flag.lifetime === undefined) continue;
    const stored = projectFlag(w, flag.key);
    const before = stored?.createdAt ? stored.info : null;
    const next: FlagInfoInput = {
      description: flag.description ?? before?.description ?? "",
      owner: before?.owner ?? "",
      tags: flag.tags ?? before?.tags ?? [],
      lifetime: flag.lifetime ?? before?.lifetime ?? "permanent",
      expectedRemovalAt: before?.expectedRemovalAt ?? null,
    };
    if (before === null || canonical(before) !== canonical(next)) out.push({ key: flag.key, before, next });
  }
  return out;
}

function createEnvironments(w: UnitOfWork, existing: EnvironmentRow[], missing: string[], meta: ChangeMeta, now: number): void {
  if (missing.length === 0) return;
  missing.forEach((name, i) => {
    w.sql.exec("INSERT INTO environments (name, version, updated_at, position) VALUES (?, 1, ?, ?)", name, now, existing.length + i);
  });
  const before = existing.map((env) => env.name);
  w.audit(
    "project.updated",
    meta,
    { target: "project", before: { environments: before }, after: { environments: [...before, ...missing] } },
    now,
  );
}

/** Writes the changed segments; the change each one records in every environment. */
function writeSegments(w: UnitOfWork, segments: SegmentWork[], actor: string, now: number): Change[] {
  return segments.map((segment) => {
    w.sql.exec(
      `INSERT INTO segments (name, description, rule, members, attribute, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET description = excluded.description, rule = excluded.rule, members = excluded.members,
         attribute = excluded.attribute, version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      segment.name,
      segment.row.description,
      segment.row.rule,
      segment.row.members,
      segment.row.attribute,
      (segment.existing?.version ?? 0) + 1,
      now,
      actor,
    );
    const written = w.sql.exec<SegmentRow>("SELECT * FROM segments WHERE name = ?", segment.name).one();
    return {
      action: "segment.changed",
      target: `segment:${segment.name}`,
      before: segment.existing ? toSegmentInfo(segment.existing) : null,
      after: { ...toSegmentInfo(written), ...memberChanges(segment.existing?.members ?? null, segment.row.members) },
    };
  });
}

/** Writes one environment's changed flags at `version`; the change each one records. */
function writeFlags(w: UnitOfWork, env: EnvironmentWork, version: number, now: number, actor: string): Change[] {
  return env.changes.map((change) => {
    const definition = withoutTargets(change.after!);
    w.sql.exec(
      `INSERT INTO flags (environment, key, definition, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (environment, key) DO UPDATE SET definition = excluded.definition, version = excluded.version,
         updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      env.name,
      change.key,
      JSON.stringify(definition),
      version,
      now,
      actor,
    );
    if (env.targetsChanged.has(change.key)) replaceTargets(w, env.name, change.key, change.after!.targets, now, actor);
    return { action: change.action, target: `flag:${change.key}`, before: audited(change.before), after: audited(change.after) };
  });
}

/** A definition as its audit entry records it: its targets listed, or only counted when there are many. */
function audited(definition: FlagDefinition | null): unknown {
  if (definition?.targets === undefined) return definition;
  const counts = Object.fromEntries(Object.entries(definition.targets).map(([variant, ids]) => [variant, ids.length]));
  if (Object.values(counts).reduce((a, b) => a + b, 0) <= MAX_AUDITED_TARGETS) return definition;
  return { ...withoutTargets(definition), targetCounts: counts };
}

/** The `import.applied` entry: what the import did, per environment, without the definitions. */
function summary(result: ImportResult, plan: ImportPlan) {
  return {
    source: plan.source,
    environments: result.environments,
    segments: result.segments,
    edited: result.edited,
    unmapped: plan.unmapped.length,
    notes: plan.notes.length,
  };
}

function invalid(path: string, message: string) {
  const problems: Problem[] = [{ path, message }];
  return { kind: "invalid" as const, detail: `${path}: ${message}`, problems };
}
