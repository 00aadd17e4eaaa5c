/**
 * The in-process provider (`@edgeflags/openfeature-provider`) through the OpenFeature server SDK,
 * against this Worker's own fetch in workerd: the same answers as the edge over OFREP (the bench
 * workload's 10,000 contexts, and flags using every edgeflags extension), a change announced on
 * the event stream as PROVIDER_CONFIGURATION_CHANGED with its key, a failing service as
 * PROVIDER_STALE with the last good values kept, and usage reported back into the store.
 */
import { env, exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import worker from "../worker/index";
import { OpenFeature, ProviderEvents, type Client, type EvaluationDetails, type FlagValue } from "@openfeature/server-sdk";
import { afterAll, describe, expect, it, vi } from "vitest";
import { OpenFeature as WebFeature } from "@openfeature/web-sdk";
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";
import { EdgeflagsWebProvider } from "../packages/openfeature-provider/src/web";
import { EdgeflagsProvider, type EdgeflagsProviderOptions } from "../packages/openfeature-provider/src/index";
import type { FlagSet } from "../engine/types";
import { generateWorkload } from "../bench/workload.mjs";
import { pendingFlush } from "../worker/telemetry";
import { call, demoFlags, drainOutbox, evaluate, setupProject } from "./helpers";

const ORIGIN = "http://edgeflags.test";
const quiet = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const workerFetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => exports.default.fetch(new Request(input, init));
const WAIT_MS = 5_000;

/** demoFlags plus every edgeflags extension: targets, prerequisites, an off variant, a killed flag with one. */
const extendedFlags: FlagSet = {
  flags: {
    ...demoFlags.flags,
    "vip-banner": {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      targets: { on: ["acme", "globex"] },
      targeting: { if: [{ ends_with: [{ var: "email" }, "@example.com"] }, "on", null] },
    },
    "needs-checkout": {
      state: "ENABLED",
      variants: { yes: "yes", no: "no" },
      defaultVariant: "no",
      prerequisites: [{ flag: "new-checkout", variant: "on" }],
      targeting: { if: [{ "==": [{ var: "plan" }, "pro"] }, "yes", null] },
    },
    "killed-with-off": {
      state: "DISABLED",
      variants: { on: "full", off: "lite" },
      defaultVariant: "on",
      metadata: { "edgeflags.offVariant": "off" },
    },
  },
};

const providers: EdgeflagsProvider[] = [];
let domain = 0;

async function start(
  key: string,
  options: Partial<EdgeflagsProviderOptions> = {},
): Promise<{ provider: EdgeflagsProvider; client: Client }> {
  const provider = new EdgeflagsProvider({ url: ORIGIN, serverKey: key, fetch: workerFetch, stream: false, logger: quiet, ...options });
  providers.push(provider);
  const name = `inproc-${++domain}`;
  await OpenFeature.setProviderAndWait(name, provider);
  return { provider, client: OpenFeature.getClient(name) };
}

afterAll(async () => {
  await Promise.all(providers.map((p) => p.onClose()));
});

interface OfrepFlag {
  key: string;
  value?: unknown;
  variant?: string;
  reason?: string;
  errorCode?: string;
}

/** The edge's bulk answer for one context, over OFREP. */
async function edgeAnswers(key: string, context: Record<string, unknown>): Promise<OfrepFlag[]> {
  const response = await workerFetch(`${ORIGIN}/ofrep/v1/evaluate/flags`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ context }),
  });
  expect(response.status).toBe(200);
  const body: { flags: OfrepFlag[] } = await response.json();
  return body.flags;
}

/** The provider's answer through the SDK, asked with the type of the edge's value (boolean when it served none). */
function providerAnswer(client: Client, flag: OfrepFlag, context: Record<string, unknown>): Promise<EvaluationDetails<FlagValue>> {
  const ctx = context as Parameters<Client["getBooleanDetails"]>[2];
  switch (typeof flag.value) {
    case "string":
      return client.getStringDetails(flag.key, "", ctx);
    case "number":
      return client.getNumberDetails(flag.key, 0, ctx);
    case "object":
      return client.getObjectDetails(flag.key, {}, ctx);
    default:
      return client.getBooleanDetails(flag.key, false, ctx);
  }
}

