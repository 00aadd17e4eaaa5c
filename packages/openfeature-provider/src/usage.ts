/**
 * Usage and exposures of in-process evaluations, reported to `POST /telemetry/v1/evaluations` in
 * batches off the caller's path, so stale-flag detection and experiments count them as they count
 * the edge's. What an evaluation counts as is the edge's own rule (`contracts/usage-rules.ts`).
 *
 * Memory is bounded: usage rows are per flag and variant; at most `MAX_PENDING_EXPOSURES` exposures
 * wait (more are dropped and counted), and each exposure is sent once per process (remembered up to
 * `MAX_REMEMBERED` units). A report the service could not take (network, deadline, 408, 429, 5xx)
 * is merged back and sent with the next one, after a backoff; one it refuses as invalid is dropped
 * and logged.
 */
import type { Logger } from "@openfeature/server-sdk";
import type { CompiledFlagSet, EvaluationContext, EvaluationResult } from "../../../engine/types.ts";
import { countsAsUsage, exposedSubjects, exposureKey, usageVariant } from "../../../contracts/usage-rules.ts";
import { MAX_EXPOSURES, MAX_USAGE_ROWS } from "../../../contracts/usage-limits.ts";
import type { Fetch } from "../../openfeature-audit-mode/src/deadline.ts";
import { Backoff, postReport, type ReportTarget } from "./report.ts";

const MAX_PENDING_EXPOSURES = 50_000;
const MAX_REMEMBERED = 100_000;

/** What an evaluation was made against: the compiled set and what it tracks. */
export interface Evaluated {
  compiled: CompiledFlagSet;
  tracking: Readonly<Record<string, string[]>>;
  rampRules: CompiledFlagSet | undefined;
}

interface Row {
  flag: string;
  variant: string;
  evaluations: number;
  firstAt: number;
  lastAt: number;
}

interface PendingExposure {
  subject: string;
  targetingKey: string;
  variant: string;
  at: number;
}

/** Counters for the application's metrics. */
export interface UsageStats {
  /** Evaluations delivered. */
  reported: number;
  /** Exposures delivered (those of subjects the service no longer tracks included). */
  exposuresReported: number;
  /** Exposures dropped because too many were waiting. */
  exposuresDropped: number;
  /** Reports the service refused as invalid (dropped). */
  rejected: number;
  /** Evaluations waiting to be delivered. */
  pending: number;
}

export interface UsageOptions {
  endpoint: string;
  serverKey: string;
  fetch: Fetch;
  requestTimeoutMs: number;
  logger: Logger;
}

export class UsageRecorder {
  readonly #options: UsageOptions;
  #rows = new Map<string, Row>();
  #exposures = new Map<string, PendingExposure>();
  readonly #sent = new Set<string>();
  readonly #backoff = new Backoff();
  readonly #target: ReportTarget;
  readonly #stats = { reported: 0, exposuresReported: 0, exposuresDropped: 0, rejected: 0 };

  constructor(options: UsageOptions) {
    this.#options = options;
    this.#target = { endpoint: options.endpoint, key: options.serverKey, fetch: options.fetch, requestTimeoutMs: options.requestTimeoutMs };
  }

  /** Counts one evaluation (synchronous, allocation-light). */
  record(result: EvaluationResult, context: EvaluationContext, against: Evaluated, now: number): void {
    if (!countsAsUsage(result)) return;
    const variant = usageVariant(result);
    const rowKey = `${result.key}\u0000${variant}`;
    const row = this.#rows.get(rowKey);
    if (row) {
      row.evaluations++;
      row.lastAt = now;
    } else this.#rows.set(rowKey, { flag: result.key, variant, evaluations: 1, firstAt: now, lastAt: now });
    if (result.kind !== "value") return;
    const subjects = exposedSubjects(result, context, against.tracking[result.key], against.compiled, against.rampRules);
    const targetingKey = exposureKey(context);
    if (subjects.length === 0 || targetingKey === null) return;
    for (const subject of subjects) {
      const key = `${subject}\u0000${targetingKey}`;
      if (this.#sent.has(key) || this.#exposures.has(key)) continue;
      if (this.#exposures.size >= MAX_PENDING_EXPOSURES) {
        this.#stats.exposuresDropped++;
        continue;
      }
      this.#exposures.set(key, { subject, targetingKey, variant: result.variant, at: now });
    }
  }

