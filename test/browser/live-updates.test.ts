/**
 * Live updates in a real browser: headless Chromium (web security on), a cross-origin page running
 * the official `@openfeature/ofrep-web-provider` with polling off, against `wrangler dev` behind a
 * loopback proxy that can cut the event stream. Covers the three browser cases: a toggle
 * shows up and emits PROVIDER_CONFIGURATION_CHANGED without a poll; a dropped stream resumes with
 * `Last-Event-ID` and catches up; a tab hidden past `inactivityDelaySec` reconnects and re-fetches
 * unconditionally.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "./harness";
import { patient, until, WAIT } from "./wait";
import {
  bundlePage,
  servePage,
  startLiveWorker,
  startProxy,
  type LiveWorker,
  type PageServer,
  type Proxy as StreamProxy,
} from "./fixtures/live-harness";
import type { BulkRequest, StreamLog } from "./fixtures/live-page";

const PROJECT = "live";
const INACTIVITY_SECONDS = 2;

let worker: LiveWorker;
let proxy: StreamProxy;
let pages: PageServer;
let browser: Browser;
let key: string;

/** Waits until every queued notification of the project has reached its broadcaster. */
async function notified(): Promise<void> {
  await until("the notify outbox row to drain", async () => {
    const status = await worker.admin("GET", `/projects/${PROJECT}/replication`);
    return !status.body.pending.some((row: { kind: string }) => row.kind === "notify");
  });
}

async function toggle(flag: string): Promise<number> {
  const res = await worker.admin("POST", `/projects/${PROJECT}/environments/production/flags/${flag}/toggle`);
  expect(res.status).toBe(200);
  return res.body.version;
}

async function openPage(): Promise<Page> {
  const page = await patient(await browser.newContext()).newPage();
  await page.goto(pages.base);
  await page.waitForFunction(() => typeof globalThis.live === "object");
  const started = await page.evaluate((options) => globalThis.live.start(options), { baseUrl: proxy.base, key, targetingKey: "user-1" });
  expect(started).toEqual({ ok: true });
  await waitForStream(page, (log) => log.filter((e) => e.type === "open").length >= 1);
  return page;
}

async function log(page: Page) {
  return page.evaluate(() => globalThis.live.log());
}

async function waitForStream(page: Page, test: (log: StreamLog[]) => boolean, what = "the event stream"): Promise<void> {
  await until(what, async () => test((await log(page)).streams));
}

beforeAll(async () => {
  worker = await startLiveWorker({ STREAM_INACTIVITY_SECONDS: String(INACTIVITY_SECONDS) });
  proxy = await startProxy(worker.base);
  pages = await servePage(await bundlePage());
  browser = await launchBrowser();
  expect((await worker.admin("PUT", `/projects/${PROJECT}`, { environments: ["staging", "production"] })).status).toBe(201);
  const flags = {
    flags: {
      "kill-switch": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
      "new-checkout": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
      "dark-mode": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
    },
  };
  expect((await worker.admin("PUT", `/projects/${PROJECT}/environments/production/flagd`, flags)).status).toBe(200);
  const created = await worker.admin("POST", `/projects/${PROJECT}/environments/production/keys`, { scope: "client" });
  expect(created.status).toBe(201);
  key = created.body.key;
  // The key reaches the edge through the outbox (KV key index); wait until it evaluates.
  await until("the client key to be published", async () => {
    const res = await fetch(`${worker.base}/ofrep/v1/evaluate/flags`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: "{}",
    });
    return res.status === 200;
  });
});

afterAll(async () => {
  await browser?.close();
  await pages?.stop();
  await proxy?.stop();
  await worker?.stop();
});

