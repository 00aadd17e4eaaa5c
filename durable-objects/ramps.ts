/**
 * Scheduled ramps: a variant rolled out over a baseline in steps (1% → 5% → 25% → 100%), each
 * step applied by the FlagStore's alarm as an audited change with a new version.
 *
 * A step rewrites the flag's targeting to its own rules (kept as they were when the ramp started)
 * followed by a `fractional` split in basis points: `[[variant, p], [baseline, 10000 - p]]`. The
 * total never changes, so a unit's bucket never changes; the variant's range [0, p) only grows,
 * so a unit exposed at 5% stays exposed at 25% (monotone), and stopping and restarting a ramp
 * keeps the same cohort. Contexts the flag's own rules match keep their answer; the ramp decides
 * for the rest.
 */
import type { Guardrail } from "../contracts/metrics";
import type { JsonValue } from "../engine/types";

/** Fractional weights of a ramp add up to this, so percentages have two decimals. */
export const RAMP_TOTAL_WEIGHT = 10_000;

export interface RampStepInput {
  percent: number;
  /** When to apply the step (ISO 8601); exclusive with `afterSeconds`. */
  at?: string | undefined;
  /** Delay after the previous step (or the start); exclusive with `at`. Default 0. */
  afterSeconds?: number | undefined;
}

/** A ramp to start: `variant` rolled out over `baseline` in `steps`, from `startAt` (null: now). */
export interface RampInput {
  variant: string;
  baseline: string;
  steps: RampStepInput[];
  startAt: string | null;
  /** Metrics the alarm watches while the ramp runs, pausing or rolling it back past their tolerance. */
  guardrails?: Guardrail[] | undefined;
}

export type RampStatus = "running" | "paused" | "completed" | "rolled-back";

export interface RampRow extends Record<string, SqlStorageValue> {
  id: string;
  environment: string;
  flag: string;
  variant: string;
  baseline: string;
  steps: string;
  base_targeting: string | null;
  current_step: number;
  status: RampStatus;
  next_at: number | null;
  applied_targeting: string | null;
  pause_reason: string | null;
  history: string;
  created_at: number;
  created_by: string;
  updated_at: number;
}

export interface RampHistoryEntry {
  step: number;
  percent: number;
  at: string;
  version: number;
  actor: string;
}

export interface RampInfo {
  id: string;
  /**
   * The share of all contexts the ramp's variant reaches at most: `currentPercent` of the contexts
   * the flag's own rules leave undecided (those rules answer first). `effectiveNote` says so.
   */
  effectivePercent: number;
  effectiveNote: string | null;
  environment: string;
  flag: string;
  variant: string;
  baseline: string;
  status: RampStatus;
  pauseReason: string | null;
  /** Index of the step in force; -1 before the first step (0%). */
  currentStep: number;
  currentPercent: number;
  nextAt: string | null;
  steps: (RampStepInput & { state: "done" | "current" | "next" | "pending"; appliedAt: string | null })[];
  history: RampHistoryEntry[];
  createdAt: string;
  createdBy: string;
}

/** The weight in basis points of a percentage. */
export function basisPoints(percent: number): number {
  return Math.round(percent * 100);
}

/** The targeting a ramp at `percent` gives the flag. */
export function rampTargeting(base: JsonValue | null, variant: string, baseline: string, percent: number): JsonValue {
  const weight = basisPoints(percent);
  const split: JsonValue = {
    fractional: [
      [variant, weight],
      [baseline, RAMP_TOTAL_WEIGHT - weight],
    ],
  };
  if (base === null || (typeof base === "object" && !Array.isArray(base) && Object.keys(base).length === 0)) return split;
  return { or: [base, split] };
}

/** When step `index` is due, given when the previous step was applied (or the ramp started). */
export function stepDueAt(steps: RampStepInput[], index: number, previousAt: number): number {
  const step = steps[index]!;
  if (step.at !== undefined) return Date.parse(step.at);
  return previousAt + (step.afterSeconds ?? 0) * 1000;
}

