/**
 * The published OFREP web provider (`@openfeature/ofrep-web-provider` with `@openfeature/web-sdk`)
 * in headless Chromium against the Worker under `wrangler dev`. The page is served from another
 * origin, so every evaluation is a cross-origin, preflighted request: what a web app does.
 * Requests are observed with playwright's response events, not inferred from values.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page, Response } from "playwright-core";
import { servePage, startDevWorker, type DevWorker, type PageServer } from "./fixtures/ofrep-harness";
import { launchBrowser } from "./harness";
import { patient, POLL, TEST_TIMEOUT_MS, WAIT, WAIT_MS } from "./wait";
import type { Details, PageApi, PageEvent, StartOptions } from "./fixtures/ofrep-page";

const PROJECT = "web";
const FLAGS = {
  flags: {
    "new-checkout": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
    // Only the polling test reads it, and it switches it off.
    "kill-switch": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
    "banner-color": {
      state: "ENABLED",
      variants: { red: "#c00", green: "#0a0" },
      defaultVariant: "red",
      targeting: { if: [{ in: [{ var: "country" }, ["CA", "US"]] }, "green", null] },
    },
    greeting: {
      state: "ENABLED",
      variants: { hello: "hello", back: "welcome back" },
      defaultVariant: "hello",
      targeting: { if: [{ "==": [{ var: "targetingKey" }, "user-2"] }, "back", null] },
    },
  },
};

let worker: DevWorker;
let site: PageServer;
let browser: Browser;
let clientKey: string;

beforeAll(async () => {
  [worker, site, browser] = await Promise.all([startDevWorker(), servePage(), launchBrowser()]);
  expect((await worker.admin("PUT", `/projects/${PROJECT}`, { environments: ["production"] })).status).toBe(201);
  expect((await worker.admin("PUT", `/projects/${PROJECT}/environments/production/flagd`, FLAGS)).status).toBe(200);
  const key = await worker.admin("POST", `/projects/${PROJECT}/environments/production/keys`, { scope: "client" });
  expect(key.status).toBe(201);
  clientKey = key.body.key;
});

afterAll(async () => {
  await Promise.allSettled([browser?.close(), site?.close(), worker?.stop()]);
});

/** One fresh browser context per test: no shared storage, a fresh OpenFeature singleton. */
let context: BrowserContext | undefined;
afterEach(async () => {
  await context?.close();
  context = undefined;
});

interface Session {
  page: Page;
  /** Every bulk evaluation response the page received, in order. */
  bulk: Response[];
  start(options: Partial<StartOptions>): Promise<{ ok: boolean; status: string; error?: string }>;
  setContext(evaluationContext: StartOptions["context"]): Promise<void>;
  boolean(key: string, fallback: boolean): Promise<Details>;
  string(key: string, fallback: string): Promise<Details>;
  events(): Promise<PageEvent[]>;
}

type PageWindow = { edgeflags: PageApi };

function isBulk(response: Response): boolean {
  const request = response.request();
  return request.method() === "POST" && new URL(request.url()).pathname === "/ofrep/v1/evaluate/flags";
}

async function openPage(): Promise<Session> {
  context = patient(await browser.newContext());
  const page = await context.newPage();
  const bulk: Response[] = [];
  page.on("response", (response) => {
    if (isBulk(response)) bulk.push(response);
  });
  await page.goto(`${site.origin}/`);
  return {
    page,
    bulk,
    // Options travel as JSON text: EvaluationContext is too recursive for playwright's argument types.
    start: (options) => {
      const o: StartOptions = {
        baseUrl: worker.origin,
        key: clientKey,
        context: { targetingKey: "user-1", country: "FR" },
        pollInterval: 0,
        ...options,
      };
      return page.evaluate((json) => (globalThis as unknown as PageWindow).edgeflags.start(JSON.parse(json)), JSON.stringify(o));
    },
    setContext: (evaluationContext) =>
      page.evaluate(
        (json) => (globalThis as unknown as PageWindow).edgeflags.setContext(JSON.parse(json)),
        JSON.stringify(evaluationContext),
      ),
    boolean: (key, fallback) =>
      page.evaluate((a) => (globalThis as unknown as PageWindow).edgeflags.boolean(a.key, a.fallback), { key, fallback }),
    string: (key, fallback) =>
      page.evaluate((a) => (globalThis as unknown as PageWindow).edgeflags.string(a.key, a.fallback), { key, fallback }),
    events: () => page.evaluate(() => (globalThis as unknown as PageWindow).edgeflags.events()),
  };
}

