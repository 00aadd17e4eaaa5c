/**
 * A sequential test of "is the new variant worse than the baseline by more than we tolerate?",
 * valid however often it is looked at.
 *
 * Method: the asymptotic confidence sequence of Waudby-Smith, Arnold, Wu, Howard & Ramdas
 * ("Time-uniform central limit theory and asymptotic confidence sequences", Ann. Statist. 2024),
 * with the normal-mixture boundary of Howard et al. (the boundary of the mSPRT with a normal
 * mixture of Johari et al., "Always valid inference"). For a mean of N observations with standard
 * deviation σ it is
 *
 *     μ̂ ± σ · √( 2(Nρ² + 1) / (N²ρ²) · ln( √(Nρ² + 1) / α ) )
 *
 * and covers the true mean at every N at once with probability ≥ 1 − α (asymptotically: it needs
 * the CLT to hold, which a minimum sample per arm secures). So a ramp may be checked every minute
 * for ever and the chance that a check with no real degradation ever says "degraded" stays ≤ α;
 * checking less often only lowers it. ρ tunes where the sequence is tightest: chosen for
 * `tuneAt` observations (Waudby-Smith et al., eq. for ρ*).
 *
 * The contrast tested is, for a metric where higher is worse, c = μ_variant − (1 + τ)·μ_baseline
 * with a relative tolerance τ, or c = μ_variant − μ_baseline − τ with an absolute one (signs flip
 * when higher is better, so c > 0 always means "worse than tolerated"). Both are linear, so no delta
 * method: the two arms are independent and Var(ĉ) = σ_v²/n_v + k²σ_b²/n_b (k = 1 + τ or 1). The
 * sequence is put on the contrast as on the mean of N = n_v + n_b observations of variance
 * N·Var(ĉ) (the inverse-propensity form of the paper's treatment-effect sequence under a fixed
 * split; a ramp's split is fixed within a step, and each step is its own exposure subject).
 * "degraded" when the whole interval of c is above 0. Error rates: P(false "degraded") ≤ α (the
 * two-sided sequence is used, so in practice it is about α/2 or less); the chance of stopping a
 * real degradation tends to 1 as units accrue, in about the number of units at which the
 * interval's half-width equals the degradation (`unitsToDetect`).
 *
 * Pure: no platform or project types; a store aggregate of a tracked event fits `ArmTotals`.
 */

/** What is measured of a tracked event, per exposed unit. */
export type MetricKind = "rate" | "count" | "mean";
/** Whether a higher value of the metric is better (conversions) or worse (errors, latency). */
export type MetricDirection = "higher-is-better" | "higher-is-worse";

/** Additive totals of one tracked event in one arm (the fields of a store aggregate that are used). */
export interface ArmTotals {
  /** Exposed units of the arm. */
  units: number;
  /** Exposed units with at least one such event after exposure. */
  convertedUnits: number;
  /** Events attributed to the arm. */
  events: number;
  /** Sum over units of (events of that unit)^2, for the variance of a count per unit. */
  eventsSquaredPerUnit: number;
  /** Events that carried a numeric value, their sum and sum of squares. */
  valued: number;
  valueSum: number;
  valueSumSquares: number;
}

/** The totals of an arm that has seen nothing yet. */
export function emptyTotals(): ArmTotals {
  return { units: 0, convertedUnits: 0, events: 0, eventsSquaredPerUnit: 0, valued: 0, valueSum: 0, valueSumSquares: 0 };
}

/** How much worse the variant may be before it counts as degraded. */
export interface Tolerance {
  /** `relative`: a fraction of the baseline (0.1 = 10% worse); `absolute`: in the metric's own unit. */
  kind: "relative" | "absolute";
  value: number;
}

export interface SequentialOptions {
  kind: MetricKind;
  direction: MetricDirection;
  tolerance: Tolerance;
  /** Miscoverage of the sequence: the bound on the false-alarm rate. Default 0.05. */
  alpha?: number;
  /** Observations each arm needs before anything is decided (units; valued events for `mean`). Default 500. */
  minSample?: number;
  /** Total observations at which the sequence is tightest. Default 10 000. */
  tuneAt?: number;
}

/** One arm's estimate with its always-valid interval. */
export interface ArmEstimate {
  /** Observations: units for rate and count, valued events for mean. */
  n: number;
  estimate: number;
  lower: number;
  upper: number;
}

export type SequentialDecision = "continue" | "degraded" | "insufficient-data";

export interface SequentialResult {
  decision: SequentialDecision;
  baseline: ArmEstimate;
  variant: ArmEstimate;
  /** variant − baseline, with its always-valid interval. */
  difference: { estimate: number; lower: number; upper: number };
  /**
   * The difference past which the variant is worse than tolerated (for a relative tolerance, at
   * the baseline's current estimate): what the chart draws. The decision is made on `contrast`.
   */
  threshold: number;
  /** The tested contrast (> 0: worse than tolerated) and its interval. */
  contrast: { estimate: number; lower: number; upper: number };
  alpha: number;
  minSample: number;
  /** Why, in a sentence. */
  reason: string;
}

export const DEFAULT_ALPHA = 0.05;
export const DEFAULT_MIN_SAMPLE = 500;
export const DEFAULT_TUNE_AT = 10_000;

interface Moments {
  n: number;
  mean: number;
  variance: number;
}

