/**
 * OFREP event streams (ADR 0008) at the edge.
 *
 * The bulk response names one `sse` stream whose URL carries a stream token (`stream-token.ts`).
 * `GET /ofrep/v1/event-stream?token=…` verifies it, opens a WebSocket to one shard of the
 * environment's broadcaster (`durable-objects/broadcaster.ts`) and turns each change the shard
 * announces into an SSE event:
 *
 * ```
 * id: 42
 * event: message
 * data: {"type":"refetchEvaluation","etag":"\"42\"","lastModified":1771622898}
 * ```
 *
 * A comment heartbeat keeps proxies from closing an idle stream; a reconnect whose `Last-Event-ID`
 * (or, on a first connect, the URL's `since`) is older than the current version gets an event at
 * once. The stream ends when its token expires or its key is revoked or expires; the browser's
 * reconnect is then refused (401) and the OFREP provider fetches a new URL with the bulk request.
 */
import { broadcasterName, shardCount, type BroadcastMessage, type ChangeEvent } from "../contracts/broadcast";
import { hashKey } from "../contracts/snapshot";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { signingSecret } from "../lib/signing";
import { ofrepRefusal, type OfrepEventStream, type OfrepRefusal } from "../contracts/ofrep-wire";
import { edgeState } from "./edge-state";
import { resolveStreamKey } from "./keys";
import { logUnavailable } from "./request-log";
import { admitStream, streamUnavailable, type EnvironmentKey } from "./require-key";
import { flushAfter, recordKeyUse } from "./telemetry";
import { signStreamToken, tokenExpiry, type StreamClaims } from "./stream-token";

/** Path of the SSE endpoint under `/ofrep/v1`. */
export const EVENT_STREAM_PATH = "/event-stream";

/** How event streams behave; `streamSettings(env)` gives the deployed values, tests shorten them. */
export interface StreamSettings {
  /** Broadcaster shards per environment; 0 turns streaming off (no `eventStreams`, endpoint 404). */
  shards: number;
  /** `inactivityDelaySec` announced to providers. */
  inactivityDelaySec: number;
  /** Tokens expire at the end of the window after the one they were issued in. */
  tokenWindowSeconds: number;
  /** Between heartbeat comments (and pings to the broadcaster). */
  heartbeatMs: number;
  /** Between checks that the stream's key is still valid. */
  keyCheckMs: number;
}

/** Proxies commonly close a connection idle for 60 s; Cloudflare's edge after 100 s. */
const HEARTBEAT_MS = 20_000;
const KEY_CHECK_MS = 60_000;
const TOKEN_WINDOW_SECONDS = 15 * 60;

export function streamSettings(env: Env): StreamSettings {
  const inactivity = Number(env.STREAM_INACTIVITY_SECONDS);
  return {
    shards: shardCount(env),
    inactivityDelaySec: Number.isInteger(inactivity) && inactivity >= 1 ? inactivity : 120,
    tokenWindowSeconds: TOKEN_WINDOW_SECONDS,
    heartbeatMs: HEARTBEAT_MS,
    keyCheckMs: KEY_CHECK_MS,
  };
}

/** One entry of the bulk response's `eventStreams`. */
export type EventStream = OfrepEventStream;

/**
 * The bulk response's `eventStreams` for a key, or undefined when streaming is off. Within one
 * token window the URL is the same for every request of the key at a given version, so the bulk
 * response's ETag stays stable.
 */
