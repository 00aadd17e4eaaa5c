/**
 * OFREP event streams (ADR 0008) inside workerd: the bulk response's `eventStreams`, the SSE
 * endpoint's event format, tokens (expiry, scope, revocation), heartbeat, `Last-Event-ID`
 * catch-up, notification riding the FlagStore's outbox, and read-after-notify while KV lags.
 */
import { env, exports } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { broadcasterName } from "../contracts/broadcast";
import { hashKey, snapshotKvKey } from "../contracts/snapshot";
import { handleEventStream, streamSettings } from "../worker/events";
import { resetEdgeState } from "../worker/edge-state";
import { signStreamToken, tokenExpiry } from "../worker/stream-token";
import { call, drainOutbox, setupProject, store } from "./helpers";

const BASE = "http://edgeflags.test";
const WAIT_MS = 5_000;

interface SseBlock {
  raw: string;
  comments: string[];
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
}

/** Reads SSE blocks from a streaming response; every wait is bounded. */
class SseReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #decoder = new TextDecoder();
  #buffer = "";

  constructor(readonly response: Response) {
    this.#reader = response.body!.getReader();
  }

  /** The next block, or "closed" when the server ended the stream. */
  async next(timeoutMs = WAIT_MS): Promise<SseBlock | "closed"> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end >= 0) {
        const raw = this.#buffer.slice(0, end + 2);
        this.#buffer = this.#buffer.slice(end + 2);
        return parseBlock(raw);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE block within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), left);
      });
      const chunk = await Promise.race([this.#reader.read(), timeout]);
      clearTimeout(timer);
      if (chunk === "timeout") throw new Error(`no SSE block within ${timeoutMs} ms`);
      if (chunk.done) return "closed";
      this.#buffer += this.#decoder.decode(chunk.value, { stream: true });
    }
  }

  /** The next block that is an event (skipping comments and `retry:`). */
  async nextEvent(timeoutMs = WAIT_MS): Promise<SseBlock> {
    for (;;) {
      const block = await this.next(timeoutMs);
      if (block === "closed") throw new Error("the stream ended before an event arrived");
      if (block.data !== undefined) return block;
    }
  }

  /** Waits until the server ends the stream. */
  async closed(timeoutMs = WAIT_MS): Promise<void> {
    while ((await this.next(timeoutMs)) !== "closed") {
      // skip heartbeats
    }
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => undefined);
  }
}

function parseBlock(raw: string): SseBlock {
  const block: SseBlock = { raw, comments: [] };
  for (const line of raw.split("\n")) {
    if (line === "") continue;
    if (line.startsWith(":")) block.comments.push(line.slice(1).trim());
    else {
      const colon = line.indexOf(":");
      const field = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, "");
      if (field === "id" || field === "event" || field === "retry") block[field] = value;
      if (field === "data") block.data = block.data === undefined ? value : `${block.data}\n${value}`;
    }
  }
  return block;
}

async function bulk(key: string, query = "", headers: Record<string, string> = {}) {
  return call("POST", `/ofrep/v1/evaluate/flags${query}`, { token: key, body: { context: { targetingKey: "user-1" } }, headers });
}

async function streamUrl(key: string): Promise<string> {
  const res = await bulk(key);
  expect(res.status).toBe(200);
  return res.body.eventStreams[0].url;
}

async function connect(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const response = await exports.default.fetch(new Request(url, { headers: { accept: "text/event-stream", ...headers } }));
  expect(response.status).toBe(200);
  const reader = new SseReader(response);
  const first = await reader.next();
  expect(first).not.toBe("closed");
  expect((first as SseBlock).retry).toMatch(/^\d+$/);
  return reader;
}

/** Waits until `count` edge sockets are connected to shard 0 of an environment's broadcaster. */
async function listeners(project: string, environment = "production"): Promise<number> {
  return env.BROADCASTER.getByName(broadcasterName(project, environment, 0)).listeners();
}

