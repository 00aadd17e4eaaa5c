/**
 * MigrationLedger: the comparisons an application in audit mode reports for one project (one
 * object per project, `idFromName(project)`), kept apart from the FlagStore so a busy ingest never
 * queues behind admin writes. Per (environment, flag): totals with first and last seen and the
 * last mismatch, hourly buckets, the latest samples; and the batch ids already counted, so a
 * retried batch is counted once. Batch ids are forgotten after `BATCH_RETENTION_MS` by the alarm.
 * Tables are documented in `durable-objects/STORAGE.md`. Every method returns a `Result`.
 */
import { DurableObject } from "cloudflare:workers";
import {
  BATCH_RETENTION_MS,
  SAMPLES_KEPT,
  type Evidence,
  type FlagComparison,
  type LedgerBatch,
  type Recorded,
} from "../contracts/migration";
import { ok, type Result } from "../contracts/result";
import { migrate } from "./schema";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Hourly buckets older than this are dropped: the longest criterion window is 90 days. */
const HOURS_RETENTION_MS = 90 * DAY_MS;
/** Samples of an environment's view when no flag is named. */
const ENVIRONMENT_SAMPLES = 50;

/** The ledger's schema, applied like the FlagStore's (`schema.ts`): append only. */
export const LEDGER_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE comparison_totals (
    environment      TEXT NOT NULL,
    flag             TEXT NOT NULL,
    compared         INTEGER NOT NULL,
    mismatched       INTEGER NOT NULL,
    first_seen       INTEGER NOT NULL,
    last_seen        INTEGER NOT NULL,
    last_mismatch_at INTEGER,
    PRIMARY KEY (environment, flag)
  ) WITHOUT ROWID;
  CREATE TABLE comparison_hours (
    environment TEXT NOT NULL,
    flag        TEXT NOT NULL,
    hour        INTEGER NOT NULL,
    compared    INTEGER NOT NULL,
    mismatched  INTEGER NOT NULL,
    PRIMARY KEY (environment, hour, flag)
  ) WITHOUT ROWID;
  CREATE TABLE comparison_samples (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    environment TEXT NOT NULL,
    flag        TEXT NOT NULL,
    at          TEXT NOT NULL,
    sample      TEXT NOT NULL
  );
  CREATE INDEX comparison_samples_by_flag ON comparison_samples (environment, flag, id);
  CREATE TABLE comparison_batches (
    environment TEXT NOT NULL,
    batch       TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    compared    INTEGER NOT NULL,
    mismatched  INTEGER NOT NULL,
    PRIMARY KEY (environment, batch)
  ) WITHOUT ROWID;
  CREATE INDEX comparison_batches_by_age ON comparison_batches (received_at);
  `,
  // 2: evaluations the application could not compare, per hour (the totals stay comparisons only,
  // so "seen for N days" counts days with comparisons).
  `
  ALTER TABLE comparison_hours ADD COLUMN uncompared INTEGER NOT NULL DEFAULT 0;
  `,
];

type TotalRow = {
  flag: string;
  compared: number;
  mismatched: number;
  first_seen: number;
  last_seen: number;
  last_mismatch_at: number | null;
};

/** What the ledger holds of one environment over a window of days. */
export interface EnvironmentComparisons {
  evidence: Evidence;
  flags: FlagComparison[];
}

/**
 * One environment's comparisons with its hourly series and samples. Each sample is its stored
 * JSON text (a `StoredSample`), newest first: the reader parses it (`MigrationSampleSchema`).
 */
export interface EnvironmentDetail extends EnvironmentComparisons {
  series: { hour: string; compared: number; mismatched: number }[];
  samples: { flag: string; sample: string }[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export class MigrationLedger extends DurableObject<Env> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    ctx.storage.transactionSync(() => migrate(this.#sql, LEDGER_MIGRATIONS));
  }

  /**
   * Counts a batch of one environment at `now` in one transaction: totals, the hour's bucket, the
   * samples (the latest `SAMPLES_KEPT` per flag stay) and the batch id. A batch id already counted
   * changes nothing and answers what it counted then, with `duplicate: true`.
   */
  async record(environment: string, batch: LedgerBatch, now: number = Date.now()): Promise<Result<Recorded>> {
    const recorded = this.ctx.storage.transactionSync((): Recorded => {
      const seen = this.#sql
        .exec<{ compared: number; mismatched: number }>(
          "SELECT compared, mismatched FROM comparison_batches WHERE environment = ? AND batch = ?",
          environment,
          batch.batch,
        )
        .toArray()[0];
      if (seen) return { duplicate: true, counted: { compared: seen.compared, mismatched: seen.mismatched } };
      const hour = Math.floor(now / HOUR_MS) * HOUR_MS;
      let compared = 0;
      let mismatched = 0;
      for (const entry of batch.entries) {
        compared += entry.compared;
        mismatched += entry.mismatched;
        this.#count(environment, entry.flag, entry.compared, entry.mismatched, entry.uncompared, hour, now);
        for (const sample of entry.samples) {
          this.#sql.exec(
            "INSERT INTO comparison_samples (environment, flag, at, sample) VALUES (?, ?, ?, ?)",
            environment,
            entry.flag,
            sample.at,
            JSON.stringify(sample),
          );
        }
        if (entry.samples.length > 0) {
          this.#sql.exec(
            `DELETE FROM comparison_samples WHERE environment = ?1 AND flag = ?2 AND id <= coalesce(
               (SELECT id FROM comparison_samples WHERE environment = ?1 AND flag = ?2 ORDER BY id DESC LIMIT 1 OFFSET ?3), 0)`,
            environment,
            entry.flag,
            SAMPLES_KEPT,
          );
        }
      }
      this.#sql.exec(
        "INSERT INTO comparison_batches (environment, batch, received_at, compared, mismatched) VALUES (?, ?, ?, ?, ?)",
        environment,
        batch.batch,
        now,
        compared,
        mismatched,
      );
      return { duplicate: false, counted: { compared, mismatched } };
    });
    if (!recorded.duplicate && (await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now() + BATCH_RETENTION_MS);
    }
    return ok(recorded);
  }

  #count(environment: string, flag: string, compared: number, mismatched: number, uncompared: number, hour: number, now: number): void {
    const mismatchAt = mismatched > 0 ? now : null;
    if (compared > 0)
      this.#sql.exec(
        `INSERT INTO comparison_totals (environment, flag, compared, mismatched, first_seen, last_seen, last_mismatch_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)
       ON CONFLICT (environment, flag) DO UPDATE SET
         compared = compared + excluded.compared,
         mismatched = mismatched + excluded.mismatched,
         first_seen = min(first_seen, excluded.first_seen),
         last_seen = max(last_seen, excluded.last_seen),
         last_mismatch_at = coalesce(max(last_mismatch_at, excluded.last_mismatch_at), last_mismatch_at, excluded.last_mismatch_at)`,
        environment,
        flag,
        compared,
        mismatched,
        now,
        mismatchAt,
      );
    this.#sql.exec(
      `INSERT INTO comparison_hours (environment, flag, hour, compared, mismatched, uncompared) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (environment, hour, flag) DO UPDATE SET
         compared = compared + excluded.compared, mismatched = mismatched + excluded.mismatched,
         uncompared = uncompared + excluded.uncompared`,
      environment,
      flag,
      hour,
      compared,
      mismatched,
      uncompared,
    );
  }

  /**
   * Per environment named: the evidence over its window of `days` days ending at `now`, and per
   * flag its totals and its counts in that window (`recent`).
   */
  async comparisons(
    windows: { environment: string; days: number }[],
    now: number = Date.now(),
  ): Promise<Result<Record<string, EnvironmentComparisons>>> {
    // Own properties whatever the name: assigning `found["__proto__"]` would set the prototype
    // instead, and an object with another prototype cannot cross RPC.
    const found: Record<string, EnvironmentComparisons> = Object.fromEntries(
      windows.map(({ environment, days }) => [environment, this.#comparisons(environment, days, now)]),
    );
    return ok(found);
  }

  /**
   * One environment over `days` days ending at `now`, with its hourly series and samples; `flag`
   * narrows the series and samples to one flag. The evidence and the per-flag list stay the
   * environment's: the criterion is judged on the whole environment, whichever flag is looked at.
   */
  async detail(environment: string, days: number, flag: string | null, now: number = Date.now()): Promise<Result<EnvironmentDetail>> {
    const from = windowStart(days, now);
    const byFlag = flag === null ? "" : "AND flag = ?";
    const args = flag === null ? [environment, from] : [environment, from, flag];
    const series = this.#sql
      .exec<{ hour: number; compared: number; mismatched: number }>(
        `SELECT hour, sum(compared) AS compared, sum(mismatched) AS mismatched FROM comparison_hours
         WHERE environment = ? AND hour >= ? ${byFlag} GROUP BY hour ORDER BY hour`,
        ...args,
      )
      .toArray()
      .map((row) => ({ hour: iso(row.hour), compared: row.compared, mismatched: row.mismatched }));
    const samples = this.#sql
      .exec<{ flag: string; sample: string }>(
        `SELECT flag, sample FROM comparison_samples WHERE environment = ? ${byFlag} ORDER BY id DESC LIMIT ?`,
        ...(flag === null ? [environment] : [environment, flag]),
        flag === null ? ENVIRONMENT_SAMPLES : SAMPLES_KEPT,
      )
      .toArray()
      .map((row) => ({ flag: row.flag, sample: row.sample }));
    return ok({ ...this.#comparisons(environment, days, now), series, samples });
  }

  #comparisons(environment: string, days: number, now: number): EnvironmentComparisons {
    const rows = this.#sql
      .exec<TotalRow>("SELECT * FROM comparison_totals WHERE environment = ? ORDER BY mismatched DESC, flag", environment)
      .toArray();
    const recent = new Map(
      this.#sql
        .exec<{ flag: string; compared: number; mismatched: number; uncompared: number }>(
          `SELECT flag, sum(compared) AS compared, sum(mismatched) AS mismatched, sum(uncompared) AS uncompared FROM comparison_hours
           WHERE environment = ? AND hour >= ? GROUP BY flag`,
          environment,
          windowStart(days, now),
        )
        .toArray()
        .map((row) => [row.flag, { compared: row.compared, mismatched: row.mismatched, uncompared: row.uncompared }]),
    );
    let compared = 0;
    let mismatched = 0;
    let uncompared = 0;
    for (const counts of recent.values()) {
      compared += counts.compared;
      mismatched += counts.mismatched;
      uncompared += counts.uncompared;
    }
    const firstSeen = rows.length ? Math.min(...rows.map((row) => row.first_seen)) : null;
    const lastSeen = rows.length ? Math.max(...rows.map((row) => row.last_seen)) : null;
    return {
      evidence: {
        compared,
        mismatched,
        uncompared,
        firstSeen: firstSeen === null ? null : iso(firstSeen),
        lastSeen: lastSeen === null ? null : iso(lastSeen),
      },
      flags: rows.map((row) => ({
        flag: row.flag,
        compared: row.compared,
        mismatched: row.mismatched,
        rate: row.compared === 0 ? 0 : row.mismatched / row.compared,
        firstSeen: iso(row.first_seen),
        lastSeen: iso(row.last_seen),
        lastMismatchAt: row.last_mismatch_at === null ? null : iso(row.last_mismatch_at),
        recent: recent.get(row.flag) ?? { compared: 0, mismatched: 0, uncompared: 0 },
      })),
    };
  }

  /** Forgets batch ids older than `BATCH_RETENTION_MS` and hourly buckets older than 90 days; re-arms for the next. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM comparison_batches WHERE received_at < ?", now - BATCH_RETENTION_MS);
      this.#sql.exec("DELETE FROM comparison_hours WHERE hour < ?", now - HOURS_RETENTION_MS);
    });
    const oldest = this.#sql.exec<{ at: number | null }>("SELECT min(received_at) AS at FROM comparison_batches").one().at;
    if (oldest !== null) await this.ctx.storage.setAlarm(Math.max(oldest + BATCH_RETENTION_MS, now + 60_000));
  }
}

/** The first hour of a window of `days` days ending at `now` (whole hours: buckets are hourly). */
function windowStart(days: number, now: number): number {
  return Math.floor((now - days * DAY_MS) / HOUR_MS) * HOUR_MS;
}
