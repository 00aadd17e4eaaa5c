/**
 * OpenFeature tracking events (`client.track(name, context, details)`) batched to the service's
 * `POST /ofrep/v1/track` (an edgeflags extension of OFREP), off the caller's path; used by the
 * in-process server provider and by the web provider wrapper alike (Web standards only).
 *
 * Each event gets an id when tracked, so a batch sent again after a lost answer counts once.
 * An event needs the context's targeting key (the unit it is attributed to): one without is
 * dropped and counted. The custom fields of `TrackingEventDetails` (all but `value`) are sent as
 * the event's `details`, checked here with the service's bounds (`contracts/tracking-details.ts`:
 * string, number or boolean fields, a `Date` sent as its ISO 8601 text); an event whose fields
 * break a bound is dropped, counted and logged with the reason (once per reason), never sent to
 * be refused with its whole batch. Memory is bounded (`MAX_PENDING_EVENTS`, more are dropped and counted).
 * A batch the service could not take is put back and sent after a backoff; one it refuses as
 * invalid is dropped and logged.
 */
import type { Fetch } from "../../openfeature-audit-mode/src/deadline.ts";
import { checkTrackDetails } from "../../../contracts/tracking-details.ts";
import { MAX_TRACK_EVENTS } from "../../../contracts/usage-limits.ts";
import type { TrackRequest } from "../../../contracts/tracking.ts";
import { Backoff, postReport, type ReportTarget } from "./report.ts";

const MAX_PENDING_EVENTS = 10_000;
/** Distinct reasons for refusing an event's fields that are logged; past them, refusals are only counted. */
const MAX_LOGGED_REASONS = 50;

type TrackEvent = TrackRequest["events"][number];

/** Counters for the application's metrics. */
export interface TrackingStats {
  /** Events the service accepted. */
  sent: number;
  /** Events dropped: no targeting key, custom fields out of bounds, too many waiting, or refused by the service. */
  dropped: number;
  /** Events waiting to be sent. */
  pending: number;
}

/** Where a tracker sends, and what it logs to. */
export interface TrackerOptions {
  /** The edgeflags Worker's base URL. */
  url: string;
  /** A client or server key of the environment. */
  key: string;
  fetch: Fetch;
  requestTimeoutMs: number;
  logger: { warn(message: string): void; error(message: string): void };
}

/** What `track()` is given: the event name, the context's targeting key, and `TrackingEventDetails` (`value` and custom fields). */
export interface Tracked {
  name: string;
  targetingKey: unknown;
  details: Readonly<Record<string, unknown>> | undefined;
}

export class Tracker {
  readonly #target: ReportTarget;
  readonly #logger: TrackerOptions["logger"];
  readonly #backoff = new Backoff();
  #events: TrackEvent[] = [];
  #sending: Promise<void> | null = null;
  readonly #stats = { sent: 0, dropped: 0 };
  readonly #loggedReasons = new Set<string>();

  constructor(options: TrackerOptions) {
    this.#target = {
      endpoint: `${options.url.replace(/\/+$/, "")}/ofrep/v1/track`,
      key: options.key,
      fetch: options.fetch,
      requestTimeoutMs: options.requestTimeoutMs,
    };
    this.#logger = options.logger;
  }

  /** Queues one event with its `value` and custom fields (synchronous; never throws). */
  record(event: Tracked, now: number): void {
    if (typeof event.targetingKey !== "string" || event.targetingKey === "" || this.#events.length >= MAX_PENDING_EVENTS) {
      this.#stats.dropped++;
      return;
    }
    const { value, ...custom } = event.details ?? {};
    const fields: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(custom)) {
      // An invalid Date has no ISO text (toISOString throws): it is refused below, as an object.
      fields[name] = field instanceof Date && !Number.isNaN(field.getTime()) ? field.toISOString() : field;
    }
    const checked =
      value === undefined || (typeof value === "number" && Number.isFinite(value))
        ? checkTrackDetails(fields)
        : { ok: false as const, detail: "its value is not a finite number" };
    if (!checked.ok) {
      this.#refused(event.name, checked.detail);
      return;
    }
    this.#events.push({
      id: crypto.randomUUID(),
      name: event.name,
      targetingKey: event.targetingKey,
      timestamp: now,
      ...(typeof value === "number" ? { value } : {}),
      ...(Object.keys(checked.details).length > 0 ? { details: checked.details } : {}),
    });
  }

  /** Counts an event whose details break a bound, and logs the reason the first time it is seen. */
  #refused(name: string, reason: string): void {
    this.#stats.dropped++;
    if (this.#loggedReasons.size >= MAX_LOGGED_REASONS || this.#loggedReasons.has(reason)) return;
    this.#loggedReasons.add(reason);
    this.#logger.warn(`edgeflags dropped tracking event '${name}': ${reason} (further events dropped for this reason are only counted)`);
  }

  /** Whether anything waits to be sent. */
  get pending(): boolean {
    return this.#events.length > 0;
  }

  /** When the next batch may be sent (ms since epoch). */
  get notBefore(): number {
    return this.#backoff.notBefore;
  }

  stats(): TrackingStats {
    return { ...this.#stats, pending: this.#events.length };
  }

  /**
   * Sends what waits, in batches of `MAX_TRACK_EVENTS`; with `force` a backoff is not waited
   * out; with `keepalive` each request may outlive the page (a browser page being hidden).
   * One send at a time; resolves when done, never rejects.
   */
  flush(now: number, options: { force?: boolean; keepalive?: boolean } = {}): Promise<void> {
    const sending = (this.#sending ?? Promise.resolve()).then(() => this.#drain(now, options));
    const mine = sending.finally(() => {
      if (this.#sending === mine) this.#sending = null;
    });
    this.#sending = mine;
    return mine;
  }

  async #drain(now: number, { force = false, keepalive = false }: { force?: boolean; keepalive?: boolean }): Promise<void> {
    while (this.#events.length > 0 && (force || now >= this.#backoff.notBefore)) {
      const batch = this.#events.splice(0, MAX_TRACK_EVENTS);
      const delivery = await postReport(this.#target, JSON.stringify({ events: batch } satisfies TrackRequest), keepalive);
      switch (delivery.outcome) {
        case "ok":
          this.#backoff.succeeded();
          this.#stats.sent += batch.length;
          break;
        case "refused":
          this.#stats.dropped += batch.length;
          this.#logger.error(`edgeflags refused ${batch.length} tracking events (${delivery.status}), dropped: ${delivery.detail}`);
          break;
        case "retry":
          // Back in front, in order; the ids make a batch that did arrive count once.
          this.#events.unshift(...batch);
          this.#logger.warn(`edgeflags tracking events not delivered (${delivery.why}); kept for the next send`);
          this.#backoff.failed(now, delivery.retryAfter);
          return;
      }
    }
  }
}
