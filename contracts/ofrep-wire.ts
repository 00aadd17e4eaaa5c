/**
 * The one mapper from engine results to OFREP JSON and status codes
 * (`../shared/conformance/ofrep/service/openapi.yaml`): single and bulk evaluations, and every
 * refusal and error envelope the edge answers with.
 */
import type { ErrorCode, EvaluationResult, FlagMetadata, JsonValue } from "../engine/types";

export type OfrepSuccess = {
  key: string;
  reason: string;
  variant?: string;
  value?: JsonValue;
  metadata: FlagMetadata;
};

export type OfrepFailure = {
  key: string;
  errorCode: ErrorCode;
  errorDetails: string;
  metadata?: FlagMetadata;
};

/** One entry of a bulk response's `eventStreams` (OFREP ADR 0008). */
export interface OfrepEventStream {
  type: "sse";
  url: string;
  inactivityDelaySec: number;
}

/** An evaluation as it appears in an OFREP response body (single or an item of bulk). */
export function toOfrep(result: EvaluationResult, extraMetadata?: FlagMetadata): OfrepSuccess | OfrepFailure {
  const metadata = extraMetadata ? { ...result.metadata, ...extraMetadata } : result.metadata;
  switch (result.kind) {
    case "value":
      return { key: result.key, value: result.value, variant: result.variant, reason: result.reason, metadata };
    case "default":
      // No value: the provider serves the caller's code default (OFREP `codeDefaultFlag`).
      return { key: result.key, reason: result.reason, metadata };
    case "error":
      return { key: result.key, errorCode: result.errorCode, errorDetails: result.errorDetails, metadata };
  }
}

/** What the bulk response says of the configuration it evaluated. */
export interface OfrepBulkMetadata {
  project: string;
  environment: string;
  configVersion: number;
  updatedAt?: string;
  stale?: true;
  staleReason?: string;
}

/**
 * The body of a bulk evaluation (`bulkEvaluationSuccess`), serialized: the caller hashes it for
 * the ETag, so it is built once.
 */
export function toOfrepBulk(
  results: readonly EvaluationResult[],
  eventStreams: readonly OfrepEventStream[] | undefined,
  metadata: OfrepBulkMetadata,
): string {
  return JSON.stringify({
    flags: results.map((result) => toOfrep(result)),
    ...(eventStreams ? { eventStreams } : {}),
    metadata,
  });
}

/** The HTTP status of a single-flag evaluation. */
export function ofrepStatus(result: EvaluationResult): 200 | 400 | 404 {
  if (result.kind !== "error") return 200;
  switch (result.errorCode) {
    case "FLAG_NOT_FOUND":
      return 404;
    case "PARSE_ERROR":
    case "TYPE_MISMATCH":
    case "TARGETING_KEY_MISSING":
    case "INVALID_CONTEXT":
    case "GENERAL":
      return 400;
  }
}

/** Why an OFREP request is answered without an evaluation. */
export type OfrepRefusal =
  | { code: "unauthenticated"; detail: string }
  | { code: "forbidden"; detail: string }
  | { code: "not-found"; detail: string }
  | { code: "invalid-context"; detail: string }
  | { code: "too-large"; detail: string }
  | { code: "rate-limited"; detail: string; retryAfter: number }
  | { code: "unavailable"; detail: string; retryAfter: number }
  | { code: "internal"; detail: string };

/** Which OFREP route refuses: the single-flag route names the flag, the bulk route gives an error code. */
export type OfrepRoute = { flag: string } | "bulk" | "other";

/** Seconds a caller is asked to wait when the edge has nothing to serve (KV and the FlagStore failed). */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

/** The refusal when the edge has nothing it may serve; the caller retries (its SDK keeps its cache). */
export function unavailableRefusal(why: string): OfrepRefusal {
  return { code: "unavailable", detail: `${why}; retry in ${UNAVAILABLE_RETRY_AFTER_S} s`, retryAfter: UNAVAILABLE_RETRY_AFTER_S };
}

/**
 * The response refusing an OFREP request: `evaluationFailure` (key, errorCode) on the single-flag
 * route, `bulkEvaluationFailure` (errorCode) on the bulk route, `generalErrorResponse` elsewhere.
 *
 * @example
 * return ofrepRefusal({ code: "unavailable", detail: "…", retryAfter: 5 }, "bulk");
 */
export function ofrepRefusal(refusal: OfrepRefusal, route: OfrepRoute): Response {
  const headers: Record<string, string> = { "cache-control": "no-store" };
  let status: 400 | 401 | 403 | 404 | 413 | 429 | 500 | 503;
  switch (refusal.code) {
    case "unauthenticated":
      status = 401;
      break;
    case "forbidden":
      status = 403;
      break;
    case "not-found":
      status = 404;
      break;
    case "invalid-context":
      status = 400;
      break;
    case "too-large":
      status = 413;
      break;
    case "rate-limited":
      status = 429;
      headers["retry-after"] = String(refusal.retryAfter);
      break;
    case "unavailable":
      status = 503;
      headers["retry-after"] = String(refusal.retryAfter);
      break;
    case "internal":
      status = 500;
      break;
  }
  const errorCode = refusal.code === "invalid-context" ? "INVALID_CONTEXT" : refusal.code === "not-found" ? "FLAG_NOT_FOUND" : "GENERAL";
  const evaluation = status === 400 || status === 404 || status === 413 || status === 503;
  const body =
    route === "other" || !evaluation
      ? { errorDetails: refusal.detail }
      : route === "bulk"
        ? { errorCode, errorDetails: refusal.detail }
        : { key: route.flag, errorCode, errorDetails: refusal.detail };
  return Response.json(body, { status, headers });
}
