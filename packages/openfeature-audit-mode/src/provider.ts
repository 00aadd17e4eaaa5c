/**
 * The audit-mode provider: the application keeps the system it trusts authoritative and asks
 * edgeflags beside it. Every evaluation answers from the authoritative provider alone (the other
 * is evaluated concurrently and never awaited by the caller), the two answers are compared off the
 * request path, and the counts and mismatch samples are delivered to edgeflags in batches. Which
 * side is authoritative follows `GET /migration/v1/status` and every ingest answer: after a
 * cut-over edgeflags answers, and the legacy side is still compared until the grace period ends.
 */
import {
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext,
  type Hook,
  type JsonValue,
  type Logger,
  type Provider,
  type ResolutionDetails,
  type TrackingEventDetails,
} from "@openfeature/server-sdk";
import { compare, toSample, type Outcome } from "./compare.js";
import { withDeadline, type Fetch } from "./deadline.js";
import { Reporter, type ReportStats } from "./reporter.js";
import { readStatus, type Authority, type MigrationStatus } from "./wire.js";

/** How the provider is set up. Only the two providers, `url` and `serverKey` are required. */
export interface AuditModeOptions {
  /** The provider of the system being migrated from (authoritative until the cut-over). */
  legacy: Provider;
  /** An edgeflags provider (OFREP or flagd) for the same environment as `serverKey`. */
  edgeflags: Provider;
  /** The edgeflags Worker's base URL, e.g. `https://flags.example.com`. */
  url: string;
  /** A server key of the environment being compared. */
  serverKey: string;
  /** The `fetch` to call edgeflags with (default: the global one). */
  fetch?: Fetch;
  /** How often the open batch is sealed and sent (default 10 s). */
  flushIntervalMs?: number;
  /** Comparisons in the open batch that seal it early (default 10,000). */
  maxBatch?: number;
  /** Sealed batches that may wait for delivery (default 8, each under 256 KiB). */
  maxQueued?: number;
  /** How often the authority is asked for (default 30 s). */
  statusIntervalMs?: number;
  /** Deadline of each call to edgeflags' migration endpoints (default 10 s). */
  requestTimeoutMs?: number;
  /** How long a comparison waits for the slower side before counting it as an error (default 5 s). */
  compareTimeoutMs?: number;
  /** Keeps background work alive where the platform needs it (a Worker: `waitUntil` from `cloudflare:workers`). */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** Where warnings go (default: the console). */
  logger?: Logger;
}

/** The reporter's counters plus what the provider itself decided. */
export interface AuditModeStats extends ReportStats {
  /** Evaluations whose legacy side failed: no answer to compare against, so not counted. */
  legacyErrors: number;
  /** Comparisons not made because too many were still waiting for an answer. */
  comparisonsSkipped: number;
  /** Comparisons that failed on what a provider handed back (logged once), not counted. */
  comparisonsFailed: number;
  authority: Authority;
  reporting: boolean;
}

/** Comparisons waiting for their slower side; beyond this a comparison is skipped, counted. */
const MAX_IN_FLIGHT = 10_000;
const DEFAULTS = {
  flushIntervalMs: 10_000,
  maxBatch: 10_000,
  maxQueued: 8,
  statusIntervalMs: 30_000,
  requestTimeoutMs: 10_000,
  compareTimeoutMs: 5_000,
};

/**
 * An OpenFeature server provider for running edgeflags in audit mode beside a legacy system.
 *
 * @example
 * const provider = new AuditModeProvider({
 *   legacy: new HomegrownProvider(),
 *   edgeflags: new OFREPProvider({ baseUrl: "https://flags.example.com", headers: [["Authorization", `Bearer ${key}`]] }),
 *   url: "https://flags.example.com",
 *   serverKey: key,
 * });
 * await OpenFeature.setProviderAndWait(provider);
 */
export class AuditModeProvider implements Provider {
  readonly metadata = { name: "edgeflags-audit-mode" } as const;
  readonly runsOn = "server";
  readonly events = new OpenFeatureEventEmitter();

