/**
 * What the edge reports back about evaluations, in batches: exposures of experiments and ramp
 * steps (unique units per variant), evaluation counts per flag and variant (for stale-flag
 * detection), shadow comparisons of a draft configuration against live, which API keys were
 * used (their `last_used_at`), and tracked events (`tracked-events.ts`).
 *
 * Units are counted exactly: one row per (subject, unit) in `exposure_units`, inserted with
 * `INSERT OR IGNORE`, and a per-variant counter bumped only when a row was really inserted — so a
 * heavy user counts once, and a batch delivered twice counts nothing twice. A subject is
 * `exp:<experiment id>` or `ramp:<ramp id>:<step>`.
 *
 * The same unit-level code runs in the telemetry shards (`telemetry-shard.ts`), which take the
 * edge's batches; the FlagStore then receives each shard's additive counts as a roll-up,
 * applied once per (shard, sequence number).
 */
import { LAST_USED_RESOLUTION_MS, type TelemetryBatch } from "../contracts/telemetry";
import { applyTrackedEvents, attributeKeptEvents, noteSubjectEnvironment } from "./tracked-events";

type Rollup = NonNullable<TelemetryBatch["rollup"]>;

/** Applies a batch; returns the exposure subjects that gained units. Call inside a transaction. */
export function applyTelemetry(sql: SqlStorage, batch: TelemetryBatch): Set<string> {
  if (batch.rollup && !acceptRollup(sql, batch.rollup)) return new Set();
  const now = Date.now();
  applyUsage(sql, batch.usage);
  const touched = applyUnitTelemetry(sql, batch, now);
  if (batch.rollup) applyRollupCounts(sql, batch.rollup, touched);
  for (const k of batch.keys) {
    // Never in the future: a skewed or bogus report cannot make a key look used later than now.
    const at = Math.min(k.lastUsedAt, now);
    sql.exec(
      "UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at <= ?1 - ?3)",
      at,
      k.id,
      LAST_USED_RESOLUTION_MS,
    );
  }
  return touched;
}

/** Adds evaluation counts per (environment, flag, variant). */
export function applyUsage(sql: SqlStorage, usage: TelemetryBatch["usage"]): void {
  for (const u of usage) {
    sql.exec(
      `INSERT INTO flag_usage (environment, flag, variant, evaluations, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (environment, flag, variant) DO UPDATE SET evaluations = evaluations + excluded.evaluations,
         first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)`,
      u.environment,
      u.flag,
      u.variant,
      u.evaluations,
      u.firstAt,
      u.lastAt,
    );
  }
}

/**
 * Applies what is per unit (exposures, tracked events, shadow comparisons), each exactly once,
 * bumping the additive counts; returns the subjects that gained units.
 */
export function applyUnitTelemetry(sql: SqlStorage, batch: TelemetryBatch, now: number): Set<string> {
  const touched = new Set<string>();
  for (const e of batch.exposures) {
    if (e.environment !== undefined) noteSubjectEnvironment(sql, e.subject, e.environment);
    const inserted = sql.exec(
      "INSERT OR IGNORE INTO exposure_units (subject, unit, variant, first_at) VALUES (?, ?, ?, ?)",
      e.subject,
      e.unit,
      e.variant,
      e.at,
    ).rowsWritten;
    if (inserted > 0) {
      sql.exec(
        `INSERT INTO exposure_counts (subject, variant, units) VALUES (?, ?, 1)
         ON CONFLICT (subject, variant) DO UPDATE SET units = units + 1`,
        e.subject,
        e.variant,
      );
      attributeKeptEvents(sql, e.subject, e.variant, e.unit, e.at);
      touched.add(e.subject);
    }
  }
  applyTrackedEvents(sql, batch.tracked, now);
  for (const s of batch.shadow) {
    const inserted = sql.exec(
      "INSERT OR IGNORE INTO shadow_units (draft_id, flag, unit, live_variant, draft_variant) VALUES (?, ?, ?, ?, ?)",
      s.draftId,
      s.flag,
      s.unit,
      s.liveVariant,
      s.draftVariant,
    ).rowsWritten;
    if (inserted > 0) addShadowCount(sql, s.draftId, s.flag, s.liveVariant, s.draftVariant, 1);
  }
  return touched;
}

