/**
 * Reads of the telemetry the store keeps about exposure subjects (`ramp:<id>:<step>`,
 * `exp:<id>`): unique units per variant, and per tracked event the additive per-arm aggregates a
 * metric is computed from. Async and `Result`-typed because the aggregates may live in other
 * objects (shards) that are asked with a deadline and summed.
 */
import { ok, type Result } from "../contracts/result";
import type { ArmAggregate } from "../contracts/metrics";
import type { UnitOfWork } from "./unit-of-work";
import { unitCounts } from "./telemetry";

/** Unique exposed units per variant of `subject`. */
export async function readUnitCounts(w: UnitOfWork, subject: string): Promise<Result<Record<string, number>>> {
  return ok(unitCounts(w.sql, subject));
}

/**
 * Per variant exposed in `subject`: its units and the aggregates of the tracked event
 * `eventName` attributed to it (zeros for an arm without such events).
 *
 * @example
 * const arms = await readArmAggregates(w, `ramp:${id}:${step}`, "checkout-error");
 */
export async function readArmAggregates(w: UnitOfWork, subject: string, eventName: string): Promise<Result<ArmAggregate[]>> {
  return ok(armAggregates(w.sql, subject, eventName));
}

/** A row of `arm_event_aggregates`. */
export type ArmRow = {
  subject: string;
  name: string;
  variant: string;
  converted_units: number;
  events: number;
  events_squared: number;
  valued: number;
  value_sum: number;
  value_sum_squares: number;
};

/** The aggregates of one store's (or shard's) own tables; sums across shards stay exact. */
export function armAggregates(sql: SqlStorage, subject: string, eventName: string): ArmAggregate[] {
  const arms = new Map<string, ArmAggregate>();
  const arm = (variant: string): ArmAggregate => {
    let found = arms.get(variant);
    if (!found) {
      found = { variant, units: 0, convertedUnits: 0, events: 0, eventsSquaredPerUnit: 0, valued: 0, valueSum: 0, valueSumSquares: 0 };
      arms.set(variant, found);
    }
    return found;
  };
  for (const [variant, units] of Object.entries(unitCounts(sql, subject))) arm(variant).units = units;
  for (const row of sql.exec<ArmRow>("SELECT * FROM arm_event_aggregates WHERE subject = ? AND name = ?", subject, eventName)) {
    const a = arm(row.variant);
    a.convertedUnits = row.converted_units;
    a.events = row.events;
    a.eventsSquaredPerUnit = row.events_squared;
    a.valued = row.valued;
    a.valueSum = row.value_sum;
    a.valueSumSquares = row.value_sum_squares;
  }
  return [...arms.values()].sort((a, b) => a.variant.localeCompare(b.variant));
}

/** Adds `more` into `into`, arm by arm (variants matched by name). */
export function sumArmAggregates(into: ArmAggregate[], more: readonly ArmAggregate[]): ArmAggregate[] {
  const byVariant = new Map(into.map((a) => [a.variant, a]));
  for (const m of more) {
    const a = byVariant.get(m.variant);
    if (!a) {
      const copy = { ...m };
      byVariant.set(m.variant, copy);
      into.push(copy);
      continue;
    }
    a.units += m.units;
    a.convertedUnits += m.convertedUnits;
    a.events += m.events;
    a.eventsSquaredPerUnit += m.eventsSquaredPerUnit;
    a.valued += m.valued;
    a.valueSum += m.valueSum;
    a.valueSumSquares += m.valueSumSquares;
  }
  return into.sort((a, b) => a.variant.localeCompare(b.variant));
}