  readonly #legacy: Provider;
  readonly #edgeflags: Provider;
  readonly #options: Required<Omit<AuditModeOptions, "legacy" | "edgeflags" | "waitUntil">> & Pick<AuditModeOptions, "waitUntil">;
  readonly #reporter: Reporter;
  #status: MigrationStatus = { authority: "legacy", graceUntil: null, report: true };
  readonly #inFlight = new Set<Promise<void>>();
  #legacyErrors = 0;
  #comparisonsSkipped = 0;
  #comparisonsFailed = 0;
  #lastSealAt = Date.now();
  #nextStatusAt = 0;
  #pumping: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: AuditModeOptions) {
    const { legacy, edgeflags, waitUntil, ...rest } = options;
    this.#legacy = legacy;
    this.#edgeflags = edgeflags;
    const url = rest.url.replace(/\/+$/, "");
    if (!/^https?:\/\/[^/]/.test(url))
      throw new TypeError(`url must be the edgeflags Worker's http(s) base URL, got ${JSON.stringify(rest.url)}`);
    if (!rest.serverKey) throw new TypeError("serverKey must be a server key of the environment being compared");
    this.#options = {
      ...DEFAULTS,
      fetch: (input, init) => fetch(input, init),
      logger: console,
      ...definedOnly(rest),
      url,
      serverKey: rest.serverKey,
      waitUntil,
    };
    this.#reporter = new Reporter({
      endpoint: `${url}/migration/v1/comparisons`,
      serverKey: rest.serverKey,
      fetch: this.#options.fetch,
      maxQueued: Math.max(1, this.#options.maxQueued),
      requestTimeoutMs: this.#options.requestTimeoutMs,
      logger: this.#options.logger,
      status: () => this.#status,
      onStatus: (status) => this.#follow(status),
    });
    this.#forwardEvents();
  }

  /** The hooks of the authoritative provider (the other one's hooks do not run). */
  get hooks(): Hook[] {
    return this.#authoritative().hooks ?? [];
  }

  /** Which side answers now. */
  get authority(): Authority {
    return this.#status.authority;
  }

  /** Initializes both providers and reads the authority; fails only when the authoritative provider does. */
  async initialize(context?: EvaluationContext): Promise<void> {
    const [legacy, edgeflags] = await Promise.allSettled([
      (async () => this.#legacy.initialize?.(context))(),
      (async () => this.#edgeflags.initialize?.(context))(),
      this.#pollStatus(),
    ]);
    const authoritative = this.#status.authority === "legacy" ? legacy : edgeflags;
    const other = this.#status.authority === "legacy" ? edgeflags : legacy;
    if (other?.status === "rejected") {
      this.#options.logger.warn(
        `the non-authoritative provider failed to initialize (its answers count as errors): ${String(other.reason)}`,
      );
    }
    this.#arm();
    if (authoritative?.status === "rejected") throw authoritative.reason;
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext, logger: Logger) {
    return this.#evaluate(flagKey, context, (p) => p.resolveBooleanEvaluation(flagKey, defaultValue, context, logger));
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext, logger: Logger) {
    return this.#evaluate(flagKey, context, (p) => p.resolveStringEvaluation(flagKey, defaultValue, context, logger));
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext, logger: Logger) {
    return this.#evaluate(flagKey, context, (p) => p.resolveNumberEvaluation(flagKey, defaultValue, context, logger));
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext, logger: Logger) {
    return this.#evaluate(flagKey, context, (p) => p.resolveObjectEvaluation(flagKey, defaultValue, context, logger));
  }

  /** Tracking goes to the authoritative provider. */
  track(trackingEventName: string, context: EvaluationContext, details: TrackingEventDetails): void {
    this.#authoritative().track?.(trackingEventName, context, details);
  }

  /**
   * Records every comparison still waiting for an answer, seals the open batch and sends every
   * batch that is due (a batch waiting out a backoff stays queued). Resolves when done; never rejects.
   */
  async flush(): Promise<void> {
    await Promise.all(this.#inFlight);
    await this.#pumping;
    this.#lastSealAt = Date.now();
    await this.#run(() => this.#reporter.sealAndSend(() => Date.now()));
  }

  /**
   * Stops the timers, records what is in flight, and makes one last attempt at every queued batch
   * (the process is going away: a backoff is not waited out); logs what could not be delivered.
   * Then closes both providers.
   */
  async onClose(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await Promise.all(this.#inFlight);
    await this.#pumping;
    await this.#reporter.sealAndSend(() => Date.now(), true);
    this.#reporter.reportUndelivered();
    await Promise.allSettled([this.#legacy.onClose?.(), this.#edgeflags.onClose?.()]);
  }

  /** Counters for the application's own metrics. */
  stats(): AuditModeStats {
    return {
      ...this.#reporter.stats(),
      legacyErrors: this.#legacyErrors,
      comparisonsSkipped: this.#comparisonsSkipped,
      comparisonsFailed: this.#comparisonsFailed,
      authority: this.#status.authority,
      reporting: this.#reporting(Date.now()),
    };
  }

  #authoritative(): Provider {
    return this.#status.authority === "legacy" ? this.#legacy : this.#edgeflags;
  }

  /** Whether comparisons are made now: the server asks for them, and any grace period is still running. */
  #reporting(now: number): boolean {
    const { report, authority, graceUntil } = this.#status;
    return report && (authority === "legacy" || graceUntil === null || now < graceUntil);
  }

  #evaluate<T extends JsonValue>(
    flagKey: string,
    context: EvaluationContext,
    call: (provider: Provider) => Promise<ResolutionDetails<T>>,
  ): Promise<ResolutionDetails<T>> {
    const now = Date.now();
    const edgeflagsAnswers = this.#status.authority === "edgeflags";
    const answer = invoke(() => call(edgeflagsAnswers ? this.#edgeflags : this.#legacy));
    if (!this.#closed && this.#reporting(now)) {
      if (this.#inFlight.size >= MAX_IN_FLIGHT) {
        this.#comparisonsSkipped++;
        this.#reporter.recordUncompared(flagKey);
      } else {
        const other = invoke(() => call(edgeflagsAnswers ? this.#legacy : this.#edgeflags));
        const [legacy, edgeflags] = edgeflagsAnswers ? [other, answer] : [answer, other];
        this.#compareLater(flagKey, context, legacy, edgeflags);
      }
    }
    this.#kick();
    return answer;
  }

  /** Compares the two answers once both are in (or the slower one timed out), off the caller's path. */
  #compareLater(
    flagKey: string,
    context: EvaluationContext,
    legacy: Promise<ResolutionDetails<JsonValue>>,
    edgeflags: Promise<ResolutionDetails<JsonValue>>,
  ): void {
    const ms = this.#options.compareTimeoutMs;
    const task = Promise.all([settle(withDeadline(ms, () => legacy)), settle(withDeadline(ms, () => edgeflags))]).then(([l, e]) => {
      // Whatever a provider handed back, comparing it never rejects into the application.
      try {
        const found = compare(l, e);
        if (found.kind === "legacy-error") {
          this.#legacyErrors++;
          this.#reporter.recordUncompared(flagKey);
          return;
        }
        const mismatch = found.kind === "mismatch";
        this.#reporter.record(flagKey, mismatch, mismatch ? toSample(Date.now(), context, found) : null);
        if (this.#reporter.pendingCompared >= this.#options.maxBatch) this.#kick();
      } catch (error) {
        if (this.#comparisonsFailed++ === 0)
          this.#options.logger.warn(
            `edgeflags audit mode: a comparison of ${JSON.stringify(flagKey)} failed and was not counted: ${String(error)}`,
          );
      }
    });
    const tracked = task.finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
    this.#options.waitUntil?.(tracked);
  }

  /** Whether background work is due: the status to poll, the open batch to seal, a batch to send. */
  #due(now: number): boolean {
    if (now >= this.#nextStatusAt) return true;
    const pending = this.#reporter.pendingCompared;
    if (pending > 0 && (pending >= this.#options.maxBatch || now >= this.#lastSealAt + this.#options.flushIntervalMs)) return true;
    const sendAt = this.#reporter.nextSendAt;
    return sendAt !== null && now >= sendAt;
  }

  /** Starts background work when due and none runs: called by the timer and by every evaluation. */
  #kick(): void {
    if (this.#closed || this.#pumping || !this.#due(Date.now())) return;
    void this.#run(() => this.#pump());
  }

  /** Runs one piece of background work at a time, then re-arms the timer. */
  #run(work: () => Promise<void>): Promise<void> {
    const previous = this.#pumping ?? Promise.resolve();
    const running = previous.then(work).catch((error) => this.#options.logger.error(`edgeflags audit mode: ${String(error)}`));
    const tracked: Promise<void> = running.finally(() => {
      if (this.#pumping === tracked) this.#pumping = null;
      this.#arm();
    });
    this.#pumping = tracked;
    this.#options.waitUntil?.(tracked);
    return tracked;
  }

  async #pump(): Promise<void> {
    const now = Date.now();
    if (now >= this.#nextStatusAt) await this.#pollStatus();
    const pending = this.#reporter.pendingCompared;
    if (pending >= this.#options.maxBatch || (pending > 0 && now >= this.#lastSealAt + this.#options.flushIntervalMs)) {
      this.#lastSealAt = now;
      await this.#reporter.sealAndSend(() => Date.now());
    } else await this.#reporter.send(() => Date.now());
  }

  /** Sets the one timer for the next due piece of work (where the platform allows timers here). */
  #arm(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    const now = Date.now();
    const sendAt = this.#reporter.nextSendAt ?? Number.POSITIVE_INFINITY;
    const delay = Math.max(10, Math.min(this.#options.flushIntervalMs, this.#nextStatusAt - now, sendAt - now));
    try {
      const timer = setTimeout(() => {
        this.#timer = undefined;
        this.#kick();
        if (!this.#pumping) this.#arm();
      }, delay);
      // In Node, a pending report does not keep the process alive: closing the provider flushes it.
      const handle: unknown = timer;
      if (typeof handle === "object" && handle !== null && "unref" in handle && typeof handle.unref === "function") handle.unref();
      this.#timer = timer;
    } catch {
      // A Worker's global scope allows no timers: evaluations start the work instead.
    }
  }

  async #pollStatus(): Promise<void> {
    const { url, serverKey, requestTimeoutMs, logger } = this.#options;
    this.#nextStatusAt = Date.now() + this.#options.statusIntervalMs;
    try {
      const response = await withDeadline(requestTimeoutMs, (signal) =>
        this.#options.fetch(`${url}/migration/v1/status`, { headers: { authorization: `Bearer ${serverKey}` }, signal }),
      );
      const text = await withDeadline(requestTimeoutMs, () => response.text());
      const status = response.ok ? readStatus(parseJson(text)) : null;
      if (!status) {
        logger.warn(`edgeflags migration status unreadable (${response.status}); still answering from ${this.#status.authority}`);
        return;
      }
      this.#follow(status);
    } catch (error) {
      logger.warn(`edgeflags migration status unreachable (${String(error)}); still answering from ${this.#status.authority}`);
    }
  }

  /** Adopts a status read from the server; a change of authority changes every answer, so it is announced. */
  #follow(status: MigrationStatus | null): void {
    if (!status) return;
    const changed = status.authority !== this.#status.authority;
    this.#status = status;
    if (changed) {
      this.#options.logger.info(`edgeflags migration: answers now come from ${status.authority}`);
      this.events.emit(ProviderEvents.ConfigurationChanged, { message: `authority is now ${status.authority}` });
    }
  }

  /** Configuration changes of either side may change answers; errors and staleness of the authoritative side are the provider's own. */
  #forwardEvents(): void {
    for (const [side, provider] of [
      ["legacy", this.#legacy],
      ["edgeflags", this.#edgeflags],
    ] as const) {
      const events = provider.events;
      if (!events) continue;
      events.addHandler(ProviderEvents.ConfigurationChanged, (details) => {
        this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: details?.flagsChanged, message: details?.message });
      });
      for (const event of [ProviderEvents.Error, ProviderEvents.Stale] as const) {
        events.addHandler(event, (details) => {
          if (this.#status.authority === side) this.events.emit(event, { message: details?.message });
        });
      }
    }
  }
}

/** Calls `call`, turning a synchronous throw into a rejection. */
function invoke<T>(call: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The outcome of an answer, settled (never rejects). */
function settle(answer: Promise<ResolutionDetails<JsonValue>>): Promise<Outcome> {
  return answer.then(
    (details): Outcome => ({ ok: true, details }),
    (error: unknown): Outcome => ({ ok: false, error }),
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** `options` without the keys set to undefined (so defaults apply). */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
