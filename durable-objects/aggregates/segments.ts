/**
 * The segments aggregate: reusable targeting shared by every environment. A segment change is a
 * change to every environment (each snapshot carries it); a segment still in use cannot be
 * deleted. The rules themselves are in `../segments.ts`.
 */
import { validateFlagSet } from "../../engine/index";
import type { FlagSet, JsonValue } from "../../engine/types";
import { fail, ok, type Result } from "../../contracts/result";
import { memberChanges, refersTo, rowEvaluator, toSegmentInfo, type SegmentInfo, type SegmentInput, type SegmentRow } from "../segments";
import type { RampRow } from "../ramps";
import { parseDefinition, rejected } from "../store-records";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta, DraftRow, FlagRow } from "../store-types";

/** The project's segments, by name. */
export async function listSegments(w: UnitOfWork): Promise<Result<SegmentInfo[]>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  return ok(
    w.sql
      .exec<SegmentRow>("SELECT * FROM segments ORDER BY name")
      .toArray()
      .map((row) => toSegmentInfo(row)),
  );
}

/** One segment, with its member ids when it is a list. */
export async function getSegment(w: UnitOfWork, name: string): Promise<Result<SegmentInfo & { members?: string[] }>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  const row = segmentRow(w, name);
  if (!row) return fail({ kind: "not_found", detail: `there is no segment "${name}" in this project` });
  return ok(toSegmentInfo(row, true));
}

/**
 * Creates or replaces a segment. Every environment's flags are re-validated with it, and every
 * environment gets a new version, since each snapshot carries the segment.
 */
export async function putSegment(
  w: UnitOfWork,
  name: string,
  input: SegmentInput,
  meta: ChangeMeta & { ifMatch: number | null },
): Promise<Result<SegmentInfo>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  const existing = segmentRow(w, name);
  if (meta.ifMatch !== null && meta.ifMatch !== (existing?.version ?? 0)) {
    return fail({
      kind: "precondition_failed",
      detail: `segment "${name}" is at version ${existing?.version ?? 0}, not ${meta.ifMatch}; re-read it`,
      currentVersion: existing?.version ?? 0,
    });
  }
  const row = {
    rule: input.rule === undefined ? null : JSON.stringify(input.rule),
    members: input.members === undefined ? null : JSON.stringify([...new Set(input.members)]),
    attribute: input.members === undefined ? null : (input.attribute ?? "targetingKey"),
  };
  const evaluator = rowEvaluator(row);
  for (const env of w.environmentRows()) {
    const own = JSON.parse(env.evaluators) as Record<string, JsonValue>;
    if (name in own) {
      return fail({
        kind: "conflict",
        detail: `environment "${env.name}" has its own $evaluators entry "${name}"; remove it from that flag set or choose another segment name`,
      });
    }
    const candidate = w.flagSet(env);
    candidate.$evaluators = { ...candidate.$evaluators, [name]: evaluator };
    const validated = validateFlagSet(candidate, { before: w.flagSet(env) });
    if (!validated.ok) {
      return fail(rejected(validated.problems, `with this segment, environment "${env.name}" would not be valid: `));
    }
  }
  const now = Date.now();
  w.transaction(() => {
    const version = (existing?.version ?? 0) + 1;
    w.sql.exec(
      `INSERT INTO segments (name, description, rule, members, attribute, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET description = excluded.description, rule = excluded.rule, members = excluded.members,
         attribute = excluded.attribute, version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      name,
      input.description,
      row.rule,
      row.members,
      row.attribute,
      version,
      now,
      meta.actor,
    );
    w.commitEverywhere(meta, now, {
      action: "segment.changed",
      target: `segment:${name}`,
      before: existing ? toSegmentInfo(existing) : null,
      after: { ...toSegmentInfo(segmentRow(w, name)!), ...memberChanges(existing?.members ?? null, row.members) },
    });
  });
  await w.scheduleDrain();
  return ok(toSegmentInfo(segmentRow(w, name)!));
}

/** Deletes a segment no flag uses; 409 naming the flags that still do. */
export async function deleteSegment(w: UnitOfWork, name: string, meta: ChangeMeta): Promise<Result<{ deleted: string }>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  const existing = segmentRow(w, name);
  if (!existing) return fail({ kind: "not_found", detail: `there is no segment "${name}" in this project` });
  const users: string[] = [];
  for (const row of w.sql.exec<FlagRow>("SELECT environment, key, definition FROM flags ORDER BY environment, key")) {
    if (refersTo(parseDefinition(row.definition).targeting, name)) users.push(`${row.environment}/${row.key}`);
  }
  for (const env of w.environmentRows()) {
    for (const [evaluator, rule] of Object.entries(JSON.parse(env.evaluators) as Record<string, JsonValue>)) {
      if (refersTo(rule, name)) users.push(`${env.name}/$evaluators.${evaluator}`);
    }
  }
  for (const other of w.sql.exec<SegmentRow>("SELECT * FROM segments WHERE name != ?", name)) {
    if (refersTo(rowEvaluator(other), name)) users.push(`segment ${other.name}`);
  }
  // A ramp restores its base rules on every step, and a staged draft is published as a whole.
  for (const ramp of w.sql.exec<RampRow>("SELECT environment, flag, base_targeting FROM ramps WHERE base_targeting IS NOT NULL")) {
    if (refersTo(JSON.parse(ramp.base_targeting!) as JsonValue, name)) users.push(`the ramp of ${ramp.environment}/${ramp.flag}`);
  }
  for (const draft of w.sql.exec<DraftRow>("SELECT environment, flagset FROM drafts")) {
    const staged = JSON.parse(draft.flagset) as FlagSet;
    if (Object.values(staged.flags).some((flag) => refersTo(flag.targeting, name))) users.push(`the draft of ${draft.environment}`);
  }
  if (users.length > 0) {
    return fail({ kind: "conflict", detail: `segment "${name}" is in use by ${users.join(", ")}; change those first` });
  }
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec("DELETE FROM segments WHERE name = ?", name);
    w.commitEverywhere(meta, now, {
      action: "segment.changed",
      target: `segment:${name}`,
      before: { ...toSegmentInfo(existing), ...memberChanges(existing.members, null) },
      after: null,
    });
  });
  await w.scheduleDrain();
  return ok({ deleted: name });
}

function segmentRow(w: UnitOfWork, name: string): SegmentRow | undefined {
  return w.sql.exec<SegmentRow>("SELECT * FROM segments WHERE name = ?", name).toArray()[0];
}