async function toggle(project: string, environment = "production", flag = "kill-switch"): Promise<number> {
  const res = await call("POST", `/admin/v1/projects/${project}/environments/${environment}/flags/${flag}/toggle`);
  expect(res.status).toBe(200);
  await drainOutbox(project);
  return res.body.version;
}

async function createKey(project: string, environment: string, scope: "client" | "server" = "client"): Promise<string> {
  const res = await call("POST", `/admin/v1/projects/${project}/environments/${environment}/keys`, { body: { scope } });
  expect(res.status).toBe(201);
  await drainOutbox(project);
  return res.body.key;
}

describe("eventStreams in the bulk response", () => {
  it.each(["client", "server"] as const)("names one SSE stream for a %s key, with a token and not the key", async (scope) => {
    const { key, version } = await setupProject(`es-bulk-${scope}`, undefined, scope);
    const res = await bulk(key);
    expect(res.body.eventStreams).toEqual([{ type: "sse", url: expect.any(String), inactivityDelaySec: 120 }]);
    const url = new URL(res.body.eventStreams[0].url);
    expect(url.origin).toBe(BASE);
    expect(url.pathname).toBe("/ofrep/v1/event-stream");
    expect(url.searchParams.get("token")).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
    expect(url.searchParams.get("since")).toBe(String(version));
    expect(url.href).not.toContain(key);
  });

  it("keeps the URL, and so the ETag, stable across requests: If-None-Match still answers 304", async () => {
    const { key } = await setupProject("es-etag");
    const first = await bulk(key);
    const second = await bulk(key, "", { "if-none-match": first.headers.get("etag")! });
    expect(second.status).toBe(304);
  });

  it("lets a browser on another origin connect (CORS)", async () => {
    const { key } = await setupProject("es-cors");
    const url = await streamUrl(key);
    const response = await exports.default.fetch(
      new Request(url, { headers: { origin: "https://app.example", accept: "text/event-stream" } }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("cache-control")).toBe("no-store");
    await response.body?.cancel();
  });
});

describe("the SSE endpoint", () => {
  it("sends a refetchEvaluation event, exactly in the ADR's envelope, when a flag changes", async () => {
    const { key } = await setupProject("es-format");
    const reader = await connect(await streamUrl(key));
    const version = await toggle("es-format");
    const event = await reader.nextEvent();
    const project = await call("GET", "/admin/v1/projects/es-format");
    const updatedAt = project.body.environments.find((e: { name: string }) => e.name === "production").updatedAt;
    const lastModified = Math.floor(Date.parse(updatedAt) / 1000);
    expect(event.raw).toBe(
      `id: ${version}\nevent: message\ndata: {"type":"refetchEvaluation","etag":"\\"${version}\\"","lastModified":${lastModified}}\n\n`,
    );
    expect(JSON.parse(event.data!)).toEqual({ type: "refetchEvaluation", etag: `"${version}"`, lastModified });
    await reader.cancel();
  });

  it("scopes a token to its environment: a production stream hears nothing of staging", async () => {
    const { key } = await setupProject("es-scope");
    const stagingKey = await createKey("es-scope", "staging");
    await call("PUT", "/admin/v1/projects/es-scope/environments/staging/flagd", {
      body: { flags: { "kill-switch": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" } } },
    });
    await drainOutbox("es-scope");
    const production = await connect(await streamUrl(key));
    const staging = await connect(await streamUrl(stagingKey));
    const stagingVersion = await toggle("es-scope", "staging");
    expect((await staging.nextEvent()).id).toBe(String(stagingVersion));
    const productionVersion = await toggle("es-scope", "production");
    // The production stream's first event is production's: staging's never reached it.
    expect((await production.nextEvent()).id).toBe(String(productionVersion));
    await production.cancel();
    await staging.cancel();
  });

  it.each([
    { name: "no token", token: null },
    { name: "a malformed token", token: "not-a-token" },
    { name: "a tampered token", token: "tamper" },
  ])("refuses $name with 401", async ({ token }) => {
    const { key } = await setupProject(`es-refuse-${token ?? "none"}`.replace(/[^a-z0-9-]/g, ""));
    const url = new URL(await streamUrl(key));
    if (token === null) url.searchParams.delete("token");
    else if (token === "tamper") {
      const [prefix, body, mac] = url.searchParams.get("token")!.split(".");
      url.searchParams.set("token", `${prefix}.${body}x.${mac}`);
    } else url.searchParams.set("token", token);
    const response = await exports.default.fetch(new Request(url));
    expect(response.status).toBe(401);
    expect((await response.json<{ errorDetails: string }>()).errorDetails).toEqual(expect.any(String));
  });

  it("refuses an expired token, and a bulk fetch gets a fresh URL", async () => {
    const { key, keyId } = await setupProject("es-expired");
    const res = await bulk(key);
    const expired = await signStreamToken(env.SIGNING_SECRET, {
      project: "es-expired",
      environment: "production",
      keyId,
      keyHash: hashKey(key),
      exp: Math.floor(Date.now() / 1000) - 1,
    });
    const url = new URL(res.body.eventStreams[0].url);
    url.searchParams.set("token", expired);
    const refused = await exports.default.fetch(new Request(url));
    expect(refused.status).toBe(401);
    expect((await refused.json<{ errorDetails: string }>()).errorDetails).toMatch(/expired/);
    const fresh = new URL(await streamUrl(key));
    expect(fresh.searchParams.get("token")).not.toBe(expired);
    const reader = await connect(fresh.href);
    await reader.cancel();
  });

  it("ends an open stream when its token expires", async () => {
    const { key, keyId } = await setupProject("es-expiring");
    const url = new URL(await streamUrl(key));
    const soon = await signStreamToken(env.SIGNING_SECRET, {
      project: "es-expiring",
      environment: "production",
      keyId,
      keyHash: hashKey(key),
      exp: Math.floor(Date.now() / 1000) + 1,
    });
    url.searchParams.set("token", soon);
    const reader = await connect(url.href);
    await reader.closed(3_000);
  });

  it("ends an open stream when its key is revoked, and refuses its token afterwards", async () => {
    const { key, keyId } = await setupProject("es-revoked");
    const url = await streamUrl(key);
    const settings = { ...streamSettings(env), heartbeatMs: 20, keyCheckMs: 20 };
    const response = await handleEventStream(new Request(url), env, createExecutionContext(), async () => null, settings);
    expect(response.status).toBe(200);
    const reader = new SseReader(response);
    await reader.next();
    const revoked = await call("DELETE", `/admin/v1/projects/es-revoked/keys/${keyId}`);
    expect(revoked.status).toBe(200);
    await drainOutbox("es-revoked");
    await reader.closed();
    resetEdgeState(["streams"]);
    expect((await exports.default.fetch(new Request(url))).status).toBe(401);
  });

  it("sends a comment heartbeat while nothing changes", async () => {
    const { key } = await setupProject("es-heartbeat");
    const settings = { ...streamSettings(env), heartbeatMs: 30 };
    const response = await handleEventStream(new Request(await streamUrl(key)), env, createExecutionContext(), async () => null, settings);
    const reader = new SseReader(response);
    await reader.next(); // retry + greeting
    const beat = await reader.next();
    expect(beat).toEqual({ raw: ": heartbeat\n\n", comments: ["heartbeat"] });
    await reader.cancel();
  });

  it("answers a reconnect with an older Last-Event-ID with an immediate event, and a current one with none", async () => {
    const { key } = await setupProject("es-resume");
    const url = await streamUrl(key);
    const first = await connect(url);
    const seen = await toggle("es-resume");
    expect((await first.nextEvent()).id).toBe(String(seen));
    await first.cancel();
    // Missed while disconnected.
    const missed = await toggle("es-resume");
    const resumed = await connect(url, { "last-event-id": String(seen) });
    const caughtUp = await resumed.nextEvent();
    expect(caughtUp.id).toBe(String(missed));
    expect(JSON.parse(caughtUp.data!).etag).toBe(`"${missed}"`);
    await resumed.cancel();
    // Up to date: the first event on this stream is the next change, not a repeat.
    const current = await connect(url, { "last-event-id": String(missed) });
    const next = await toggle("es-resume");
    expect((await current.nextEvent()).id).toBe(String(next));
    await current.cancel();
  });

  it("catches up a first connect whose URL names a version older than the current one", async () => {
    const { key } = await setupProject("es-since");
    const url = await streamUrl(key);
    const changed = await toggle("es-since");
    const reader = await connect(url);
    expect((await reader.nextEvent()).id).toBe(String(changed));
    await reader.cancel();
  });

  it("catches up from the edge's snapshot when the broadcaster has announced nothing yet", async () => {
    const { key, version } = await setupProject("es-fresh-broadcaster");
    const reader = await connect(await streamUrl(key), { "last-event-id": String(version - 1) });
    expect((await reader.nextEvent()).id).toBe(String(version));
    await reader.cancel();
  });
});

describe("opening streams is rate limited", () => {
  it("answers 429 with Retry-After past the limit per key and client address", async () => {
    const { key } = await setupProject("events-rate");
    const url = await streamUrl(key);
    const from = { "cf-connecting-ip": "203.0.113.20", accept: "text/event-stream" };
    const opened: Response[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await exports.default.fetch(new Request(url, { headers: from }));
      expect(response.status).toBe(200);
      opened.push(response);
    }
    const refused = await exports.default.fetch(new Request(url, { headers: from }));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("60");
    const elsewhere = await exports.default.fetch(new Request(url, { headers: { ...from, "cf-connecting-ip": "198.51.100.20" } }));
    expect(elsewhere.status).toBe(200);
    for (const response of [...opened, elsewhere]) await response.body?.cancel();
  });
});

describe("notification through the FlagStore's outbox", () => {
  it("is not held back by KV's one-write-per-second interval", async () => {
    await setupProject("es-throttle");
    await call("POST", "/admin/v1/projects/es-throttle/environments/production/flags/kill-switch/toggle");
    const rows = await runInDurableObject(store("es-throttle"), (_instance, state) => {
      const now = Date.now();
      return state.storage.sql
        .exec<{ kind: string; next_attempt_at: number }>("SELECT kind, next_attempt_at FROM outbox")
        .toArray()
        .map((row) => ({ kind: row.kind, waits: row.next_attempt_at > now }));
    });
    // The snapshot waits out the interval; the notice is due now, or already sent right after the commit.
    expect(rows).toContainEqual({ kind: "publish", waits: true });
    expect(rows).not.toContainEqual({ kind: "notify", waits: true });
    await drainOutbox("es-throttle");
  });

  it("is retried until the broadcaster takes it", async () => {
    const { key } = await setupProject("es-retry");
    const reader = await connect(await streamUrl(key));
    expect(await listeners("es-retry")).toBe(1);
    await runInDurableObject(store("es-retry"), (instance) => {
      const failing = {
        getByName: () => ({
          notify: async () => {
            throw new Error("broadcaster unavailable");
          },
        }),
      };
      Object.assign(instance, { env: { ...env, BROADCASTER: failing } });
    });
    const res = await call("POST", "/admin/v1/projects/es-retry/environments/production/flags/kill-switch/toggle");
    await drainOutbox("es-retry");
    const status = await call("GET", "/admin/v1/projects/es-retry/replication");
    expect(status.body.pending).toEqual([
      expect.objectContaining({ kind: "notify", target: "production", lastError: expect.stringContaining("broadcaster unavailable") }),
    ]);
    await runInDurableObject(store("es-retry"), (instance) => {
      Object.assign(instance, { env });
    });
    await drainOutbox("es-retry");
    expect((await reader.nextEvent()).id).toBe(String(res.body.version));
    expect((await call("GET", "/admin/v1/projects/es-retry/replication")).body.pending).toEqual([]);
    await reader.cancel();
  });
});

describe("read-after-notify while KV lags", () => {
  /** Makes the FlagStore's KV writes fail, so KV keeps the old snapshot: a KV that lags on purpose. */
  async function lagKv(project: string): Promise<void> {
    await runInDurableObject(store(project), (instance) => {
      const lagging = Object.create(env.FLAGS_KV) as KVNamespace;
      lagging.put = async () => {
        throw new Error("KV is lagging");
      };
      Object.assign(instance, { env: { ...env, FLAGS_KV: lagging } });
    });
  }

  it("answers a re-fetch with flagConfigEtag from a snapshot at least that new", async () => {
    const { key, version } = await setupProject("es-ran-etag");
    const reader = await connect(await streamUrl(key));
    await lagKv("es-ran-etag");
    await toggle("es-ran-etag");
    const event = JSON.parse((await reader.nextEvent()).data!);
    expect(event.etag).toBe(`"${version + 1}"`);
    resetEdgeState(["snapshots"]);
    // Without the hint, a fresh isolate serves what KV has: the old version.
    const stale = await bulk(key);
    expect(stale.body.metadata.configVersion).toBe(version);
    expect(stale.body.flags.find((f: { key: string }) => f.key === "kill-switch").value).toBe(true);
    const fresh = await bulk(key, `?flagConfigEtag=${encodeURIComponent(event.etag)}&flagConfigLastModified=${event.lastModified}`);
    expect(fresh.body.metadata.configVersion).toBe(version + 1);
    expect(fresh.body.flags.find((f: { key: string }) => f.key === "kill-switch")).toMatchObject({ reason: "DISABLED" });
    await reader.cancel();
  });

  it("answers a re-fetch with only flagConfigLastModified from a snapshot committed in that second or later", async () => {
    const { key, version } = await setupProject("es-ran-lastmod");
    // KV's copy is a minute old, as a lagging replica's would be.
    const kvKey = snapshotKvKey("es-ran-lastmod", "production");
    const old = await env.FLAGS_KV.get<Record<string, unknown>>(kvKey, "json");
    await env.FLAGS_KV.put(kvKey, JSON.stringify({ ...old, updatedAt: new Date(Date.now() - 60_000).toISOString() }), {
      metadata: { version },
    });
    const reader = await connect(await streamUrl(key));
    await lagKv("es-ran-lastmod");
    await toggle("es-ran-lastmod");
    const event = JSON.parse((await reader.nextEvent()).data!);
    resetEdgeState(["snapshots"]);
    expect((await bulk(key)).body.metadata.configVersion).toBe(version);
    const fresh = await bulk(key, `?flagConfigLastModified=${event.lastModified}`);
    expect(fresh.body.metadata.configVersion).toBe(version + 1);
    const iso = await bulk(key, `?flagConfigLastModified=${encodeURIComponent(new Date(event.lastModified * 1000).toISOString())}`);
    expect(iso.body.metadata.configVersion).toBe(version + 1);
    await reader.cancel();
  });

  it("serves a server-side caller that names the version it requires the same way", async () => {
    const { key, version } = await setupProject("es-ran-server", undefined, "server");
    await lagKv("es-ran-server");
    await toggle("es-ran-server");
    resetEdgeState(["snapshots"]);
    const res = await call("POST", `/ofrep/v1/evaluate/flags/kill-switch?flagConfigEtag=${version + 1}`, { token: key, body: {} });
    expect(res.body).toMatchObject({ reason: "DISABLED", metadata: { configVersion: version + 1 } });
  });
});

describe("stream tokens", () => {
  it("expire at the end of the window after the one they were issued in", () => {
    const window = 900;
    const issued = Date.UTC(2026, 10, 25, 12, 7, 30);
    const exp = tokenExpiry(issued, window);
    expect(exp * 1000 - issued).toBeGreaterThan(window * 1000);
    expect(exp * 1000 - issued).toBeLessThanOrEqual(2 * window * 1000);
    expect(exp % window).toBe(0);
  });
});
