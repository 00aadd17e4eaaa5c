/**
 * The batch the edge sends the FlagStore about what it served (exposures, evaluation counts,
 * shadow comparisons, key use); how it is applied is `durable-objects/telemetry.ts`.
 */
import * as z from "zod";

export const TelemetryBatchSchema = z.object({
  usage: z
    .array(
      z.object({
        environment: z.string(),
        flag: z.string(),
        variant: z.string(),
        evaluations: z.number().int().positive(),
        firstAt: z.number(),
        lastAt: z.number(),
      }),
    )
    .max(100_000),
  exposures: z
    .array(
      z.object({
        subject: z.string(),
        unit: z.string(),
        variant: z.string(),
        at: z.number(),
        /** The environment whose snapshot exposed the unit: only its tracked events are attributed to the subject. */
        environment: z.string().optional(),
      }),
    )
    .max(100_000),
  shadow: z
    .array(z.object({ draftId: z.string(), flag: z.string(), unit: z.string(), liveVariant: z.string(), draftVariant: z.string() }))
    .max(100_000),
  /** API keys the edge accepted, with when it last did (ms since epoch). */
  keys: z
    .array(z.object({ id: z.string().max(200), lastUsedAt: z.number() }))
    .max(100_000)
    .default([]),
  /** Tracked events (`POST /ofrep/v1/track`), attributed at the store to the subjects their unit was exposed in. */
  tracked: z
    .array(
      z.object({
        /** Unique per unit; the store counts an event once per (unit, id). */
        id: z.string().max(200),
        unit: z.string().max(64),
        environment: z.string().max(200),
        name: z.string().max(200),
        /** When it happened, never later than it was received (ms since epoch). */
        at: z.number(),
        value: z.number().finite().optional(),
      }),
    )
    .max(100_000)
    .default([]),
});
export type TelemetryBatch = z.infer<typeof TelemetryBatchSchema>;

/**
 * A key's `last_used_at` moves at most this often: the edge reports a key at most once per this
 * interval per isolate, and the store ignores a report less than this after the recorded time.
 */
export const LAST_USED_RESOLUTION_MS = 60_000;
