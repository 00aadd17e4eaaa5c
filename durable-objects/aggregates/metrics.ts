/**
 * The metrics aggregate: metrics defined on tracked events (a rate, a count per unit, a mean of
 * the value), the guardrails a ramp names, and the check the alarm runs on them at least once a
 * minute while a guarded ramp or an experiment runs (`checkMetrics`). Each check runs the
 * sequential test of `lib/sequential.ts` on the per-arm aggregates of the exposure subject, is
 * recorded in `metric_checks` (what the console charts and the API returns), and, for a ramp
 * guardrail that finds a significant degradation, pauses or rolls back the ramp, audited as the
 * guardrail with its evidence and announced by a `guardrail.tripped` webhook. An experiment's
 * checks are recorded only: nothing acts on them.
 */
import { fail, ok, type Result } from "../../contracts/result";
import type {
  ArmAggregate,
  ExperimentMetricsView,
  Guardrail,
  MetricBody,
  MetricCheck,
  MetricSeries,
  MetricView,
  RampMetricsView,
} from "../../contracts/metrics";
import { log } from "../../lib/log";
import { emptyTotals, sequentialTest, type Tolerance } from "../../lib/sequential";
import type { RampRow } from "../ramps";
import { iso } from "../store-records";
import type { ChangeMeta, ExperimentRow } from "../store-types";
import { readArmAggregates } from "../telemetry-read";
import type { UnitOfWork } from "../unit-of-work";
import { checkGuardrails, rampGuardrails, writeGuardrails } from "../guardrails";
import { markMetricsChecked, nextMetricCheck } from "../metric-schedule";
import { rampRow, rollbackRamp, setRampStatus } from "./ramps";

/** Checks kept per subject, metric and arm: a day of once-a-minute checks. */
export const METRIC_CHECKS_KEPT = 1_440;
/** Points of a metric's history an answer carries (the newest). */
export const METRIC_HISTORY_POINTS = 240;

/** The experiments' metrics are compared with this tolerance (none): a result, never an action. */
const EXPERIMENT_TOLERANCE: Tolerance = { kind: "relative", value: 0 };

interface MetricRow extends Record<string, SqlStorageValue> {
  name: string;
  event: string;
  kind: MetricView["kind"];
  direction: MetricView["direction"];
  description: string;
  created_at: number;
  created_by: string;
  updated_at: number;
  updated_by: string;
}

function toMetric(row: MetricRow): MetricView {
  return {
    name: row.name,
    event: row.event,
    kind: row.kind,
    direction: row.direction,
    description: row.description,
    createdAt: iso(row.created_at),
    createdBy: row.created_by,
    updatedAt: iso(row.updated_at),
    updatedBy: row.updated_by,
  };
}

function metricRow(w: UnitOfWork, name: string): MetricRow | undefined {
  return w.sql.exec<MetricRow>("SELECT * FROM metrics WHERE name = ?", name).toArray()[0];
}

/** The project's metrics, by name. */
export async function listMetrics(w: UnitOfWork): Promise<Result<MetricView[]>> {
  return w.ifProject(() => w.sql.exec<MetricRow>("SELECT * FROM metrics ORDER BY name").toArray().map(toMetric));
}

/** One metric. */
export async function getMetric(w: UnitOfWork, name: string): Promise<Result<MetricView>> {
  if (w.project() === null) return fail(w.noProject());
  const row = metricRow(w, name);
  return row ? ok(toMetric(row)) : fail({ kind: "not_found", detail: `there is no metric "${name}" in this project` });
}

/**
 * Creates or replaces a metric; audited as `metric.changed`. The same definition again changes
 * nothing (no audit entry). Changing a metric a guardrail watches changes what later checks compute.
 */
export async function putMetric(
  w: UnitOfWork,
  name: string,
  input: Omit<MetricBody, "reason">,
  meta: ChangeMeta,
): Promise<Result<{ metric: MetricView; changed: boolean }>> {
  if (w.project() === null) return fail(w.noProject());
  const before = metricRow(w, name);
  const description = input.description ?? before?.description ?? "";
  if (
    before &&
    before.event === input.event &&
    before.kind === input.kind &&
    before.direction === input.direction &&
    before.description === description
  )
    return ok({ metric: toMetric(before), changed: false });
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec(
      `INSERT INTO metrics (name, event, kind, direction, description, created_at, created_by, updated_at, updated_by)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6, ?7)
       ON CONFLICT (name) DO UPDATE SET event = ?2, kind = ?3, direction = ?4, description = ?5, updated_at = ?6, updated_by = ?7`,
      name,
      input.event,
      input.kind,
      input.direction,
      description,
      now,
      meta.actor,
    );
    w.audit(
      "metric.changed",
      meta,
      { target: `metric:${name}`, before: before ? toMetric(before) : null, after: toMetric(metricRow(w, name)!) },
      now,
    );
  });
  await w.scheduleDrain();
  return ok({ metric: toMetric(metricRow(w, name)!), changed: true });
}

