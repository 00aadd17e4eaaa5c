/**
 * Types of the pure evaluation engine. Nothing here knows about bindings, HTTP or storage.
 *
 * A flag set is a flagd flag-definition document
 * (https://flagd.dev/schema/v0/flags.json); a compiled flag set is built once per snapshot
 * version and evaluated synchronously, never throwing.
 */

/** A JSON value as it appears in a flag set or an evaluation context. */
export type JsonValue = null | boolean | number | string | JsonArray | JsonObject;
// Interfaces, not type aliases, so the recursion stays lazy for Durable Object RPC's stub types.
export interface JsonObject {
  [key: string]: JsonValue;
}
export interface JsonArray extends Array<JsonValue> {}

/** One flag of a flagd flag set, as written by the operator. */
export interface FlagDefinition {
  state: "ENABLED" | "DISABLED";
  variants: Record<string, JsonValue>;
  /** May be absent or null: then an unmatched evaluation falls back to the caller's default. */
  defaultVariant?: string | null;
  /** JsonLogic; `{}` or absent means no targeting. */
  targeting?: JsonValue;
  metadata?: Record<string, string | number | boolean>;
  /**
   * An edgeflags extension to flagd: flags that must evaluate to the given variant, for the same
   * context, before this flag's own rules apply; otherwise it serves its default variant with
   * reason `PREREQUISITE_FAILED`. `toPlainFlagd` (export.ts) rewrites them into plain targeting.
   */
  prerequisites?: Prerequisite[];
  /**
   * An edgeflags extension to flagd: individual targets, variant → targeting keys. A context whose
   * `targetingKey` is listed serves that variant (reason `TARGETING_MATCH`) after the kill switch
   * and the prerequisites, before `targeting`. A key is listed under one variant at most. The
   * FlagStore keeps them one row per key, so adding or removing a customer never rewrites the
   * flag's rules; `toPlainFlagd` (export.ts) rewrites them into plain targeting.
   */
  targets?: Record<string, string[]>;
}

export interface Prerequisite {
  flag: string;
  variant: string;
}

/** A flagd flag set: flags, shared `$evaluators` referenced with `{"$ref": name}`, and metadata. */
export interface FlagSet {
  flags: Record<string, FlagDefinition>;
  $evaluators?: Record<string, JsonValue>;
  metadata?: Record<string, string | number | boolean>;
}

/** The evaluation context: `targetingKey` plus any attributes. */
export type EvaluationContext = { targetingKey?: string } & Record<string, JsonValue | undefined>;

/** The OpenFeature type a caller asks for; the engine checks the resolved value against it. */
export type FlagType = "boolean" | "string" | "number" | "integer" | "object";

/** OpenFeature error codes, as string literals. */
export type ErrorCode = "FLAG_NOT_FOUND" | "PARSE_ERROR" | "TYPE_MISMATCH" | "TARGETING_KEY_MISSING" | "INVALID_CONTEXT" | "GENERAL";

export type FlagMetadata = Record<string, string | number | boolean>;

/**
 * The result of evaluating one flag: a discriminated union on `kind`.
 * - `value`: a variant was chosen; `reason` says why.
 * - `default`: no variant applies (disabled flag without an off variant, or no default variant and
 *   no targeting match);
 *   the caller's code default is to be used. OFREP serves this without a `value`.
 * - `error`: evaluation failed; the caller's default is to be used, with `errorCode`.
 */
export type EvaluationResult =
  | {
      kind: "value";
      key: string;
      value: JsonValue;
      variant: string;
      /** `DISABLED` here: a disabled flag with an off variant (see `OFF_VARIANT_METADATA_KEY`). */
      reason: "STATIC" | "TARGETING_MATCH" | "DEFAULT" | "PREREQUISITE_FAILED" | "DISABLED";
      metadata: FlagMetadata;
    }
  | {
      kind: "default";
      key: string;
      reason: "DEFAULT" | "DISABLED" | "TARGETING_MATCH" | "PREREQUISITE_FAILED";
      metadata: FlagMetadata;
    }
  | {
      kind: "error";
      key: string;
      reason: "ERROR";
      errorCode: ErrorCode;
      errorDetails: string;
      metadata: FlagMetadata;
    };

/** Which `fractional` bucketing a flag set uses; see `fractional.ts`. */
export type FractionalMode = "v2" | "v3";

/**
 * The flag-set metadata key that opts a flag set into fractional v3 bucketing
 * (`"edgeflags.fractional": "v3"`). flagd itself has no such switch yet; keys starting with
 * `edgeflags.` configure the engine and are not copied into evaluation metadata.
 */
export const FRACTIONAL_MODE_METADATA_KEY = "edgeflags.fractional";

/**
 * The flag metadata key naming a flag's off variant (`"metadata": {"edgeflags.offVariant": "off"}`),
 * an edgeflags extension to flagd: a DISABLED flag with an off variant serves that variant's value
 * with reason `DISABLED`, so a caller gets what "killed" means for this flag, not its code default.
 * Without it a DISABLED flag serves no value (flagd). It lives in metadata, under the engine's
 * `edgeflags.` prefix, so it can never clash with a flagd field and any flagd tool keeps it intact.
 */
export const OFF_VARIANT_METADATA_KEY = "edgeflags.offVariant";

/**
 * Set by `toPlainFlagd` on a DISABLED flag with an off variant, which plain flagd has no way to say:
 * the flag is exported ENABLED, serving its off variant to everyone, with this key set to "DISABLED".
 */
export const EXPORTED_STATE_METADATA_KEY = "edgeflags.state";

/** Options of `compileFlagSet`. */
export interface CompileOptions {
  /** Overrides the flag set's `edgeflags.fractional` metadata. Default: `v2`. */
  fractional?: FractionalMode;
}

/** Options of one evaluation. */
export interface EvaluateOptions {
  /** The type the caller expects; a variant of another type answers `TYPE_MISMATCH`. */
  type?: FlagType;
  /** The current time in milliseconds since the epoch (default `Date.now()`); `$flagd.timestamp` is it in whole seconds. */
  now?: number;
}

/** A flag set compiled once, evaluated many times; synchronous, never throws. */
export interface CompiledFlagSet {
  /** Every flag key, in document order (broken flags included). */
  readonly keys: readonly string[];
  /** Flag key → why its targeting could not compile; such a flag answers `PARSE_ERROR`. */
  readonly errors: ReadonlyMap<string, string>;
  /** The flag set's own metadata (engine keys `edgeflags.*` removed). */
  readonly metadata: FlagMetadata;
  /** The fractional bucketing in force. */
  readonly fractional: FractionalMode;
  /** Whether the set has a flag with this key. */
  has(flagKey: string): boolean;
  /** The variant the flag's individual `targets` list this context's `targetingKey` under, if any. */
  targetedBy(flagKey: string, context: EvaluationContext): string | undefined;
  /** Evaluates one flag. Results are frozen and may be shared between calls: do not mutate them. */
  evaluate(flagKey: string, context: EvaluationContext, options?: EvaluateOptions): EvaluationResult;
  /** Evaluates every flag (disabled and broken ones included, in `keys` order) for one context. */
  evaluateAll(context: EvaluationContext, options?: Omit<EvaluateOptions, "type">): EvaluationResult[];
}
