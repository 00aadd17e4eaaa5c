/**
 * The ramps aggregate: scheduled progressive rollouts of a variant, each step one audited change
 * applied exactly once by the alarm (`advanceRamps`). A flag changed outside its ramp pauses the
 * ramp. The step arithmetic is `../ramps.ts`.
 */
import { validateFlagSet } from "../../engine/index";
import { answersEveryone } from "../../engine/served-split";
import type { FlagDefinition, JsonValue } from "../../engine/types";
import { fail, ok, type Result } from "../../contracts/result";
import type { WebhookEventType } from "../../contracts/webhook-events";
import * as webhooks from "../webhooks";
import {
  checkSteps,
  withoutRampSplit,
  rampTargeting,
  stepDueAt,
  toRampInfo,
  type RampHistoryEntry,
  type RampInfo,
  type RampInput,
  type RampRow,
  type RampStatus,
  type RampStepInput,
} from "../ramps";
import { checkGuardrails, writeGuardrails } from "../guardrails";
import { sampleRatioTest, type SrmResult } from "../stats";
import { unitCounts } from "../telemetry";
import { iso, parseDefinition, noFlag, rejected } from "../store-records";
import type { AuditAction } from "../../contracts/audit-actions";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta } from "../store-types";

/**
 * Starts a ramp of `variant` over `baseline` on a flag in one environment. The first step is
 * applied at once when it is due now; later steps by the alarm, each exactly once.
 */
export async function startRamp(
  w: UnitOfWork,
  environment: string,
  key: string,
  input: RampInput,
  meta: ChangeMeta,
): Promise<Result<RampInfo>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const flag = w.flagRow(environment, key);
  if (!flag) return fail(noFlag(environment, key));
  const definition = parseDefinition(flag.definition);
  const problems = checkSteps(input.steps);
  for (const [field, variant] of [
    ["variant", input.variant],
    ["baseline", input.baseline],
  ] as const) {
    if (!(variant in definition.variants))
      problems.push({
        path: field,
        message: `"${variant}" is not a variant of flag "${key}" (it has: ${Object.keys(definition.variants).join(", ")})`,
      });
  }
  if (input.variant === input.baseline)
    problems.push({ path: "baseline", message: "the baseline must differ from the variant being rolled out" });
  problems.push(...checkGuardrails(w, input.guardrails ?? []));
  if (problems.length > 0) return fail({ kind: "invalid", detail: problems.map((p) => `${p.path}: ${p.message}`).join("; "), problems });
  const previous = rampRow(w, environment, key);
  if (previous && (previous.status === "running" || previous.status === "paused")) {
    return fail({
      kind: "conflict",
      detail: `flag "${key}" already has a ${previous.status} ramp in "${environment}"; complete, roll back or delete it first`,
    });
  }
  // A finished (completed or rolled-back) ramp is replaced; its split, or one a deleted ramp
  // left behind, is not kept in front of the new one.
  const base =
    previous && JSON.stringify(definition.targeting ?? null) === (previous.applied_targeting ?? "null")
      ? previous.base_targeting === null
        ? null
        : (JSON.parse(previous.base_targeting) as JsonValue)
      : withoutRampSplit(definition.targeting ?? null, input.variant, input.baseline);
  const decidesAll = answersEveryone(base);
  if (decidesAll !== null) {
    // A conflict with the flag's current state (409), not a malformed request.
    return fail({
      kind: "conflict",
      detail: `flag "${key}" in "${environment}" already answers every context with its own targeting (${decidesAll}), so a ramp after it would reach nobody; change the flag's targeting to leave the contexts to ramp undecided`,
    });
  }
  const now = Date.now();
  const start = input.startAt === null ? now : Date.parse(input.startAt);
  const id = webhooks.newId("ramp");
  w.transaction(() => {
    if (previous) {
      w.sql.exec("DELETE FROM ramps WHERE id = ?", previous.id);
      writeGuardrails(w, previous.id, []);
      w.audit(
        "ramp.deleted",
        meta,
        { target: `flag:${key}`, environment, before: toRampInfo(previous), reason: "replaced by a new ramp" },
        now,
      );
    }
    w.sql.exec(
      `INSERT INTO ramps (id, environment, flag, variant, baseline, steps, base_targeting, current_step, status, next_at, applied_targeting, created_at, created_by, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, -1, 'running', ?, ?, ?, ?, ?)`,
      id,
      environment,
      key,
      input.variant,
      input.baseline,
      JSON.stringify(input.steps),
      base === null ? null : JSON.stringify(base),
      stepDueAt(input.steps, 0, start),
      JSON.stringify(definition.targeting ?? null),
      now,
      meta.actor,
      now,
    );
    w.audit(
      "ramp.created",
      meta,
      {
        target: `flag:${key}`,
        environment,
        after: { variant: input.variant, baseline: input.baseline, steps: input.steps, guardrails: input.guardrails ?? [] },
      },
      now,
    );
    writeGuardrails(w, id, input.guardrails ?? []);
  });
  await advanceRamps(w);
  await w.scheduleDrain();
  return ok(rampInfo(w, rampRow(w, environment, key)!));
}

