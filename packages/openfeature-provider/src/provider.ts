/**
 * The edgeflags OpenFeature server provider: the environment's flags synced from the edge
 * (`GET /sync/v1/flagd?format=edgeflags`, ETag/304) and evaluated in-process by the edge's own
 * engine, so an answer costs no round trip and equals the edge's. Changes arrive over the
 * environment's event stream (polling when there is none); a failed sync keeps the last good set
 * and says so (`PROVIDER_STALE`, `PROVIDER_ERROR` for a refused key). Usage and exposures go back
 * to the service in batches (`usage.ts`), and so do tracking events (`track()`, `tracking.ts`).
 */
import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext,
  type FlagValue,
  type JsonValue,
  type Logger,
  type Provider,
  type ResolutionDetails,
  type TrackingEventDetails,
} from "@openfeature/server-sdk";
import { compileFlagSet } from "../../../engine/index.ts";
import type { EvaluationContext as EngineContext, EvaluationResult, FlagType } from "../../../engine/types.ts";
import { compileRampRules } from "../../../contracts/usage-rules.ts";
import { withDeadline, type Fetch } from "../../openfeature-audit-mode/src/deadline.ts";
import { retryAfterMs } from "../../openfeature-audit-mode/src/wire.ts";
import { readJson } from "../../../lib/json-read.ts";
import { followStream } from "./stream.ts";
import { UsageRecorder, type Evaluated, type UsageStats } from "./usage.ts";
import { Tracker, type TrackingStats } from "./tracking.ts";
import { readSyncedSet, type SyncedSet } from "./wire.ts";

/** How the provider is set up; only `url` and `serverKey` are required. */
export interface EdgeflagsProviderOptions {
  /** The edgeflags Worker's base URL, e.g. `https://flags.example.com`. */
  url: string;
  /** A server key of the environment to evaluate. */
  serverKey: string;
  /** The `fetch` to call edgeflags with (default: the global one). */
  fetch?: Fetch;
  /** Follow the environment's event stream (default true; in a Worker of your own, pass false and rely on polling). */
  stream?: boolean;
  /** How often the flags are checked while no stream is open (default 30 s). */
  pollIntervalMs?: number;
  /** Deadline of each call to edgeflags (default 10 s). */
  requestTimeoutMs?: number;
  /** Longest silence on an open stream before it counts as lost (default 60 s; the edge sends a heartbeat every 20 s). */
  streamIdleMs?: number;
  /** Report usage and exposures (default true). */
  reportUsage?: boolean;
  /** Send `track()` events to the service (default true). */
  trackEvents?: boolean;
  /** How often usage and tracking events are sent (default 10 s). */
  flushIntervalMs?: number;
  /** Keeps background work alive where the platform needs it (a Worker: `ctx.waitUntil`). */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** Where warnings go (default: the console). */
  logger?: Logger;
}

/** What the provider knows of its sync, for the application's health checks. */
export interface EdgeflagsProviderStats {
  /** The version of the flags served, or null before the first sync. */
  version: number | null;
  /** Whether the last sync failed (the last good set is being served). */
  stale: boolean;
  /** Whether the event stream is open. */
  streaming: boolean;
  usage: UsageStats | null;
  tracking: TrackingStats | null;
}

interface Loaded extends Evaluated {
  version: number;
  /** Flag key → its definition as JSON, to tell which flags a new version changed. */
  definitions: Map<string, string>;
  shared: string;
}

const DEFAULTS = { pollIntervalMs: 30_000, requestTimeoutMs: 10_000, streamIdleMs: 60_000, flushIntervalMs: 10_000 };
const MAX_RECONNECT_MS = 30_000;
/**
 * How long the provider keeps asking for a version the stream announced while the service still
 * answers an older one (its location's KV has not caught up yet): 100 ms, doubling, up to 2 s
 * between asks, for at most this long; then the poll interval takes over.
 */
const CATCH_UP_MS = 60_000;

