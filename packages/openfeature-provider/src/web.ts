/**
 * `@edgeflags/openfeature-provider/web`: OpenFeature tracking for a web page that evaluates with
 * `@openfeature/ofrep-web-provider`. `EdgeflagsWebProvider` wraps that provider: evaluation,
 * context changes and events are the wrapped provider's; `track()` batches the events to the
 * service's `POST /ofrep/v1/track` (an edgeflags extension of OFREP) with the same client key.
 *
 * A batch goes after `flushIntervalMs`, and at once when the page is hidden or left
 * (`visibilitychange` to hidden, `pagehide`) with `fetch(…, { keepalive: true })`, which outlives
 * the page; `navigator.sendBeacon` is not used because it cannot send the key's header.
 *
 * @example
 * const ofrep = new OFREPWebProvider({ baseUrl: "https://flags.example.com", headers: [["Authorization", `Bearer ${clientKey}`]] });
 * await OpenFeature.setProviderAndWait(new EdgeflagsWebProvider(ofrep, { url: "https://flags.example.com", clientKey }));
 * OpenFeature.getClient().track("checkout", { value: 42.5 });
 */
import type { EvaluationContext, JsonValue, Logger, Provider, ResolutionDetails, TrackingEventDetails } from "@openfeature/web-sdk";
import type { Fetch } from "../../openfeature-audit-mode/src/deadline.ts";
import { Tracker, type TrackingStats } from "./tracking.ts";

export type { TrackingStats } from "./tracking.ts";

/** What a page listens on for being hidden or left: `window` (default), or a stand-in in tests. */
export interface Page {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
  /** `document.visibilityState` (read when `visibilitychange` fires). */
  readonly hidden?: () => boolean;
}

export interface EdgeflagsWebProviderOptions {
  /** The edgeflags Worker's base URL, as given to the wrapped provider. */
  url: string;
  /** The environment's client key. */
  clientKey: string;
  /** How long events gather before a batch is sent (default 5 s). */
  flushIntervalMs?: number;
  /** Deadline of each send (default 10 s). */
  requestTimeoutMs?: number;
  fetch?: Fetch;
  /** Where hiding and leaving are listened for (default: `window` when there is one). */
  page?: Page | null;
  logger?: { warn(message: string): void; error(message: string): void };
}

/** The page of the global scope, when it is a browser window. */
function windowPage(): Page | null {
  const scope: unknown = globalThis;
  if (typeof scope !== "object" || scope === null || !("addEventListener" in scope) || !("document" in scope)) return null;
  const target = scope as unknown as EventTarget & { document: { visibilityState?: string } };
  return {
    addEventListener: (type, listener) => target.addEventListener(type, listener),
    removeEventListener: (type, listener) => target.removeEventListener(type, listener),
    hidden: () => target.document.visibilityState === "hidden",
  };
}

/** A web provider that evaluates with the provider it wraps and sends `track()` events to edgeflags. */
export class EdgeflagsWebProvider implements Provider {
  readonly metadata = { name: "edgeflags-web" } as const;
  readonly runsOn = "client";
  readonly #inner: Provider;
  readonly #tracker: Tracker;
  readonly #flushIntervalMs: number;
  readonly #page: Page | null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #listening = false;
  readonly #onHidden = (): void => {
    if (this.#page?.hidden?.() === false) return;
    void this.#tracker.flush(Date.now(), { force: true, keepalive: true });
  };

  constructor(inner: Provider, options: EdgeflagsWebProviderOptions) {
    if (!options.clientKey) throw new TypeError("clientKey must be a client key of the environment");
    this.#inner = inner;
    this.#flushIntervalMs = options.flushIntervalMs ?? 5_000;
    this.#page = options.page === undefined ? windowPage() : options.page;
    this.#tracker = new Tracker({
      url: options.url,
      key: options.clientKey,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      logger: options.logger ?? console,
    });
  }

  get events(): Provider["events"] {
    return this.#inner.events;
  }

  get hooks() {
    return this.#inner.hooks;
  }

  async initialize(context?: EvaluationContext): Promise<void> {
    if (this.#page && !this.#listening) {
      this.#page.addEventListener("pagehide", this.#onHidden);
      this.#page.addEventListener("visibilitychange", this.#onHidden);
      this.#listening = true;
    }
    await this.#inner.initialize?.(context);
  }

  onContextChange(oldContext: EvaluationContext, newContext: EvaluationContext): Promise<void> | void {
    return this.#inner.onContextChange?.(oldContext, newContext);
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext, logger: Logger): ResolutionDetails<boolean> {
    return this.#inner.resolveBooleanEvaluation(flagKey, defaultValue, context, logger);
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext, logger: Logger): ResolutionDetails<string> {
    return this.#inner.resolveStringEvaluation(flagKey, defaultValue, context, logger);
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext, logger: Logger): ResolutionDetails<number> {
    return this.#inner.resolveNumberEvaluation(flagKey, defaultValue, context, logger);
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
    logger: Logger,
  ): ResolutionDetails<T> {
    return this.#inner.resolveObjectEvaluation(flagKey, defaultValue, context, logger);
  }

  /**
   * Queues a tracking event for the next batch with its `value` and custom fields (string, number,
   * boolean or `Date`; see `Tracker.record` for the bounds); it is attributed to the variant the
   * context's targeting key was exposed to.
   */
  track(trackingEventName: string, context: EvaluationContext, trackingEventDetails: TrackingEventDetails): void {
    this.#tracker.record({ name: trackingEventName, targetingKey: context.targetingKey, details: trackingEventDetails }, Date.now());
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.#tracker.flush(Date.now());
    }, this.#flushIntervalMs);
  }

  /** Sends the events tracked so far (a backoff is not waited out). Resolves when done; never rejects. */
  flush(): Promise<void> {
    return this.#tracker.flush(Date.now(), { force: true });
  }

  stats(): TrackingStats {
    return this.#tracker.stats();
  }

  /** Stops listening, sends what is left, then closes the wrapped provider. */
  async onClose(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#page && this.#listening) {
      this.#page.removeEventListener("pagehide", this.#onHidden);
      this.#page.removeEventListener("visibilitychange", this.#onHidden);
      this.#listening = false;
    }
    await this.flush();
    await this.#inner.onClose?.();
  }
}