export async function eventStreamsFor(
  env: Env,
  requestUrl: string,
  identity: EnvironmentKey,
  credential: string,
  version: number,
  settings: StreamSettings = streamSettings(env),
): Promise<EventStream[] | undefined> {
  if (settings.shards === 0) return undefined;
  const exp = tokenExpiry(Date.now(), settings.tokenWindowSeconds);
  const origin = new URL(requestUrl).origin;
  const cacheKey = `${credential}\u0000${exp}\u0000${version}\u0000${origin}`;
  let entry = edgeState.streamUrls.get(cacheKey);
  if (!entry) {
    const secret = signingSecret(env);
    if (!secret) return undefined; // no stream tokens without SIGNING_SECRET: providers poll
    const token = await signStreamToken(secret, {
      project: identity.project,
      environment: identity.environment,
      keyId: identity.id,
      keyHash: hashKey(credential),
      exp,
    });
    const url = new URL(`/ofrep/v1${EVENT_STREAM_PATH}`, origin);
    url.search = new URLSearchParams({ token, since: String(version) }).toString();
    entry = [{ type: "sse", url: url.href, inactivityDelaySec: settings.inactivityDelaySec }];
    edgeState.streamUrls.set(cacheKey, entry);
  }
  return entry;
}

/** The current version of the stream's environment as the edge sees it (isolate → KV → FlagStore). */
export type CurrentVersion = (project: string, environment: string) => Promise<{ version: number; updatedAt: string } | null>;

const encoder = new TextEncoder();

function refuse(refusal: OfrepRefusal): Response {
  return ofrepRefusal(refusal, "other");
}

/** The answer when the stream cannot be opened now, logged; the provider reconnects or polls. */
function unavailable(request: Request, why: string, claims: StreamClaims): Response {
  logUnavailable(request, claims, why);
  return refuse(streamUnavailable(why));
}

/**
 * One OFREP event in the ADR's envelope; the id is the environment version. Every stream of an
 * isolate gets the same change at once, so the last one formatted is reused.
 */
export function formatEvent(change: ChangeEvent): string {
  const last = edgeState.lastEvent;
  if (
    last &&
    last.change.version === change.version &&
    last.change.etag === change.etag &&
    last.change.lastModified === change.lastModified
  )
    return last.text;
  const data = JSON.stringify({ type: "refetchEvaluation", etag: change.etag, lastModified: change.lastModified });
  const text = `id: ${change.version}\nevent: message\ndata: ${data}\n\n`;
  edgeState.lastEvent = { change, text };
  return text;
}

/**
 * The broadcaster's messages, checked by hand and read once per isolate: every open stream
 * receives each one, so on a busy isolate this runs a thousand times per change.
 */
function readMessage(raw: string): BroadcastMessage | null {
  const last = edgeState.lastMessage;
  if (last?.raw === raw) return last.message;
  const message = parseMessage(raw);
  edgeState.lastMessage = { raw, message };
  return message;
}

function parseMessage(raw: string): BroadcastMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const message = value as Record<string, unknown>;
  if (message["type"] === "change")
    return isChange(message) ? { type: "change", version: message.version, etag: message.etag, lastModified: message.lastModified } : null;
  if (message["type"] === "hello") {
    const latest = message["latest"];
    if (latest === null) return { type: "hello", latest: null };
    return typeof latest === "object" && isChange(latest as Record<string, unknown>)
      ? { type: "hello", latest: latest as ChangeEvent }
      : null;
  }
  return null;
}

function isChange(value: Record<string, unknown>): value is ChangeEvent & Record<string, unknown> {
  const { version, etag, lastModified } = value;
  return (
    Number.isInteger(version) &&
    (version as number) >= 0 &&
    typeof etag === "string" &&
    Number.isInteger(lastModified) &&
    (lastModified as number) >= 0
  );
}

/** The version a client says it has seen: `Last-Event-ID` on a reconnect, else the URL's `since`. */
function seenVersion(request: Request, url: URL): number | null {
  const raw = request.headers.get("last-event-id") ?? url.searchParams.get("since");
  if (raw === null) return null;
  // An id we did not issue: assume the client has seen nothing, so it re-fetches.
  return /^\d{1,15}$/.test(raw.trim()) ? Number(raw.trim()) : -1;
}

/**
 * `GET /ofrep/v1/event-stream?token=…`: the SSE stream of one environment's change events.
 *
 * @example
 * ofrep.get("/event-stream", (c) => handleEventStream(c.req.raw, c.env, c.executionCtx, currentVersion));
 */