/** Deletes a metric no running, paused or rolled-back (resumable) ramp guards with (409 naming them). */
export async function deleteMetric(w: UnitOfWork, name: string, meta: ChangeMeta): Promise<Result<{ deleted: string }>> {
  if (w.project() === null) return fail(w.noProject());
  const row = metricRow(w, name);
  if (!row) return fail({ kind: "not_found", detail: `there is no metric "${name}" in this project` });
  const users = w.sql
    .exec<{ flag: string; environment: string }>(
      `SELECT r.flag, r.environment FROM ramp_guardrails g JOIN ramps r ON r.id = g.ramp
       WHERE g.metric = ? AND r.status IN ('running', 'paused', 'rolled-back') ORDER BY r.environment, r.flag`,
      name,
    )
    .toArray();
  if (users.length > 0)
    return fail({
      kind: "conflict",
      detail: `metric "${name}" guards the ramp of ${users.map((u) => `"${u.flag}" in "${u.environment}"`).join(", ")}; remove the guardrail first`,
    });
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec("DELETE FROM metrics WHERE name = ?", name);
    w.sql.exec("DELETE FROM ramp_guardrails WHERE metric = ?", name);
    w.audit("metric.changed", meta, { target: `metric:${name}`, before: toMetric(row), after: null }, now);
  });
  return ok({ deleted: name });
}

/** Sets the guardrails of a flag's ramp (an empty list removes them); audited as `ramp.guardrails-changed`. */
export async function setRampGuardrails(
  w: UnitOfWork,
  environment: string,
  key: string,
  guardrails: Guardrail[],
  meta: ChangeMeta,
): Promise<Result<Guardrail[]>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const row = rampRow(w, environment, key);
  if (!row) return fail({ kind: "not_found", detail: `flag "${key}" has no ramp in environment "${environment}"` });
  const problems = checkGuardrails(w, guardrails);
  if (problems.length > 0) return fail({ kind: "invalid", detail: problems.map((p) => `${p.path}: ${p.message}`).join("; "), problems });
  const before = rampGuardrails(w, row.id);
  if (JSON.stringify(before) === JSON.stringify(guardrails)) return ok(before);
  const now = Date.now();
  w.transaction(() => {
    writeGuardrails(w, row.id, guardrails);
    w.audit("ramp.guardrails-changed", meta, { target: `flag:${key}`, environment, before, after: guardrails }, now);
  });
  await w.scheduleDrain();
  return ok(rampGuardrails(w, row.id));
}

/**
 * The metric pass of the alarm (or of "check now" with `force`): checks every guarded running
 * ramp's current step and every running experiment, records each check, and trips the guardrails
 * that found a significant degradation. Returns the checks it recorded.
 */
export async function checkMetrics(w: UnitOfWork, force = false): Promise<MetricCheck[]> {
  const due = nextMetricCheck(w.sql);
  const now = Date.now();
  if (due === null || (!force && due > now)) return [];
  markMetricsChecked(w.sql, now);
  const checks: MetricCheck[] = [];
  const guarded = w.sql
    .exec<RampRow>(
      "SELECT * FROM ramps r WHERE status = 'running' AND current_step >= 0 AND EXISTS (SELECT 1 FROM ramp_guardrails g WHERE g.ramp = r.id) ORDER BY id",
    )
    .toArray();
  for (const row of guarded) checks.push(...(await checkRamp(w, row, now)));
  const experiments = w.sql.exec<ExperimentRow>("SELECT * FROM experiments WHERE status = 'running' ORDER BY id").toArray();
  const metrics = w.sql.exec<MetricRow>("SELECT * FROM metrics ORDER BY name").toArray();
  for (const experiment of experiments) {
    const arms = Object.keys(JSON.parse(experiment.weights) as Record<string, number>);
    const baseline = arms[0]!;
    for (const metric of metrics) {
      const aggregates = await readAggregates(w, `exp:${experiment.id}`, metric);
      if (aggregates === null) continue;
      for (const variant of arms.slice(1)) {
        const check = runCheck(metric, `exp:${experiment.id}`, aggregates, baseline, variant, { tolerance: EXPERIMENT_TOLERANCE }, now);
        recordCheck(w, check, variant, now);
        checks.push(check);
      }
    }
  }
  return checks;
}

