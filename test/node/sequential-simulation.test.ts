/**
 * The guardrail's sequential test, proved by simulation: synthetic traffic with a known effect,
 * checked after every batch of units (as the alarm checks a ramp every minute), for many runs.
 * With no effect the share of runs ever declared "degraded" stays at or under α; a 5% and a 20%
 * relative degradation are stopped, in about the number of units `unitsToDetect` predicts.
 * Pure loops over a seeded generator: the figures are the same on every run (README "Guarded
 * rollouts: the simulation").
 */
import { describe, expect, it } from "vitest";
import { prng } from "../../bench/workload.mjs";
import {
  type ArmTotals,
  emptyTotals,
  type MetricKind,
  type SequentialOptions,
  halfWidth,
  sequentialTest,
  unitsToDetect,
} from "../../lib/sequential";

function normal(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** A Binomial(n, p) draw: by inversion for a small mean, by the normal approximation otherwise. */
function binomial(u: () => number, n: number, p: number): number {
  const mean = n * p;
  const variance = mean * (1 - p);
  if (variance > 30) return Math.min(n, Math.max(0, Math.round(mean + Math.sqrt(variance) * normal(u))));
  let k = 0;
  let prob = (1 - p) ** n;
  let cdf = prob;
  const x = u();
  while (x > cdf && k < n) {
    prob *= ((n - k) / (k + 1)) * (p / (1 - p));
    k++;
    cdf += prob;
  }
  return k;
}

const empty = emptyTotals;

interface Scenario {
  /** Share of units the variant gets. */
  share: number;
  /** Units per check, both arms together. */
  batch: number;
  /** Checks per run before giving up (the horizon is batch × checks units). */
  checks: number;
  /** Adds a batch's events to the two arms' totals. */
  add: (u: () => number, totals: ArmTotals, arm: "baseline" | "variant", units: number) => void;
  options: SequentialOptions;
}

/** Runs `runs` simulated ramps; for each, the units (both arms) at the first "degraded" check, or null. */
function simulate(scenario: Scenario, runs: number, seed: number): (number | null)[] {
  const u = prng(seed);
  const stops: (number | null)[] = [];
  for (let run = 0; run < runs; run++) {
    const baseline = empty();
    const variant = empty();
    let stopped: number | null = null;
    for (let check = 1; check <= scenario.checks && stopped === null; check++) {
      const toVariant = binomial(u, scenario.batch, scenario.share);
      scenario.add(u, variant, "variant", toVariant);
      scenario.add(u, baseline, "baseline", scenario.batch - toVariant);
      if (sequentialTest(baseline, variant, scenario.options).decision === "degraded") stopped = check * scenario.batch;
    }
    stops.push(stopped);
  }
  return stops;
}

/** An error-rate metric: each unit errs (at least once) with probability p. */
function errorRate(p: number, relativeEffect: number): Scenario["add"] {
  return (u, totals, arm, units) => {
    const errs = binomial(u, units, arm === "variant" ? p * (1 + relativeEffect) : p);
    totals.units += units;
    totals.convertedUnits += errs;
    totals.events += errs;
    totals.eventsSquaredPerUnit += errs;
  };
}

const guard = (kind: MetricKind): SequentialOptions => ({
  kind,
  direction: "higher-is-worse",
  tolerance: { kind: "relative", value: 0 },
  alpha: 0.05,
  minSample: 500,
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const report: string[] = [];

describe("sequential guardrail test: simulation", () => {
  it("with no effect, the false-alarm rate under continuous peeking stays at or under α = 0.05", () => {
    const cases: [string, Scenario, number][] = [
      [
        "error rate 5%, 50/50, 400 checks of 2 000 units",
        { share: 0.5, batch: 2_000, checks: 400, add: errorRate(0.05, 0), options: guard("rate") },
        1_000,
      ],
      [
        "error rate 5%, 10% ramp step, 400 checks of 2 000 units",
        { share: 0.1, batch: 2_000, checks: 400, add: errorRate(0.05, 0), options: guard("rate") },
        1_000,
      ],
    ];
    for (const [name, scenario, runs] of cases) {
      const alarms = simulate(scenario, runs, 1).filter((s) => s !== null).length;
      report.push(`no effect, ${name}: ${alarms}/${runs} false alarms (${((alarms / runs) * 100).toFixed(1)}%)`);
      expect(alarms / runs).toBeLessThanOrEqual(0.05);
    }
  });

  it("with no effect on a count per unit and a mean of value, the false-alarm rate stays at or under α", () => {
    // Per-unit draws (the sums of squares need them), so fewer, smaller runs.
    const counts: Scenario["add"] = (u, totals, _arm, units) => {
      for (let i = 0; i < units; i++) {
        // 0–3 events per unit, mean 0.6.
        const e = (u() < 0.3 ? 1 : 0) + (u() < 0.2 ? 1 : 0) + (u() < 0.1 ? 1 : 0);
        totals.units++;
        totals.events += e;
        totals.eventsSquaredPerUnit += e * e;
        if (e > 0) totals.convertedUnits++;
      }
    };
    const latency: Scenario["add"] = (u, totals, _arm, units) => {
      for (let i = 0; i < units; i++) {
        // Skewed like a latency: log-normal, median 100 ms.
        const ms = 100 * Math.exp(0.5 * normal(u));
        totals.units++;
        totals.valued++;
        totals.valueSum += ms;
        totals.valueSumSquares += ms * ms;
      }
    };
    for (const [name, scenario] of [
      [
        "count per unit (mean 0.6), 50/50, 100 checks of 500 units",
        { share: 0.5, batch: 500, checks: 100, add: counts, options: guard("count") },
      ],
      [
        "mean latency (log-normal), 50/50, 100 checks of 500 units",
        { share: 0.5, batch: 500, checks: 100, add: latency, options: guard("mean") },
      ],
    ] as const) {
      const runs = 200;
      const alarms = simulate(scenario, runs, 2).filter((s) => s !== null).length;
      report.push(`no effect, ${name}: ${alarms}/${runs} false alarms (${((alarms / runs) * 100).toFixed(1)}%)`);
      expect(alarms / runs).toBeLessThanOrEqual(0.05);
    }
  });

  it.each([
    { effect: 0.2, runs: 500, checks: 200 },
    { effect: 0.05, runs: 200, checks: 1_500 },
  ])("a $effect relative degradation of a 5% error rate is stopped within the expected units", ({ effect, runs, checks }) => {
    const p = 0.05;
    const scenario: Scenario = { share: 0.5, batch: 2_000, checks, add: errorRate(p, effect), options: guard("rate") };
    const stops = simulate(scenario, runs, 3);
    const stopped = stops.filter((s): s is number => s !== null);
    const pv = p * (1 + effect);
    // Per-observation variance of the contrast at a 50/50 split, and where its half-width meets the effect.
    const expected = unitsToDetect(pv - p, (pv * (1 - pv)) / 0.5 + (p * (1 - p)) / 0.5);
    report.push(
      `${effect * 100}% degradation (error rate ${p} → ${pv.toFixed(4)}), ${runs} runs: stopped ${stopped.length}/${runs}, median ${median(stopped)} units (both arms), expected ≈ ${expected}`,
    );
    expect(stopped.length / runs).toBeGreaterThanOrEqual(0.95);
    expect(median(stopped)).toBeLessThanOrEqual(1.25 * expected);
  });

  it("never decides on fewer than the minimum sample per arm", () => {
    const b = { ...empty(), units: 499, convertedUnits: 0 };
    const v = { ...empty(), units: 10_000, convertedUnits: 9_000 };
    expect(sequentialTest(b, v, guard("rate")).decision).toBe("insufficient-data");
    expect(halfWidth(0, 1, 0.05, 10_000)).toBe(Number.POSITIVE_INFINITY);
  });

  it("prints the figures", () => {
    console.log(report.join("\n"));
    expect(report.length).toBe(6);
  });
});
