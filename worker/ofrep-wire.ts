/**
 * The one mapper from engine results to OFREP JSON and status codes
 * (`../shared/conformance/ofrep/service/openapi.yaml`).
 */
import type { ErrorCode, EvaluationResult, FlagMetadata, JsonValue } from "./engine/types";

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
