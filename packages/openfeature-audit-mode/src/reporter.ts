/**
 * Counts comparisons per flag and delivers them to `POST /migration/v1/comparisons` in batches,
 * exactly once: a sealed batch keeps its id and its body until the server has counted it, and is
 * re-sent unchanged after a failure, so a retry the server already counted is answered as a
 * duplicate rather than counted twice.
 *
 * Memory is bounded: at most `maxQueued` sealed batches wait (each under the ingest's body limit);
 * while the queue is full, counts keep accumulating in the open batch (a counter per flag, never
 * dropped) and only samples beyond the per-flag cap are dropped, counted as such.
 */
import type { Logger } from "@openfeature/server-sdk";
import { jsonBytes } from "./compare.js";
import { LIMITS, readIngestAuthority, reportableFlagKey, retryAfterMs, type Entry, type MigrationStatus, type Sample } from "./wire.js";
import { withDeadline, type Fetch } from "./deadline.js";

/** A sample larger than this (its context is bounded already; values may be large objects) is dropped. */
const MAX_SAMPLE_BYTES = 8 * 1024;
/** Distinct flags the open batch holds; a comparison of a further flag is dropped, counted. */
const MAX_PENDING_FLAGS = 10_000;
/** Backoff without a Retry-After: 1 s doubling to at most 5 minutes. */
const BACKOFF_MS = { first: 1_000, max: 300_000 };
/** The longest Retry-After honoured: a server asking for more is retried after an hour. */
const MAX_RETRY_AFTER_MS = 3_600_000;

interface PendingFlag {
  compared: number;
  mismatched: number;
  /** Evaluations that could not be compared (the legacy side failed, or too many waited). */
  uncompared: number;
  samples: Sample[];
}

interface Sealed {
  id: string;
  body: string;
  compared: number;
  mismatched: number;
  attempts: number;
  notBefore: number;
}

/** What the reporter has counted, sent and given up, for an application's own metrics. */
export interface ReportStats {
  /** Comparisons recorded (each counted once in a batch). */
  compared: number;
  mismatched: number;
  /** Evaluations recorded as not compared (reported too, so readiness can say so). */
  uncompared: number;
  /** Comparisons and batches the server has counted (or acknowledged as duplicates). */
  delivered: { batches: number; compared: number; mismatched: number };
  /** Attempts that failed and will be retried with the same batch id. */
  retries: number;
  /** Batches the server refused with a 4xx other than 408/429 (not retried: they cannot succeed). */
  rejected: { batches: number; compared: number; mismatched: number };
  /** Samples dropped: beyond the per-flag cap of a batch, or too large. */
  samplesDropped: number;
  /** Comparisons of a flag beyond the open batch's bound on distinct flags. */
  comparisonsDropped: number;
  /** Comparisons of flags whose key edgeflags cannot hold (not reported: the server would refuse the batch). */
  unreportable: number;
  /** Sealed batches waiting to be delivered, and comparisons in the open batch. */
  queued: number;
  pending: number;
}

/** How the reporter is configured; the provider fills in the defaults. */
export interface ReporterOptions {
  endpoint: string;
  serverKey: string;
  fetch: Fetch;
  maxQueued: number;
  requestTimeoutMs: number;
  logger: Logger;
  /** Called with the status each ingest answer carries. */
  onStatus: (status: MigrationStatus | null) => void;
  /** The status the answers are read against. */
  status: () => MigrationStatus;
}