/** Problems with a list of steps, as `{path, message}`; empty when valid. */
export function checkSteps(steps: RampStepInput[]): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  steps.forEach((step, i) => {
    if (step.at !== undefined && step.afterSeconds !== undefined) {
      problems.push({ path: `steps.${i}`, message: "give either `at` or `afterSeconds`, not both" });
    }
    if (i > 0 && step.percent <= steps[i - 1]!.percent) {
      problems.push({ path: `steps.${i}.percent`, message: `steps must increase: ${step.percent} is not above ${steps[i - 1]!.percent}` });
    }
    if (i > 0 && step.at !== undefined && steps[i - 1]!.at !== undefined && Date.parse(step.at) < Date.parse(steps[i - 1]!.at!)) {
      problems.push({ path: `steps.${i}.at`, message: "steps must be in time order" });
    }
  });
  return problems;
}

/**
 * A ramp row as the admin API shows it. `turnedOff`: the flag is DISABLED in the ramp's
 * environment, so it serves its off variant (or the caller's code default) to everyone and the
 * ramp, whatever step it is at, reaches nobody: the effective share says 0 and why.
 */
export function toRampInfo(row: RampRow, turnedOff = false): RampInfo {
  const steps = JSON.parse(row.steps) as RampStepInput[];
  const history = JSON.parse(row.history) as RampHistoryEntry[];
  const appliedAt = new Map<number, string>();
  for (const entry of history) appliedAt.set(entry.step, entry.at);
  const currentPercent = history.at(-1)?.percent ?? 0;
  return {
    id: row.id,
    effectivePercent: turnedOff ? 0 : currentPercent,
    effectiveNote: turnedOff
      ? `flag "${row.flag}" is turned off in "${row.environment}": it serves its off variant, or the caller's code default, to everyone, so the ramp reaches nobody until the flag is turned on`
      : row.base_targeting === null || row.base_targeting === "null" || row.base_targeting === "{}"
        ? null
        : `the flag's own rules answer first; ${currentPercent}% applies to the contexts they leave undecided`,
    environment: row.environment,
    flag: row.flag,
    variant: row.variant,
    baseline: row.baseline,
    status: row.status,
    pauseReason: row.pause_reason,
    currentStep: row.current_step,
    currentPercent,
    nextAt: row.next_at === null ? null : new Date(row.next_at).toISOString(),
    steps: steps.map((step, i) => ({
      ...step,
      state:
        i < row.current_step
          ? "done"
          : i === row.current_step
            ? "current"
            : i === row.current_step + 1 && row.status === "running"
              ? "next"
              : "pending",
      appliedAt: appliedAt.get(i) ?? null,
    })),
    history,
    createdAt: new Date(row.created_at).toISOString(),
    createdBy: row.created_by,
  };
}

/**
 * The flag's own rules under targeting an earlier ramp of `variant` over `baseline` left behind
 * (rolled back to 0% and deleted, say): its split, alone or after the rules, is dropped, so a new
 * ramp is not placed behind an old split that answers everyone. Other targeting is returned as is.
 */
export function withoutRampSplit(targeting: JsonValue | null, variant: string, baseline: string): JsonValue | null {
  const isRampSplit = (rule: JsonValue | undefined): boolean => {
    if (rule === null || typeof rule !== "object" || Array.isArray(rule)) return false;
    const buckets = (rule as Record<string, JsonValue>)["fractional"];
    if (!Array.isArray(buckets) || buckets.length !== 2 || Object.keys(rule).length !== 1) return false;
    const pairs = buckets.map((b) =>
      Array.isArray(b) && b.length === 2 && typeof b[0] === "string" && typeof b[1] === "number" ? ([b[0], b[1]] as const) : null,
    );
    if (pairs.some((p) => p === null)) return false;
    const names = new Set(pairs.map((p) => p![0]));
    return names.has(variant) && names.has(baseline) && pairs[0]![1] + pairs[1]![1] === RAMP_TOTAL_WEIGHT;
  };
  if (isRampSplit(targeting ?? undefined)) return null;
  if (targeting !== null && typeof targeting === "object" && !Array.isArray(targeting) && Object.keys(targeting).length === 1) {
    const or = (targeting as Record<string, JsonValue>)["or"];
    if (Array.isArray(or) && or.length === 2 && isRampSplit(or[1])) return or[0] ?? null;
  }
  return targeting;
}