/** A flag's ramp in one environment. */
export async function getRamp(w: UnitOfWork, environment: string, key: string): Promise<Result<RampInfo>> {
  const ramp = rampOrFail(w, environment, key);
  return ramp.ok ? ok(rampInfo(w, ramp.value)) : ramp;
}

/** Pauses a running ramp; the flag keeps the step it reached. */
export async function pauseRamp(w: UnitOfWork, environment: string, key: string, meta: ChangeMeta): Promise<Result<RampInfo>> {
  const ramp = rampOrFail(w, environment, key);
  if (!ramp.ok) return ramp;
  if (ramp.value.status !== "running") return fail({ kind: "conflict", detail: `the ramp is ${ramp.value.status}, not running` });
  /** Stops a ramp in `status` (paused), saying why; audited and announced as `event`. */
  setRampStatus(w, ramp.value, "paused", meta.reason ?? `paused by ${meta.actor}`, meta, "ramp.paused");
  await w.scheduleDrain();
  return ok(rampInfo(w, rampRow(w, environment, key)!));
}

/** Resumes a paused or rolled-back ramp: the next step is due after its own delay from now. */
export async function resumeRamp(w: UnitOfWork, environment: string, key: string, meta: ChangeMeta): Promise<Result<RampInfo>> {
  const ramp = rampOrFail(w, environment, key);
  if (!ramp.ok) return ramp;
  const row = ramp.value;
  if (row.status !== "paused" && row.status !== "rolled-back")
    return fail({ kind: "conflict", detail: `the ramp is ${row.status}; only a paused or rolled-back ramp resumes` });
  const steps = JSON.parse(row.steps) as RampStepInput[];
  if (row.current_step + 1 >= steps.length) return fail({ kind: "conflict", detail: "the ramp has no step left; it is at its last step" });
  const now = Date.now();
  const nextAt = Math.max(now, stepDueAt(steps, row.current_step + 1, now));
  w.transaction(() => {
    w.sql.exec("UPDATE ramps SET status = 'running', pause_reason = NULL, next_at = ?, updated_at = ? WHERE id = ?", nextAt, now, row.id);
    w.audit(
      "ramp.resumed",
      meta,
      { target: `flag:${key}`, environment, before: { status: row.status }, after: { status: "running", nextAt: iso(nextAt) } },
      now,
    );
    w.queueEvent("ramp.resumed", environment, meta, { flag: key, ramp: row.id }, now);
  });
  await advanceRamps(w);
  await w.scheduleDrain();
  return ok(rampInfo(w, rampRow(w, environment, key)!));
}