function addShadowCount(sql: SqlStorage, draftId: string, flag: string, live: string, draft: string, units: number): void {
  sql.exec(
    `INSERT INTO shadow_counts (draft_id, flag, live_variant, draft_variant, units) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (draft_id, flag, live_variant, draft_variant) DO UPDATE SET units = units + excluded.units`,
    draftId,
    flag,
    live,
    draft,
    units,
  );
}

/** Whether a shard's roll-up is new (its sequence number past the last applied); records it. */
function acceptRollup(sql: SqlStorage, rollup: Rollup): boolean {
  const last = sql.exec<{ seq: number }>("SELECT seq FROM telemetry_rollups WHERE shard = ?", rollup.shard).toArray()[0]?.seq ?? 0;
  if (rollup.seq <= last) return false;
  sql.exec(
    "INSERT INTO telemetry_rollups (shard, seq) VALUES (?, ?) ON CONFLICT (shard) DO UPDATE SET seq = excluded.seq",
    rollup.shard,
    rollup.seq,
  );
  return true;
}

function applyRollupCounts(sql: SqlStorage, rollup: Rollup, touched: Set<string>): void {
  for (const c of rollup.exposureCounts) {
    sql.exec(
      `INSERT INTO exposure_counts (subject, variant, units) VALUES (?, ?, ?)
       ON CONFLICT (subject, variant) DO UPDATE SET units = units + excluded.units`,
      c.subject,
      c.variant,
      c.units,
    );
    if (c.units > 0) touched.add(c.subject);
  }
  for (const a of rollup.arms) {
    sql.exec(
      `INSERT INTO arm_event_aggregates (subject, name, variant, converted_units, events, events_squared, valued, value_sum, value_sum_squares)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (subject, name, variant) DO UPDATE SET
         converted_units = converted_units + excluded.converted_units, events = events + excluded.events,
         events_squared = events_squared + excluded.events_squared, valued = valued + excluded.valued,
         value_sum = value_sum + excluded.value_sum, value_sum_squares = value_sum_squares + excluded.value_sum_squares`,
      a.subject,
      a.name,
      a.variant,
      a.convertedUnits,
      a.events,
      a.eventsSquared,
      a.valued,
      a.valueSum,
      a.valueSumSquares,
    );
  }
  for (const s of rollup.shadowCounts) addShadowCount(sql, s.draftId, s.flag, s.liveVariant, s.draftVariant, s.units);
}

/** Unique units per variant of a subject. */
export function unitCounts(sql: SqlStorage, subject: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of sql.exec<{ variant: string; units: number }>("SELECT variant, units FROM exposure_counts WHERE subject = ?", subject)) {
    counts[row.variant] = row.units;
  }
  return counts;
}

export interface ShadowFlip {
  flag: string;
  from: string;
  to: string;
  units: number;
}

/** Per flag, how many sampled units the draft would move from one variant to another. */
export function shadowReport(sql: SqlStorage, draftId: string): { sampledUnits: Record<string, number>; flips: ShadowFlip[] } {
  const sampledUnits: Record<string, number> = {};
  for (const row of sql.exec<{ flag: string; n: number }>(
    "SELECT flag, sum(units) AS n FROM shadow_counts WHERE draft_id = ? GROUP BY flag",
    draftId,
  )) {
    sampledUnits[row.flag] = row.n;
  }
  const flips = sql
    .exec<{ flag: string; live_variant: string; draft_variant: string; n: number }>(
      `SELECT flag, live_variant, draft_variant, units AS n FROM shadow_counts
       WHERE draft_id = ? AND live_variant != draft_variant AND units > 0 ORDER BY flag, n DESC`,
      draftId,
    )
    .toArray()
    .map((row) => ({ flag: row.flag, from: row.live_variant, to: row.draft_variant, units: row.n }));
  return { sampledUnits, flips };
}
