/**
 * Tracking over OFREP (`POST /ofrep/v1/track`): events attributed at the store to the arm their
 * unit was exposed to, counted once per event id, never before the exposure; hostile batches
 * refused with 4xx and nothing recorded.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { setStoreDeadlineForTests } from "../admin/routes/kit";
import worker from "../worker/index";
import { pendingFlush, unitId } from "../worker/telemetry";
import type { ArmAggregate } from "../contracts/metrics";
import { TELEMETRY_SHARDS } from "../contracts/telemetry";
import type { TrackedEventRead } from "../contracts/tracking";
import { Tracker } from "../packages/openfeature-provider/src/tracking";
import { callWithBindings } from "./edge-call";
import { ADMIN_TOKEN, call, drainOutbox, setupProject, store } from "./helpers";
import { evaluateAndSettle } from "./edge-settle";
import { telemetryShard } from "./telemetry-shards";

const P = (project: string) => `/admin/v1/projects/${project}`;

/** POSTs tracking batches as concurrent requests of one isolate; returns once their telemetry is delivered. */
async function trackAndSettle(key: string, ...bodies: unknown[]): Promise<Array<{ status: number; body: any; type: string | null }>> {
  const ctx = createExecutionContext();
  const responses = await Promise.all(
    bodies.map((body) =>
      worker.fetch(
        new Request("http://edgeflags.test/ofrep/v1/track", {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: typeof body === "string" ? body : JSON.stringify(body),
        }),
        env,
        ctx,
      ),
    ),
  );
  await waitOnExecutionContext(ctx);
  await pendingFlush();
  return Promise.all(responses.map(async (r) => ({ status: r.status, body: await r.json(), type: r.headers.get("content-type") })));
}

/** An experiment on `new-checkout` with `users` visitors exposed through the edge; their variants. */
async function exposedExperiment(project: string, users: number) {
  const setup = await setupProject(project);
  const started = await call("POST", `${P(project)}/environments/production/flags/new-checkout/experiment`, {
    body: { weights: { on: 50, off: 50 } },
  });
  const contexts = Array.from({ length: users }, (_, i) => ({ targetingKey: `visitor-${i}` }));
  const answers = await evaluateAndSettle(setup.key, "/ofrep/v1/evaluate/flags/new-checkout", contexts);
  const variants = answers.map((a) => String(a.variant));
  return { ...setup, subject: `exp:${started.body.id}`, variants };
}

async function arms(project: string, subject: string, event: string): Promise<Record<string, ArmAggregate>> {
  const read = await store(project).readArmAggregates(subject, event);
  if (!read.ok) throw new Error(read.error.detail);
  return Object.fromEntries(read.value.map((a) => [a.variant, a]));
}

