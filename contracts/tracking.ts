/**
 * Tracking events over OFREP, an edgeflags extension: `POST /ofrep/v1/track` takes a batch of
 * OpenFeature tracking events (`client.track(name, context, details)`), shaped after the open
 * OFREP tracking proposal (open-feature/protocol#71): an event name, the evaluation context (or
 * just its targeting key), an optional numeric value (`TrackingEventDetails.value`), a timestamp
 * and an optional id that makes a re-sent event count once. Other fields of an event (custom
 * details) are accepted and not kept.
 */
import * as z from "zod";
import { MAX_TRACK_EVENTS } from "./usage-limits";

export { MAX_TRACK_BODY_BYTES, MAX_TRACK_EVENTS } from "./usage-limits";

const TargetingKey = z.string().min(1).max(1024);

/** Epoch milliseconds, or an ISO 8601 date-time with an offset. */
const Timestamp = z.union([
  z.number().int().nonnegative().max(8.64e15),
  z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)),
]);

export const TrackEventSchema = z
  .object({
    /** Unique per event and targeting key: the same id sent again is counted once. */
    id: z.string().min(1).max(128).optional(),
    name: z.string().min(1).max(128),
    targetingKey: TargetingKey.optional(),
    context: z.looseObject({ targetingKey: TargetingKey.optional() }).optional(),
    value: z.number().finite().optional(),
    timestamp: Timestamp.optional(),
  })
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
