/**
 * Sample-ratio mismatch: a χ² goodness-of-fit test of observed unique units per variant against
 * the configured weights. SRM is flagged at p < 0.001 once every arm has at least 100 units.
 */

export const SRM_P_THRESHOLD = 0.001;
export const SRM_MIN_UNITS_PER_ARM = 100;

export interface SrmResult {
  /** Unique units per variant, as counted. */
  observed: Record<string, number>;
  /** Units expected per variant from the weights and the total. */
  expected: Record<string, number>;
  chiSquare: number;
  degreesOfFreedom: number;
  pValue: number;
  /** Whether every arm has reached the minimum sample for the test to count. */
  enoughData: boolean;
  /** p < 0.001 with enough data. */
  mismatch: boolean;
}

/** χ² test of `observed` counts against `weights` (any positive scale; zero-weight arms are left out). */
export function sampleRatioTest(observed: Record<string, number>, weights: Record<string, number>): SrmResult {
  const arms = Object.keys(weights).filter((arm) => weights[arm]! > 0);
  const totalWeight = arms.reduce((sum, arm) => sum + weights[arm]!, 0);
  const total = arms.reduce((sum, arm) => sum + (observed[arm] ?? 0), 0);
  const expected: Record<string, number> = {};
  let chiSquare = 0;
  for (const arm of arms) {
    const e = (total * weights[arm]!) / totalWeight;
    expected[arm] = e;
    if (e > 0) chiSquare += ((observed[arm] ?? 0) - e) ** 2 / e;
  }
  const degreesOfFreedom = Math.max(arms.length - 1, 1);
  const pValue = total === 0 ? 1 : chiSquareSurvival(chiSquare, degreesOfFreedom);
  const enoughData = arms.length > 1 && arms.every((arm) => (observed[arm] ?? 0) >= SRM_MIN_UNITS_PER_ARM);
  return {
    observed: Object.fromEntries(arms.map((arm) => [arm, observed[arm] ?? 0])),
    expected,
    chiSquare,
    degreesOfFreedom,
    pValue,
    enoughData,
    mismatch: enoughData && pValue < SRM_P_THRESHOLD,
  };
}

/** P(X ≥ x) for X ~ χ²(k): the regularized upper incomplete gamma Q(k/2, x/2). */
export function chiSquareSurvival(x: number, k: number): number {
  if (x <= 0) return 1;
  return regularizedGammaQ(k / 2, x / 2);
}

function regularizedGammaQ(a: number, x: number): number {
  if (x < a + 1) return 1 - gammaSeries(a, x);
  return gammaContinuedFraction(a, x);
}

function gammaSeries(a: number, x: number): number {
  let sum = 1 / a;
  let term = sum;
  for (let n = 1; n < 1000; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

function gammaContinuedFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** Lanczos approximation of ln Γ(z). */
function logGamma(z: number): number {
  const g = 7;
  const coefficients = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const zm = z - 1;
  let x = coefficients[0]!;
  for (let i = 1; i < g + 2; i++) x += coefficients[i]! / (zm + i);
  const t = zm + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (zm + 0.5) * Math.log(t) - t + Math.log(x);
}