function waitForBulk(page: Page, status: number): Promise<Response> {
  return page.waitForResponse((response) => isBulk(response) && response.status() === status, WAIT);
}

describe("OFREP web provider in Chromium", () => {
  it("runs with CORS enforced: the admin API, which sends no CORS headers, is unreadable from the page", async () => {
    const session = await openPage();
    const outcome = await session.page.evaluate(async (url) => {
      try {
        return `status ${(await fetch(url, { headers: { authorization: "Bearer not-a-token" } })).status}`;
      } catch (error) {
        return String(error);
      }
    }, `${worker.origin}/admin/v1/projects/${PROJECT}`);
    expect(outcome).toMatch(/^TypeError/);
  });

  it("evaluates every flag with one cross-origin bulk request when it starts", async () => {
    const session = await openPage();
    expect(new URL(site.origin).origin).not.toBe(new URL(worker.origin).origin);

    expect(await session.start({})).toEqual({ ok: true, status: "READY" });

    // Response events reach the test process on their own schedule: wait for the one, then check
    // that it stayed the only one.
    await expect.poll(() => session.bulk.length, POLL).toBeGreaterThan(0);
    const [first] = session.bulk;
    expect(first!.status()).toBe(200);
    expect(await first!.request().headerValue("authorization")).toBe(`Bearer ${clientKey}`);
    expect(first!.request().postDataJSON()).toEqual({ context: { targetingKey: "user-1", country: "FR" } });
    expect(await first!.headerValue("access-control-allow-origin")).toBe("*");
    expect(await first!.headerValue("etag")).toMatch(/^"[^"]+"$/);

    expect(await session.boolean("new-checkout", false)).toMatchObject({ value: true, variant: "on", reason: "STATIC" });
    expect(await session.string("banner-color", "none")).toMatchObject({ value: "#c00", variant: "red", reason: "DEFAULT" });
    expect(await session.string("greeting", "none")).toMatchObject({ value: "hello", variant: "hello" });
    expect(await session.string("no-such-flag", "fallback")).toMatchObject({ value: "fallback", errorCode: "FLAG_NOT_FOUND" });
    expect(session.bulk).toHaveLength(1);
  });

  it("re-evaluates on a change of context, conditionally when the targeting key stays", async () => {
    const session = await openPage();
    await session.start({});
    const initialEtag = await session.bulk[0]!.headerValue("etag");

    // A new targeting key is a new user: the provider drops its ETag and fetches unconditionally.
    let next = waitForBulk(session.page, 200);
    await session.setContext({ targetingKey: "user-2", country: "CA" });
    const switched = await next;
    expect(switched.request().postDataJSON()).toEqual({ context: { targetingKey: "user-2", country: "CA" } });
    expect(await switched.request().headerValue("if-none-match")).toBeNull();
    expect(await session.string("banner-color", "none")).toMatchObject({ value: "#0a0", reason: "TARGETING_MATCH" });
    expect(await session.string("greeting", "none")).toMatchObject({ value: "welcome back", reason: "TARGETING_MATCH" });

    // Same user, another attribute: the request is conditional, and the answer differs, so 200.
    const switchedEtag = await switched.headerValue("etag");
    expect(switchedEtag).not.toBe(initialEtag);
    next = waitForBulk(session.page, 200);
    await session.setContext({ targetingKey: "user-2", country: "FR" });
    const moved = await next;
    expect(await moved.request().headerValue("if-none-match")).toBe(switchedEtag);
    expect(await session.string("banner-color", "none")).toMatchObject({ value: "#c00", reason: "DEFAULT" });

    expect((await session.events()).map((e) => e.type)).toContain("PROVIDER_CONTEXT_CHANGED");
  });

  it("polls with If-None-Match, gets 304 while nothing changed, and picks up a flag change", async () => {
    const session = await openPage();
    await session.start({ pollInterval: 250 });
    const initialEtag = await session.bulk[0]!.headerValue("etag");

    const unchanged = await waitForBulk(session.page, 304);
    expect(await unchanged.request().headerValue("if-none-match")).toBe(initialEtag);
    expect(await session.boolean("kill-switch", false)).toMatchObject({ value: true, reason: "STATIC" });

    const changed = waitForBulk(session.page, 200);
    const toggled = await worker.admin("POST", `/projects/${PROJECT}/environments/production/flags/kill-switch/toggle`);
    expect(toggled.status).toBe(200);
    const fresh = await changed;
    expect(await fresh.request().headerValue("if-none-match")).toBe(initialEtag);
    const freshEtag = await fresh.headerValue("etag");
    expect(freshEtag).not.toBe(initialEtag);

    await session.page.waitForFunction(
      () =>
        (globalThis as unknown as PageWindow).edgeflags
          .events()
          .some((e) => e.type === "PROVIDER_CONFIGURATION_CHANGED" && e.flagsChanged?.includes("kill-switch")),
      undefined,
      WAIT,
    );
    expect(await session.boolean("kill-switch", false)).toMatchObject({ value: false, reason: "DISABLED" });

    // And quiet again: the next poll names the new ETag and is answered 304.
    const quiet = await session.page.waitForResponse(
      async (response) => isBulk(response) && (await response.request().headerValue("if-none-match")) === freshEtag,
      WAIT,
    );
    expect(quiet.status()).toBe(304);
  });

  it("goes fatal on 401 for an unknown key, and serves the code default", async () => {
    const session = await openPage();
    const started = await session.start({ key: "ef_client_not-a-real-key" });
    expect(started).toMatchObject({ ok: false, status: "FATAL" });

    await expect.poll(() => session.bulk.length, POLL).toBeGreaterThan(0);
    expect(session.bulk.map((r) => r.status())).toEqual([401]);
    // The browser let the page read the 401 only because it carries CORS headers.
    expect(await session.bulk[0]!.headerValue("access-control-allow-origin")).toBe("*");
    expect(await session.boolean("new-checkout", false)).toMatchObject({ value: false, reason: "ERROR", errorCode: "PROVIDER_FATAL" });
    expect((await session.events()).some((e) => e.type === "PROVIDER_ERROR")).toBe(true);
  });
});