export async function handleEventStream(
  request: Request,
  env: Env,
  ctx: { waitUntil(promise: Promise<unknown>): void },
  currentVersion: CurrentVersion,
  settings: StreamSettings = streamSettings(env),
): Promise<Response> {
  if (settings.shards === 0)
    return refuse({ code: "not-found", detail: "event streams are turned off on this server; poll the bulk evaluation instead" });
  const admitted = await admitStream(request, env, settings.keyCheckMs);
  if (admitted instanceof Response) return admitted;
  const { claims } = admitted;
  recordKeyUse(claims.project, claims.keyId);
  flushAfter(env, (p) => ctx.waitUntil(p));

  const shard = Math.floor(Math.random() * settings.shards);
  const stub = env.BROADCASTER.getByName(broadcasterName(claims.project, claims.environment, shard));
  const upgrade = await withDeadline(
    stub.fetch(`https://broadcaster/connect?key=${encodeURIComponent(claims.keyId)}`, { headers: { upgrade: "websocket" } }),
    DEADLINE_MS.broadcaster,
    "broadcaster connect",
  ).catch(() => null);
  const socket = upgrade?.webSocket;
  if (!socket) return unavailable(request, "event streams are unavailable right now", claims);
  socket.accept();

  const seen = seenVersion(request, new URL(request.url));
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  let open = true;
  let lastSent = seen ?? -1;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let expiry: ReturnType<typeof setTimeout> | undefined;

  const end = () => {
    if (!open) return;
    open = false;
    if (heartbeat !== undefined) clearInterval(heartbeat);
    if (expiry !== undefined) clearTimeout(expiry);
    try {
      socket.close(1000, "stream ended");
    } catch {
      // already closed
    }
    writer.close().catch(() => undefined);
  };
  const write = (text: string) => {
    if (open) writer.write(encoder.encode(text)).catch(end);
  };
  const announce = (change: ChangeEvent) => {
    if (change.version <= lastSent) return;
    lastSent = change.version;
    write(formatEvent(change));
  };

  // Reconnect after 1-3 s, spread so a broadcaster restart does not bring every browser back at once.
  write(`retry: ${1_000 + Math.floor(Math.random() * 2_000)}\n: edgeflags ${claims.environment}\n\n`);

  socket.addEventListener("message", (event) => {
    const parsed = readMessage(String(event.data));
    if (!parsed) return;
    if (parsed.type === "change") {
      announce(parsed);
      return;
    }
    if (seen === null) return;
    // Catch-up: the newest of what the broadcaster announced and what the edge holds.
    void currentVersion(claims.project, claims.environment)
      .catch(() => null)
      .then((snapshot) => {
        const fromSnapshot = snapshot
          ? { version: snapshot.version, etag: `"${snapshot.version}"`, lastModified: Math.floor(Date.parse(snapshot.updatedAt) / 1000) }
          : null;
        const latest = [parsed.latest, fromSnapshot].reduce<ChangeEvent | null>(
          (a, b) => (b && (!a || b.version > a.version) ? b : a),
          null,
        );
        if (latest && latest.version > seen) announce(latest);
      });
  });
  socket.addEventListener("close", end);
  socket.addEventListener("error", end);

  let lastKeyCheck = Date.now();
  heartbeat = setInterval(() => {
    write(": heartbeat\n\n");
    try {
      socket.send("ping");
    } catch {
      end();
      return;
    }
    if (Date.now() - lastKeyCheck >= settings.keyCheckMs) {
      lastKeyCheck = Date.now();
      // A check KV could not answer keeps the stream open; only a key known to be bad ends it.
      ctx.waitUntil(
        resolveStreamKey(env.FLAGS_KV, claims, settings.keyCheckMs).then(
          (lookup) => {
            if (lookup.kind === "unknown") end();
          },
          () => undefined,
        ),
      );
    }
  }, settings.heartbeatMs);
  expiry = setTimeout(end, Math.max(0, claims.exp * 1000 - Date.now()));

  return new Response(readable, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" },
  });
}
