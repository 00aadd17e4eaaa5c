/**
 * `track()` details as the providers send them: `value` and the custom fields of
 * `TrackingEventDetails` reach `POST /ofrep/v1/track` as the event's `value` and `details`; a
 * `Date` is sent as its ISO 8601 text; an event whose fields the service would refuse is dropped
 * before it is queued (counted, logged once per reason), so it cannot take its batch down with it.
 * Runs in Node against a recording `fetch`; the service's side is test/tracking.test.ts.
 */
import { describe, expect, it } from "vitest";
import { TrackRequestSchema } from "../../../contracts/tracking.ts";
import { Tracker } from "../src/tracking.ts";
import { EdgeflagsWebProvider } from "../src/web.ts";

/** A `fetch` that answers 202 and keeps each tracking batch it was sent. */
function recording() {
  const batches: unknown[] = [];
  const fetch = async (_input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    batches.push(JSON.parse(String(init?.body)));
    return Response.json({ accepted: 1 }, { status: 202 });
  };
  return { batches, fetch };
}

function tracker() {
  const { batches, fetch } = recording();
  const warnings: string[] = [];
  const t = new Tracker({
    url: "https://flags.example.com/",
    key: "client-key",
    fetch,
    requestTimeoutMs: 1_000,
    logger: { warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
  });
  return { tracker: t, batches, warnings };
}

describe("Tracker", () => {
  it("sends value and the custom fields as details, in a batch the service's schema takes", async () => {
    const { tracker: t, batches } = tracker();
    t.record({ name: "checkout", targetingKey: "u-1", details: { value: 42.5, currency: "EUR", items: 3, gift: false } }, 1_000);
    t.record({ name: "checkout", targetingKey: "u-2", details: { at: new Date(Date.UTC(2026, 11, 1)) } }, 1_000);
    t.record({ name: "visit", targetingKey: "u-3", details: undefined }, 1_000);
    await t.flush(1_000, { force: true });
    expect(t.stats()).toEqual({ sent: 3, dropped: 0, pending: 0 });
    expect(batches).toHaveLength(1);
    const parsed = TrackRequestSchema.parse(batches[0]);
    expect(parsed.events.map(({ name, value, details }) => ({ name, value, details }))).toEqual([
      { name: "checkout", value: 42.5, details: { currency: "EUR", items: 3, gift: false } },
      { name: "checkout", value: undefined, details: { at: "2026-12-01T00:00:00.000Z" } },
      { name: "visit", value: undefined, details: undefined },
    ]);
  });

  it.each([
    { what: "a nested object", details: { cart: { items: 3 } }, says: "custom field 'cart' is an object" },
    { what: "an array", details: { tags: ["a", "b"] }, says: "custom field 'tags' is an array" },
    { what: "a string of 257 characters", details: { note: "x".repeat(257) }, says: "is 257 characters" },
    { what: "21 fields", details: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`f${i}`, i])), says: "at most 20" },
    { what: "a value that is no number", details: { value: "12" }, says: "its value is not a finite number" },
    { what: "an invalid Date", details: { at: new Date("not a date") }, says: "custom field 'at' is an object" },
    { what: "an infinite value", details: { value: Number.POSITIVE_INFINITY }, says: "its value is not a finite number" },
  ])("drops an event with $what, logs the reason once, and sends the batch's other events", async ({ details, says }) => {
    const { tracker: t, batches, warnings } = tracker();
    t.record({ name: "e", targetingKey: "u-1", details }, 1_000);
    t.record({ name: "e", targetingKey: "u-2", details }, 1_000);
    t.record({ name: "e", targetingKey: "u-3", details: { ok: true } }, 1_000);
    await t.flush(1_000, { force: true });
    expect(t.stats()).toEqual({ sent: 1, dropped: 2, pending: 0 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(says);
    expect(TrackRequestSchema.safeParse(batches[0]).success).toBe(true);
  });
});

describe("EdgeflagsWebProvider.track()", () => {
  it("passes the custom fields of TrackingEventDetails through to the batch", async () => {
    const { batches, fetch } = recording();
    const inner = { metadata: { name: "inner" }, runsOn: "client" } as unknown as ConstructorParameters<typeof EdgeflagsWebProvider>[0];
    const provider = new EdgeflagsWebProvider(inner, { url: "https://flags.example.com", clientKey: "client-key", fetch, page: null });
    provider.track("read-article", { targetingKey: "reader-1" }, { value: 3, section: "sport", paywalled: true });
    await provider.flush();
    expect(provider.stats()).toEqual({ sent: 1, dropped: 0, pending: 0 });
    const [event] = TrackRequestSchema.parse(batches[0]).events;
    expect(event).toMatchObject({
      name: "read-article",
      targetingKey: "reader-1",
      value: 3,
      details: { section: "sport", paywalled: true },
    });
    await provider.onClose();
  });
});
