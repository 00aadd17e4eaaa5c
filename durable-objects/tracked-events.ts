/**
 * Tracked events attributed to exposure subjects, exactly once. An event of unit `u` at time `t`
 * counts in every subject (of its environment) that exposed `u` at or before `t`, whichever of
 * the two arrives first: an event finds the exposures already recorded, and a newly recorded
 * exposure finds the events already kept (`tracked_events`, which is also the dedupe table:
 * one row per (unit, event id), pruned after `TRACKED_EVENT_RETENTION_MS`). Each attribution
 * bumps the unit's count `c` in `unit_event_counts` and the arm's additive sums in
 * `arm_event_aggregates` (a first event converts the unit; the squares grow by `2c + 1`).
 * Call inside a transaction.
 *
 * An event's custom fields (`details`, OpenFeature `TrackingEventDetails` but `value`) are kept
 * beside it in the telemetry shard (`tracked_event_details`, same key and retention), read back by
 * `readTrackedEvents`; the metrics use only the count and `value`.
 */
import type { TelemetryBatch } from "../contracts/telemetry";
import type { TrackedEventRead, TrackedEventsQuery } from "../contracts/tracking";

/** How long an event id is remembered (and an exposure arriving late still finds the event). */
export const TRACKED_EVENT_RETENTION_MS = 48 * 60 * 60 * 1000;
/** Expired event rows deleted per batch: pruning never makes one batch slow. */
const PRUNE_PER_BATCH = 1_000;

type TrackedEvent = TelemetryBatch["tracked"][number];

/** Records new events and attributes them; returns how many were new (not seen before). */
export function applyTrackedEvents(sql: SqlStorage, events: readonly TrackedEvent[], now: number): number {
  let added = 0;
  for (const e of events) {
    const at = Math.min(e.at, now);
    const inserted = sql.exec(
      `INSERT OR IGNORE INTO tracked_events (unit, id, environment, name, at, value, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      e.unit,
      e.id,
      e.environment,
      e.name,
      at,
      e.value ?? null,
      now,
    ).rowsWritten;
    if (inserted === 0) continue;
    added++;
    const exposures = sql.exec<{ subject: string; variant: string }>(
      `SELECT u.subject, u.variant FROM exposure_units u JOIN exposure_subjects s ON s.subject = u.subject
       WHERE u.unit = ? AND u.first_at <= ? AND s.environment = ?`,
      e.unit,
      at,
      e.environment,
    );
    for (const exposure of exposures.toArray()) attribute(sql, exposure.subject, exposure.variant, e.unit, e.name, e.value ?? null);
  }
  sql.exec(
    "DELETE FROM tracked_events WHERE (unit, id) IN (SELECT unit, id FROM tracked_events WHERE received_at < ? LIMIT ?)",
    now - TRACKED_EVENT_RETENTION_MS,
    PRUNE_PER_BATCH,
  );
  return added;
}

/** Notes the environment of a subject, once: events of other environments are not attributed to it. */
export function noteSubjectEnvironment(sql: SqlStorage, subject: string, environment: string): void {
  sql.exec("INSERT OR IGNORE INTO exposure_subjects (subject, environment) VALUES (?, ?)", subject, environment);
}

/** Attributes the kept events of `unit` at or after `firstAt` to a newly recorded exposure. */
export function attributeKeptEvents(sql: SqlStorage, subject: string, variant: string, unit: string, firstAt: number): void {
  const events = sql
    .exec<{ name: string; value: number | null }>(
      `SELECT e.name, e.value FROM tracked_events e JOIN exposure_subjects s ON s.subject = ? AND s.environment = e.environment
       WHERE e.unit = ? AND e.at >= ?`,
      subject,
      unit,
      firstAt,
    )
    .toArray();
  for (const e of events) attribute(sql, subject, variant, unit, e.name, e.value);
}

function attribute(sql: SqlStorage, subject: string, variant: string, unit: string, name: string, value: number | null): void {
  const count = sql
    .exec<{ events: number }>(
      `INSERT INTO unit_event_counts (subject, name, unit, events) VALUES (?, ?, ?, 1)
       ON CONFLICT (subject, name, unit) DO UPDATE SET events = events + 1 RETURNING events`,
      subject,
      name,
      unit,
    )
    .one().events;
  const before = count - 1;
  sql.exec(
    `INSERT INTO arm_event_aggregates (subject, name, variant, converted_units, events, events_squared, valued, value_sum, value_sum_squares)
     VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8)
     ON CONFLICT (subject, name, variant) DO UPDATE SET
       converted_units = converted_units + ?4, events = events + 1, events_squared = events_squared + ?5,
       valued = valued + ?6, value_sum = value_sum + ?7, value_sum_squares = value_sum_squares + ?8`,
    subject,
    name,
    variant,
    before === 0 ? 1 : 0,
    2 * before + 1,
    value === null ? 0 : 1,
    value ?? 0,
    value === null ? 0 : value * value,
  );
}

/**
 * Keeps the custom fields of the events that carry some, once per (unit, id) like the events
 * themselves (the first delivery's fields stay), and prunes those past the retention. The
 * telemetry shard calls it in the transaction that applies the events.
 */
export function keepTrackedDetails(sql: SqlStorage, events: readonly TrackedEvent[], now: number): void {
  for (const e of events) {
    if (e.details === undefined) continue;
    sql.exec(
      "INSERT OR IGNORE INTO tracked_event_details (unit, id, details, received_at) VALUES (?, ?, ?, ?)",
      e.unit,
      e.id,
      JSON.stringify(e.details),
      now,
    );
  }
  sql.exec(
    "DELETE FROM tracked_event_details WHERE (unit, id) IN (SELECT unit, id FROM tracked_event_details WHERE received_at < ? LIMIT ?)",
    now - TRACKED_EVENT_RETENTION_MS,
    PRUNE_PER_BATCH,
  );
}

/** The kept events of one environment and name, newest first, with their custom fields. */
export function readTrackedEvents(sql: SqlStorage, query: TrackedEventsQuery): TrackedEventRead[] {
  const rows = sql
    .exec<{ unit: string; id: string; name: string; at: number; value: number | null; details: string | null }>(
      `SELECT e.unit, e.id, e.name, e.at, e.value, d.details FROM tracked_events e
       LEFT JOIN tracked_event_details d ON d.unit = e.unit AND d.id = e.id
       WHERE e.environment = ? AND e.name = ? AND e.at < ?
         AND (? IS NULL OR e.at < ? OR (e.at = ? AND (e.unit > ? OR (e.unit = ? AND e.id > ?))))
       ORDER BY e.at DESC, e.unit, e.id LIMIT ?`,
      query.environment,
      query.name,
      query.before ?? Number.MAX_SAFE_INTEGER,
      query.after?.at ?? null,
      query.after?.at ?? 0,
      query.after?.at ?? 0,
      query.after?.unit ?? "",
      query.after?.unit ?? "",
      query.after?.id ?? "",
      query.limit,
    )
    .toArray();
  return rows.map((row) => ({
    id: row.id,
    unit: row.unit,
    name: row.name,
    at: row.at,
    ...(row.value === null ? {} : { value: row.value }),
    ...(row.details === null ? {} : { details: JSON.parse(row.details) }),
  }));
}
