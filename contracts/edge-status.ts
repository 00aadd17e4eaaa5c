/**
 * What the console's "live at the edge" line polls: has the FlagStore written an environment's
 * snapshot, at a version, to KV (the store every edge isolate revalidates against), or is it still
 * queued, and why. Built from `GET /admin/v1/projects/{p}` (the committed version) and
 * `GET /admin/v1/projects/{p}/replication` (what was published, what is pending).
 */
import * as z from "zod";

export const EdgeStatusSchema = z.object({
  environment: z.string(),
  /** The environment's latest committed version. */
  committed: z.number(),
  /** The version of the snapshot in KV, as the FlagStore last wrote it; null before the first. */
  published: z.number().nullable(),
  publishedAt: z.string().nullable(),
  /** `live`: KV holds `version` or newer. `queued`: not yet; `pending` says what is being retried. */
  state: z.enum(["live", "queued"]),
  /** The version asked about (the caller's `version`, else `committed`). */
  version: z.number(),
  pending: z.object({ attempts: z.number(), lastError: z.string().nullable(), nextAttemptAt: z.string() }).nullable(),
});
export type EdgeStatus = z.infer<typeof EdgeStatusSchema>;
