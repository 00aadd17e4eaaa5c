/**
 * The thinnest honest OFREP server provider: `@openfeature/server-sdk`'s `Provider` over the
 * `OFREPApi` of `@openfeature/ofrep-core` 2.3.0, which does all of the HTTP, status and body
 * handling. It exists because the published `@openfeature/ofrep-provider` 0.1.3 is built on
 * ofrep-core 0.1.4, which rejects a `200` without `value` (OFREP's "use the code default" answer)
 * as an unexpected response; see README.md ("The published server provider").
 *
 * It does what upstream's server provider does on ofrep-core 2.x: one `POST
 * /ofrep/v1/evaluate/flags/{key}` per evaluation, failures mapped by `handleEvaluationError`,
 * successes by `toResolutionDetails` (type checked against the caller's default), and a `429`
 * pauses evaluation until its `Retry-After`.
 *
 * ofrep-core 2.3.0 is installed only under `@openfeature/ofrep-web-provider`; it is imported from
 * there until it is a top-level dependency.
 */
import {
  handleEvaluationError,
  OFREPApi,
  OFREPApiTooManyRequestsError,
  toResolutionDetails,
} from "../../node_modules/@openfeature/ofrep-web-provider/node_modules/@openfeature/ofrep-core";
import type { OFREPProviderBaseOptions } from "../../node_modules/@openfeature/ofrep-web-provider/node_modules/@openfeature/ofrep-core";
import { GeneralError } from "@openfeature/server-sdk";
import type { EvaluationContext, JsonValue, Provider, ResolutionDetails } from "@openfeature/server-sdk";

export type OfrepServerProviderOptions = OFREPProviderBaseOptions;

/**
 * A server-side (dynamic context) OFREP provider.
 *
 * @example
 * await OpenFeature.setProviderAndWait(new OfrepServerProvider({ baseUrl, headers: [["Authorization", `Bearer ${key}`]] }));
 */
export class OfrepServerProvider implements Provider {
  readonly runsOn = "server";
  readonly metadata = { name: "OFREP server (ofrep-core 2.3.0)" } as const;
  readonly #api: OFREPApi;
  #notBefore: Date | null = null;

  constructor(options: OfrepServerProviderOptions) {
    new URL(options.baseUrl);
    this.#api = new OFREPApi(options, options.fetchImplementation);
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return this.#evaluate(flagKey, defaultValue, context);
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return this.#evaluate(flagKey, defaultValue, context);
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return this.#evaluate(flagKey, defaultValue, context);
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return this.#evaluate(flagKey, defaultValue, context);
  }

  async onClose(): Promise<void> {
    this.#api.close();
  }

  async #evaluate<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    if (this.#notBefore && this.#notBefore > new Date()) {
      throw new GeneralError(`OFREP evaluation paused after 429 until ${this.#notBefore.toISOString()}`);
    }
    this.#notBefore = null;
    try {
      const result = await this.#api.postEvaluateFlag(flagKey, { context });
      if (result.httpStatus !== 200) return handleEvaluationError(result.value, defaultValue) as ResolutionDetails<T>;
      return toResolutionDetails(result.value, defaultValue) as ResolutionDetails<T>;
    } catch (error) {
      if (error instanceof OFREPApiTooManyRequestsError) this.#notBefore = error.retryAfterDate;
      throw error;
    }
  }
}
