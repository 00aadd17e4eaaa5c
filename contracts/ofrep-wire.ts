/**
 * The one mapper from engine results to OFREP JSON and status codes
 * (`../shared/conformance/ofrep/service/openapi.yaml`): single and bulk evaluations, and every
 * refusal and error envelope the edge answers with.
 */
import { murmur3 } from "../engine/murmur3";
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

/** A result's OFREP JSON as an item of a bulk body, with a 32-bit hash of that text. */
interface Fragment {
  readonly json: string;
  readonly hash: number;
}

/**
 * Fragments of shared results. The engine builds every result that does not depend on the context
 * once per snapshot and shares it, frozen, between evaluations, so each is serialized once per
 * isolate; a result built for one evaluation (an error) is serialized each time.
 */
const fragments = new WeakMap<EvaluationResult, Fragment>();

function fragmentOf(result: EvaluationResult): Fragment {
  const cached = fragments.get(result);
  if (cached) return cached;
  const json = JSON.stringify(toOfrep(result));
  const fragment = { json, hash: murmur3(json) };
  if (Object.isFrozen(result)) fragments.set(result, fragment);
  return fragment;
}

/** The `flags` of a bulk body as JSON text, and a 64-bit digest (hex) of the results in order. */
export interface BulkFlags {
  readonly json: string;
  readonly digest: string;
}

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, "0");

/**
 * The `flags` array of a bulk evaluation, concatenated from each result's cached JSON, with a
 * digest of the result vector (two 32-bit lanes over the fragments' hashes) for the ETag: the
 * same results in the same order give the same digest in every isolate, without hashing the body.
 *
 * @example
 * const flags = bulkFlags(compiled.evaluateAll(context)); // { json: '[{"key":"beta",…}]', digest: "5f0c…" }
 */
export function bulkFlags(results: readonly EvaluationResult[]): BulkFlags {
  let json = "[";
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < results.length; i++) {
    const fragment = fragmentOf(results[i]!);
    json += i === 0 ? fragment.json : `,${fragment.json}`;
    a = Math.imul(a ^ fragment.hash, 0x01000193);
    b = Math.imul(b ^ fragment.hash, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return { json: `${json}]`, digest: hex8(a) + hex8(b ^ results.length) };
}

/**
 * The body of a bulk evaluation (`bulkEvaluationSuccess`), serialized as `JSON.stringify` of
 * `{ flags, eventStreams, metadata }` would, and its strong ETag: the configuration version, the
 * digest of the results and a hash of everything after them (event streams and metadata), so any
 * change to the body changes the tag.
 */
export function toOfrepBulk(
  flags: BulkFlags,
  eventStreams: readonly OfrepEventStream[] | undefined,
  metadata: OfrepBulkMetadata,
): { body: string; etag: string } {
  return bulkBody(flags, bulkTail(eventStreams, metadata));
}

/** What a bulk body says after its flags (event streams and metadata), with its hash: shared by every context answered alike. */
export interface BulkTail {
  readonly json: string;
  readonly configVersion: number;
  readonly hash: string;
}

/** The tail of a bulk body (`toOfrepBulk`), to build many bodies with (`bulkBody`). */
export function bulkTail(eventStreams: readonly OfrepEventStream[] | undefined, metadata: OfrepBulkMetadata): BulkTail {
  const json = `${eventStreams ? `,"eventStreams":${JSON.stringify(eventStreams)}` : ""},"metadata":${JSON.stringify(metadata)}}`;
  return { json, configVersion: metadata.configVersion, hash: hex8(murmur3(json)) };
}

/** `toOfrepBulk` from its tail: the body (flattened, as it is sent) and the strong ETag. */
export function bulkBody(flags: BulkFlags, tail: BulkTail): { body: string; etag: string } {
  return { body: `{"flags":${flags.json}${tail.json}`, etag: `"${tail.configVersion}-${flags.digest}${tail.hash}"` };
}

/** Single-flag answers of shared results at the version they were last served with. */
const singles = new WeakMap<EvaluationResult, { version: number; json: string }>();

/**
 * The body of a single-flag evaluation: the result with `configVersion` (and, when stale, the
 * stale fields) in its metadata. A shared result's body is kept for the version it was built at.
 */
export function toOfrepSingle(result: EvaluationResult, configVersion: number, stale?: { stale: true; staleReason: string }): string {
  if (stale) return JSON.stringify(toOfrep(result, { configVersion, ...stale }));
  const cached = singles.get(result);
  if (cached && cached.version === configVersion) return cached.json;
  const json = JSON.stringify(toOfrep(result, { configVersion }));
  if (Object.isFrozen(result)) singles.set(result, { version: configVersion, json });
  return json;
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
