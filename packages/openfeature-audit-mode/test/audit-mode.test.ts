/**
 * The audit-mode provider driven through the OpenFeature server SDK, with an in-memory provider on
 * each side and a fake edgeflags ingest: exact counts and samples, batch ids reused on failure and
 * counted once, bounded memory, the authority switch and the grace period. Time is faked
 * (`Date` and timers), so a backoff or an interval is passed by advancing the clock, not by waiting.
 */
import {
  ErrorCode,
  InMemoryProvider,
  OpenFeature,
  type Client,
  type Logger,
  type Provider,
  type ResolutionDetails,
} from "@openfeature/server-sdk";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AuditModeProvider, type AuditModeOptions } from "../src/index.ts";
import { FakeEdgeflags } from "./fake-edgeflags.ts";

const bool = (on: boolean) => ({ variants: { on: true, off: false }, defaultVariant: on ? "on" : "off", disabled: false });

/** The legacy system: `checkout` on for everyone, `banner` on, `theme` "dark". */
function legacyProvider() {
  return new InMemoryProvider({
    checkout: bool(true),
    banner: bool(true),
    theme: { variants: { dark: "dark", light: "light" }, defaultVariant: "dark", disabled: false },
    limits: { variants: { v: { max: 3, tags: ["a"] } }, defaultVariant: "v", disabled: false },
  });
}

/** edgeflags after an import with one mistake: `checkout` is off for the customer "acme"; no `theme`. */
function edgeflagsProvider() {
  return new InMemoryProvider({
    checkout: { ...bool(true), contextEvaluator: (context) => (context.targetingKey === "acme" ? "off" : "on") },
    banner: bool(true),
    limits: { variants: { v: { tags: ["a"], max: 3 } }, defaultVariant: "v", disabled: false },
  });
}