/** Both answers as comparable records: value only when the edge served one. */
function same(edge: OfrepFlag, mine: EvaluationDetails<FlagValue>) {
  return {
    edge: { key: edge.key, value: edge.value, variant: edge.variant, reason: edge.reason, errorCode: edge.errorCode },
    mine: {
      key: edge.key,
      value: "value" in edge ? mine.value : undefined,
      variant: mine.variant,
      reason: mine.reason,
      errorCode: mine.errorCode,
    },
  };
}

async function expectSameAnswers(client: Client, key: string, contexts: Record<string, unknown>[]): Promise<number> {
  let compared = 0;
  const mismatches: unknown[] = [];
  // The edge's answers a few requests at a time (they overlap in workerd); the provider's one by one.
  for (let i = 0; i < contexts.length; i += 20) {
    const chunk = contexts.slice(i, i + 20);
    const answers = await Promise.all(chunk.map((context) => edgeAnswers(key, context)));
    for (const [j, flags] of answers.entries()) await compareAll(chunk[j]!, flags);
  }
  expect(mismatches).toEqual([]);
  return compared;

  async function compareAll(context: Record<string, unknown>, flags: OfrepFlag[]): Promise<void> {
    for (const flag of flags) {
      const { edge, mine } = same(flag, await providerAnswer(client, flag, context));
      compared++;
      if (JSON.stringify(edge) !== JSON.stringify(mine) && mismatches.length < 5) mismatches.push({ context, edge, mine });
    }
  }
}

describe("answers", () => {
  it("equal the edge's over OFREP for flags using every edgeflags extension", async () => {
    const { key } = await setupProject("inproc-ext", extendedFlags, "server");
    const { client } = await start(key);
    const contexts = [
      {},
      { targetingKey: "acme" },
      { targetingKey: "u-1", email: "a@example.com", plan: "pro", country: "CA" },
      { targetingKey: "u-2", plan: "pro" },
      { targetingKey: "u-3", plan: "enterprise", country: "US" },
      ...Array.from({ length: 40 }, (_, i) => ({ targetingKey: `user-${i}`, plan: i % 2 ? "pro" : "free" })),
    ];
    expect(await expectSameAnswers(client, key, contexts)).toBe(contexts.length * Object.keys(extendedFlags.flags).length);
    // The extensions really were evaluated natively: a target, a killed flag's off variant.
    expect(await client.getBooleanDetails("vip-banner", false, { targetingKey: "acme" })).toMatchObject({
      value: true,
      reason: "TARGETING_MATCH",
    });
    expect(await client.getStringDetails("killed-with-off", "x", {})).toMatchObject({ value: "lite", reason: "DISABLED", variant: "off" });
  });

  it("equal the edge's over OFREP for the 10,000 contexts of the bench workload", async () => {
    const workload = generateWorkload();
    const { key } = await setupProject("inproc-bench", workload.segment, "server");
    const { client } = await start(key, { reportUsage: false });
    expect(workload.contexts).toHaveLength(10_000);
    expect(await expectSameAnswers(client, key, workload.contexts)).toBe(10_000 * workload.flagKeys.length);
  }, 600_000);
});

