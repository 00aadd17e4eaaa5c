/**
 * What one evaluation of each side produced, and how two of them compare. Pure: no clock beyond
 * the time stamp handed in, no I/O.
 */
import type { EvaluationContext, ResolutionDetails } from "@openfeature/server-sdk";
import { LIMITS, type EdgeflagsAnswer, type JsonValue, type LegacyAnswer, type Sample } from "./wire.js";

/** A provider's answer, or what it threw: evaluation is settled, never rethrown here. */
export type Outcome = { ok: true; details: ResolutionDetails<JsonValue> } | { ok: false; error: unknown };

/** What comparing one legacy and one edgeflags outcome found. */
export type Comparison =
  /** The legacy provider failed: there is no answer to hold edgeflags to, so nothing is counted. */
  { kind: "legacy-error" } | { kind: "match" } | { kind: "mismatch"; legacy: LegacyAnswer; edgeflags: EdgeflagsAnswer };

/** The OpenFeature error code of a thrown error (`OpenFeatureError.code`), else GENERAL. */
function thrownCode(error: unknown): string {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" && error.code !== "")
    return error.code;
  return "GENERAL";
}

/** Structural equality of two JSON values (object flags are compared by content, not identity). */
export function sameValue(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => sameValue(item, b[i] ?? null));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => key in b && sameValue(a[key] ?? null, b[key] ?? null));
}

/**
 * Whether `value` is a JSON value (what a sample can carry and the ingest accepts): not
 * `undefined`, a function, a bigint or a structure with a cycle, which a hand-written provider may
 * hand back despite its types.
 */
export function isJsonValue(value: unknown): value is JsonValue {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value !== "object") return false;
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false;
  }
}

/** A string field of a provider's answer, cut to `max`; anything else is left out. */
function text(value: unknown, max: number): string | undefined {
  return typeof value === "string" && value !== "" ? value.slice(0, max) : undefined;
}

/**
 * Compares the two answers by value (variant names of a homegrown system rarely match ours). An
 * edgeflags error is always a mismatch carrying its errorCode, even when the default it fell back
 * to happens to equal the legacy answer: the flag is not answered by edgeflags yet.
 */
export function compare(legacy: Outcome, edgeflags: Outcome): Comparison {
  // No answer to hold edgeflags to: an error, or a value the application's SDK could not use either.
  // (Reason ERROR without an error code is an error too: the value is the caller's fallback.)
  const failed = !legacy.ok || legacy.details.errorCode || legacy.details.reason === "ERROR";
  if (failed || !isJsonValue(legacy.details.value)) return { kind: "legacy-error" };
  const legacyAnswer: LegacyAnswer = { value: legacy.details.value };
  const legacyVariant = text(legacy.details.variant, LIMITS.variant);
  if (legacyVariant) legacyAnswer.variant = legacyVariant;
  if (!edgeflags.ok) {
    return { kind: "mismatch", legacy: legacyAnswer, edgeflags: { errorCode: thrownCode(edgeflags.error).slice(0, LIMITS.reason) } };
  }
  const details = edgeflags.details;
  const errorCode =
    text(details.errorCode, LIMITS.reason) ?? (isJsonValue(details.value) && details.reason !== "ERROR" ? undefined : "GENERAL");
  if (!errorCode && sameValue(legacy.details.value, details.value)) return { kind: "match" };
  const answer: EdgeflagsAnswer = isJsonValue(details.value) ? { value: details.value } : {};
  const variant = text(details.variant, LIMITS.variant);
  const reason = text(details.reason, LIMITS.reason);
  if (variant) answer.variant = variant;
  if (reason) answer.reason = reason;
  if (errorCode) answer.errorCode = errorCode;
  return { kind: "mismatch", legacy: legacyAnswer, edgeflags: answer };
}

const encoder = new TextEncoder();

/** Bytes of `value` serialized as JSON. */
export function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).length;
}

/**
 * The context of a sample as plain JSON, within the server's bound: attributes are kept in order
 * while they fit (the targeting key first), so an oversized context still names its unit. A
 * context that cannot be serialized keeps only its targeting key.
 */
export function sampleContext(context: EvaluationContext): Record<string, JsonValue> {
  let plain: unknown;
  try {
    plain = JSON.parse(JSON.stringify(context));
  } catch {
    plain = null;
  }
  const out: Record<string, JsonValue> = {};
  if (typeof context.targetingKey === "string") out.targetingKey = context.targetingKey;
  if (typeof plain !== "object" || plain === null || Array.isArray(plain)) return out;
  let bytes = jsonBytes(out);
  for (const [key, value] of Object.entries(plain)) {
    if (key === "targetingKey") continue;
    const added = jsonBytes({ [key]: value }) - 1;
    if (bytes + added > LIMITS.contextBytes) continue;
    out[key] = value;
    bytes += added;
  }
  return out;
}

/** A sample of a mismatch, stamped `at`. */
export function toSample(at: number, context: EvaluationContext, found: Extract<Comparison, { kind: "mismatch" }>): Sample {
  return { at: new Date(at).toISOString(), context: sampleContext(context), legacy: found.legacy, edgeflags: found.edgeflags };
}
