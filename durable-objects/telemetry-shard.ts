/**
 * TelemetryShard: one of `TELEMETRY_SHARDS` objects per project (`idFromName("<project>:<n>")`)
 * that take the edge's telemetry instead of the FlagStore, so the source of truth carries no
 * read-path load: however many isolates flush (once a second each), the FlagStore receives at most one
 * roll-up at a time per shard, at most every `ROLLUP_SPACING_MS`, sized by what changed (subjects
 * × variants, flags × variants), never by the traffic.
 *
 * A shard keeps the unit-level state that makes counts exact (exposure rows, tracked events and
 * per-unit event counts, shadow rows: a unit always maps to the same shard), and the additive
 * increments not yet rolled up (`exposure_counts`, `arm_event_aggregates`, `flag_usage`,
 * `shadow_counts`, `key_use`). A roll-up moves those increments into `rollup_outbox` under the
 * next sequence number in one transaction, then sends them to the FlagStore's `recordTelemetry`,
 * which applies each (shard, sequence) once; a roll-up that fails stays queued and the alarm
 * sends it again. A batch is acknowledged to the edge once the shard committed it and its
 * roll-up was attempted, so what the edge sent is visible in the FlagStore when the call returns
 * (unless the store failed; the alarm then delivers it).
 */
import { DurableObject } from "cloudflare:workers";
import { fail, ok, type Result } from "../contracts/result";
import { TELEMETRY_PART_ID_RETENTION_MS, TelemetryBatchSchema, type TelemetryBatch } from "../contracts/telemetry";
import { TrackedEventsQuerySchema, type TrackedEventRead } from "../contracts/tracking";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { log } from "../lib/log";
import { migrate } from "./schema";
import { applyUnitTelemetry, applyUsage } from "./telemetry";
import { keepTrackedDetails, readTrackedEvents } from "./tracked-events";
import type { ArmRow } from "./telemetry-read";

/** The least time between two roll-ups of one shard: the FlagStore's telemetry load is bounded by it. */
export const ROLLUP_SPACING_MS = 200;
/** When a roll-up failed, the alarm tries again after this long. */
const RETRY_MS = 5_000;
/** The longest a caller waits for its roll-up after its commit (under the edge's deadline for this call). */
const ACK_WAIT_MS = 2_500;
/** A safety net: an alarm this long after a commit delivers it even if this instance is evicted first. */
const SAFETY_MS = 30_000;