/** Rolls a ramp back to a named step, or to 0% when `toStep` is null; the ramp stays stopped until resumed. */
export async function rollbackRamp(
  w: UnitOfWork,
  environment: string,
  key: string,
  toStep: number | null,
  meta: ChangeMeta,
): Promise<Result<RampInfo>> {
  const ramp = rampOrFail(w, environment, key);
  if (!ramp.ok) return ramp;
  const row = ramp.value;
  const steps = JSON.parse(row.steps) as RampStepInput[];
  // Already at 0% and stopped: a repeated rollback (a trigger fired again) writes nothing.
  if (toStep === null && row.status === "rolled-back" && row.current_step === -1) return ok(rampInfo(w, row));
  if (toStep !== null && (toStep < 0 || toStep >= row.current_step)) {
    return fail({
      kind: "invalid",
      detail: `roll back to a step before the current one (0 to ${row.current_step - 1}), or omit toStep for 0%`,
      problems: [{ path: "toStep", message: "out of range" }],
    });
  }
  const applied = await applyRampStep(
    w,
    row,
    toStep ?? -1,
    toStep === null ? 0 : steps[toStep]!.percent,
    meta,
    "rolled-back",
    "ramp.rolled-back",
  );
  if (!applied.ok) return applied;
  return ok(rampInfo(w, rampRow(w, environment, key)!));
}

/**
 * Applies a running ramp's next step now, as the alarm would when it falls due: an operator who has
 * seen enough at this step does not wait out its delay (or jump straight to 100%). The step after
 * it is due after its own delay from now. A ramp that is not running, or is at its last step, is
 * refused and nothing changes: resuming (or completing) is the operator's other choice.
 */
export async function advanceRamp(w: UnitOfWork, environment: string, key: string, meta: ChangeMeta): Promise<Result<RampInfo>> {
  const ramp = rampOrFail(w, environment, key);
  if (!ramp.ok) return ramp;
  const row = ramp.value;
  if (row.status !== "running") {
    const instead =
      row.status === "completed"
        ? "it already serves its last step"
        : "resume it first (its next step is then due after its own delay), or jump it to 100%";
    return fail({ kind: "conflict", detail: `the ramp is ${row.status}, not running; ${instead}` });
  }
  const steps = JSON.parse(row.steps) as RampStepInput[];
  const step = row.current_step + 1;
  if (step >= steps.length) return fail({ kind: "conflict", detail: "the ramp is at its last step; there is no next step to apply" });
  const applied = await applyRampStep(
    w,
    row,
    step,
    steps[step]!.percent,
    {
      actor: meta.actor,
      reason: meta.reason ?? `ramp step ${step + 1} of ${steps.length} (${steps[step]!.percent}%) applied early by ${meta.actor}`,
    },
    "running",
    "ramp.step",
  );
  if (!applied.ok) return applied;
  return ok(rampInfo(w, rampRow(w, environment, key)!));
}

/** Jumps a ramp to 100%. */
export async function completeRamp(w: UnitOfWork, environment: string, key: string, meta: ChangeMeta): Promise<Result<RampInfo>> {
  const ramp = rampOrFail(w, environment, key);
  if (!ramp.ok) return ramp;
  const steps = JSON.parse(ramp.value.steps) as RampStepInput[];
  const last = steps.length - 1;
  const applied = await applyRampStep(
    w,
    ramp.value,
    steps[last]!.percent === 100 ? last : steps.length,
    100,
    meta,
    "completed",
    "ramp.completed",
  );
  if (!applied.ok) return applied;
  return ok(rampInfo(w, rampRow(w, environment, key)!));
}

/** Removes a ramp; the flag keeps the targeting of the step it reached. */
export async function deleteRamp(w: UnitOfWork, environment: string, key: string, meta: ChangeMeta): Promise<Result<{ deleted: string }>> {
  const ramp = rampOrFail(w, environment, key);
  if (!ramp.ok) return ramp;
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec("DELETE FROM ramps WHERE id = ?", ramp.value.id);
    writeGuardrails(w, ramp.value.id, []);
    w.commit(
      environment,
      meta,
      () => ({ action: "ramp.deleted", target: `flag:${key}`, before: toRampInfo(ramp.value), after: null }),
      now,
    );
  });
  await w.scheduleDrain();
  return ok({ deleted: ramp.value.id });
}