describe("live updates in a browser (official OFREP web provider, polling off)", () => {
  it("shows a toggled flag and emits PROVIDER_CONFIGURATION_CHANGED without any poll", async () => {
    const page = await openPage();
    expect(await page.evaluate(() => globalThis.live.value("kill-switch"))).toBe(true);
    const toggledAt = Date.now();
    const version = await toggle("kill-switch");
    await page.waitForFunction(() => globalThis.live.value("kill-switch") === false, undefined, WAIT);
    const visibleAfterMs = Date.now() - toggledAt;
    const { bulk, appEvents, streams, changes } = await log(page);
    expect(appEvents).toContainEqual(
      expect.objectContaining({ type: "PROVIDER_CONFIGURATION_CHANGED", flagsChanged: expect.arrayContaining(["kill-switch"]) }),
    );
    // Two bulk requests: the initial one, and the re-fetch the event triggered (naming the version).
    expect(bulk).toHaveLength(2);
    expect(bulk[0]!.query).toEqual({});
    expect(bulk[1]!.query).toEqual({ flagConfigEtag: `"${version}"`, flagConfigLastModified: expect.stringMatching(/^\d+$/) });
    const messages = streams.filter((e) => e.type === "message");
    expect(messages.map((e) => e.id)).toEqual([String(version)]);
    // Pushed, not polled: the stream's message came first, then the re-fetch, then the change
    // (in the page's own clock, so a slow machine cannot make this pass or fail).
    const changed = changes.find((c) => c.flag === "kill-switch");
    expect(changed).toMatchObject({ value: false });
    expect(messages[0]!.at).toBeLessThanOrEqual(bulk[1]!.at);
    expect(bulk[1]!.at).toBeLessThanOrEqual(changed!.at);
    console.info(`toggle → visible in the page: ${visibleAfterMs} ms`);
    await page.context().close();
  });

  it("resumes a dropped stream with Last-Event-ID and catches up on what it missed", async () => {
    const page = await openPage();
    const seen = await toggle("new-checkout");
    await page.waitForFunction(() => globalThis.live.value("new-checkout") === false, undefined, WAIT);
    const before = proxy.streamRequests.length;
    proxy.hold();
    proxy.dropStreams();
    await waitForStream(page, (streams) => streams.at(-1)?.type === "error", "the stream to drop");
    const missed = await toggle("new-checkout");
    await notified();
    await until("the browser to reconnect", async () => proxy.streamRequests.length > before);
    proxy.release();
    await page.waitForFunction(() => globalThis.live.value("new-checkout") === true, undefined, WAIT);
    const reconnect = proxy.streamRequests[before]!;
    expect(reconnect.lastEventId).toBe(String(seen));
    const { bulk, streams } = await log(page);
    expect(streams.filter((e) => e.type === "create")).toHaveLength(1); // the browser's own reconnect, same EventSource
    expect(streams.filter((e) => e.type === "message").map((e) => e.id)).toEqual([String(seen), String(missed)]);
    expect(bulk.at(-1)!.query.flagConfigEtag).toBe(`"${missed}"`);
    await page.context().close();
  });

  it("closes the stream of a tab hidden past inactivityDelaySec, then reconnects and re-fetches unconditionally", async () => {
    const page = await openPage();
    const { bulk: initial } = await log(page);
    expect(initial).toHaveLength(1);
    await page.evaluate(() => globalThis.live.setHidden(true));
    await waitForStream(
      page,
      (streams) => streams.some((e) => e.type === "close"),
      `the stream to close after ${INACTIVITY_SECONDS} s hidden`,
    );
    // A change while the tab is away: no stream is open to hear it.
    await toggle("dark-mode");
    await notified();
    expect(await page.evaluate(() => globalThis.live.value("dark-mode"))).toBe(true);
    await page.evaluate(() => globalThis.live.setHidden(false));
    await page.waitForFunction(() => globalThis.live.value("dark-mode") === false, undefined, WAIT);
    const { bulk, streams } = await log(page);
    const resumed: BulkRequest = bulk.at(-1)!;
    expect(resumed.query).toEqual({});
    expect(resumed.ifNoneMatch).toBeNull();
    expect(streams.filter((e) => e.type === "create")).toHaveLength(2);
    await waitForStream(page, (s) => s.filter((e) => e.type === "open").length >= 2, "the new stream to open");
    await page.context().close();
  });
});
