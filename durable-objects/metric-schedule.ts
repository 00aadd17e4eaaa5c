/**
 * When the metric checks are next due: the alarm runs them at least once a minute while a guarded
 * ramp runs, or an experiment runs with metrics defined (`aggregates/metrics.ts` runs them). SQL
 * only, so the unit of work can arm the alarm for it.
 */

/** How often a guarded ramp and a running experiment are checked. */
export const METRIC_CHECK_INTERVAL_MS = 60_000;
const CHECKED_AT_KEY = "metrics_checked_at";

/** When the next metric check is due (now, if never checked); null when nothing is watched. */
export function nextMetricCheck(sql: SqlStorage): number | null {
  const watched = sql
    .exec(
      `SELECT 1 FROM ramps r WHERE r.status = 'running' AND EXISTS (SELECT 1 FROM ramp_guardrails g WHERE g.ramp = r.id)
       UNION ALL SELECT 1 FROM experiments e WHERE e.status = 'running' AND EXISTS (SELECT 1 FROM metrics) LIMIT 1`,
    )
    .toArray();
  if (watched.length === 0) return null;
  const last = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", CHECKED_AT_KEY).toArray()[0];
  return last === undefined ? Date.now() : Number(last.value) + METRIC_CHECK_INTERVAL_MS;
}

/** Records that the checks ran at `now`; the next are due an interval later. */
export function markMetricsChecked(sql: SqlStorage, now: number): void {
  sql.exec("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2", CHECKED_AT_KEY, String(now));
}
