/**
 * The admin API's answers about a migration (audit mode and cut-over), declared once: what
 * `GET /admin/v1/projects/{p}/migration` and the cut-over and criterion routes answer, and the
 * cut-over's body. The console, the CLI and the tests read them from here; `./migration.ts`
 * re-exports them beside the ingest and the judging. Imports only zod and the authorities, so the
 * Node CLI loads it as it is.
 */
import * as z from "./zod.ts";
import { AUTHORITIES } from "./authority.ts";

export const MigrationCriterionSchema = z
  .object({
    minComparisons: z.number().int().min(0).max(1e12).default(10_000),
    days: z.number().int().min(1).max(90).default(7),
    maxMismatches: z.number().int().min(0).max(1e12).default(0),
  })
  .openapi("MigrationCriterion");
export type MigrationCriterion = z.output<typeof MigrationCriterionSchema>;
export const DEFAULT_CRITERION: MigrationCriterion = { minComparisons: 10_000, days: 7, maxMismatches: 0 };

export const CriterionStatusSchema = z
  .object({
    met: z.boolean(),
    /** Each unmet condition, in words; empty when met. */
    reasons: z.array(z.string()),
    compared: z.number(),
    mismatched: z.number(),
    /** Evaluations in the window that could not be compared (recorded decisions before it was kept: 0). */
    uncompared: z.number().default(0),
    firstSeen: z.string().nullable(),
    lastSeen: z.string().nullable(),
  })
  .openapi("CriterionStatus");
export type CriterionStatus = z.infer<typeof CriterionStatusSchema>;

export const CutOverBodySchema = z
  .object({
    authority: z.enum(AUTHORITIES),
    /** Cut over to edgeflags although the criterion is not met (recorded as overridden). */
    override: z.boolean().default(false),
    /** Days the application keeps reporting comparisons after a cut-over to edgeflags. */
    graceDays: z.number().int().min(0).max(365).default(14),
    reason: z.string().max(1_000).optional(),
  })
  .openapi("CutOverBody");
export type CutOverBody = z.output<typeof CutOverBodySchema>;

/** An environment's migration state as the FlagStore holds it. */
export const MigrationStateSchema = z.object({
  environment: z.string(),
  authority: z.enum(AUTHORITIES),
  since: z.string().nullable(),
  graceUntil: z.string().nullable(),
  criterion: MigrationCriterionSchema,
});
export type MigrationState = z.infer<typeof MigrationStateSchema>;

export const FlagComparisonSchema = z.object({
  flag: z.string(),
  compared: z.number(),
  mismatched: z.number(),
  /** mismatched / compared (0 when nothing was compared). */
  rate: z.number(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  lastMismatchAt: z.string().nullable(),
  /** Comparisons and mismatches in the criterion's window (the last `days` days): what the criterion judges. */
  recent: z.object({ compared: z.number(), mismatched: z.number(), uncompared: z.number().default(0) }),
});
export type FlagComparison = z.infer<typeof FlagComparisonSchema>;

/** The most flag keys a coverage list names; `count` says how many there are. */
export const COVERAGE_LISTED = 100;

const FlagKeyList = z.object({ count: z.number(), keys: z.array(z.string()) });

/**
 * How much of the environment audit mode has seen in the criterion's window: a criterion met on
 * 12 of 200 flags cuts 188 over unverified. Read beside the criterion, never part of it (a flag no
 * code evaluates any more is never compared).
 */
export const MigrationCoverageSchema = z
  .object({
    /** Flags the environment holds in edgeflags. */
    flags: z.number(),
    /** Of them, flags compared at least once in the window. */
    compared: z.number(),
    /** The environment's flags with no comparison in the window (sorted; the first `COVERAGE_LISTED`). */
    uncompared: FlagKeyList,
    /** Flags compared in the window that the environment does not hold: not imported, or deleted since. */
    missing: FlagKeyList,
  })
  .openapi("MigrationCoverage");
export type MigrationCoverage = z.infer<typeof MigrationCoverageSchema>;

export const MigrationEnvironmentSchema = MigrationStateSchema.extend({
  status: CriterionStatusSchema,
  flags: z.array(FlagComparisonSchema),
  coverage: MigrationCoverageSchema,
}).openapi("MigrationEnvironment");
export type MigrationEnvironment = z.infer<typeof MigrationEnvironmentSchema>;

export const MigrationOverviewSchema = z.object({ environments: z.array(MigrationEnvironmentSchema) }).openapi("MigrationOverview");

export const CriterionChangedSchema = MigrationStateSchema.extend({ changed: z.boolean() }).openapi("CriterionChanged");

export const CutOverSchema = MigrationStateSchema.extend({
  changed: z.boolean(),
  version: z.number(),
  overridden: z.boolean(),
  status: CriterionStatusSchema,
}).openapi("CutOver");
export type CutOverOutcome = z.infer<typeof CutOverSchema>;
