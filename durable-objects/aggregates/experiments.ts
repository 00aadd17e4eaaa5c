/**
 * The experiments aggregate: intended variant weights, unique-unit exposures from the edge's
 * telemetry, and the sample-ratio test that flags an experiment (once) or pauses a ramp whose
 * split is off.
 */
import { servedWeights } from "../../engine/served-split";
import { fail, ok, type Result } from "../../contracts/result";
import { TelemetryBatchSchema } from "../../contracts/telemetry";
import * as webhooks from "../webhooks";
import type { RampRow } from "../ramps";
import { sampleRatioTest } from "../stats";
import { applyTelemetry, unitCounts } from "../telemetry";
import { iso, parseDefinition, noFlag } from "../store-records";
import { rampSrm, setRampStatus } from "./ramps";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta, ExperimentInfo, ExperimentRow } from "../store-types";

/**
 * Marks a flag as an experiment with the weights its variants are meant to get; exposures start
 * counting. Without `weights`, they are the weights the flag actually serves (its fractional
 * split), so the sample-ratio test compares the traffic with what the flag really does; a flag
 * whose targeting is not one split needs them given (422).
 */
export async function startExperiment(
  w: UnitOfWork,
  environment: string,
  key: string,
  requested: Record<string, number> | null,
  meta: ChangeMeta,
): Promise<Result<ExperimentInfo>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const flag = w.flagRow(environment, key);
  if (!flag) return fail(noFlag(environment, key));
  const definition = parseDefinition(flag.definition);
  const weights = requested ?? servedWeights(definition.targeting);
  if (weights === null) {
    const detail = `flag "${key}" does not serve one fractional split in "${environment}", so its weights cannot be read from it; give the intended weights`;
    return fail({ kind: "invalid", detail, problems: [{ path: "weights", message: "required for this flag" }] });
  }
  const variants = Object.keys(definition.variants);
  const unknown = Object.keys(weights).filter((v) => !variants.includes(v));
  if (unknown.length > 0)
    return fail({
      kind: "invalid",
      detail: `flag "${key}" has no variant ${unknown.join(", ")}`,
      problems: unknown.map((v) => ({ path: `weights.${v}`, message: "not a variant of the flag" })),
    });
  if (
    w.sql.exec("SELECT 1 FROM experiments WHERE environment = ? AND flag = ? AND status = 'running'", environment, key).toArray().length > 0
  ) {
    return fail({ kind: "conflict", detail: `flag "${key}" already has a running experiment in "${environment}"` });
  }
  const id = webhooks.newId("exp");
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec(
      "INSERT INTO experiments (id, environment, flag, weights, status, created_at, created_by) VALUES (?, ?, ?, ?, 'running', ?, ?)",
      id,
      environment,
      key,
      JSON.stringify(weights),
      now,
      meta.actor,
    );
    w.commit(environment, meta, () => ({ action: "experiment.started", target: `flag:${key}`, before: null, after: { id, weights } }), now);
  });
  await w.scheduleDrain();
  return ok(experimentInfo(w, id)!);
}

/** Stops an experiment; stopping a stopped one changes nothing. */
export async function stopExperiment(w: UnitOfWork, id: string, meta: ChangeMeta): Promise<Result<ExperimentInfo>> {
  const experiment = experimentInfo(w, id);
  if (!experiment) return fail({ kind: "not_found", detail: `there is no experiment "${id}" in this project` });
  if (experiment.status === "stopped") return ok(experiment);
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec("UPDATE experiments SET status = 'stopped', stopped_at = ? WHERE id = ?", now, id);
    w.commit(
      experiment.environment,
      meta,
      () => ({
        action: "experiment.stopped",
        target: `flag:${experiment.flag}`,
        before: { status: "running" },
        after: { status: "stopped" },
      }),
      now,
    );
  });
  await w.scheduleDrain();
  return ok(experimentInfo(w, id)!);
}

/** Experiments, newest first; only those of one environment and/or flag when given. */
export async function listExperiments(
  w: UnitOfWork,
  filter: { environment?: string | undefined; flag?: string | undefined } = {},
): Promise<Result<ExperimentInfo[]>> {
  if (w.project() === null) return fail(w.noProject());
  const rows = w.sql
    .exec<{ id: string }>(
      "SELECT id FROM experiments WHERE (?1 IS NULL OR environment = ?1) AND (?2 IS NULL OR flag = ?2) ORDER BY created_at DESC",
      filter.environment ?? null,
      filter.flag ?? null,
    )
    .toArray();
  return ok(rows.map((row) => experimentInfo(w, row.id)!));
}