/** Mean and per-observation variance of one arm for a metric kind. */
export function armMoments(kind: MetricKind, t: ArmTotals): Moments {
  const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
  switch (kind) {
    case "rate": {
      const p = Math.min(1, ratio(t.convertedUnits, t.units));
      return { n: t.units, mean: p, variance: p * (1 - p) };
    }
    case "count": {
      const mean = ratio(t.events, t.units);
      return { n: t.units, mean, variance: Math.max(0, ratio(t.eventsSquaredPerUnit, t.units) - mean * mean) };
    }
    case "mean": {
      const mean = ratio(t.valueSum, t.valued);
      // Sample variance (n − 1), floored at 0 against rounding.
      const variance = t.valued > 1 ? Math.max(0, (t.valueSumSquares - t.valued * mean * mean) / (t.valued - 1)) : 0;
      return { n: t.valued, mean, variance };
    }
  }
}

/** ρ² that makes the normal-mixture boundary tightest at `n` observations. */
function rhoSquared(alpha: number, n: number): number {
  const l = -2 * Math.log(alpha);
  return (l + Math.log(l + 1)) / n;
}

/**
 * Half-width of the always-valid interval of a mean of `n` observations of variance `variance`.
 *
 * @example halfWidth(10_000, 0.25, 0.05, 10_000) // ≈ 0.0152 (a fixed-n 95% interval: 0.0098)
 */
export function halfWidth(n: number, variance: number, alpha: number, tuneAt: number): number {
  if (n <= 0) return Number.POSITIVE_INFINITY;
  const r2 = rhoSquared(alpha, tuneAt);
  const nr = n * r2 + 1;
  return Math.sqrt(variance) * Math.sqrt(((2 * nr) / (n * n * r2)) * Math.log(Math.sqrt(nr) / alpha));
}

/**
 * Runs the test on the totals of the two arms.
 *
 * @example
 * sequentialTest(baseline, variant, { kind: "rate", direction: "higher-is-worse", tolerance: { kind: "relative", value: 0 } })
 */
export function sequentialTest(baselineTotals: ArmTotals, variantTotals: ArmTotals, options: SequentialOptions): SequentialResult {
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const minSample = options.minSample ?? DEFAULT_MIN_SAMPLE;
  const tuneAt = options.tuneAt ?? DEFAULT_TUNE_AT;
  const b = armMoments(options.kind, baselineTotals);
  const v = armMoments(options.kind, variantTotals);
  const arm = (m: Moments): ArmEstimate => {
    const h = halfWidth(m.n, m.variance, alpha, tuneAt);
    return { n: m.n, estimate: m.mean, lower: m.mean - h, upper: m.mean + h };
  };
  // sign = +1 when higher is worse: c > 0 always means "worse than tolerated".
  const sign = options.direction === "higher-is-worse" ? 1 : -1;
  const tau = options.tolerance.value;
  const k = options.tolerance.kind === "relative" ? 1 + sign * tau : 1;
  const shift = options.tolerance.kind === "absolute" ? tau : 0;
  const total = b.n + v.n;
  const perDiff = b.n > 0 && v.n > 0 ? v.variance / v.n + b.variance / b.n : 0;
  const perContrast = b.n > 0 && v.n > 0 ? v.variance / v.n + (k * k * b.variance) / b.n : 0;
  const hDiff = b.n > 0 && v.n > 0 ? halfWidth(total, total * perDiff, alpha, tuneAt) : Number.POSITIVE_INFINITY;
  const hContrast = b.n > 0 && v.n > 0 ? halfWidth(total, total * perContrast, alpha, tuneAt) : Number.POSITIVE_INFINITY;
  const diff = v.mean - b.mean;
  const contrast = sign * (v.mean - k * b.mean) - shift;
  const threshold = sign * (options.tolerance.kind === "relative" ? tau * b.mean : tau);
  const base = {
    baseline: arm(b),
    variant: arm(v),
    difference: { estimate: diff, lower: diff - hDiff, upper: diff + hDiff },
    threshold,
    contrast: { estimate: contrast, lower: contrast - hContrast, upper: contrast + hContrast },
    alpha,
    minSample,
  };
  if (b.n < minSample || v.n < minSample) {
    return {
      ...base,
      decision: "insufficient-data",
      reason: `each arm needs ${minSample} observations before a decision (baseline ${b.n}, variant ${v.n})`,
    };
  }
  if (base.contrast.lower > 0) {
    return {
      ...base,
      decision: "degraded",
      reason: `the variant is worse than tolerated at level ${alpha}: the always-valid interval of the difference [${fmt(base.difference.lower)}, ${fmt(base.difference.upper)}] lies beyond the threshold ${fmt(threshold)}`,
    };
  }
  return {
    ...base,
    decision: "continue",
    reason: `no degradation beyond the threshold ${fmt(threshold)} shown at level ${alpha} (difference ${fmt(diff)}, interval [${fmt(base.difference.lower)}, ${fmt(base.difference.upper)}])`,
  };
}

function fmt(x: number): string {
  return Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : String(x);
}

/**
 * Total observations (both arms) at which a true degradation of the contrast `effect` is expected to
 * be detected: where the contrast's half-width equals it. `variance` is the per-observation
 * variance N·Var(ĉ) of the contrast (for a share `q` of the variant: σ_v²/q + k²σ_b²/(1 − q)).
 */
export function unitsToDetect(effect: number, variance: number, alpha = DEFAULT_ALPHA, tuneAt = DEFAULT_TUNE_AT): number {
  let lo = 1;
  let hi = 1;
  while (halfWidth(hi, variance, alpha, tuneAt) > effect && hi < 1e13) hi *= 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (halfWidth(mid, variance, alpha, tuneAt) > effect) lo = mid;
    else hi = mid;
  }
  return hi;
}
