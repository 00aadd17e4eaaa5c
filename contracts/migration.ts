/**
 * Audit mode and cut-over, declared once: the comparison batches an application sends to
 * `POST /migration/v1/comparisons`, the authority it reads from `GET /migration/v1/status`, what
 * the snapshot carries of it, the exit criterion and how it is judged, and the admin API's bodies
 * and answers (`/admin/v1/projects/{p}/migration`, `…/environments/{env}/migration…`).
 *
 * @example
 * const status = migrationStatus("production", snapshot.migration, Date.now());
 * // { environment: "production", authority: "legacy", since: null, graceUntil: null, report: true }
 */
import * as z from "./zod.ts";
import { flagKeyProblem } from "../engine/index";
import { JsonValueSchema } from "./admin-responses";
import { AUTHORITIES, type SnapshotMigration } from "./snapshot";
import {
  MigrationCriterionSchema,
  MigrationEnvironmentSchema,
  COVERAGE_LISTED,
  type CriterionStatus,
  type FlagComparison,
  type MigrationCoverage,
  type MigrationCriterion,
} from "./migration-report";

export { AUTHORITIES, type Authority, type SnapshotMigration } from "./snapshot";
export * from "./migration-report";

// ---- ingest -------------------------------------------------------------------------------

/** The largest comparison batch body, in bytes. */
export const MAX_COMPARISON_BODY_BYTES = 256 * 1024;
/** The most entries (flags) in one batch, and samples per entry. */
export const MAX_BATCH_ENTRIES = 1_000;
export const MAX_ENTRY_SAMPLES = 20;
/** The largest count one entry may report. */
export const MAX_ENTRY_COUNT = 10_000_000;
/** The largest sample context, serialized as JSON (UTF-8 bytes), as sent. */
export const MAX_SAMPLE_CONTEXT_BYTES = 4 * 1024;
/** The latest samples the ledger keeps per environment and flag. */
export const SAMPLES_KEPT = 20;
/** How long a batch id is remembered (a retry within it is counted once), in milliseconds. */
export const BATCH_RETENTION_MS = 7 * 24 * 3_600_000;

const utf8 = new TextEncoder();