/** Counts, seals and delivers comparison batches. */
export class Reporter {
  readonly #options: ReporterOptions;
  #pending = new Map<string, PendingFlag>();
  #pendingCompared = 0;
  readonly #queue: Sealed[] = [];
  readonly #stats: Omit<ReportStats, "queued" | "pending"> = {
    compared: 0,
    uncompared: 0,
    mismatched: 0,
    delivered: { batches: 0, compared: 0, mismatched: 0 },
    retries: 0,
    rejected: { batches: 0, compared: 0, mismatched: 0 },
    samplesDropped: 0,
    comparisonsDropped: 0,
    unreportable: 0,
  };

  constructor(options: ReporterOptions) {
    this.#options = options;
  }

  /** Counts one comparison of `flag`; a mismatch may carry a sample. */
  record(flag: string, mismatched: boolean, sample: Sample | null): void {
    const entry = this.#entry(flag);
    if (!entry) return;
    entry.compared++;
    this.#pendingCompared++;
    this.#stats.compared++;
    if (!mismatched) return;
    entry.mismatched++;
    this.#stats.mismatched++;
    if (!sample) return;
    if (entry.samples.length >= LIMITS.samples || jsonBytes(sample) > MAX_SAMPLE_BYTES) this.#stats.samplesDropped++;
    else entry.samples.push(sample);
  }

  /**
   * Counts one evaluation of `flag` that could not be compared: the legacy side failed, or too
   * many comparisons were waiting. Sent with the comparisons, so edgeflags' readiness view says
   * how much went uncompared instead of showing fewer comparisons without a reason.
   */
  recordUncompared(flag: string): void {
    const entry = this.#entry(flag);
    if (!entry) return;
    entry.uncompared++;
    this.#pendingCompared++;
    this.#stats.uncompared++;
  }

  /** The open batch's entry of `flag` (made on first use), or null when it cannot be reported. */
  #entry(flag: string): PendingFlag | null {
    let entry = this.#pending.get(flag);
    if (!entry) {
      if (!reportableFlagKey(flag)) {
        if (this.#stats.unreportable++ === 0)
          this.#options.logger.warn(
            `flag key ${JSON.stringify(flag.slice(0, 64))} cannot be an edgeflags flag key; its comparisons are not reported`,
          );
        return null;
      }
      if (this.#pending.size >= MAX_PENDING_FLAGS) {
        this.#stats.comparisonsDropped++;
        return null;
      }
      entry = { compared: 0, mismatched: 0, uncompared: 0, samples: [] };
      this.#pending.set(flag, entry);
    }
    return entry;
  }

  /** Comparisons (and evaluations not compared) in the open batch. */
  get pendingCompared(): number {
    return this.#pendingCompared;
  }

  /** The earliest time a sealed batch may be sent, or null when none waits. */
  get nextSendAt(): number | null {
    return this.#queue[0]?.notBefore ?? null;
  }

  /** A copy of the counters. */
  stats(): ReportStats {
    return structuredClone({ ...this.#stats, queued: this.#queue.length, pending: this.#pendingCompared });
  }

  /**
   * Seals the open batch into as many batches as the queue has room for (each within the
   * ingest's limits on entries, counts and bytes); what does not fit stays open.
   */
  seal(now: number): void {
    while (this.#pending.size > 0 && this.#queue.length < this.#options.maxQueued) {
      const entries: Entry[] = [];
      let bytes = 64;
      let compared = 0;
      let mismatched = 0;
      let uncompared = 0;
      for (const [flag, pending] of this.#pending) {
        if (entries.length >= LIMITS.entries) break;
        const entry = takeChunk(flag, pending);
        const size = jsonBytes(entry) + 1;
        if (entries.length > 0 && bytes + size > LIMITS.batchBytes) break;
        entries.push(entry);
        bytes += size;
        compared += entry.compared;
        mismatched += entry.mismatched;
        uncompared += entry.uncompared ?? 0;
        consume(pending, entry);
        if (pending.compared === 0 && pending.uncompared === 0) this.#pending.delete(flag);
      }
      const id = crypto.randomUUID();
      this.#queue.push({ id, body: JSON.stringify({ batch: id, entries }), compared, mismatched, attempts: 0, notBefore: now });
      this.#pendingCompared -= compared + uncompared;
    }
  }

  /**
   * Sends sealed batches in order while they are due (every one once when `force`), stopping at
   * the first that fails; it stays at the head with the same id, due again after its backoff.
   */
  async send(now: () => number, force = false): Promise<void> {
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      if (!force && head.notBefore > now()) return;
      if (!(await this.#deliver(head, now))) return;
    }
  }

  /**
   * Seals and sends until nothing is held or a delivery fails: a queue that was full when the open
   * batch was sealed makes room as it is delivered, and what stayed open is sealed next.
   */
  async sealAndSend(now: () => number, force = false): Promise<void> {
    for (;;) {
      this.seal(now());
      await this.send(now, force);
      if (this.#pending.size === 0 || this.#queue.length > 0) return;
    }
  }

  /** One attempt at `batch`; whether the queue may move on. */
  async #deliver(batch: Sealed, now: () => number): Promise<boolean> {
    const { endpoint, serverKey, fetch, requestTimeoutMs, logger } = this.#options;
    batch.attempts++;
    let response: Response;
    let body: unknown = null;
    try {
      response = await withDeadline(requestTimeoutMs, (signal) =>
        fetch(endpoint, {
          method: "POST",
          headers: { authorization: `Bearer ${serverKey}`, "content-type": "application/json" },
          body: batch.body,
          signal,
        }),
      );
      const text = await withDeadline(requestTimeoutMs, () => response.text());
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    } catch (error) {
      this.#retryLater(batch, now(), null, `could not reach edgeflags: ${String(error)}`);
      return false;
    }
    if (response.status === 200 || response.status === 202) {
      this.#queue.shift();
      this.#stats.delivered.batches++;
      this.#stats.delivered.compared += batch.compared;
      this.#stats.delivered.mismatched += batch.mismatched;
      this.#options.onStatus(readIngestAuthority(body, this.#options.status()));
      return true;
    }
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      this.#retryLater(batch, now(), retryAfterMs(response.headers.get("retry-after"), now()), `edgeflags answered ${response.status}`);
      return false;
    }
    this.#queue.shift();
    this.#stats.rejected.batches++;
    this.#stats.rejected.compared += batch.compared;
    this.#stats.rejected.mismatched += batch.mismatched;
    logger.error(
      `edgeflags refused comparison batch ${batch.id} (${response.status}; ${batch.compared} comparisons not counted): ${problemDetail(body)}`,
    );
    return true;
  }

  #retryLater(batch: Sealed, now: number, retryAfter: number | null, why: string): void {
    this.#stats.retries++;
    const backoff = Math.min(BACKOFF_MS.max, BACKOFF_MS.first * 2 ** Math.min(batch.attempts - 1, 20));
    const wait = retryAfter === null ? backoff * (1 + Math.random() / 4) : Math.min(retryAfter, MAX_RETRY_AFTER_MS);
    batch.notBefore = now + wait;
    this.#options.logger.warn(`${why}; comparison batch ${batch.id} is retried unchanged in ${Math.round(wait / 1000)} s`);
  }

  /** Logs what could not be delivered (at close: the process is going away). */
  reportUndelivered(): void {
    const left = this.#queue.reduce((sum, batch) => sum + batch.compared, this.#pendingCompared);
    if (left > 0) this.#options.logger.error(`edgeflags audit mode closed with ${left} comparisons not delivered`);
  }
}

/** The part of `pending` one entry may carry (a count beyond the ingest's bound goes in a later one). */
function takeChunk(flag: string, pending: PendingFlag): Entry {
  const compared = Math.min(pending.compared, LIMITS.count);
  const mismatched = Math.min(pending.mismatched, compared);
  const uncompared = Math.min(pending.uncompared, LIMITS.count);
  const samples = pending.samples.slice(0, mismatched);
  return {
    flag,
    compared,
    mismatched,
    ...(uncompared > 0 ? { uncompared } : {}),
    ...(samples.length > 0 ? { samples } : {}),
  };
}

function consume(pending: PendingFlag, entry: Entry): void {
  pending.compared -= entry.compared;
  pending.uncompared -= entry.uncompared ?? 0;
  pending.mismatched -= entry.mismatched;
  pending.samples = pending.samples.slice(entry.samples?.length ?? 0);
}

/** The `detail` of a problem+json answer, or what the server said. */
function problemDetail(body: unknown): string {
  if (typeof body === "object" && body !== null && "detail" in body && typeof body.detail === "string") return body.detail;
  return typeof body === "string" ? body.slice(0, 500) : JSON.stringify(body).slice(0, 500);
}
