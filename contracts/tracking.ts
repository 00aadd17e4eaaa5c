/**
 * Tracking events over OFREP, an edgeflags extension: `POST /ofrep/v1/track` takes a batch of
 * OpenFeature tracking events (`client.track(name, context, details)`), shaped after the open
 * OFREP tracking proposal (open-feature/protocol#71): an event name, the evaluation context (or
 * just its targeting key), an optional numeric value (`TrackingEventDetails.value`), a timestamp
 * and an optional id that makes a re-sent event count once, and the custom fields of
 * `TrackingEventDetails` as `details` (bounded: `tracking-details.ts`). A field the schema does not
 * know is refused, not ignored: nothing a client sends is dropped without it hearing so.
 */
import * as z from "zod";
import { checkTrackDetails } from "./tracking-details";
import { MAX_TRACK_EVENTS } from "./usage-limits";

import type { TrackDetails } from "./tracking-details";

export {
  MAX_TRACK_DETAIL_BYTES,
  MAX_TRACK_DETAIL_FIELDS,
  MAX_TRACK_DETAIL_KEY_LENGTH,
  MAX_TRACK_DETAIL_STRING_LENGTH,
  type TrackDetails,
} from "./tracking-details";

export { MAX_TRACK_BODY_BYTES, MAX_TRACK_EVENTS } from "./usage-limits";

const TargetingKey = z.string().min(1).max(1024);

/**
 * Epoch milliseconds, or an ISO 8601 date-time with an offset; both from 1970 on (an event's time
 * is a cursor of the tracked-events read, which takes no time before the epoch).
 */
const Timestamp = z.union([
  z.number().int().nonnegative().max(8.64e15),
  z.iso
    .datetime({ offset: true })
    .transform((text) => Date.parse(text))
    .pipe(z.number().nonnegative("an event's timestamp is 1970-01-01T00:00:00Z or later")),
]);

/** `TrackingEventDetails` without `value`: string, number or boolean fields, bounded in count and size. */
export const TrackDetailsSchema = z.record(z.string(), z.unknown()).transform((fields, ctx) => {
  const checked = checkTrackDetails(fields);
  if (checked.ok) return checked.details;
  ctx.addIssue({ code: "custom", message: checked.detail });
  return z.NEVER;
});

export const TrackEventSchema = z
  .strictObject(
    {
      /** Unique per event and targeting key: the same id sent again is counted once. */
      id: z.string().min(1).max(128).optional(),
      name: z.string().min(1).max(128),
      targetingKey: TargetingKey.optional(),
      context: z.looseObject({ targetingKey: TargetingKey.optional() }).optional(),
      value: z.number().finite().optional(),
      timestamp: Timestamp.optional(),
      /** Custom fields of `TrackingEventDetails` (all but `value`), kept with the event. */
      details: TrackDetailsSchema.optional(),
    },
    {
      error: (issue) =>
        issue.code === "unrecognized_keys"
          ? `an event has no field ${issue.keys.map((k) => `'${k}'`).join(", ")}; custom fields of the event go in "details": {"${issue.keys[0]}": …}`
          : undefined,
    },
  )
  .transform((event, ctx) => {
    const targetingKey = event.targetingKey ?? event.context?.targetingKey;
    if (targetingKey === undefined) {
      ctx.addIssue({
        code: "custom",
        message: "an event needs a targetingKey (or context.targetingKey): events are attributed to the unit that was exposed",
      });
      return z.NEVER;
    }
    return { ...event, targetingKey };
  });

export const TrackRequestSchema = z.strictObject({
  events: z.array(TrackEventSchema).min(1).max(MAX_TRACK_EVENTS),
});
/** A batch as a client sends it. */
export type TrackRequest = z.input<typeof TrackRequestSchema>;

/** The answer to an accepted batch: how many events will be recorded. */
export interface TrackAnswer {
  accepted: number;
}

/** A read of the tracked events a telemetry shard keeps (newest first): one environment, one event name. */
export const TrackedEventsQuerySchema = z.strictObject({
  environment: z.string().min(1).max(200),
  name: z.string().min(1).max(128),
  /** Only events before this time (ms since epoch). */
  before: z.number().int().nonnegative().optional(),
  /**
   * Only events after this one in the read order (`at` newest first, then `unit`, then `id`): the
   * last event of the previous page, so events sharing a millisecond are neither skipped nor repeated.
   */
  after: z.strictObject({ at: z.number().int().nonnegative(), unit: z.string().max(200), id: z.string().max(200) }).optional(),
  limit: z.number().int().min(1).max(1_000).default(100),
});
export type TrackedEventsQuery = z.output<typeof TrackedEventsQuerySchema>;

/**
 * One kept event as it is read back: `unit` is the hashed targeting key the edge keys units by
 * (the key itself is not kept), `at` when it happened, its `value` and custom `details` if any.
 */
export interface TrackedEventRead {
  id: string;
  unit: string;
  name: string;
  at: number;
  value?: number;
  details?: TrackDetails;
}

/** A page of tracked events as the admin API answers it (`GET …/environments/{env}/tracked-events`). */
export const TrackedEventPageSchema = z.object({
  events: z.array(
    z.object({
      id: z.string(),
      unit: z.string().meta({ description: "The hashed targeting key (the key itself is not kept)" }),
      name: z.string(),
      at: z.iso.datetime(),
      value: z.number().optional(),
      details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    }),
  ),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next: z.string().nullable(),
});
export type TrackedEventPage = z.output<typeof TrackedEventPageSchema>;