describe("tracked events are attributed to the exposed arm", () => {
  it("counts events, converted units, per-unit squares and values per variant", async () => {
    const { key, subject, variants } = await exposedExperiment("track-attr", 12);
    // visitor-0: three valued events; visitor-1: one unvalued (by context); visitor-2: two, one valued.
    const events = [
      { name: "purchase", targetingKey: "visitor-0", value: 10 },
      { name: "purchase", targetingKey: "visitor-0", value: 20 },
      { name: "purchase", context: { targetingKey: "visitor-0", plan: "pro" }, value: 30 },
      { name: "purchase", context: { targetingKey: "visitor-1" } },
      { name: "purchase", targetingKey: "visitor-2", value: -4 },
      { name: "purchase", targetingKey: "visitor-2" },
      { name: "other-event", targetingKey: "visitor-3" },
      // Never exposed: kept, attributed to nothing.
      { name: "purchase", targetingKey: "stranger" },
    ];
    const [answer] = await trackAndSettle(key, { events });
    expect(answer).toMatchObject({ status: 202, body: { accepted: 8 } });

    const expected: Record<string, ArmAggregate> = {};
    const arm = (variant: string) =>
      (expected[variant] ??= {
        variant,
        units: 0,
        convertedUnits: 0,
        events: 0,
        eventsSquaredPerUnit: 0,
        valued: 0,
        valueSum: 0,
        valueSumSquares: 0,
      });
    for (const v of variants) arm(v).units++;
    const perUnit: Array<[number, number[]]> = [
      [0, [10, 20, 30]],
      [1, []],
      [2, [-4]],
    ];
    const counts = [3, 1, 2];
    perUnit.forEach(([i, values], n) => {
      const a = arm(variants[i]!);
      a.convertedUnits++;
      a.events += counts[n]!;
      a.eventsSquaredPerUnit += counts[n]! ** 2;
      a.valued += values.length;
      a.valueSum += values.reduce((s, v) => s + v, 0);
      a.valueSumSquares += values.reduce((s, v) => s + v * v, 0);
    });
    expect(await arms("track-attr", subject, "purchase")).toEqual(expected);
    const units = await store("track-attr").readUnitCounts(subject);
    expect(units).toEqual({ ok: true, value: Object.fromEntries(Object.values(expected).map((a) => [a.variant, a.units])) });
    // The event name is part of the key: one event elsewhere, nothing else.
    const other = await arms("track-attr", subject, "other-event");
    expect(Object.values(other).reduce((s, a) => s + a.events, 0)).toBe(1);
  });

  it("counts an event once per id: repeated in a batch, re-sent by the client, re-delivered to the store", async () => {
    const { key, subject, variants } = await exposedExperiment("track-once", 4);
    const event = { id: "evt-1", name: "click", targetingKey: "visitor-0" };
    await trackAndSettle(key, { events: [event, event] });
    await trackAndSettle(key, { events: [event] }, { events: [event] });
    // The edge re-delivering a batch whose first delivery committed but did not answer in time.
    const unit = unitId("visitor-0");
    const shard = telemetryShard("track-once", unit);
    const batch = {
      usage: [],
      exposures: [],
      shadow: [],
      tracked: [{ id: "evt-2", unit, environment: "production", name: "click", at: Date.now() }],
    };
    expect((await shard.record(batch)).ok).toBe(true);
    expect((await shard.record(batch)).ok).toBe(true);
    const a = (await arms("track-once", subject, "click"))[variants[0]!]!;
    expect(a).toMatchObject({ events: 2, convertedUnits: 1, eventsSquaredPerUnit: 4 });
    const kept = await runInDurableObject(
      shard.stub,
      (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM tracked_events").one().n,
    );
    expect(kept).toBe(2);
  });

  it("does not count an event from before the unit's exposure, and counts one that arrives before its exposure", async () => {
    const project = "track-order";
    const { subject, variants } = await exposedExperiment(project, 1);
    const visitor = telemetryShard(project, unitId("visitor-0"));
    const exposedAt = await runInDurableObject(
      visitor.stub,
      (_i, state) =>
        state.storage.sql.exec<{ first_at: number }>("SELECT first_at FROM exposure_units WHERE subject = ?", subject).one().first_at,
    );
    const tracked = (id: string, unit: string, at: number) => ({ id, unit, environment: "production", name: "signup", at });
    const late = unitId("late-visitor");
    const lateShard = telemetryShard(project, late);
    await visitor.record({ usage: [], exposures: [], shadow: [], tracked: [tracked("before", unitId("visitor-0"), exposedAt - 60_000)] });
    await lateShard.record({ usage: [], exposures: [], shadow: [], tracked: [tracked("early-arrival", late, exposedAt + 5)] });
    expect((await arms(project, subject, "signup"))[variants[0]!]?.events).toBe(0);
    // The late visitor's exposure (at exposedAt) is delivered after its event (at exposedAt + 5).
    await lateShard.record({
      usage: [],
      exposures: [{ subject, unit: late, variant: "on", at: exposedAt, environment: "production" }],
      shadow: [],
    });
    const after = await arms(project, subject, "signup");
    expect(after.on).toMatchObject({ events: 1, convertedUnits: 1 });
  });

  it("does not attribute an event tracked with another environment's key", async () => {
    const { subject, variants } = await exposedExperiment("track-env", 1);
    const staging = await call("POST", `${P("track-env")}/environments/staging/keys`, { body: { scope: "client" } });
    await trackAndSettle(staging.body.key, { events: [{ name: "purchase", targetingKey: "visitor-0" }] });
    expect((await arms("track-env", subject, "purchase"))[variants[0]!]?.events).toBe(0);
  });
});

/** The events of `name` kept in all of the project's telemetry shards, as the shards answer them. */
async function keptEvents(project: string, name: string): Promise<TrackedEventRead[]> {
  const answers = await Promise.all(
    Array.from({ length: TELEMETRY_SHARDS }, (_, n) =>
      env.TELEMETRY_SHARD.get(env.TELEMETRY_SHARD.idFromName(`${project}:${n}`)).readTrackedEvents({ environment: "production", name }),
    ),
  );
  return answers.flatMap((answer) => {
    if (!answer.ok) throw new Error(answer.error.detail);
    return answer.value;
  });
}

describe("custom fields of tracked events (TrackingEventDetails beside value)", () => {
  it("are kept with the event in its unit's shard and read back; the metric still counts value", async () => {
    const { key, subject, variants } = await exposedExperiment("track-details", 2);
    const [answer] = await trackAndSettle(key, {
      events: [
        { id: "p-1", name: "purchase", targetingKey: "visitor-0", value: 42.5, details: { currency: "EUR", items: 3, gift: false } },
        { id: "p-2", name: "purchase", targetingKey: "visitor-1" },
      ],
    });
    expect(answer).toMatchObject({ status: 202, body: { accepted: 2 } });
    const kept = await keptEvents("track-details", "purchase");
    const byId = Object.fromEntries(kept.map((e) => [e.id, e]));
    expect(byId["p-1"]).toMatchObject({ unit: unitId("visitor-0"), value: 42.5, details: { currency: "EUR", items: 3, gift: false } });
    expect(byId["p-2"]).toEqual({ id: "p-2", unit: unitId("visitor-1"), name: "purchase", at: expect.any(Number) });
    const arm = (await arms("track-details", subject, "purchase"))[variants[0]!]!;
    expect(arm).toMatchObject({ valued: 1, valueSum: 42.5 });
  });

  it("the first delivery's fields stay when an event id is sent again with others", async () => {
    const { key } = await setupProject("track-details-once");
    const event = { id: "same", name: "click", targetingKey: "u-1" };
    await trackAndSettle(key, { events: [{ ...event, details: { button: "buy" } }] });
    await trackAndSettle(key, { events: [{ ...event, details: { button: "cancel" } }] });
    expect((await keptEvents("track-details-once", "click")).map((e) => e.details)).toEqual([{ button: "buy" }]);
  });

  it("travel from the provider's track() to the shard: a Date as ISO text, out-of-bounds fields dropped with a log, not sent", async () => {
    const { key } = await setupProject("track-details-provider");
    const warnings: string[] = [];
    const tracker = new Tracker({
      url: "http://edgeflags.test",
      key,
      fetch: async (input, init) => {
        const ctx = createExecutionContext();
        const response = await worker.fetch(new Request(input, init), env, ctx);
        await waitOnExecutionContext(ctx);
        return response;
      },
      requestTimeoutMs: 10_000,
      logger: { warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
    });
    const at = new Date("2026-12-01T10:00:00.000Z");
    tracker.record(
      { name: "checkout", targetingKey: "buyer-1", details: { value: 12, plan: "pro", seats: 5, trial: true, at } },
      Date.now(),
    );
    tracker.record({ name: "checkout", targetingKey: "buyer-2", details: { cart: { items: 3 } } }, Date.now());
    tracker.record({ name: "checkout", targetingKey: "buyer-3", details: { cart: { items: 4 } } }, Date.now());
    await tracker.flush(Date.now(), { force: true });
    await pendingFlush();
    expect(tracker.stats()).toEqual({ sent: 1, dropped: 2, pending: 0 });
    expect(warnings).toEqual([expect.stringMatching(/custom field 'cart' is an object/)]);
    const [kept] = await keptEvents("track-details-provider", "checkout");
    expect(kept).toMatchObject({ value: 12, details: { plan: "pro", seats: 5, trial: true, at: "2026-12-01T10:00:00.000Z" } });
  });

  let badKey = "";
  beforeAll(async () => {
    badKey = (await setupProject("track-bad-details")).key;
  });
  const field = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, i]));
  it.each([
    { what: "a nested object", details: { cart: { items: 3 } }, says: "custom field 'cart' is an object" },
    { what: "an array", details: { tags: ["a"] }, says: "custom field 'tags' is an array" },
    { what: "null", details: { coupon: null }, says: "custom field 'coupon' is null" },
    { what: "21 fields", details: field(21), says: "at most 20 custom fields" },
    { what: "a name of 65 characters", details: { ["k".repeat(65)]: 1 }, says: "1 to 64 characters" },
    { what: "a string of 257 characters", details: { note: "x".repeat(257) }, says: "custom field 'note' is 257 characters" },
    {
      what: "over 2048 bytes in all",
      details: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`note${i}`, "é".repeat(200)])),
      says: "at most 2048 bytes",
    },
    { what: "value among the fields", details: { value: 3 }, says: "'value' is not a custom field name" },
  ])("$what in details → 400 naming it, nothing recorded", async ({ details, says }) => {
    const [answer] = await trackAndSettle(badKey, {
      events: [
        { name: "e", targetingKey: "u" },
        { name: "e", targetingKey: "u", details },
      ],
    });
    expect(answer).toMatchObject({ status: 400, type: "application/problem+json" });
    expect(String(answer!.body.detail)).toContain(says);
    expect(await keptEvents("track-bad-details", "e")).toEqual([]);
  });

  it("a custom field beside the event's own fields → 400 saying to put it in details", async () => {
    const [answer] = await trackAndSettle(badKey, { events: [{ name: "e", targetingKey: "u", currency: "EUR" }] });
    expect(answer).toMatchObject({ status: 400, type: "application/problem+json" });
    expect(String(answer!.body.detail)).toContain(`an event has no field 'currency'; custom fields of the event go in "details"`);
    expect(await keptEvents("track-bad-details", "e")).toEqual([]);
  });
});