const FlagKey = z.string().superRefine((key, ctx) => {
  const problem = flagKeyProblem(key);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** Any JSON value: the admin document's one named recursive schema (an unnamed one cannot be described). */
const Json = JsonValueSchema;

const SampleSchema = z.object({
  at: z.iso.datetime({ offset: true }).optional(),
  context: z
    .record(z.string(), Json)
    .refine((context) => context.targetingKey === undefined || typeof context.targetingKey === "string", {
      message: "targetingKey must be a string",
      path: ["targetingKey"],
    })
    .refine((context) => utf8.encode(JSON.stringify(context)).byteLength <= MAX_SAMPLE_CONTEXT_BYTES, {
      message: `a sample context is at most ${MAX_SAMPLE_CONTEXT_BYTES} bytes serialized as JSON; send fewer attributes`,
    }),
  legacy: z.object({ value: Json, variant: z.string().max(256).optional() }),
  edgeflags: z.object({
    value: Json.optional(),
    variant: z.string().max(256).optional(),
    reason: z.string().max(64).optional(),
    errorCode: z.string().max(64).optional(),
  }),
});

const Count = z.number().int().min(0).max(MAX_ENTRY_COUNT);

const EntrySchema = z
  .object({
    flag: FlagKey,
    compared: Count,
    mismatched: Count,
    /** Evaluations not compared (the legacy side failed, or the application had too many waiting); absent: 0. */
    uncompared: Count.optional(),
    samples: z.array(SampleSchema).max(MAX_ENTRY_SAMPLES).optional(),
  })
  .refine((entry) => entry.mismatched <= entry.compared, { message: "mismatched cannot exceed compared", path: ["mismatched"] })
  .refine((entry) => (entry.samples?.length ?? 0) <= entry.mismatched, {
    message: "each sample is a mismatch: send at most `mismatched` samples",
    path: ["samples"],
  });

/** `POST /migration/v1/comparisons`: one batch of comparison counts and mismatching samples. */
export const ComparisonBatchSchema = z
  .object({
    /** The idempotency key: a retry sends the same id and is counted once. */
    batch: z
      .string()
      .min(8)
      .max(128)
      .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces"),
    entries: z.array(EntrySchema).max(MAX_BATCH_ENTRIES),
  })
  .openapi("ComparisonBatch");
export type ComparisonBatch = z.infer<typeof ComparisonBatchSchema>;
export type ComparisonSample = z.infer<typeof SampleSchema>;

/** A sample as the ledger stores it: the targeting key replaced by its SHA-256 (hex), the time fixed. */
export interface StoredSample {
  at: string;
  context: ComparisonSample["context"];
  legacy: ComparisonSample["legacy"];
  edgeflags: ComparisonSample["edgeflags"];
}

/** A batch as the edge hands it to the ledger. */
export interface LedgerBatch {
  batch: string;
  entries: { flag: string; compared: number; mismatched: number; uncompared: number; samples: StoredSample[] }[];
}

/** What recording a batch did: counted now, or already counted before (a duplicate). */
export interface Recorded {
  duplicate: boolean;
  counted: { compared: number; mismatched: number };
}

// ---- authority ----------------------------------------------------------------------------

export const MigrationStatusSchema = z
  .object({
    environment: z.string(),
    authority: z.enum(AUTHORITIES),
    since: z.string().nullable(),
    graceUntil: z.string().nullable(),
    /** Keep sending comparisons: while legacy answers, and until `graceUntil` after a cut-over. */
    report: z.boolean(),
  })
  .openapi("MigrationStatus");
export type MigrationStatus = z.infer<typeof MigrationStatusSchema>;

/** The status an application follows, from what the snapshot says (nothing: legacy answers). */
export function migrationStatus(environment: string, migration: SnapshotMigration | undefined, now: number): MigrationStatus {
  if (!migration) return { environment, authority: "legacy", since: null, graceUntil: null, report: true };
  const { authority, since, graceUntil } = migration;
  const report = authority === "legacy" || (graceUntil !== null && Date.parse(graceUntil) > now);
  return { environment, authority, since, graceUntil, report };
}

/** The ingest's answer. */
export const ComparisonsAcceptedSchema = z
  .object({
    batch: z.string(),
    duplicate: z.boolean(),
    counted: z.object({ compared: z.number(), mismatched: z.number() }),
    /** The environment's status, as the snapshot says; null when the edge has no snapshot to read it from. */
    authority: MigrationStatusSchema.nullable(),
  })
  .openapi("ComparisonsAccepted");

// ---- the exit criterion -------------------------------------------------------------------

/** What the ledger holds of an environment over a criterion's window. */
export interface Evidence {
  /** Comparisons and mismatches in the last `days` days. */
  compared: number;
  mismatched: number;
  /**
   * Evaluations in the window the application could not compare (the legacy side failed, or too
   * many comparisons waited): not part of the criterion, said beside it so fewer comparisons than
   * evaluations is never silent.
   */
  uncompared: number;
  /** First and last comparison ever seen (ISO), null before any. */
  firstSeen: string | null;
  lastSeen: string | null;
}

const DAY_MS = 86_400_000;

/**
 * Judges the exit criterion at `now`: comparisons seen for at least `days` days (first seen ≤ now
 * − days), at least `minComparisons` and at most `maxMismatches` in the last `days` days.
 *
 * @example
 * judgeCriterion(DEFAULT_CRITERION, { compared: 12_000, mismatched: 0, firstSeen: "…", lastSeen: "…" }, Date.now());
 */
export function judgeCriterion(criterion: MigrationCriterion, evidence: Evidence, now: number): CriterionStatus {
  const reasons: string[] = [];
  const { days, minComparisons, maxMismatches } = criterion;
  if (evidence.firstSeen === null) reasons.push("no comparisons have been reported yet");
  else if (Date.parse(evidence.firstSeen) > now - days * DAY_MS) {
    const seenDays = Math.floor((now - Date.parse(evidence.firstSeen)) / DAY_MS);
    reasons.push(`comparisons have been seen for ${seenDays} of the ${days} days required (first seen ${evidence.firstSeen})`);
  }
  if (evidence.compared < minComparisons)
    reasons.push(`${evidence.compared} comparisons in the last ${days} days, fewer than the ${minComparisons} required`);
  if (evidence.mismatched > maxMismatches)
    reasons.push(`${evidence.mismatched} mismatches in the last ${days} days, more than the ${maxMismatches} allowed`);
  return { met: reasons.length === 0, reasons, ...evidence };
}

// ---- admin API ----------------------------------------------------------------------------

export const CriterionBodySchema = MigrationCriterionSchema.extend({ reason: z.string().max(1_000).optional() }).openapi("CriterionBody");

/** A decision to cut over, with the evidence it was taken on: what the FlagStore records. */
export interface CutOverDecision {
  authority: (typeof AUTHORITIES)[number];
  override: boolean;
  graceDays: number;
  criterion: MigrationCriterion;
  status: CriterionStatus;
  /** How much of the environment the status covers (recorded with the decision; not part of the criterion). */
  coverage: MigrationCoverage;
}

/** The coverage of an environment holding `keys`, from its per-flag comparisons. */
export function migrationCoverage(keys: readonly string[], flags: readonly FlagComparison[]): MigrationCoverage {
  const held = new Set(keys);
  const seen = new Set(flags.filter((flag) => flag.recent.compared > 0).map((flag) => flag.flag));
  const list = (all: string[]) => ({ count: all.length, keys: all.sort().slice(0, COVERAGE_LISTED) });
  return {
    flags: held.size,
    compared: [...held].filter((key) => seen.has(key)).length,
    uncompared: list([...held].filter((key) => !seen.has(key))),
    missing: list([...seen].filter((key) => !held.has(key))),
  };
}

export const HourBucketSchema = z.object({ hour: z.string(), compared: z.number(), mismatched: z.number() });
export const MigrationSampleSchema = z.object({
  flag: z.string(),
  at: z.string(),
  context: z.record(z.string(), Json),
  legacy: z.object({ value: Json, variant: z.string().optional() }),
  edgeflags: z.object({
    value: Json.optional(),
    variant: z.string().optional(),
    reason: z.string().optional(),
    errorCode: z.string().optional(),
  }),
});
export type MigrationSample = z.infer<typeof MigrationSampleSchema>;

export const MigrationDetailSchema = MigrationEnvironmentSchema.extend({
  series: z.array(HourBucketSchema),
  samples: z.array(MigrationSampleSchema),
}).openapi("MigrationDetail");

/** The admin detail view's query: `?flag=` narrows series and samples to one flag. */
export const MigrationDetailQuerySchema = z.object({ flag: FlagKey.optional() });