async function checkRamp(w: UnitOfWork, row: RampRow, now: number): Promise<MetricCheck[]> {
  const subject = `ramp:${row.id}:${row.current_step}`;
  const checks: MetricCheck[] = [];
  for (const guardrail of rampGuardrails(w, row.id)) {
    const metric = metricRow(w, guardrail.metric);
    if (!metric) continue;
    const aggregates = await readAggregates(w, subject, metric);
    if (aggregates === null) continue;
    const check = runCheck(metric, subject, aggregates, row.baseline, row.variant, guardrail, now);
    // A person who resumed the ramp after this guardrail stopped it at this step has seen the
    // evidence: the step's totals are cumulative and would stop it again at once. The guardrail
    // acts again from the next step (a new subject), and says so meanwhile.
    const overridden = check.decision === "degraded" && trippedBefore(w, subject, guardrail.metric, row.variant);
    if (overridden)
      check.reason = `${check.reason}; not acted on: the ramp was resumed after this guardrail stopped it at this step, so it acts again from the next step`;
    recordCheck(w, check, row.variant, now);
    checks.push(check);
    if (check.decision === "degraded" && !overridden) {
      // The totals were read across an await: act only on the ramp as it is now, still at that step.
      const current = w.sql.exec<RampRow>("SELECT * FROM ramps WHERE id = ?", row.id).toArray()[0];
      if (current?.status === "running" && current.current_step === row.current_step) await trip(w, current, guardrail, check);
      break;
    }
  }
  return checks;
}

/** Whether a guardrail already found `subject` degraded (and so stopped its ramp: only running ramps are checked). */
function trippedBefore(w: UnitOfWork, subject: string, metric: string, variant: string): boolean {
  return (
    w.sql
      .exec(
        "SELECT 1 FROM metric_checks WHERE subject = ? AND metric = ? AND variant = ? AND decision = 'degraded' LIMIT 1",
        subject,
        metric,
        variant,
      )
      .toArray().length > 0
  );
}

/** The aggregates of `metric`'s event in `subject`, or null (logged) when they cannot be read: no data, no decision. */
async function readAggregates(w: UnitOfWork, subject: string, metric: MetricRow): Promise<ArmAggregate[] | null> {
  const read = await readArmAggregates(w, subject, metric.event);
  if (read.ok) return read.value;
  log("warn", "metric-aggregates-unreadable", { project: w.project(), subject, metric: metric.name, error: read.error.detail });
  return null;
}

/** The sequential test of `variant` against `baseline` on one metric, as a recorded check. */
export function runCheck(
  metric: MetricRow,
  subject: string,
  aggregates: readonly ArmAggregate[],
  baseline: string,
  variant: string,
  guardrail: { tolerance: Tolerance; alpha?: number; minSample?: number },
  now: number,
): MetricCheck {
  const arm = (name: string) => aggregates.find((a) => a.variant === name) ?? { ...emptyTotals(), variant: name };
  const b = arm(baseline);
  const v = arm(variant);
  const result = sequentialTest(b, v, {
    kind: metric.kind,
    direction: metric.direction,
    tolerance: guardrail.tolerance,
    ...(guardrail.alpha === undefined ? {} : { alpha: guardrail.alpha }),
    ...(guardrail.minSample === undefined ? {} : { minSample: guardrail.minSample }),
  });
  // An empty arm's interval is infinite: JSON has no Infinity, so it is stored (and answered) as the estimate ± 1e308.
  const finite = (x: number) => (Number.isFinite(x) ? x : x > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE);
  const interval = (i: { estimate: number; lower: number; upper: number }) => ({
    estimate: i.estimate,
    lower: finite(i.lower),
    upper: finite(i.upper),
  });
  return {
    at: iso(now),
    subject,
    metric: metric.name,
    decision: result.decision,
    baseline: { ...interval(result.baseline), variant: baseline, n: result.baseline.n, units: b.units, events: b.events },
    variant: { ...interval(result.variant), variant, n: result.variant.n, units: v.units, events: v.events },
    difference: interval(result.difference),
    threshold: result.threshold,
    contrast: interval(result.contrast),
    alpha: result.alpha,
    minSample: result.minSample,
    tolerance: guardrail.tolerance,
    reason: result.reason,
  };
}

function recordCheck(w: UnitOfWork, check: MetricCheck, variant: string, now: number): void {
  w.transaction(() => {
    w.sql.exec(
      "INSERT OR REPLACE INTO metric_checks (subject, metric, variant, at, decision, result) VALUES (?, ?, ?, ?, ?, ?)",
      check.subject,
      check.metric,
      variant,
      now,
      check.decision,
      JSON.stringify(check),
    );
    w.sql.exec(
      `DELETE FROM metric_checks WHERE subject = ?1 AND metric = ?2 AND variant = ?3 AND at <= (
         SELECT at FROM metric_checks WHERE subject = ?1 AND metric = ?2 AND variant = ?3 ORDER BY at DESC LIMIT 1 OFFSET ?4)`,
      check.subject,
      check.metric,
      variant,
      METRIC_CHECKS_KEPT,
    );
  });
}