/**
 * An OpenFeature server provider evaluating an edgeflags environment in-process.
 *
 * @example
 * await OpenFeature.setProviderAndWait(new EdgeflagsProvider({ url: "https://flags.example.com", serverKey: process.env.EDGEFLAGS_SERVER_KEY }));
 * const checkout = await OpenFeature.getClient().getBooleanValue("new-checkout", false, { targetingKey: user.id });
 */
export class EdgeflagsProvider implements Provider {
  readonly metadata = { name: "edgeflags" } as const;
  readonly runsOn = "server";
  readonly events = new OpenFeatureEventEmitter();

  readonly #options: Required<Omit<EdgeflagsProviderOptions, "waitUntil">> & Pick<EdgeflagsProviderOptions, "waitUntil">;
  readonly #usage: UsageRecorder | null;
  readonly #tracker: Tracker | null;
  #loaded: Loaded | null = null;
  #streamUrl: string | null = null;
  #stale = false;
  #refused = false;
  #streaming = false;
  #syncing: Promise<void> | null = null;
  /** The newest version the event stream announced; a sync that answers older is asked again. */
  #announced = 0;
  #catchingUp = false;
  #nextSyncAt = 0;
  #nextFlushAt = 0;
  #flushing: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = new AbortController();

  constructor(options: EdgeflagsProviderOptions) {
    const url = options.url.replace(/\/+$/, "");
    if (!/^https?:\/\/[^/]/.test(url))
      throw new TypeError(`url must be the edgeflags Worker's http(s) base URL, got ${JSON.stringify(options.url)}`);
    if (!options.serverKey) throw new TypeError("serverKey must be a server key of the environment to evaluate");
    this.#options = {
      url,
      serverKey: options.serverKey,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      stream: options.stream ?? true,
      reportUsage: options.reportUsage ?? true,
      trackEvents: options.trackEvents ?? true,
      pollIntervalMs: options.pollIntervalMs ?? DEFAULTS.pollIntervalMs,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      streamIdleMs: options.streamIdleMs ?? DEFAULTS.streamIdleMs,
      flushIntervalMs: options.flushIntervalMs ?? DEFAULTS.flushIntervalMs,
      logger: options.logger ?? console,
      waitUntil: options.waitUntil,
    };
    this.#usage = this.#options.reportUsage
      ? new UsageRecorder({
          endpoint: `${url}/telemetry/v1/evaluations`,
          serverKey: options.serverKey,
          fetch: this.#options.fetch,
          requestTimeoutMs: this.#options.requestTimeoutMs,
          logger: this.#options.logger,
        })
      : null;
    this.#tracker = this.#options.trackEvents
      ? new Tracker({
          url,
          key: options.serverKey,
          fetch: this.#options.fetch,
          requestTimeoutMs: this.#options.requestTimeoutMs,
          logger: this.#options.logger,
        })
      : null;
  }

  /** Loads the flags; rejects (the SDK then reports `PROVIDER_ERROR`) when there are none to serve, and keeps trying. */
  async initialize(): Promise<void> {
    await this.#sync(false);
    if (this.#options.stream) void this.#follow();
    this.#arm();
    if (!this.#loaded) throw new Error("edgeflags: the flags could not be loaded; retrying in the background");
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.#evaluate(flagKey, defaultValue, context, "boolean"));
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.#evaluate(flagKey, defaultValue, context, "string"));
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.#evaluate(flagKey, defaultValue, context, "number"));
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.#evaluate(flagKey, defaultValue, context, "object"));
  }

  /**
   * Records an OpenFeature tracking event for the next batch to `POST /ofrep/v1/track` with its
   * `value` and custom fields (see `Tracker.record` for their bounds); it is attributed to the
   * variant the context's targeting key was exposed to. An event without a targeting key is
   * dropped and counted.
   */
  track(trackingEventName: string, context: EvaluationContext, trackingEventDetails: TrackingEventDetails): void {
    if (this.#closed.signal.aborted || !this.#tracker) return;
    this.#tracker.record({ name: trackingEventName, targetingKey: context.targetingKey, details: trackingEventDetails }, Date.now());
    this.#kick();
  }

  /** Sends the usage and tracking events recorded so far (a backoff is not waited out). Resolves when done; never rejects. */
  async flush(): Promise<void> {
    await this.#flushing;
    await Promise.all([this.#usage?.flush(Date.now(), true), this.#tracker?.flush(Date.now(), { force: true })]);
  }

  /** Checks for new flags now (as a stream event would). Resolves when done; never rejects. */
  async refresh(): Promise<void> {
    await this.#sync(true);
  }

  /** Stops the stream and the timers, then sends the usage still recorded. */
  async onClose(): Promise<void> {
    this.#closed.abort();
    clearTimeout(this.#timer);
    await this.#syncing;
    await this.flush();
  }

  stats(): EdgeflagsProviderStats {
    return {
      version: this.#loaded?.version ?? null,
      stale: this.#stale,
      streaming: this.#streaming,
      usage: this.#usage?.stats() ?? null,
      tracking: this.#tracker?.stats() ?? null,
    };
  }

  #evaluate<T extends FlagValue>(flagKey: string, defaultValue: T, context: EvaluationContext, type: FlagType): ResolutionDetails<T> {
    const loaded = this.#loaded;
    this.#kick();
    if (!loaded) {
      return {
        value: defaultValue,
        reason: "ERROR",
        errorCode: ErrorCode.PROVIDER_NOT_READY,
        errorMessage: "the flags have not been loaded yet",
      };
    }
    const engineContext = toEngineContext(context);
    const result = loaded.compiled.evaluate(flagKey, engineContext, { type });
    if (!this.#closed.signal.aborted) this.#usage?.record(result, engineContext, loaded, Date.now());
    return toResolution(result, defaultValue, loaded.version);
  }

  /** One sync at a time; `force` syncs even before the poll interval has passed. */
  #sync(force: boolean, fresh = false): Promise<void> {
    if (this.#syncing) return this.#syncing;
    if (!force && this.#loaded && Date.now() < this.#nextSyncAt) return Promise.resolve();
    const running = this.#load(fresh).finally(() => {
      this.#syncing = null;
    });
    this.#syncing = running;
    this.#options.waitUntil?.(running);
    return running;
  }

  async #load(fresh: boolean): Promise<void> {
    const { url, serverKey, requestTimeoutMs, logger } = this.#options;
    const now = Date.now();
    this.#nextSyncAt = now + this.#options.pollIntervalMs;
    const headers: Record<string, string> = { authorization: `Bearer ${serverKey}` };
    if (this.#loaded && !fresh) headers["if-none-match"] = `"${this.#loaded.version}"`;
    let failure: string;
    let retryAfter: number | null = null;
    try {
      const response = await withDeadline(requestTimeoutMs, (signal) =>
        this.#options.fetch(`${url}/sync/v1/flagd?format=edgeflags`, { headers, signal }),
      );
      const text = await withDeadline(requestTimeoutMs, () => response.text());
      if (response.status === 304) return this.#recovered();
      if (response.ok) {
        const json = readJson(text);
        const set = json.ok ? readSyncedSet(json.value) : `the answer is not JSON: ${json.detail}`;
        if (typeof set !== "string") return this.#install(set);
        failure = `the flags could not be read: ${set}`;
      } else {
        failure = `edgeflags answered ${response.status}: ${text.slice(0, 300)}`;
        retryAfter = retryAfterMs(response.headers.get("retry-after"), now);
        if (response.status === 401 || response.status === 403) return this.#fail(failure, true);
      }
    } catch (error) {
      failure = `edgeflags could not be reached: ${String(error)}`;
    }
    if (retryAfter !== null) this.#nextSyncAt = Math.max(this.#nextSyncAt, now + retryAfter);
    logger.warn(`${failure}; ${this.#loaded ? `still serving version ${this.#loaded.version}` : "no flags to serve yet"}`);
    this.#fail(failure, false);
  }

  #install(set: SyncedSet): void {
    this.#streamUrl = set.streamUrl;
    const previous = this.#loaded;
    if (previous && set.version === previous.version) {
      this.#recovered();
      return;
    }
    const flags = isRecord(set.flagSet) && isRecord(set.flagSet.flags) ? set.flagSet.flags : {};
    const definitions = new Map(Object.entries(flags).map(([key, definition]) => [key, JSON.stringify(definition)]));
    const shared = JSON.stringify([
      isRecord(set.flagSet) ? set.flagSet.$evaluators : null,
      isRecord(set.flagSet) ? set.flagSet.metadata : null,
    ]);
    const compiled = compileFlagSet(set.flagSet);
    if (compiled.errors.size > 0)
      this.#options.logger.error(`edgeflags: flags that answer PARSE_ERROR: ${JSON.stringify(Object.fromEntries(compiled.errors))}`);
    this.#loaded = {
      version: set.version,
      compiled,
      tracking: set.tracking,
      rampRules: set.rampRules ? compileRampRules(set.rampRules, set.flagSet) : undefined,
      definitions,
      shared,
    };
    const wasStale = this.#stale || this.#refused;
    this.#stale = false;
    this.#refused = false;
    if (!previous) {
      // After a failed initialization the SDK waits for READY; on first load it emits READY itself.
      if (wasStale) this.events.emit(ProviderEvents.Ready, { message: `flags loaded at version ${set.version}` });
      return;
    }
    const changed = changedKeys(previous, this.#loaded);
    if (wasStale) this.events.emit(ProviderEvents.Ready, { message: `in sync again at version ${set.version}` });
    this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: changed, message: `version ${set.version}` });
  }

  #recovered(): void {
    if (!this.#stale && !this.#refused) return;
    this.#stale = false;
    this.#refused = false;
    this.events.emit(ProviderEvents.Ready, { message: `in sync again at version ${this.#loaded?.version}` });
  }

  #fail(message: string, refused: boolean): void {
    if (this.#loaded === null && !this.#stale && !this.#refused) {
      // Before the first load the SDK reports the failed initialization itself.
      this.#stale = true;
      return;
    }
    if (refused && !this.#refused) {
      this.#refused = true;
      this.events.emit(ProviderEvents.Error, { message: `${message}; serving the last good flags` });
    } else if (!refused && !this.#stale) {
      this.#stale = true;
      this.events.emit(ProviderEvents.Stale, { message: `${message}; serving the last good flags` });
    }
  }

  /** Keeps the stream open while the provider is: each event syncs; an ended stream is reopened with a fresh URL after a backoff. */
  async #follow(): Promise<void> {
    let failures = 0;
    while (!this.#closed.signal.aborted) {
      const url = this.#streamUrl;
      if (!url) {
        // No stream offered (streaming off, or no sync yet): polling covers it; look again at the next sync.
        await this.#pause(this.#options.pollIntervalMs);
        continue;
      }
      const end = await followStream(url, {
        fetch: this.#options.fetch,
        connectTimeoutMs: this.#options.requestTimeoutMs,
        idleMs: this.#options.streamIdleMs,
        signal: this.#closed.signal,
        onOpen: () => {
          failures = 0;
          this.#streaming = true;
          // What changed while no stream was open.
          void this.#sync(true);
        },
        onChange: (version) => {
          if (version > this.#announced) this.#announced = version;
          if (!this.#loaded || version === 0 || version > this.#loaded.version) void this.#catchUp();
        },
      });
      this.#streaming = false;
      if (this.#closed.signal.aborted) return;
      failures++;
      this.#options.logger.warn(
        `edgeflags event stream ended (${end.kind === "refused" ? `refused, ${end.status}` : end.kind}); polling meanwhile`,
      );
      await this.#pause(Math.min(MAX_RECONNECT_MS, 500 * 2 ** Math.min(failures, 8)));
      // A new URL (a fresh token) comes with a full answer.
      await this.#sync(true, true);
    }
  }

  /**
   * Syncs until the flags served are at least the announced version. A sync already in flight
   * when the event came may answer the version before it, and a location whose KV lags answers
   * the old set for a while: either way the announced change is fetched again, never dropped.
   */
  async #catchUp(): Promise<void> {
    if (this.#catchingUp) return;
    this.#catchingUp = true;
    try {
      const until = Date.now() + CATCH_UP_MS;
      for (let wait = 100; !this.#closed.signal.aborted; wait = Math.min(wait * 2, 2_000)) {
        await this.#sync(true);
        if ((this.#loaded?.version ?? -1) >= this.#announced || Date.now() + wait > until) return;
        await this.#pause(wait);
      }
    } finally {
      this.#catchingUp = false;
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#closed.signal.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Starts due background work (a poll without a stream, a usage report): from the timer and every evaluation. */
  #kick(): void {
    if (this.#closed.signal.aborted) return;
    const now = Date.now();
    if (!this.#streaming && now >= this.#nextSyncAt && !this.#syncing) void this.#sync(false);
    const usageDue = this.#usage?.pending === true && now >= this.#usage.notBefore;
    const trackingDue = this.#tracker?.pending === true && now >= this.#tracker.notBefore;
    if ((usageDue || trackingDue) && now >= this.#nextFlushAt && !this.#flushing) {
      this.#nextFlushAt = now + this.#options.flushIntervalMs;
      const flushing = Promise.all([usageDue && this.#usage?.flush(now), trackingDue && this.#tracker?.flush(now)])
        .then(() => undefined)
        .finally(() => {
          this.#flushing = null;
        });
      this.#flushing = flushing;
      this.#options.waitUntil?.(flushing);
    }
  }

  /** The one timer (where the platform allows timers): kicks background work at the shorter interval. */
  #arm(): void {
    if (this.#closed.signal.aborted) return;
    clearTimeout(this.#timer);
    try {
      const timer = setTimeout(
        () => {
          this.#kick();
          this.#arm();
        },
        Math.max(100, Math.min(this.#options.pollIntervalMs, this.#options.flushIntervalMs)),
      );
      // In Node, the provider's timer does not keep the process alive: closing the provider flushes.
      const handle: unknown = timer;
      if (typeof handle === "object" && handle !== null && "unref" in handle && typeof handle.unref === "function") handle.unref();
      this.#timer = timer;
    } catch {
      // A Worker's global scope allows no timers: evaluations start the work instead.
    }
  }
}

/** The flags whose definition changed, appeared or went; every flag when the shared evaluators or metadata changed. */
function changedKeys(before: Loaded, after: Loaded): string[] {
  const all = new Set([...before.definitions.keys(), ...after.definitions.keys()]);
  if (before.shared !== after.shared) return [...all];
  return [...all].filter((key) => before.definitions.get(key) !== after.definitions.get(key));
}

/**
 * The engine's result as OpenFeature resolution details; no value served means the caller's
 * default. The metadata names the version that answered (`configVersion`), as the edge's does.
 */
function toResolution<T extends FlagValue>(result: EvaluationResult, defaultValue: T, configVersion: number): ResolutionDetails<T> {
  const flagMetadata = { ...result.metadata, configVersion };
  switch (result.kind) {
    case "value":
      // The engine checked the variant's type against the one asked for.
      return { value: result.value as T, variant: result.variant, reason: result.reason, flagMetadata };
    case "default":
      return { value: defaultValue, reason: result.reason, flagMetadata };
    case "error":
      return {
        value: defaultValue,
        reason: "ERROR",
        errorCode: ErrorCode[result.errorCode],
        errorMessage: result.errorDetails,
        flagMetadata,
      };
  }
}

/** The context as the edge would receive it over OFREP: JSON (dates as ISO strings, undefined dropped). */
function toEngineContext(context: EvaluationContext): EngineContext {
  for (const value of Object.values(context)) {
    if (typeof value === "object" && value !== null) return JSON.parse(JSON.stringify(context));
  }
  return context as EngineContext;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