/** The shard's schema, applied like the FlagStore's (`schema.ts`): append only. */
export const SHARD_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE exposure_units (subject TEXT NOT NULL, unit TEXT NOT NULL, variant TEXT NOT NULL, first_at INTEGER NOT NULL, PRIMARY KEY (subject, unit)) WITHOUT ROWID;
  CREATE INDEX exposure_units_by_unit ON exposure_units (unit, first_at);
  CREATE TABLE exposure_subjects (subject TEXT PRIMARY KEY, environment TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE exposure_counts (subject TEXT NOT NULL, variant TEXT NOT NULL, units INTEGER NOT NULL, PRIMARY KEY (subject, variant)) WITHOUT ROWID;
  CREATE TABLE tracked_events (unit TEXT NOT NULL, id TEXT NOT NULL, environment TEXT NOT NULL, name TEXT NOT NULL, at INTEGER NOT NULL, value REAL, received_at INTEGER NOT NULL, PRIMARY KEY (unit, id)) WITHOUT ROWID;
  CREATE INDEX tracked_events_by_unit ON tracked_events (unit, at);
  CREATE INDEX tracked_events_by_received ON tracked_events (received_at);
  CREATE TABLE unit_event_counts (subject TEXT NOT NULL, name TEXT NOT NULL, unit TEXT NOT NULL, events INTEGER NOT NULL, PRIMARY KEY (subject, name, unit)) WITHOUT ROWID;
  CREATE TABLE arm_event_aggregates (subject TEXT NOT NULL, name TEXT NOT NULL, variant TEXT NOT NULL, converted_units INTEGER NOT NULL, events INTEGER NOT NULL, events_squared INTEGER NOT NULL, valued INTEGER NOT NULL, value_sum REAL NOT NULL, value_sum_squares REAL NOT NULL, PRIMARY KEY (subject, name, variant)) WITHOUT ROWID;
  CREATE TABLE shadow_units (draft_id TEXT NOT NULL, flag TEXT NOT NULL, unit TEXT NOT NULL, live_variant TEXT NOT NULL, draft_variant TEXT NOT NULL, PRIMARY KEY (draft_id, flag, unit)) WITHOUT ROWID;
  CREATE TABLE shadow_counts (draft_id TEXT NOT NULL, flag TEXT NOT NULL, live_variant TEXT NOT NULL, draft_variant TEXT NOT NULL, units INTEGER NOT NULL, PRIMARY KEY (draft_id, flag, live_variant, draft_variant)) WITHOUT ROWID;
  CREATE TABLE flag_usage (environment TEXT NOT NULL, flag TEXT NOT NULL, variant TEXT NOT NULL, evaluations INTEGER NOT NULL, first_at INTEGER NOT NULL, last_at INTEGER NOT NULL, PRIMARY KEY (environment, flag, variant)) WITHOUT ROWID;
  CREATE TABLE key_use (id TEXT PRIMARY KEY, last_used_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE rollup_outbox (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
  `,
  // 2: the custom fields of tracked events (`TrackingEventDetails` but `value`), kept beside the
  // events for as long (JSON of at most `MAX_TRACK_DETAIL_BYTES`), and the index that reads one
  // environment's events of one name newest first.
  `
  CREATE TABLE tracked_event_details (unit TEXT NOT NULL, id TEXT NOT NULL, details TEXT NOT NULL, received_at INTEGER NOT NULL, PRIMARY KEY (unit, id)) WITHOUT ROWID;
  CREATE INDEX tracked_event_details_by_received ON tracked_event_details (received_at);
  CREATE INDEX tracked_events_by_name ON tracked_events (environment, name, at);
  `,
  // 3: the ids of the edge's parts already applied (`TelemetryBatch.id`), so a part sent again
  // after a lost answer is not counted twice; kept `TELEMETRY_PART_ID_RETENTION_MS`.
  `
  CREATE TABLE applied_parts (id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX applied_parts_by_at ON applied_parts (at);
  `,
];

type Rollup = NonNullable<TelemetryBatch["rollup"]>;

export class TelemetryShard extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  /** Commits made, and the commits whose roll-up has been attempted; callers wait for theirs. */
  #committed = 0;
  #attempted = 0;
  #waiters: Array<{ upTo: number; resolve: () => void }> = [];
  #pump: Promise<void> | null = null;
  #lastRollupAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    ctx.storage.transactionSync(() => migrate(this.#sql, SHARD_MIGRATIONS));
  }

  /**
   * Takes one batch of the edge's telemetry for units of this shard (usage and key use of any);
   * answers once it is committed here and its roll-up into the FlagStore was attempted.
   */
  async recordTelemetry(project: string, shard: number, input: unknown): Promise<Result<{ exposures: number }>> {
    const parsed = TelemetryBatchSchema.safeParse(input);
    if (!parsed.success || parsed.data.rollup) return fail({ kind: "invalid", detail: "not a telemetry batch", problems: [] });
    const batch = parsed.data;
    const now = Date.now();
    const applied = this.ctx.storage.transactionSync(() => {
      if (batch.id !== undefined) {
        this.#sql.exec("DELETE FROM applied_parts WHERE at < ?", now - TELEMETRY_PART_ID_RETENTION_MS);
        const fresh = this.#sql.exec("INSERT OR IGNORE INTO applied_parts (id, at) VALUES (?, ?)", batch.id, now).rowsWritten > 0;
        // Applied before (its answer was lost): nothing again, and the edge hears it was taken.
        if (!fresh) return false;
      }
      this.#sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('project', ?), ('shard', ?)", project, String(shard));
      applyUsage(this.#sql, batch.usage);
      applyUnitTelemetry(this.#sql, batch, now);
      keepTrackedDetails(this.#sql, batch.tracked, now);
      for (const k of batch.keys) {
        this.#sql.exec(
          `INSERT INTO key_use (id, last_used_at) VALUES (?, ?)
           ON CONFLICT (id) DO UPDATE SET last_used_at = max(last_used_at, excluded.last_used_at)`,
          k.id,
          k.lastUsedAt,
        );
      }
      return true;
    });
    if (!applied) return ok({ exposures: batch.exposures.length });
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + SAFETY_MS);
    const mine = ++this.#committed;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Committed is what the edge needs to hear; the roll-up is waited for only so long.
    await new Promise<void>((resolve) => {
      this.#waiters.push({ upTo: mine, resolve });
      timer = setTimeout(resolve, ACK_WAIT_MS);
      this.#pump ??= this.#run();
    });
    if (timer !== undefined) clearTimeout(timer);
    return ok({ exposures: batch.exposures.length });
  }

  /**
   * The tracked events this shard keeps (its units' events of the last
   * `TRACKED_EVENT_RETENTION_MS`) of one environment and name, newest first, with their custom
   * fields. A project's events are the merge of its `TELEMETRY_SHARDS` shards' answers.
   */
  readTrackedEvents(input: unknown): Result<TrackedEventRead[]> {
    const parsed = TrackedEventsQuerySchema.safeParse(input);
    if (!parsed.success) return fail({ kind: "invalid", detail: "not a tracked-events query", problems: [] });
    return ok(readTrackedEvents(this.#sql, parsed.data));
  }

  /** Sends what is queued or gathered; a failed roll-up is retried here. */
  override async alarm(): Promise<void> {
    this.#pump ??= this.#run();
    await this.#pump;
  }

  /** Roll-ups, one at a time and spaced, until every commit made so far has had one. */
  async #run(): Promise<void> {
    try {
      do {
        const wait = this.#lastRollupAt + ROLLUP_SPACING_MS - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const upTo = this.#committed;
        this.#lastRollupAt = Date.now();
        await this.#rollup().catch(async (error: unknown) => {
          // Nothing is lost (the increments stay in this shard's tables or outbox): the alarm tries again.
          log("error", "telemetry-rollup-failed", { error });
          await this.ctx.storage.setAlarm(Date.now() + RETRY_MS);
        });
        this.#attempted = upTo;
        for (const w of this.#waiters) if (w.upTo <= upTo) w.resolve();
        this.#waiters = this.#waiters.filter((w) => w.upTo > upTo);
      } while (this.#attempted < this.#committed);
    } finally {
      this.#pump = null;
    }
  }

  /** Moves the increments into the outbox, then sends the outbox in order; keeps what fails. */
  async #rollup(): Promise<void> {
    const project = this.#meta("project");
    if (project === null) return;
    const shard = `${project}:${this.#meta("shard") ?? "?"}`;
    this.ctx.storage.transactionSync(() => this.#seal(shard));
    const store = this.env.FLAG_STORE.get(this.env.FLAG_STORE.idFromName(project));
    for (const row of this.#sql.exec<{ seq: number; body: string }>("SELECT seq, body FROM rollup_outbox ORDER BY seq").toArray()) {
      try {
        const result = await withDeadline(
          (async () => store.recordTelemetry(JSON.parse(row.body)))(),
          DEADLINE_MS.shardRollup,
          "FlagStore telemetry roll-up",
        );
        if (!result.ok) throw new Error(result.error.detail);
        this.#sql.exec("DELETE FROM rollup_outbox WHERE seq = ?", row.seq);
      } catch (error) {
        log("warn", "telemetry-rollup-retried", { shard, seq: row.seq, error });
        await this.ctx.storage.setAlarm(Date.now() + RETRY_MS);
        return;
      }
    }
  }

  /** The gathered increments as the next roll-up, in the outbox; the increments start again from zero. */
  #seal(shard: string): void {
    const sql = this.#sql;
    const rollup: Rollup = {
      shard,
      seq: 0,
      exposureCounts: sql.exec<{ subject: string; variant: string; units: number }>("SELECT * FROM exposure_counts").toArray(),
      arms: sql
        .exec<ArmRow>("SELECT * FROM arm_event_aggregates")
        .toArray()
        .map((a) => ({
          subject: a.subject,
          name: a.name,
          variant: a.variant,
          convertedUnits: a.converted_units,
          events: a.events,
          eventsSquared: a.events_squared,
          valued: a.valued,
          valueSum: a.value_sum,
          valueSumSquares: a.value_sum_squares,
        })),
      shadowCounts: sql
        .exec<{ draft_id: string; flag: string; live_variant: string; draft_variant: string; units: number }>("SELECT * FROM shadow_counts")
        .toArray()
        .map((s) => ({ draftId: s.draft_id, flag: s.flag, liveVariant: s.live_variant, draftVariant: s.draft_variant, units: s.units })),
    };
    const usage = sql
      .exec<{ environment: string; flag: string; variant: string; evaluations: number; first_at: number; last_at: number }>(
        "SELECT * FROM flag_usage",
      )
      .toArray()
      .map((u) => ({
        environment: u.environment,
        flag: u.flag,
        variant: u.variant,
        evaluations: u.evaluations,
        firstAt: u.first_at,
        lastAt: u.last_at,
      }));
    const keys = sql
      .exec<{ id: string; last_used_at: number }>("SELECT * FROM key_use")
      .toArray()
      .map((k) => ({ id: k.id, lastUsedAt: k.last_used_at }));
    if (rollup.exposureCounts.length + rollup.arms.length + rollup.shadowCounts.length + usage.length + keys.length === 0) return;
    const last = sql.exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM rollup_outbox").one().seq;
    const seq = Math.max(last ?? 0, Number(this.#meta("seq") ?? 0)) + 1;
    const body: TelemetryBatch = { usage, exposures: [], shadow: [], keys, tracked: [], rollup: { ...rollup, seq } };
    sql.exec("INSERT INTO rollup_outbox (seq, body) VALUES (?, ?)", seq, JSON.stringify(body));
    sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('seq', ?)", String(seq));
    for (const table of ["exposure_counts", "arm_event_aggregates", "shadow_counts", "flag_usage", "key_use"])
      sql.exec(`DELETE FROM ${table}`);
  }

  #meta(key: string): string | null {
    return this.#sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value ?? null;
  }
}