  /** Whether anything waits to be sent. */
  get pending(): boolean {
    return this.#rows.size > 0 || this.#exposures.size > 0;
  }

  /** When the next report may be sent (ms since epoch). */
  get notBefore(): number {
    return this.#backoff.notBefore;
  }

  stats(): UsageStats {
    let pending = 0;
    for (const row of this.#rows.values()) pending += row.evaluations;
    return { ...this.#stats, pending };
  }

  /**
   * Sends everything recorded, in reports within the service's bounds; with `force` a backoff is
   * not waited out. Resolves when done; never rejects.
   */
  async flush(now: number, force = false): Promise<void> {
    while (this.pending && (force || now >= this.#backoff.notBefore)) {
      const rows = [...this.#rows.entries()].slice(0, MAX_USAGE_ROWS);
      const exposures = [...this.#exposures.entries()].slice(0, MAX_EXPOSURES);
      for (const [key] of rows) this.#rows.delete(key);
      for (const [key] of exposures) this.#exposures.delete(key);
      const delivered = await this.#send(
        rows.map(([, row]) => row),
        exposures.map(([, exposure]) => exposure),
        now,
      );
      if (delivered === "retry") {
        this.#mergeBack(rows, exposures);
        return;
      }
      if (delivered === "ok") for (const [key] of exposures) this.#remember(key);
    }
  }

  async #send(rows: Row[], exposures: PendingExposure[], now: number): Promise<"ok" | "retry" | "dropped"> {
    const hashed = await Promise.all(
      exposures.map(async (e) => ({ subject: e.subject, unit: await unitId(e.targetingKey), variant: e.variant, at: e.at })),
    );
    const delivery = await postReport(this.#target, JSON.stringify({ usage: rows, exposures: hashed }));
    switch (delivery.outcome) {
      case "ok":
        this.#backoff.succeeded();
        this.#stats.reported += rows.reduce((sum, row) => sum + row.evaluations, 0);
        this.#stats.exposuresReported += exposures.length;
        return "ok";
      case "refused":
        this.#stats.rejected++;
        this.#options.logger.error(`edgeflags refused a usage report (${delivery.status}), dropped: ${delivery.detail}`);
        return "dropped";
      case "retry":
        this.#options.logger.warn(`edgeflags usage report not delivered (${delivery.why}); kept for the next one`);
        this.#backoff.failed(now, delivery.retryAfter);
        return "retry";
    }
  }

  #mergeBack(rows: [string, Row][], exposures: [string, PendingExposure][]): void {
    for (const [key, row] of rows) {
      const newer = this.#rows.get(key);
      if (newer) {
        newer.evaluations += row.evaluations;
        newer.firstAt = Math.min(newer.firstAt, row.firstAt);
      } else this.#rows.set(key, row);
    }
    for (const [key, exposure] of exposures) if (!this.#exposures.has(key)) this.#exposures.set(key, exposure);
  }

  #remember(key: string): void {
    this.#sent.add(key);
    if (this.#sent.size > MAX_REMEMBERED) {
      const oldest = this.#sent.values().next();
      if (!oldest.done) this.#sent.delete(oldest.value);
    }
  }
}

const encoder = new TextEncoder();

/**
 * The edge's unit id of a targeting key (`unitId` in worker/telemetry.ts): the first 20 hex digits
 * of its SHA-256, on Web Crypto (the edge's helper uses `node:crypto`, which a Worker of the
 * application's own may not have).
 */
async function unitId(targetingKey: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(targetingKey)));
  let hex = "";
  for (const byte of digest.subarray(0, 10)) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