/** One experiment with its unit counts and sample-ratio test. */
export async function getExperiment(w: UnitOfWork, id: string): Promise<Result<ExperimentInfo>> {
  const experiment = experimentInfo(w, id);
  return experiment ? ok(experiment) : fail({ kind: "not_found", detail: `there is no experiment "${id}" in this project` });
}

/**
 * Takes a batch of evaluation telemetry from the edge; re-checks sample-ratio mismatch for every
 * experiment and ramp step that gained units, pausing a ramp whose split is off.
 */
export async function recordTelemetry(w: UnitOfWork, input: unknown): Promise<Result<{ exposures: number }>> {
  const parsed = TelemetryBatchSchema.safeParse(input);
  if (!parsed.success) return fail({ kind: "invalid", detail: "not a telemetry batch", problems: [] });
  const touched = w.transaction(() => applyTelemetry(w.sql, parsed.data));
  for (const subject of touched) await checkSrm(w, subject);
  return ok({ exposures: parsed.data.exposures.length });
}

/** Re-runs the SRM test of one subject; flags a mismatch once, and pauses a ramp that has one. */
async function checkSrm(w: UnitOfWork, subject: string): Promise<void> {
  const meta = { actor: "system:srm", reason: null };
  if (subject.startsWith("exp:")) {
    const experiment = experimentInfo(w, subject.slice(4));
    if (experiment?.status !== "running" || experiment.srmFlaggedAt !== null || !experiment.srm.mismatch) return;
    const now = Date.now();
    w.transaction(() => {
      w.sql.exec("UPDATE experiments SET srm_flagged_at = ? WHERE id = ?", now, experiment.id);
      w.audit(
        "srm.detected",
        meta,
        {
          target: `flag:${experiment.flag}`,
          environment: experiment.environment,
          after: { experiment: experiment.id, pValue: experiment.srm.pValue, observed: experiment.srm.observed },
          reason: `sample ratio mismatch, p = ${experiment.srm.pValue.toExponential(2)}`,
        },
        now,
      );
      w.queueEvent(
        "srm.detected",
        experiment.environment,
        meta,
        { experiment: experiment.id, flag: experiment.flag, srm: experiment.srm },
        now,
      );
    });
    await w.scheduleDrain();
    return;
  }
  const match = /^ramp:(.+):(-?\d+)$/.exec(subject);
  if (!match) return;
  const row = w.sql.exec<RampRow>("SELECT * FROM ramps WHERE id = ?", match[1]!).toArray()[0];
  const step = Number(match[2]);
  if (row?.status !== "running" || row.current_step !== step) return;
  const srm = rampSrm(w, row, step);
  if (!srm.mismatch) return;
  const reason = `sample ratio mismatch at step ${step + 1} (p = ${srm.pValue.toExponential(2)}); the split is not what the ramp configured`;
  const now = Date.now();
  w.transaction(() => {
    w.queueEvent("srm.detected", row.environment, meta, { ramp: row.id, flag: row.flag, step, srm }, now);
  });
  /** Stops a ramp in `status` (paused), saying why; audited and announced as `event`. */
  setRampStatus(w, row, "paused", reason, { actor: "system:srm", reason }, "ramp.paused");
  await w.scheduleDrain();
}

function experimentInfo(w: UnitOfWork, id: string): ExperimentInfo | null {
  const row = w.sql.exec<ExperimentRow>("SELECT * FROM experiments WHERE id = ?", id).toArray()[0];
  if (!row) return null;
  const weights = JSON.parse(row.weights) as Record<string, number>;
  const units = unitCounts(w.sql, `exp:${id}`);
  return {
    id: row.id,
    environment: row.environment,
    flag: row.flag,
    weights,
    status: row.status,
    createdAt: iso(row.created_at),
    createdBy: row.created_by,
    stoppedAt: row.stopped_at === null ? null : iso(row.stopped_at),
    units,
    srm: sampleRatioTest(units, weights),
    srmFlaggedAt: row.srm_flagged_at === null ? null : iso(row.srm_flagged_at),
  };
}