describe("OFREP web provider in Chromium, rate limited", () => {
  // A Worker of its own, whose client limit (3 per 10 s per key and address) a page reaches at once.
  let limitedWorker: DevWorker;
  let limitedKey: string;
  beforeAll(async () => {
    limitedWorker = await startDevWorker({ clientRateLimit: { limit: 3, period: 10 } });
    expect((await limitedWorker.admin("PUT", `/projects/${PROJECT}`, { environments: ["production"] })).status).toBe(201);
    expect((await limitedWorker.admin("PUT", `/projects/${PROJECT}/environments/production/flagd`, FLAGS)).status).toBe(200);
    limitedKey = (await limitedWorker.admin("POST", `/projects/${PROJECT}/environments/production/keys`, { scope: "client" })).body.key;
  });
  afterAll(async () => {
    await limitedWorker?.stop();
  });

  it("honours 429 with Retry-After: goes stale, keeps its values, asks nothing before the time it names, then polls again", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const session = await openPage();
    // Times from the browser's own resource timing (when a request was sent, when its answer
    // began), not from when this process heard of it, which a loaded machine delays.
    const seen: { status: number; sentAt: number; answeredAt: number }[] = [];
    session.page.on("response", (response) => {
      if (!isBulk(response)) return;
      const timing = response.request().timing();
      seen.push({ status: response.status(), sentAt: timing.startTime, answeredAt: timing.startTime + Math.max(timing.responseStart, 0) });
    });
    const limitedResponse = waitForBulk(session.page, 429);
    const started = await session.start({ baseUrl: limitedWorker.origin, key: limitedKey, pollInterval: 250 });
    expect(started).toMatchObject({ ok: true, status: "READY" });
    const limited = await limitedResponse;
    expect(await limited.headerValue("retry-after")).toBe("10");
    const limitedAt = seen.find((r) => r.status === 429)!.answeredAt;
    await session.page.waitForFunction(
      () => (globalThis as unknown as PageWindow).edgeflags.events().some((e) => e.type === "PROVIDER_STALE"),
      undefined,
      WAIT,
    );
    expect(await session.boolean("new-checkout", false)).toMatchObject({ value: true, variant: "on" });
    // The next request waits out Retry-After (10 s), then polling resumes and is answered again.
    const resumed = await session.page.waitForResponse((response) => isBulk(response) && response.status() !== 429, {
      timeout: 10_000 + WAIT_MS,
    });
    expect(resumed.request().timing().startTime - limitedAt).toBeGreaterThanOrEqual(9_000);
    expect(seen.filter((r) => r.sentAt > limitedAt && r.sentAt < limitedAt + 9_000)).toEqual([]);
    expect([200, 304]).toContain(resumed.status());
  });
});
