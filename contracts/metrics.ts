/**
 * Metrics on tracked events, per arm of an exposure subject (`ramp:<id>:<step>` or `exp:<id>`).
 * The aggregates are additive: telemetry kept in several places (shards) sums to the whole.
 */

/** Additive per-arm aggregates of one tracked event within one exposure subject. */
export interface ArmAggregate {
  variant: string;
  /** Exposed units of this arm (exposure_counts). */
  units: number;
  /** Exposed units with at least one such event after exposure. */
  convertedUnits: number;
  /** Events attributed to this arm. */
  events: number;
  /** Sum over units of (events of that unit)^2, for the variance of a count per unit. */
  eventsSquaredPerUnit: number;
  /** Events that carried a numeric value, their sum and sum of squares. */
  valued: number;
  valueSum: number;
  valueSumSquares: number;
}
