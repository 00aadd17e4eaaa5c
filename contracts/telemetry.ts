/**
 * The batch the edge sends the FlagStore about what it served (exposures, evaluation counts,
 * shadow comparisons, key use); how it is applied is `durable-objects/telemetry.ts`.
 */
import * as z from "zod";
import { TrackDetailsSchema } from "./tracking";

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
  /**
   * Present when a telemetry shard sends what it gathered (`durable-objects/telemetry-shard.ts`):
   * its sequence number makes a re-sent roll-up count once; the counts are the shard's own
   * increments (exact: a unit's exposures and events all live in one shard). `usage` and `keys`
   * of the same batch are the shard's too.
   */
  rollup: z
    .object({
      shard: z.string().max(300),
      seq: z.number().int().positive(),
      exposureCounts: z.array(z.object({ subject: z.string(), variant: z.string(), units: z.number().int() })).max(100_000),
      arms: z
        .array(
          z.object({
            subject: z.string(),
            name: z.string(),
            variant: z.string(),
            convertedUnits: z.number().int(),
            events: z.number().int(),
            eventsSquared: z.number().int(),
            valued: z.number().int(),
            valueSum: z.number(),
            valueSumSquares: z.number(),
          }),
        )
        .max(100_000),
      shadowCounts: z
        .array(
          z.object({ draftId: z.string(), flag: z.string(), liveVariant: z.string(), draftVariant: z.string(), units: z.number().int() }),
        )
        .max(100_000),
    })
    .optional(),
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
        /** Custom fields of the event (`TrackingEventDetails` but `value`), kept in the unit's shard. */
        details: TrackDetailsSchema.optional(),
      }),
    )
    .max(100_000)
    .default([]),
  /**
   * The part's id, the same on every retry of it: a shard applies a part once per id (usage and
   * evaluation counts are additive, so a part that committed but answered late must not count
   * twice when it is sent again). A part without one (an older edge) is applied as it comes.
   */
  id: z.string().min(8).max(64).optional(),
});
export type TelemetryBatch = z.infer<typeof TelemetryBatchSchema>;

/** How long a shard remembers the ids of the parts it applied: far past any retry of one. */
export const TELEMETRY_PART_ID_RETENTION_MS = 60 * 60 * 1000;

/**
 * A key's `last_used_at` moves at most this often: the edge reports a key at most once per this
 * interval per isolate, and the store ignores a report less than this after the recorded time.
 */
export const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Telemetry shards per project: the edge sends a unit's exposures, events and shadow comparisons
 * to shard `shardOf(unit)` (named `<project>:<n>`), so each unit's state lives in one place and
 * the shards' counts add up exactly. Changing it re-homes units: it is fixed.
 */
export const TELEMETRY_SHARDS = 8;

/** The shard of a unit id (hex): its first 8 hex digits modulo `TELEMETRY_SHARDS`. */
export function shardOf(unit: string): number {
  const head = Number.parseInt(unit.slice(0, 8), 16);
  return Number.isFinite(head) ? head % TELEMETRY_SHARDS : 0;
}