/** Resolves with the details of the next `event` the provider emits; rejects after WAIT_MS. */
function next(provider: EdgeflagsProvider, event: ProviderEvents): Promise<{ flagsChanged?: string[]; message?: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${WAIT_MS} ms`)), WAIT_MS);
    const handler = (details?: { flagsChanged?: string[]; message?: string }) => {
      clearTimeout(timer);
      provider.events.removeHandler(event, handler);
      resolve(details ?? {});
    };
    provider.events.addHandler(event, handler);
  });
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("changes", () => {
  it("a change is announced on the event stream as CONFIGURATION_CHANGED with its flag key", async () => {
    const { key } = await setupProject("inproc-stream", demoFlags, "server");
    const { provider, client } = await start(key, { stream: true, pollIntervalMs: 3_600_000 });
    await until(() => provider.stats().streaming);
    expect(await client.getStringValue("banner-color", "", { country: "CA" })).toBe("#0a0");
    const changed = next(provider, ProviderEvents.ConfigurationChanged);
    const flags = structuredClone(demoFlags);
    flags.flags["banner-color"]!.variants.green = "#0f0";
    const put = await call("PUT", "/admin/v1/projects/inproc-stream/environments/production/flagd", { body: flags });
    expect(put.status).toBe(200);
    await drainOutbox("inproc-stream");
    expect((await changed).flagsChanged).toEqual(["banner-color"]);
    expect(await client.getStringValue("banner-color", "", { country: "CA" })).toBe("#0f0");
  });

  it("a change announced while the service still answers the old set (its KV lagging) is fetched again until it arrives", async () => {
    const { key } = await setupProject("inproc-lag", demoFlags, "server");
    // Stands in for a location whose KV has not caught up: armed, the next sync answers the set
    // as it was before the change, once.
    let before: string | null = null;
    let lagging = false;
    const lagFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.includes("/sync/v1/") && lagging && before !== null) {
        lagging = false;
        return new Response(before, { headers: { "content-type": "application/json" } });
      }
      const response = await workerFetch(input, init);
      if (url.includes("/sync/v1/") && response.status === 200 && before === null) before = await response.clone().text();
      return response;
    };
    const { provider, client } = await start(key, { stream: true, pollIntervalMs: 3_600_000, fetch: lagFetch });
    await until(() => provider.stats().streaming);
    const changed = next(provider, ProviderEvents.ConfigurationChanged);
    const flags = structuredClone(demoFlags);
    flags.flags["banner-color"]!.variants.green = "#0f0";
    lagging = true;
    expect((await call("PUT", "/admin/v1/projects/inproc-lag/environments/production/flagd", { body: flags })).status).toBe(200);
    await drainOutbox("inproc-lag");
    expect((await changed).flagsChanged).toEqual(["banner-color"]);
    expect(lagging).toBe(false);
    expect(await client.getStringValue("banner-color", "", { country: "CA" })).toBe("#0f0");
  });

  it("without a stream, a poll finds the change and names it", async () => {
    const { key } = await setupProject("inproc-poll", demoFlags, "server");
    const { provider, client } = await start(key);
    const changed = next(provider, ProviderEvents.ConfigurationChanged);
    const flags = structuredClone(demoFlags);
    flags.flags["kill-switch"]!.state = "DISABLED";
    expect((await call("PUT", "/admin/v1/projects/inproc-poll/environments/production/flagd", { body: flags })).status).toBe(200);
    await drainOutbox("inproc-poll");
    await provider.refresh();
    expect((await changed).flagsChanged).toEqual(["kill-switch"]);
    expect(await client.getBooleanDetails("kill-switch", true)).toMatchObject({ value: true, reason: "DISABLED" });
  });
});

describe("outages", () => {
  it.each([
    ["throws", async (): Promise<Response> => Promise.reject(new TypeError("fetch failed"))],
    ["answers 503", async (): Promise<Response> => new Response("down", { status: 503, headers: { "retry-after": "1" } })],
    ["hangs", (): Promise<Response> => new Promise<Response>(() => {})],
  ])("a service that %s makes the provider STALE, keeps the last good values, and READY again once it answers", async (_name, failure) => {
    const { key } = await setupProject(`inproc-down-${++domain}`, demoFlags, "server");
    let down = false;
    const flaky = (input: string, init: RequestInit) => (down ? failure() : workerFetch(input, init));
    const { provider, client } = await start(key, { fetch: flaky, requestTimeoutMs: 200 });
    const before = await client.getStringDetails("banner-color", "", { country: "US" });
    down = true;
    const stale = next(provider, ProviderEvents.Stale);
    await provider.refresh();
    expect((await stale).message).toMatch(/serving the last good flags/);
    expect(provider.stats().stale).toBe(true);
    expect(await client.getStringDetails("banner-color", "", { country: "US" })).toEqual(before);
    down = false;
    const ready = next(provider, ProviderEvents.Ready);
    await provider.refresh();
    await ready;
    expect(provider.stats().stale).toBe(false);
  });

  it("a key the service refuses (401) is PROVIDER_ERROR, values kept", async () => {
    const { key } = await setupProject("inproc-refused", demoFlags, "server");
    let refused = false;
    const guarded = (input: string, init: RequestInit) =>
      refused ? Promise.resolve(Response.json({ errorCode: "UNAUTHENTICATED" }, { status: 401 })) : workerFetch(input, init);
    const { provider, client } = await start(key, { fetch: guarded });
    const error = next(provider, ProviderEvents.Error);
    refused = true;
    await provider.refresh();
    expect((await error).message).toMatch(/401/);
    expect(await client.getBooleanValue("kill-switch", false)).toBe(true);
  });
});

describe("usage", () => {
  it("evaluations made in-process are counted in the environment's usage, per variant", async () => {
    const { key } = await setupProject("inproc-usage", demoFlags, "server");
    const { provider, client } = await start(key);
    for (let i = 0; i < 5; i++) await client.getStringValue("banner-color", "", { targetingKey: `u${i}`, country: i < 3 ? "CA" : "FR" });
    await client.getBooleanValue("kill-switch", false);
    await client.getBooleanValue("no-such-flag", false);
    await provider.flush();
    expect(provider.stats().usage).toMatchObject({ reported: 6, pending: 0, rejected: 0 });
    const usage = await call("GET", "/admin/v1/projects/inproc-usage/environments/production/usage");
    expect(usage.status).toBe(200);
    expect(usage.body["banner-color"]).toMatchObject({ evaluations: 5, variants: { green: 3, red: 2 } });
    expect(usage.body["kill-switch"]).toMatchObject({ evaluations: 1, variants: { on: 1 } });
    expect(usage.body["no-such-flag"]).toBeUndefined();
  });

  it("exposures of an experiment count each unit once, the same unit as the edge's", async () => {
    const project = "inproc-exp";
    const { key } = await setupProject(project, demoFlags, "server");
    const started = await call("POST", `/admin/v1/projects/${project}/environments/production/flags/new-checkout/experiment`, {
      body: { weights: { on: 50, off: 50 } },
    });
    expect(started.status).toBe(201);
    await drainOutbox(project);
    const { provider, client } = await start(key);
    const served = { on: 0, off: 0 };
    const users = Array.from({ length: 40 }, (_, i) => `exp-user-${i}`);
    for (const user of users) {
      const details = await client.getBooleanDetails("new-checkout", false, { targetingKey: user });
      served[details.variant === "on" ? "on" : "off"]++;
      // Asked again: the same unit, no second exposure.
      await client.getBooleanValue("new-checkout", false, { targetingKey: user });
    }
    await provider.flush();
    const experiment = `/admin/v1/projects/${project}/experiments/${started.body.id}`;
    expect((await call("GET", experiment)).body.units).toEqual(served);
    // The edge evaluating the same users counts no new unit: its unit ids are the provider's.
    for (const user of users) await evaluate(key, "new-checkout", { targetingKey: user });
    await pendingFlush();
    expect((await call("GET", experiment)).body.units).toEqual(served);
  });

  it.each([
    ["not JSON", "{", 400],
    ["an unknown field", JSON.stringify({ usage: [], extra: 1 }), 400],
    ["a negative count", JSON.stringify({ usage: [{ flag: "a", variant: "on", evaluations: -1, firstAt: 1, lastAt: 1 }] }), 400],
    ["a bad unit", JSON.stringify({ usage: [], exposures: [{ subject: "exp:x", unit: "raw-user-id", variant: "on", at: 1 }] }), 400],
    ["too large", JSON.stringify({ usage: [], pad: "x".repeat(600 * 1024) }), 413],
  ])("a report with %s is refused as problem+json", async (_name, body, status) => {
    const { key } = await setupProject(`inproc-bad-${++domain}`, demoFlags, "server");
    const response = await workerFetch(`${ORIGIN}/telemetry/v1/evaluations`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    expect((await response.json()) as { detail: string }).toHaveProperty("detail");
  });

  it("a client key cannot report", async () => {
    const { key } = await setupProject("inproc-client", demoFlags, "client");
    const response = await workerFetch(`${ORIGIN}/telemetry/v1/evaluations`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ usage: [] }),
    });
    expect(response.status).toBe(403);
  });
});

/** FLAG_STORE whose objects fail every call (throw, or never answer). */
function failingStore(fault: "throws" | "hangs"): Env["FLAG_STORE"] {
  const fail = () => (fault === "throws" ? Promise.reject(new Error("injected fault")) : new Promise<never>(() => {}));
  const stub = new Proxy({}, { get: (_target, prop) => (prop === "then" ? undefined : fail) });
  return {
    idFromName: env.FLAG_STORE.idFromName.bind(env.FLAG_STORE),
    get: () => stub,
    getByName: () => stub,
  } as unknown as Env["FLAG_STORE"];
}

describe("the ingest's telemetry shard call", () => {
  it.each(["throws", "hangs"] as const)(
    "answers 503 with Retry-After, counting nothing, when the telemetry shard %s",
    async (fault) => {
      const project = `inproc-store-${fault}`;
      const { key } = await setupProject(project, demoFlags, "server");
      const report = { usage: [{ flag: "kill-switch", variant: "on", evaluations: 3, firstAt: 1, lastAt: 2 }] };
      const request = new Request(`${ORIGIN}/telemetry/v1/evaluations`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(report),
      });
      const response = await worker.fetch(
        request,
        { ...env, TELEMETRY_SHARD: failingStore(fault) as unknown as Env["TELEMETRY_SHARD"] },
        createExecutionContext(),
      );
      expect(response.status).toBe(503);
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(response.headers.get("content-type")).toContain("application/problem+json");
      expect(((await response.json()) as { detail: string }).detail).toMatch(/nothing was counted/);
      const usage = await call("GET", `/admin/v1/projects/${project}/environments/production/usage`);
      expect(usage.body["kill-switch"]).toBeUndefined();
    },
    30_000,
  );
});

describe("the sync format", () => {
  it("refuses an unknown format with 400", async () => {
    const { key } = await setupProject("inproc-format", demoFlags, "server");
    const response = await workerFetch(`${ORIGIN}/sync/v1/flagd?format=yaml`, { headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/format must be/);
  });

  it("answers the edgeflags format with extensions intact, and 304 for its version", async () => {
    const { key, version } = await setupProject("inproc-format-ok", extendedFlags, "server");
    const response = await workerFetch(`${ORIGIN}/sync/v1/flagd?format=edgeflags`, { headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(200);
    const body: { format: string; version: number; flagSet: FlagSet; eventStreams?: { type: string; url: string }[] } =
      await response.json();
    expect(body).toMatchObject({ format: "edgeflags", version });
    expect(body.flagSet.flags["vip-banner"]?.targets).toEqual({ on: ["acme", "globex"] });
    expect(body.flagSet.flags["needs-checkout"]?.prerequisites).toEqual([{ flag: "new-checkout", variant: "on" }]);
    expect(body.eventStreams?.[0]?.type).toBe("sse");
    const again = await workerFetch(`${ORIGIN}/sync/v1/flagd?format=edgeflags`, {
      headers: { authorization: `Bearer ${key}`, "if-none-match": response.headers.get("etag")! },
    });
    expect(again.status).toBe(304);
  });
});

describe("tracking", () => {
  /** An experiment on `new-checkout` in a new project with a server key, and one client key. */
  async function experiment(project: string) {
    const { key } = await setupProject(project, demoFlags, "server");
    const started = await call("POST", `/admin/v1/projects/${project}/environments/production/flags/new-checkout/experiment`, {
      body: { weights: { on: 50, off: 50 } },
    });
    expect(started.status).toBe(201);
    const client = await call("POST", `/admin/v1/projects/${project}/environments/production/keys`, { body: { scope: "client" } });
    await drainOutbox(project);
    return { key, clientKey: client.body.key as string, subject: `exp:${started.body.id}` };
  }

  async function eventsByVariant(project: string, subject: string, name: string): Promise<Record<string, number>> {
    const read = await env.FLAG_STORE.get(env.FLAG_STORE.idFromName(project)).readArmAggregates(subject, name);
    if (!read.ok) throw new Error(read.error.detail);
    return Object.fromEntries(read.value.map((arm) => [arm.variant, arm.events]));
  }

  it("client.track() from the server SDK is counted for the variant the unit was served, value kept", async () => {
    const project = "inproc-track";
    const { key, subject } = await experiment(project);
    const { provider, client } = await start(key);
    const details = await client.getBooleanDetails("new-checkout", false, { targetingKey: "buyer-1" });
    client.track("purchase", { targetingKey: "buyer-1" }, { value: 42.5, currency: "EUR" });
    client.track("purchase", { targetingKey: "buyer-1" }, { value: 7.5 });
    // No targeting key: nothing to attribute it to, dropped and counted.
    client.track("purchase", {}, {});
    await provider.flush();
    await pendingFlush();
    expect(provider.stats().tracking).toEqual({ sent: 2, dropped: 1, pending: 0 });
    const read = await env.FLAG_STORE.get(env.FLAG_STORE.idFromName(project)).readArmAggregates(subject, "purchase");
    const arm = read.ok ? read.value.find((a) => a.variant === details.variant) : undefined;
    expect(arm).toMatchObject({ units: 1, convertedUnits: 1, events: 2, eventsSquaredPerUnit: 4, valued: 2, valueSum: 50 });
  });

  it("a batch whose answer is lost is sent again and counted once", async () => {
    const project = "inproc-track-retry";
    const { key, subject } = await experiment(project);
    let posts = 0;
    // The service takes the first batch but its answer is lost (a 502 from a proxy): the provider sends it again.
    const losingFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const response = await workerFetch(input, init);
      if (String(input).endsWith("/ofrep/v1/track") && ++posts === 1) {
        await pendingFlush();
        return new Response("upstream reset", { status: 502 });
      }
      return response;
    };
    const { provider, client } = await start(key, { fetch: losingFetch });
    const details = await client.getBooleanDetails("new-checkout", false, { targetingKey: "buyer-2" });
    client.track("signup", { targetingKey: "buyer-2" }, {});
    await provider.flush();
    await provider.flush();
    await pendingFlush();
    expect(posts).toBe(2);
    expect(provider.stats().tracking).toMatchObject({ sent: 1, pending: 0 });
    expect((await eventsByVariant(project, subject, "signup"))[details.variant!]).toBe(1);
  });

  it("the web wrapper of OFREPWebProvider batches a page's track() events, and sends them with keepalive when the page is hidden", async () => {
    const project = "web-track";
    const { clientKey, subject } = await experiment(project);
    // A browser's RequestInit (workerd's has no keepalive): what the wrapper asked for is recorded, then left out.
    type PageInit = RequestInit & { keepalive?: boolean };
    const sent: PageInit[] = [];
    const pageFetch = (input: RequestInfo | URL, init?: PageInit): Promise<Response> => {
      if (String(input).endsWith("/ofrep/v1/track") && init) sent.push(init);
      const { keepalive: _keepalive, ...rest } = init ?? {};
      return workerFetch(input, rest);
    };
    const page = new EventTarget();
    const inner = new OFREPWebProvider({
      baseUrl: ORIGIN,
      fetchImplementation: pageFetch,
      headers: [["Authorization", `Bearer ${clientKey}`]],
      pollInterval: 0,
    });
    const provider = new EdgeflagsWebProvider(inner, {
      url: ORIGIN,
      clientKey,
      fetch: pageFetch,
      page,
      flushIntervalMs: 60_000,
      logger: quiet,
    });
    await WebFeature.setContext("web-track", { targetingKey: "reader-1" });
    await WebFeature.setProviderAndWait("web-track", provider);
    const client = WebFeature.getClient("web-track");
    const variant = client.getBooleanDetails("new-checkout", false).variant;
    expect(variant === "on" || variant === "off").toBe(true);
    await pendingFlush();
    client.track("read-article", { value: 3 });
    client.track("read-article");
    expect(sent).toHaveLength(0);
    page.dispatchEvent(new Event("pagehide"));
    await vi.waitFor(() => expect(provider.stats()).toMatchObject({ sent: 2, pending: 0 }), { timeout: WAIT_MS });
    expect(sent.map((init) => init.keepalive)).toEqual([true]);
    await pendingFlush();
    expect((await eventsByVariant(project, subject, "read-article"))[variant!]).toBe(2);
    await WebFeature.clearProviders();
  });
});