/** Acts on a degradation: audits the guardrail with its evidence, announces it, then pauses or rolls back. */
async function trip(w: UnitOfWork, row: RampRow, guardrail: Guardrail, check: MetricCheck): Promise<void> {
  const reason = `guardrail "${guardrail.metric}" tripped at step ${row.current_step + 1}: ${check.reason}`;
  const meta: ChangeMeta = { actor: `system:guardrail:${guardrail.metric}`, reason };
  const now = Date.now();
  w.transaction(() => {
    const evidence = { ramp: row.id, flag: row.flag, metric: guardrail.metric, action: guardrail.action, guardrail, check };
    w.audit("guardrail.tripped", meta, { target: `flag:${row.flag}`, environment: row.environment, after: evidence }, now);
    w.queueEvent("guardrail.tripped", row.environment, meta, evidence, now);
  });
  if (guardrail.action === "pause") setRampStatus(w, row, "paused", reason, meta, "ramp.paused");
  else {
    const rolled = await rollbackRamp(w, row.environment, row.flag, null, meta);
    if (!rolled.ok) log("error", "guardrail-rollback-failed", { project: w.project(), ramp: row.id, error: rolled.error.detail });
  }
  await w.scheduleDrain();
}

/** Recorded checks of one subject and metric, oldest first (the newest `limit`). */
function history(w: UnitOfWork, subject: string, metric: string, variant: string): MetricCheck[] {
  return w.sql
    .exec<{ result: string }>(
      "SELECT result FROM metric_checks WHERE subject = ? AND metric = ? AND variant = ? ORDER BY at DESC LIMIT ?",
      subject,
      metric,
      variant,
      METRIC_HISTORY_POINTS,
    )
    .toArray()
    .reverse()
    .map((r) => JSON.parse(r.result) as MetricCheck);
}

/** A metric's series on a subject: the latest check and the history of each compared arm. */
export function metricSeries(
  w: UnitOfWork,
  metric: MetricView,
  subject: string,
  variants: readonly string[],
  guardrail: Guardrail | null,
): MetricSeries {
  const perArm = variants.map((v) => history(w, subject, metric.name, v));
  return {
    metric,
    guardrail,
    latest: perArm.flatMap((h) => (h.length > 0 ? [h.at(-1)!] : [])),
    history: perArm.flat(),
  };
}

/** The metrics a metric row names, as views, for the series of a ramp or an experiment. */
export function metricViews(w: UnitOfWork, names: readonly string[] | null): MetricView[] {
  const rows = w.sql.exec<MetricRow>("SELECT * FROM metrics ORDER BY name").toArray();
  return (names === null ? rows : names.flatMap((n) => rows.filter((r) => r.name === n))).map(toMetric);
}

/** A ramp's guardrails and, per guarded metric, the checks of the step in force (the last step reached once stopped). */
export async function getRampMetrics(w: UnitOfWork, environment: string, key: string): Promise<Result<RampMetricsView>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const row = rampRow(w, environment, key);
  if (!row) return fail({ kind: "not_found", detail: `flag "${key}" has no ramp in environment "${environment}"` });
  const guardrails = rampGuardrails(w, row.id);
  const lastChecked = w.sql
    .exec<{ subject: string }>("SELECT subject FROM metric_checks WHERE subject LIKE ? ORDER BY at DESC LIMIT 1", `ramp:${row.id}:%`)
    .toArray()[0];
  const subject = row.current_step >= 0 ? `ramp:${row.id}:${row.current_step}` : (lastChecked?.subject ?? null);
  const metrics = metricViews(
    w,
    guardrails.map((g) => g.metric),
  ).map((m) => metricSeries(w, m, subject ?? "", [row.variant], guardrails.find((g) => g.metric === m.name) ?? null));
  return ok({ ramp: row.id, subject, guardrails, metrics });
}

/** Every metric's checks on an experiment, each arm against the first of its weights (the baseline). */
export async function getExperimentMetrics(w: UnitOfWork, id: string): Promise<Result<ExperimentMetricsView>> {
  if (w.project() === null) return fail(w.noProject());
  const row = w.sql.exec<ExperimentRow>("SELECT * FROM experiments WHERE id = ?", id).toArray()[0];
  if (!row) return fail({ kind: "not_found", detail: `there is no experiment "${id}" in this project` });
  const arms = Object.keys(JSON.parse(row.weights) as Record<string, number>);
  const metrics = metricViews(w, null).map((m) => metricSeries(w, m, `exp:${id}`, arms.slice(1), null));
  return ok({ experiment: id, baseline: arms[0]!, metrics });
}

/** Runs the metric checks now (as the alarm would), returning what they found. */
export async function checkMetricsNow(w: UnitOfWork): Promise<Result<MetricCheck[]>> {
  return w.project() === null ? fail(w.noProject()) : ok(await checkMetrics(w, true));
}