/** Unique units and the SRM test of every step a ramp has reached. */
export async function rampExposures(
  w: UnitOfWork,
  environment: string,
  key: string,
): Promise<Result<{ ramp: string; steps: { step: number; percent: number; srm: SrmResult }[] }>> {
  const ramp = rampOrFail(w, environment, key);
  if (!ramp.ok) return ramp;
  const steps = JSON.parse(ramp.value.steps) as RampStepInput[];
  const reached = [
    ...new Set((JSON.parse(ramp.value.history) as RampHistoryEntry[]).map((h) => h.step).filter((s) => s >= 0 && s < steps.length)),
  ].sort((a, b) => a - b);
  return ok({
    ramp: ramp.value.id,
    steps: reached.map((step) => ({ step, percent: steps[step]!.percent, srm: rampSrm(w, ramp.value, step) })),
  });
}

/** The flag's ramp row in one environment, if it has one. */
/** `toRampInfo`, told whether the flag is turned off in the ramp's environment (it then reaches nobody). */
function rampInfo(w: UnitOfWork, row: RampRow): RampInfo {
  const flag = w.flagRow(row.environment, row.flag);
  return toRampInfo(row, flag !== undefined && flag !== null && parseDefinition(flag.definition).state === "DISABLED");
}

export function rampRow(w: UnitOfWork, environment: string, key: string): RampRow | undefined {
  return w.sql.exec<RampRow>("SELECT * FROM ramps WHERE environment = ? AND flag = ?", environment, key).toArray()[0];
}

function rampOrFail(w: UnitOfWork, environment: string, key: string): Result<RampRow> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const row = rampRow(w, environment, key);
  return row ? ok(row) : fail({ kind: "not_found", detail: `flag "${key}" has no ramp in environment "${environment}"` });
}

/** Stops a ramp in `status` (paused), saying why; audited and announced as `event`. */
export function setRampStatus(
  w: UnitOfWork,
  row: RampRow,
  status: RampStatus,
  reason: string,
  meta: ChangeMeta,
  event: WebhookEventType & AuditAction,
): void {
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec("UPDATE ramps SET status = ?, pause_reason = ?, next_at = NULL, updated_at = ? WHERE id = ?", status, reason, now, row.id);
    w.audit(
      event,
      meta,
      {
        target: `flag:${row.flag}`,
        environment: row.environment,
        before: { status: row.status },
        after: { status, reason },
        reason: meta.reason ?? reason,
      },
      now,
    );
    w.queueEvent(event, row.environment, meta, { flag: row.flag, ramp: row.id, status, reason }, now);
  });
}

/**
 * Applies one ramp step (or 0% for step -1) to the flag, as one audited change with a new
 * version; `status` is the ramp's state afterwards. If the flag's targeting is no longer what
 * the ramp last wrote, someone changed the flag outside the ramp: the ramp pauses instead.
 */