describe("hostile tracking batches", () => {
  const event = { name: "e", targetingKey: "u" };
  let key = "";
  beforeAll(async () => {
    key = (await setupProject("track-bad")).key;
  });
  it.each([
    { what: "not JSON", body: "{", status: 400 },
    { what: "no events", body: { events: [] }, status: 400 },
    { what: "101 events", body: { events: Array.from({ length: 101 }, () => event) }, status: 400 },
    { what: "an event without a targeting key", body: { events: [event, { name: "e", context: {} }] }, status: 400 },
    { what: "a non-numeric value", body: { events: [{ ...event, value: "12" }] }, status: 400 },
    { what: "an infinite value", body: `{"events":[{"name":"e","targetingKey":"u","value":1e999}]}`, status: 400 },
    { what: "a timestamp that is no date", body: { events: [{ ...event, timestamp: "yesterday" }] }, status: 400 },
    { what: "a name over 128 characters", body: { events: [{ ...event, name: "x".repeat(129) }] }, status: 400 },
    { what: "a forbidden key", body: `{"events":[{"name":"e","targetingKey":"u","__proto__":{}}]}`, status: 400 },
    { what: "a field beside events", body: { events: [event], project: "other" }, status: 400 },
    {
      what: "deep nesting",
      body: `{"events":[{"name":"e","targetingKey":"u","context":${"[".repeat(5000)}${"]".repeat(5000)}}]}`,
      status: 400,
    },
    { what: "a body over the bound", body: JSON.stringify({ events: [{ ...event, context: { pad: "x".repeat(200_000) } }] }), status: 413 },
  ])("$what → $status problem+json, nothing recorded", async ({ body, status }) => {
    const project = "track-bad";
    const [answer] = await trackAndSettle(key, body);
    expect(answer!.status).toBe(status);
    expect(answer!.type).toBe("application/problem+json");
    expect(String(answer!.body.detail).length).toBeGreaterThan(10);
    const kept = await Promise.all(
      Array.from({ length: TELEMETRY_SHARDS }, (_, n) =>
        runInDurableObject(
          env.TELEMETRY_SHARD.get(env.TELEMETRY_SHARD.idFromName(`${project}:${n}`)),
          (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM tracked_events").one().n,
        ),
      ),
    );
    expect(kept.reduce((a, b) => a + b, 0)).toBe(0);
  });

  it("refuses a missing key (401) and an admin key (403)", async () => {
    const none = await call("POST", "/ofrep/v1/track", { token: null, body: { events: [event] } });
    expect(none.status).toBe(401);
    const adminKey = (await call("POST", `${P("track-bad")}/keys`, { body: { scope: "admin" } })).body.key;
    await drainOutbox("track-bad");
    const admin = await call("POST", "/ofrep/v1/track", { token: adminKey, body: { events: [event] } });
    expect(admin.status).toBe(403);
  });

  it("answers a browser's preflight like evaluation", async () => {
    const preflight = await call("OPTIONS", "/ofrep/v1/track", {
      token: null,
      headers: { origin: "https://app.example", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("telemetry shards roll up into the FlagStore", () => {
  const exposure = (subject: string, unit: string) => ({ subject, unit, variant: "on", at: 1, environment: "production" });

  it("applies a shard's roll-up once per sequence number", async () => {
    await setupProject("rollup-once");
    const rollup = {
      usage: [{ environment: "production", flag: "kill-switch", variant: "on", evaluations: 7, firstAt: 1, lastAt: 2 }],
      exposures: [],
      shadow: [],
      rollup: {
        shard: "rollup-once:3",
        seq: 1,
        exposureCounts: [{ subject: "exp:x", variant: "on", units: 5 }],
        arms: [],
        shadowCounts: [],
      },
    };
    expect((await store("rollup-once").recordTelemetry(rollup)).ok).toBe(true);
    expect((await store("rollup-once").recordTelemetry(rollup)).ok).toBe(true);
    expect(await store("rollup-once").readUnitCounts("exp:x")).toEqual({ ok: true, value: { on: 5 } });
    const usage = await call("GET", `${P("rollup-once")}/environments/production/usage`);
    expect(usage.body["kill-switch"].evaluations).toBe(7);
  });

  it("applies an edge's part once per id: a part sent again after a lost answer is not counted twice", async () => {
    await setupProject("part-once");
    const unit = unitId("part-visitor");
    const shard = telemetryShard("part-once", unit);
    const part = (id: string | undefined, evaluations: number) => ({
      ...(id === undefined ? {} : { id }),
      usage: [{ environment: "production", flag: "kill-switch", variant: "on", evaluations, firstAt: 1, lastAt: 2 }],
      exposures: [],
      shadow: [],
    });
    expect((await shard.record(part("part-0000000001", 7))).ok).toBe(true);
    expect((await shard.record(part("part-0000000001", 7))).ok).toBe(true);
    expect((await shard.record(part("part-0000000002", 3))).ok).toBe(true);
    // An older edge's part carries no id: applied as it comes.
    expect((await shard.record(part(undefined, 1))).ok).toBe(true);
    await runInDurableObject(shard.stub, (instance) => instance.alarm());
    const usage = await call("GET", `${P("part-once")}/environments/production/usage`);
    expect(usage.body["kill-switch"].evaluations).toBe(11);
  });

  it("keeps a roll-up the FlagStore fails (throws, hangs) and delivers it from the alarm", { timeout: 20_000 }, async () => {
    await setupProject("rollup-fault");
    const unit = unitId("fault-visitor");
    const shard = telemetryShard("rollup-fault", unit);
    for (const fault of ["throws", "hangs"] as const) {
      const failing = () => (fault === "throws" ? Promise.reject(new Error("injected fault")) : new Promise<never>(() => {}));
      const stub = new Proxy({}, { get: (_t, prop) => (prop === "then" ? undefined : failing) });
      const subject = `exp:${fault}`;
      await runInDurableObject(shard.stub, async (instance, state) => {
        const real = Reflect.get(instance, "env");
        Reflect.set(instance, "env", {
          ...real,
          FLAG_STORE: { idFromName: () => env.FLAG_STORE.idFromName("rollup-fault"), get: () => stub },
        });
        const answered = await instance.recordTelemetry("rollup-fault", 0, { usage: [], exposures: [exposure(subject, unit)], shadow: [] });
        expect(answered.ok).toBe(true);
        expect(state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM rollup_outbox").one().n).toBe(1);
        expect(await state.storage.getAlarm()).not.toBeNull();
        Reflect.set(instance, "env", real);
        await instance.alarm();
        expect(state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM rollup_outbox").one().n).toBe(0);
      });
      expect(await store("rollup-fault").readUnitCounts(subject)).toEqual({ ok: true, value: { on: 1 } });
    }
  });
});

describe("GET …/environments/{env}/tracked-events (the admin API's read of kept events)", () => {
  it("pages through every shard's events newest first with their value and details, none skipped or repeated within one millisecond", async () => {
    const { key } = await setupProject("track-read");
    const at = Date.now() - 1_000;
    const events = Array.from({ length: 12 }, (_, i) => ({
      id: `e-${i}`,
      name: "purchase",
      targetingKey: `buyer-${i}`,
      // Four events share each millisecond, spread over units of different shards.
      timestamp: new Date(at - Math.floor(i / 4)).toISOString(),
      value: i,
      details: { plan: i % 2 ? "pro" : "free" },
    }));
    expect((await trackAndSettle(key, { events }))[0]).toMatchObject({ status: 202, body: { accepted: 12 } });
    await trackAndSettle(key, { events: [{ id: "other", name: "signup", targetingKey: "buyer-0" }] });

    const seen: Array<{ id: string; at: string; value?: number; details?: Record<string, unknown> }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `name=purchase&limit=5${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await call("GET", `${P("track-read")}/environments/production/tracked-events?${query}`);
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      seen.push(...page.body.events);
      cursor = page.body.next;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
    const times = seen.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(seen.find((e) => e.id === "e-3")).toMatchObject({ value: 3, details: { plan: "pro" } });
  });

  it("refuses a cursor it did not give, and an unknown event name is an empty page", async () => {
    await setupProject("track-read-bad");
    const bad = await call("GET", `${P("track-read-bad")}/environments/production/tracked-events?name=x&cursor=not-a-cursor`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
    expect(bad.body.detail).toContain("next");
    const empty = await call("GET", `${P("track-read-bad")}/environments/production/tracked-events?name=nothing`);
    expect(empty.body).toEqual({ events: [], next: null });
    expect((await call("GET", `${P("track-read-bad")}/environments/production/tracked-events`)).status).toBe(400);
  });
});

describe("GET …/tracked-events when a telemetry shard fails or hangs", () => {
  beforeAll(async () => {
    await setupProject("track-fault");
  });
  afterEach(() => setStoreDeadlineForTests(null));

  /** A TELEMETRY_SHARD binding whose shard `broken` throws or never answers a read; the others are real. */
  function faultyShards(broken: number, fault: "throw" | "hang") {
    return {
      idFromName: (name: string) => env.TELEMETRY_SHARD.idFromName(name),
      get: (id: DurableObjectId) => {
        const real = env.TELEMETRY_SHARD.get(id);
        if (!id.equals(env.TELEMETRY_SHARD.idFromName(`track-fault:${broken}`))) return real;
        return {
          readTrackedEvents: () =>
            fault === "throw" ? Promise.reject(new Error("Durable Object reset because its code was updated.")) : new Promise(() => {}),
        };
      },
    };
  }

  for (const fault of ["throw", "hang"] as const) {
    it(`answers 503 problem+json with Retry-After when one shard's read ${fault === "throw" ? "throws" : "never answers"}`, async () => {
      if (fault === "hang") setStoreDeadlineForTests(500);
      const answer = await callWithBindings(
        { TELEMETRY_SHARD: faultyShards(TELEMETRY_SHARDS - 1, fault) },
        `${P("track-fault")}/environments/production/tracked-events?name=purchase`,
        { key: ADMIN_TOKEN, method: "GET" },
      );
      expect(answer.status).toBe(503);
      expect(answer.headers.get("content-type")).toBe("application/problem+json");
      expect(answer.headers.get("retry-after")).toBe("5");
      expect(answer.body.detail).toContain(fault === "throw" ? "failed to answer" : "did not answer within 500 ms");
      expect(answer.body.detail).toContain("nothing was changed");
      // The real shards still answer once the fault is gone.
      expect((await call("GET", `${P("track-fault")}/environments/production/tracked-events?name=purchase`)).status).toBe(200);
    });
  }
});
