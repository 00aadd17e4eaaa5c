/**
 * What the edge reports back about evaluations, in batches: exposures of experiments and ramp
 * steps (unique units per variant), evaluation counts per flag and variant (for stale-flag
 * detection), shadow comparisons of a draft configuration against live, and which API keys were
 * used (their `last_used_at`).
 *
 * Units are counted exactly: one row per (subject, unit) in `exposure_units`, inserted with
 * `INSERT OR IGNORE`, and a per-variant counter bumped only when a row was really inserted — so a
 * heavy user counts once, and a batch delivered twice counts nothing twice. A subject is
 * `exp:<experiment id>` or `ramp:<ramp id>:<step>`. Tracked events are attributed to the
 * subjects their unit was exposed in (`tracked-events.ts`).
 */
import { LAST_USED_RESOLUTION_MS, type TelemetryBatch } from "../contracts/telemetry";
import { applyTrackedEvents, attributeKeptEvents, noteSubjectEnvironment } from "./tracked-events";

/** Applies a batch; returns the exposure subjects that gained units. Call inside a transaction. */
export function applyTelemetry(sql: SqlStorage, batch: TelemetryBatch): Set<string> {
  for (const u of batch.usage) {
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
  const now = Date.now();
  applyTrackedEvents(sql, batch.tracked, now);
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
  for (const s of batch.shadow) {
    sql.exec(
      "INSERT OR IGNORE INTO shadow_units (draft_id, flag, unit, live_variant, draft_variant) VALUES (?, ?, ?, ?, ?)",
      s.draftId,
      s.flag,
      s.unit,
      s.liveVariant,
      s.draftVariant,
    );
  }
  return touched;
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
    "SELECT flag, count(*) AS n FROM shadow_units WHERE draft_id = ? GROUP BY flag",
    draftId,
  )) {
    sampledUnits[row.flag] = row.n;
  }
  const flips = sql
    .exec<{ flag: string; live_variant: string; draft_variant: string; n: number }>(
      `SELECT flag, live_variant, draft_variant, count(*) AS n FROM shadow_units
       WHERE draft_id = ? AND live_variant != draft_variant GROUP BY flag, live_variant, draft_variant ORDER BY flag, n DESC`,
      draftId,
    )
    .toArray()
    .map((row) => ({ flag: row.flag, from: row.live_variant, to: row.draft_variant, units: row.n }));
  return { sampledUnits, flips };
}
