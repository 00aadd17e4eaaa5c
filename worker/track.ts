/**
 * `POST /ofrep/v1/track`: OpenFeature tracking events over OFREP, an edgeflags extension shaped
 * after the open OFREP tracking proposal (`contracts/tracking.ts`). Client and server keys, as
 * for evaluation; public client keys are rate limited per key and client address. A batch is
 * bounded (`MAX_TRACK_BODY_BYTES`, `MAX_TRACK_EVENTS`) and checked whole before anything is
 * kept: a bad event refuses the batch with `problem+json` naming it, and nothing is recorded.
 *
 * Accepted events go into the edge's telemetry buffer and reach the project's FlagStore with the
 * next telemetry batch (`telemetry.ts`), where each is attributed to the exposures of its unit.
 * An event without an id gets one here; its time is the caller's timestamp, never later than now.
 * Its custom fields (`details`) are kept with it in its unit's telemetry shard, for the export.
 *
 * @example
 * curl -X POST https://flags.example.com/ofrep/v1/track -H 'Authorization: Bearer <client key>' \
 *   -d '{"events":[{"name":"checkout","targetingKey":"user-1","value":42.5,"details":{"currency":"EUR","items":3}}]}'
 */
import { Hono } from "hono";
import { MAX_TRACK_BODY_BYTES, TrackRequestSchema, type TrackAnswer } from "../contracts/tracking";
import { readJsonBody } from "./bounded-body";
import { requireKey, type KeyEnv } from "./require-key";
import { flushAfter, recordTrackedEvents, type AcceptedEvent } from "./telemetry";

export const track = new Hono<KeyEnv>();

track.post(
  "/track",
  requireKey({
    scopes: ["client", "server"],
    missing: "send a client or server key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
    forbidden: () => "admin keys do not track events; use a client or server key of an environment",
    limit: { scopes: ["client"], bucket: (keyId) => `track:${keyId}`, what: "tracking batches" },
  }),
  async (c) => {
    const identity = c.get("identity");
    const body = await readJsonBody(
      c.req.raw,
      MAX_TRACK_BODY_BYTES,
      TrackRequestSchema,
      `a tracking batch is at most ${MAX_TRACK_BODY_BYTES} bytes; send fewer events per batch`,
    );
    if (!body.ok) return body.response;
    const request = body.value;
    const now = Date.now();
    const events: AcceptedEvent[] = request.events.map((event) => ({
      id: event.id ?? crypto.randomUUID(),
      name: event.name,
      targetingKey: event.targetingKey,
      at: Math.min(event.timestamp ?? now, now),
      ...(event.value === undefined ? {} : { value: event.value }),
      ...(event.details === undefined || Object.keys(event.details).length === 0 ? {} : { details: event.details }),
    }));
    recordTrackedEvents(identity.project, identity.environment, events);
    flushAfter(c.env, (p) => c.executionCtx.waitUntil(p));
    const answer: TrackAnswer = { accepted: events.length };
    return c.json(answer, 202);
  },
);
