/**
 * What an in-process evaluator (the `@edgeflags/openfeature-provider` package) reports back about
 * the evaluations it made, so stale-flag detection and experiments see them as they see the
 * edge's: evaluation counts per flag and variant, and exposures of flags under a ramp or an
 * experiment (one per subject and unit). `POST /telemetry/v1/evaluations` (`worker/usage-ingest.ts`)
 * takes it with a server key; the environment is the key's, never the body's.
 */
import * as z from "zod";

export { MAX_EXPOSURES, MAX_USAGE_REPORT_BYTES, MAX_USAGE_ROWS } from "./usage-limits";
import { MAX_EXPOSURES, MAX_USAGE_ROWS } from "./usage-limits";

const Timestamp = z.number().int().nonnegative();

export const UsageReportSchema = z.strictObject({
  usage: z
    .array(
      z
        .strictObject({
          flag: z.string().min(1).max(256),
          /** A variant name, or `(disabled)`, `(default)`, `(error)`… as the edge records them. */
          variant: z.string().min(1).max(256),
          evaluations: z.number().int().positive().max(1_000_000_000),
          firstAt: Timestamp,
          lastAt: Timestamp,
        })
        .refine((row) => row.firstAt <= row.lastAt, { message: "firstAt must not be after lastAt" }),
    )
    .max(MAX_USAGE_ROWS),
  exposures: z
    .array(
      z.strictObject({
        /** `ramp:<id>:<step>` or `exp:<id>`, as the flag's tracking in the synced set names it. */
        subject: z.string().min(1).max(200),
        /** The first 20 hex digits of the SHA-256 of the targeting key (the edge's unit id). */
        unit: z.string().regex(/^[0-9a-f]{20}$/, "a unit is the first 20 hex digits of the SHA-256 of the targeting key"),
        variant: z.string().min(1).max(256),
        at: Timestamp,
      }),
    )
    .max(MAX_EXPOSURES)
    .default([]),
});
export type UsageReport = z.infer<typeof UsageReportSchema>;

/** The answer to an accepted report. */
export interface UsageReportAnswer {
  usage: number;
  exposures: number;
  /** Exposures of subjects the environment's current flags do not track (a ramp ended meanwhile): not recorded. */
  ignoredExposures: number;
}