async function applyRampStep(
  w: UnitOfWork,
  row: RampRow,
  step: number,
  percent: number,
  meta: ChangeMeta,
  status: RampStatus,
  action: AuditAction,
): Promise<Result<number>> {
  const env = w.environment(row.environment);
  if (!env.ok) return env;
  const flag = w.flagRow(row.environment, row.flag);
  if (!flag) return fail(noFlag(row.environment, row.flag));
  const definition = parseDefinition(flag.definition);
  if (JSON.stringify(definition.targeting ?? null) !== (row.applied_targeting ?? "null")) {
    const reason = `flag "${row.flag}" was changed outside the ramp; review it, then resume or delete the ramp`;
    setRampStatus(w, row, "paused", reason, { actor: "system:ramp", reason }, "ramp.paused");
    await w.scheduleDrain();
    return fail({ kind: "conflict", detail: reason });
  }
  const base = row.base_targeting === null ? null : (JSON.parse(row.base_targeting) as JsonValue);
  const updated: FlagDefinition = { ...definition, targeting: rampTargeting(base, row.variant, row.baseline, percent) };
  const candidate = w.flagSet(env.value);
  candidate.flags[row.flag] = updated;
  const validated = validateFlagSet(candidate, { before: w.flagSet(env.value) });
  if (!validated.ok) return fail(rejected(validated.problems));
  const steps = JSON.parse(row.steps) as RampStepInput[];
  const stored = validated.flagSet.flags[row.flag]!;
  const now = Date.now();
  const version = w.transaction(() => {
    const v = w.commit(
      row.environment,
      meta,
      (version) => {
        w.sql.exec(
          "UPDATE flags SET definition = ?, version = ?, updated_at = ?, updated_by = ? WHERE environment = ? AND key = ?",
          JSON.stringify(stored),
          version,
          now,
          meta.actor,
          row.environment,
          row.flag,
        );
        return {
          action,
          target: `flag:${row.flag}`,
          before: { step: row.current_step, targeting: definition.targeting ?? null },
          after: { step, percent, targeting: stored.targeting ?? null },
        };
      },
      now,
    );
    const last = step >= steps.length - 1;
    const finalStatus: RampStatus = status === "running" && last ? "completed" : status;
    const nextAt = finalStatus === "running" ? stepDueAt(steps, step + 1, now) : null;
    const history = [...(JSON.parse(row.history) as RampHistoryEntry[]), { step, percent, at: iso(now), version: v, actor: meta.actor }];
    w.sql.exec(
      "UPDATE ramps SET current_step = ?, status = ?, next_at = ?, applied_targeting = ?, history = ?, pause_reason = NULL, updated_at = ? WHERE id = ?",
      Math.min(step, steps.length - 1),
      finalStatus,
      nextAt,
      JSON.stringify(stored.targeting ?? null),
      JSON.stringify(history),
      now,
      row.id,
    );
    return v;
  });
  await w.scheduleDrain();
  return ok(version);
}

/** Applies every ramp step that is due, in order, each exactly once. */
export async function advanceRamps(w: UnitOfWork): Promise<void> {
  for (let guard = 0; guard < 1000; guard++) {
    const row = w.sql
      .exec<RampRow>("SELECT * FROM ramps WHERE status = 'running' AND next_at <= ? ORDER BY next_at LIMIT 1", Date.now())
      .toArray()[0];
    if (!row) return;
    const steps = JSON.parse(row.steps) as RampStepInput[];
    const step = row.current_step + 1;
    if (step >= steps.length) {
      w.sql.exec("UPDATE ramps SET status = 'completed', next_at = NULL WHERE id = ?", row.id);
      continue;
    }
    const applied = await applyRampStep(
      w,
      row,
      step,
      steps[step]!.percent,
      { actor: "system:ramp", reason: `ramp step ${step + 1} of ${steps.length}: ${steps[step]!.percent}%` },
      "running",
      "ramp.step",
    );
    // A step that cannot be applied pauses the ramp (saying why) rather than staying due and
    // re-arming the alarm at once, for ever.
    const after = w.sql.exec<RampRow>("SELECT * FROM ramps WHERE id = ?", row.id).toArray()[0];
    if (!applied.ok && after?.status === "running") {
      const reason = `step ${step + 1} could not be applied: ${applied.error.detail}; fix it, then resume or delete the ramp`;
      setRampStatus(w, after, "paused", reason, { actor: "system:ramp", reason }, "ramp.paused");
    }
  }
}

/** The sample-ratio test of one step of a ramp: observed units against the step's split. */
export function rampSrm(w: UnitOfWork, row: RampRow, step: number): SrmResult {
  const steps = JSON.parse(row.steps) as RampStepInput[];
  const percent = step < 0 ? 0 : step >= steps.length ? 100 : steps[step]!.percent;
  return sampleRatioTest(unitCounts(w.sql, `ramp:${row.id}:${step}`), { [row.variant]: percent, [row.baseline]: 100 - percent });
}