/** A logger that keeps what it was told. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  };
  return { lines, error: keep, warn: keep, info: keep, debug: () => {} };
}

let domain = 0;
let server: FakeEdgeflags;
let logger: ReturnType<typeof recordingLogger>;

async function setUp(options: Partial<AuditModeOptions> = {}): Promise<{ provider: AuditModeProvider; client: Client }> {
  const provider = new AuditModeProvider({
    legacy: legacyProvider(),
    edgeflags: edgeflagsProvider(),
    url: "https://flags.example.test/",
    serverKey: "ef_server_0123456789abcdef0123456789abcdef",
    fetch: server.fetch,
    logger,
    ...options,
  });
  const name = `audit-${++domain}`;
  await OpenFeature.setProviderAndWait(name, provider);
  return { provider, client: OpenFeature.getClient(name) };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: Date.parse("2026-12-01T12:00:00Z") });
  server = new FakeEdgeflags();
  logger = recordingLogger();
});

afterEach(async () => {
  vi.useRealTimers();
  // Every batch sent was one the real ingest accepts.
  expect(server.invalid).toEqual([]);
});

describe("comparisons", () => {
  it("answers from the legacy provider and counts every comparison per flag, with samples of the mismatches", async () => {
    const { provider, client } = await setUp();
    const answers: boolean[] = [];
    for (const key of ["acme", "globex", "acme", "initech", "acme"]) {
      answers.push(await client.getBooleanValue("checkout", false, { targetingKey: key, plan: "pro" }));
      await client.getBooleanValue("banner", false, { targetingKey: key });
    }
    expect(answers).toEqual([true, true, true, true, true]);
    await provider.flush();

    const totals = server.totals();
    expect(totals.get("checkout")).toMatchObject({ compared: 5, mismatched: 3 });
    expect(totals.get("banner")).toEqual({ compared: 5, mismatched: 0, samples: [] });
    const samples = totals.get("checkout")!.samples;
    expect(samples).toHaveLength(3);
    expect(samples[0]).toEqual({
      at: "2026-12-01T12:00:00.000Z",
      context: { targetingKey: "acme", plan: "pro" },
      legacy: { value: true, variant: "on" },
      edgeflags: { value: false, variant: "off", reason: "TARGETING_MATCH" },
    });
    expect(server.headers.at(-1)?.get("authorization")).toBe("Bearer ef_server_0123456789abcdef0123456789abcdef");
  });

  it("compares object flags by content, not by identity", async () => {
    const { provider, client } = await setUp();
    await client.getObjectValue("limits", {}, { targetingKey: "u" });
    await provider.flush();
    expect(server.totals().get("limits")).toEqual({ compared: 1, mismatched: 0, samples: [] });
  });

  it("counts an edgeflags error as a mismatch carrying its errorCode, and leaves the app's answer alone", async () => {
    const { provider, client } = await setUp();
    const details = await client.getStringDetails("theme", "light", { targetingKey: "u-1" });
    expect(details).toMatchObject({ value: "dark", variant: "dark" });
    expect(details.errorCode).toBeUndefined();
    await provider.flush();
    const theme = server.totals().get("theme");
    expect(theme).toMatchObject({ compared: 1, mismatched: 1 });
    expect(theme?.samples[0]?.edgeflags).toEqual({ errorCode: "FLAG_NOT_FOUND" });
    expect(theme?.samples[0]?.legacy).toEqual({ value: "dark", variant: "dark" });
  });

  it("counts an edgeflags error answered as details a mismatch, even when its fallback equals the legacy answer", async () => {
    const failing = edgeflagsProvider();
    failing.resolveBooleanEvaluation = async (_key, defaultValue) => ({
      value: defaultValue,
      reason: "ERROR",
      errorCode: ErrorCode.PARSE_ERROR,
    });
    const { provider, client } = await setUp({ edgeflags: failing });
    expect(await client.getBooleanValue("banner", true, { targetingKey: "u" })).toBe(true);
    await provider.flush();
    const banner = server.totals().get("banner");
    expect(banner).toMatchObject({ compared: 1, mismatched: 1 });
    expect(banner?.samples[0]?.edgeflags).toEqual({ value: true, reason: "ERROR", errorCode: "PARSE_ERROR" });
  });

  it("reads reason ERROR without an errorCode as an error on either side: never agreement on a fallback", async () => {
    const legacy = legacyProvider();
    legacy.resolveBooleanEvaluation = async (key, defaultValue) =>
      key === "banner" ? { value: defaultValue, reason: "ERROR" } : { value: true, reason: "STATIC" };
    const edgeflags = edgeflagsProvider();
    edgeflags.resolveBooleanEvaluation = async (key, defaultValue) =>
      key === "checkout" ? { value: defaultValue, reason: "ERROR" } : { value: true, reason: "STATIC" };
    const { provider, client } = await setUp({ legacy, edgeflags });
    await client.getBooleanValue("banner", true, { targetingKey: "u" });
    await client.getBooleanValue("checkout", true, { targetingKey: "u" });
    await provider.flush();
    expect(provider.stats()).toMatchObject({ legacyErrors: 1, compared: 1, mismatched: 1 });
    expect(server.totals().get("checkout")?.samples[0]?.edgeflags).toEqual({ value: true, reason: "ERROR", errorCode: "GENERAL" });
  });

  it("does not compare an evaluation whose legacy side failed (no answer to hold edgeflags to), and reports it as not compared", async () => {
    const { provider, client } = await setUp();
    // The legacy provider throws FLAG_NOT_FOUND for `nowhere`.
    const details = await client.getBooleanDetails("nowhere", false, { targetingKey: "u" });
    expect(details.errorCode).toBe("FLAG_NOT_FOUND");
    await client.getBooleanDetails("nowhere", false, { targetingKey: "v" });
    await client.getBooleanDetails("checkout", false, { targetingKey: "u" });
    await provider.flush();
    // Sent, so edgeflags' readiness says how much went uncompared, even with no comparison in the batch.
    expect(server.totals().get("nowhere")).toMatchObject({ compared: 0, mismatched: 0 });
    expect(server.totals().get("checkout")).toMatchObject({ compared: 1, mismatched: 0 });
    expect(server.uncompared()).toEqual(new Map([["nowhere", 2]]));
    expect(provider.stats()).toMatchObject({ legacyErrors: 2, compared: 1, uncompared: 2, pending: 0 });
  });

  it("sends a batch that holds only evaluations not compared: a legacy system failing every call is never silent", async () => {
    const { provider, client } = await setUp();
    for (let i = 0; i < 5; i++) await client.getBooleanDetails("nowhere", false, { targetingKey: `u${i}` });
    await vi.advanceTimersByTimeAsync(11_000);
    expect(server.uncompared()).toEqual(new Map([["nowhere", 5]]));
    expect(provider.stats()).toMatchObject({ compared: 0, uncompared: 5, pending: 0, delivered: { batches: 1 } });
    await provider.flush();
  });

  it("treats a legacy answer that is no JSON value (undefined, a cycle) as no answer: the batch stays valid and nothing throws", async () => {
    const cyclic: Record<string, unknown> = { max: 3 };
    cyclic["self"] = cyclic;
    // A hand-written legacy provider: no value for an unknown flag instead of an error, an object
    // with a cycle, a variant that is not a string.
    const sloppy: Provider = {
      metadata: { name: "weekend" },
      resolveBooleanEvaluation: async (flagKey) =>
        (flagKey === "checkout" ? { value: true, variant: 1 } : { value: undefined }) as unknown as ResolutionDetails<boolean>,
      resolveStringEvaluation: async () => ({ value: "x" }),
      resolveNumberEvaluation: async () => ({ value: 1 }),
      resolveObjectEvaluation: async () => ({ value: cyclic }) as unknown as ResolutionDetails<never>,
    };
    const { provider, client } = await setUp({ legacy: sloppy });
    expect(await client.getBooleanValue("checkout", false, { targetingKey: "acme" })).toBe(true);
    await client.getBooleanValue("banner", false, { targetingKey: "u" });
    await client.getObjectValue("limits", {}, { targetingKey: "u" });
    await expect(provider.flush()).resolves.toBeUndefined();
    expect(provider.stats()).toMatchObject({ legacyErrors: 2, compared: 1, mismatched: 1, rejected: { batches: 0 } });
    expect(server.totals().get("checkout")).toMatchObject({ compared: 1, mismatched: 1 });
    // Not compared, and reported as such: no comparison of banner or limits was counted.
    expect(server.totals().get("banner")).toMatchObject({ compared: 0, mismatched: 0 });
    expect(server.uncompared()).toEqual(
      new Map([
        ["banner", 1],
        ["limits", 1],
      ]),
    );
  });

  it("does not report a flag whose key edgeflags cannot hold (the batch would be refused whole), and counts it", async () => {
    const legacy = legacyProvider();
    legacy.putConfiguration({ "new checkout": bool(true), banner: bool(true) });
    const { provider, client } = await setUp({ legacy });
    await client.getBooleanValue("new checkout", false, { targetingKey: "u" });
    await client.getBooleanValue("banner", false, { targetingKey: "u" });
    await provider.flush();
    expect([...server.totals().keys()]).toEqual(["banner"]);
    expect(provider.stats()).toMatchObject({ unreportable: 1, rejected: { batches: 0 } });
  });

  it("trims a sample's context to the server's 4 KiB bound, keeping the targeting key", async () => {
    const { provider, client } = await setUp();
    await client.getBooleanValue("checkout", false, { targetingKey: "acme", notes: "n".repeat(5_000), plan: "pro" });
    await provider.flush();
    const context = server.totals().get("checkout")?.samples[0]?.context;
    expect(context).toEqual({ targetingKey: "acme", plan: "pro" });
  });

  it("keeps at most 20 samples per flag per batch and counts the ones it dropped", async () => {
    const { provider, client } = await setUp();
    for (let i = 0; i < 25; i++) await client.getBooleanValue("checkout", false, { targetingKey: "acme", i });
    await provider.flush();
    const checkout = server.totals().get("checkout");
    expect(checkout).toMatchObject({ compared: 25, mismatched: 25 });
    expect(checkout?.samples).toHaveLength(20);
    expect(checkout?.samples.map((s) => s.context.i)).toEqual([...Array(20).keys()]);
    expect(provider.stats().samplesDropped).toBe(5);
  });

  it("does not make the caller wait for the other side: a hanging edgeflags provider times out as a mismatch", async () => {
    const hanging = edgeflagsProvider();
    hanging.resolveBooleanEvaluation = () => new Promise(() => {});
    const { provider, client } = await setUp({ edgeflags: hanging, compareTimeoutMs: 2_000 });
    await expect(client.getBooleanValue("banner", false, { targetingKey: "u" })).resolves.toBe(true);
    expect(provider.stats().compared).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    await provider.flush();
    expect(server.totals().get("banner")).toMatchObject({ compared: 1, mismatched: 1 });
    expect(server.totals().get("banner")?.samples[0]?.edgeflags).toEqual({ errorCode: "GENERAL" });
  });
});

describe("delivery", () => {
  it("re-sends a batch refused with 503 unchanged, not before its Retry-After, and the server counts it once", async () => {
    const { provider, client } = await setUp();
    await client.getBooleanValue("checkout", false, { targetingKey: "acme" });
    server.script.push({ kind: "status", status: 503, retryAfter: "30" });
    await provider.flush();
    expect(server.received).toHaveLength(1);
    expect(provider.stats()).toMatchObject({ queued: 1, retries: 1 });

    // More comparisons meanwhile go into a new batch; the refused one keeps its id and body.
    await client.getBooleanValue("checkout", false, { targetingKey: "globex" });
    await vi.advanceTimersByTimeAsync(29_000);
    await provider.flush();
    expect(server.received).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(1_000);
    await provider.flush();
    const [first, retry, next] = server.received;
    expect(retry?.batch).toBe(first?.batch);
    expect(retry?.raw).toBe(first?.raw);
    expect(retry!.at - first!.at).toBeGreaterThanOrEqual(30_000);
    expect(next?.batch).not.toBe(first?.batch);
    expect(server.totals().get("checkout")).toMatchObject({ compared: 2, mismatched: 1 });
    expect(provider.stats()).toMatchObject({ queued: 0, delivered: { batches: 2, compared: 2, mismatched: 1 } });
  });

  it.each([
    ["429 with an HTTP-date Retry-After", { kind: "status", status: 429, retryAfter: "Tue, 01 Dec 2026 12:00:05 GMT" }],
    ["a network error", { kind: "network-error" }],
    ["an answer lost after the server counted the batch", { kind: "count-then-lose" }],
    ["no answer at all (deadline)", { kind: "hang" }],
  ] as const)("after %s the same batch id is retried and counted exactly once", async (_, step) => {
    const { provider, client } = await setUp({ requestTimeoutMs: 1_000 });
    for (let i = 0; i < 3; i++) await client.getBooleanValue("checkout", false, { targetingKey: "acme" });
    server.script.push(step);
    const flushing = provider.flush();
    await vi.advanceTimersByTimeAsync(1_000);
    await flushing;
    expect(provider.stats().queued).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    await provider.flush();
    expect(server.received).toHaveLength(2);
    expect(server.received[1]?.batch).toBe(server.received[0]?.batch);
    expect(server.countedBatches).toBe(1);
    expect(server.totals().get("checkout")).toMatchObject({ compared: 3, mismatched: 3 });
    expect(provider.stats()).toMatchObject({ queued: 0, delivered: { batches: 1, compared: 3 } });
  });

  it("with the queue full keeps counting into the open batch, and delivers every comparison once the server is back", async () => {
    const { provider, client } = await setUp({ maxQueued: 1 });
    server.script.push({ kind: "status", status: 503, retryAfter: "60" });
    await client.getBooleanValue("checkout", false, { targetingKey: "acme" });
    await provider.flush();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) await client.getBooleanValue("checkout", false, { targetingKey: i % 2 ? "acme" : "globex" });
      await provider.flush();
    }
    expect(provider.stats()).toMatchObject({ queued: 1, pending: 30, compared: 31, mismatched: 16, samplesDropped: 0 });

    await vi.advanceTimersByTimeAsync(60_000);
    await provider.flush();
    expect(server.totals().get("checkout")).toMatchObject({ compared: 31, mismatched: 16 });
    expect(server.totals().get("checkout")?.samples).toHaveLength(16);
  });

  it("splits what it holds into batches within the ingest's limits on entries and bytes", async () => {
    const legacy = new InMemoryProvider(Object.fromEntries(Array.from({ length: 1_500 }, (_, i) => [`f${i}`, bool(true)])));
    const { provider, client } = await setUp({ legacy, edgeflags: new InMemoryProvider({}) });
    const wide = { targetingKey: "acme", blob: "b".repeat(3_900) };
    for (let i = 0; i < 1_500; i++) await client.getBooleanValue(`f${i}`, false, wide);
    for (let i = 0; i < 30; i++) await client.getBooleanValue("f0", false, wide);
    await provider.flush();
    expect(server.received.length).toBeGreaterThan(2);
    const totals = server.totals();
    expect(totals.size).toBe(1_500);
    expect(totals.get("f0")).toMatchObject({ compared: 31, mismatched: 31 });
    expect(totals.get("f0")?.samples).toHaveLength(20);
    expect(totals.get("f1499")).toMatchObject({ compared: 1, mismatched: 1 });
    expect(provider.stats()).toMatchObject({ compared: 1_530, delivered: { compared: 1_530 }, samplesDropped: 11, queued: 0 });
  });

  it("drops a batch the server refuses as invalid (it cannot succeed), and says so", async () => {
    const { provider, client } = await setUp();
    await client.getBooleanValue("checkout", false, { targetingKey: "acme" });
    server.script.push({ kind: "status", status: 400 });
    await provider.flush();
    await vi.advanceTimersByTimeAsync(600_000);
    await provider.flush();
    expect(server.received).toHaveLength(1);
    expect(provider.stats()).toMatchObject({ queued: 0, rejected: { batches: 1, compared: 1, mismatched: 1 } });
    expect(logger.lines.some((line) => line.includes("refused comparison batch") && line.includes("1 comparisons not counted"))).toBe(true);
  });

  it("sends on its timer, and early when the open batch reaches maxBatch", async () => {
    const { client } = await setUp({ flushIntervalMs: 5_000, maxBatch: 4 });
    for (let i = 0; i < 3; i++) await client.getBooleanValue("banner", false, { targetingKey: `u${i}` });
    await vi.advanceTimersByTimeAsync(0);
    expect(server.received).toHaveLength(0);
    await client.getBooleanValue("banner", false, { targetingKey: "u3" });
    await vi.waitFor(() => expect(server.received).toHaveLength(1));
    expect(server.totals().get("banner")?.compared).toBe(4);

    await client.getBooleanValue("banner", false, { targetingKey: "u4" });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(server.received).toHaveLength(2);
    expect(server.totals().get("banner")?.compared).toBe(5);
  });

  it("works where no timer can be set while it starts (a Worker's global scope): evaluations start the work", async () => {
    vi.stubGlobal("setTimeout", () => {
      throw new Error("Disallowed operation called within global scope");
    });
    const { provider, client } = await setUp({ flushIntervalMs: 5_000 });
    vi.unstubAllGlobals();
    await client.getBooleanValue("checkout", false, { targetingKey: "acme" });
    await vi.waitFor(() => expect(provider.stats().pending).toBe(1));
    vi.setSystemTime(Date.now() + 5_000);
    await client.getBooleanValue("checkout", false, { targetingKey: "globex" });
    await vi.waitFor(() => expect(server.received).toHaveLength(1));
    expect(server.totals().get("checkout")).toMatchObject({ compared: 1, mismatched: 1 });
  });

  it("initializes when the non-authoritative provider fails to, and counts its answers as errors", async () => {
    const broken = edgeflagsProvider();
    Object.assign(broken, {
      initialize: () => {
        throw new Error("cannot connect");
      },
    });
    broken.resolveBooleanEvaluation = async () => {
      throw new Error("not ready");
    };
    const { provider, client } = await setUp({ edgeflags: broken });
    expect(await client.getBooleanValue("banner", false, { targetingKey: "u" })).toBe(true);
    await provider.flush();
    expect(server.totals().get("banner")?.samples[0]?.edgeflags).toEqual({ errorCode: "GENERAL" });
    expect(logger.lines.some((line) => line.includes("failed to initialize") && line.includes("cannot connect"))).toBe(true);
  });

  it("flushes what it holds when OpenFeature closes", async () => {
    const { client } = await setUp();
    await client.getBooleanValue("checkout", false, { targetingKey: "acme" });
    expect(server.received).toHaveLength(0);
    await OpenFeature.close();
    expect(server.totals().get("checkout")).toMatchObject({ compared: 1, mismatched: 1 });
  });
});

describe("authority", () => {
  it("answers from edgeflags once the status says so, and compares until the grace period ends", async () => {
    const { provider, client } = await setUp({ statusIntervalMs: 30_000 });
    expect(await client.getBooleanValue("checkout", true, { targetingKey: "acme" })).toBe(true);

    server.status = {
      environment: "production",
      authority: "edgeflags",
      since: "2026-12-01T12:00:00Z",
      graceUntil: "2026-12-01T13:00:00Z",
      report: true,
    };
    await vi.advanceTimersByTimeAsync(30_000);
    expect(provider.authority).toBe("edgeflags");
    expect(await client.getBooleanValue("checkout", true, { targetingKey: "acme" })).toBe(false);
    await provider.flush();
    expect(server.totals().get("checkout")).toMatchObject({ compared: 2, mismatched: 2 });

    // After graceUntil, edgeflags still answers and nothing is compared any more.
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(await client.getBooleanValue("checkout", true, { targetingKey: "acme" })).toBe(false);
    await provider.flush();
    expect(server.totals().get("checkout")).toMatchObject({ compared: 2 });
    expect(provider.stats()).toMatchObject({ authority: "edgeflags", reporting: false, compared: 2 });
  });

  it("follows the authority carried by an ingest answer, before the next poll", async () => {
    const { provider, client } = await setUp({ statusIntervalMs: 600_000 });
    await client.getBooleanValue("banner", false, { targetingKey: "u" });
    server.status = { environment: "production", authority: "edgeflags", since: null, graceUntil: null, report: true };
    await provider.flush();
    expect(provider.authority).toBe("edgeflags");
    expect(await client.getBooleanValue("checkout", true, { targetingKey: "acme" })).toBe(false);
  });

  it("stops comparing when the status says report: false, and goes back to legacy when cut back", async () => {
    const { provider, client } = await setUp({ statusIntervalMs: 30_000 });
    server.status = { environment: "production", authority: "edgeflags", since: null, graceUntil: null, report: false };
    await vi.advanceTimersByTimeAsync(30_000);
    await client.getBooleanValue("checkout", true, { targetingKey: "acme" });
    await provider.flush();
    expect(server.received).toHaveLength(0);

    server.status = { environment: "production", authority: "legacy", since: null, graceUntil: null, report: true };
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await client.getBooleanValue("checkout", false, { targetingKey: "acme" })).toBe(true);
    await provider.flush();
    expect(server.totals().get("checkout")).toMatchObject({ compared: 1, mismatched: 1 });
  });

  it("starts on legacy and keeps answering when the status cannot be read, and says so", async () => {
    server.status = { unexpected: true };
    const { provider, client } = await setUp();
    expect(provider.authority).toBe("legacy");
    expect(await client.getBooleanValue("checkout", false, { targetingKey: "acme" })).toBe(true);
    expect(logger.lines.some((line) => line.includes("status unreadable"))).toBe(true);
  });

  it("reads the authority at initialization: a cut-over environment answers from edgeflags from the first evaluation", async () => {
    server.status = { environment: "production", authority: "edgeflags", since: null, graceUntil: null, report: true };
    const { client } = await setUp();
    expect(await client.getBooleanValue("checkout", true, { targetingKey: "acme" })).toBe(false);
  });
});
