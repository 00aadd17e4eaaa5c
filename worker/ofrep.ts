/**
 * OFREP evaluation at the edge: key → environment → compiled snapshot → engine → wire.
 *
 * `POST /ofrep/v1/evaluate/flags/{key}` evaluates one flag; `POST /ofrep/v1/evaluate/flags`
 * evaluates all of them and answers `304` when the caller's `If-None-Match` still matches the
 * result. Every response names the snapshot version it used, in `X-Edgeflags-Config-Version`
 * and in the metadata. The bulk response names the environment's event stream (`eventStreams`,
 * ADR 0008, `events.ts`); a re-fetch it triggers names the version it needs with
 * `flagConfigEtag` / `flagConfigLastModified` and is answered from a snapshot at least that new.
 */
import { createHash } from "node:crypto";
import { Hono, type Context, type MiddlewareHandler } from "hono";
import type { EvaluationContext, EvaluationResult } from "./engine/types";
import { EVENT_STREAM_PATH, eventStreamsFor, handleEventStream } from "./events";
import { readCredential, resolveKey } from "./keys";
import { ofrepStatus, toOfrep } from "./ofrep-wire";
import { getSnapshot, type CompiledSnapshot, type SnapshotSources } from "./snapshot-cache";
import { rateLimited } from "./rate-limit";
import { flush, recordEvaluations } from "./telemetry";
import type { KeyIdentity } from "../durable-objects/snapshot";

export const VERSION_HEADER = "X-Edgeflags-Config-Version";

type OfrepEnv = { Bindings: Env; Variables: { identity: KeyIdentity } };

/** Seconds between background revalidations of an isolate's snapshot against KV. */
export function refreshMs(env: Env): number {
  const seconds = Number(env.SNAPSHOT_REFRESH_SECONDS);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 5_000;
}

export const ofrep = new Hono<OfrepEnv>();

// The event stream authenticates by the token in its URL (EventSource cannot send headers).
ofrep.get(EVENT_STREAM_PATH, (c) =>
  handleEventStream(c.req.raw, c.env, c.executionCtx, async (project, environment) => getSnapshot(snapshotSources(c), project, environment)),
);

const requireKey: MiddlewareHandler<OfrepEnv> = async (c, next) => {
  const credential = readCredential(c.req.raw.headers);
  if (!credential) {
    return c.json({ errorDetails: "send a client or server key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'" }, 401);
  }
  const identity = await resolveKey(c.env.FLAGS_KV, (p) => c.executionCtx.waitUntil(p), credential, refreshMs(c.env));
  if (!identity) return c.json({ errorDetails: "this key is not known or has been revoked" }, 401);
  if (identity.environment === null) {
    return c.json({ errorDetails: "admin keys do not evaluate flags; use a client or server key of an environment" }, 403);
  }
  c.set("identity", identity);
  if (identity.scope === "client") {
    const limited = await rateLimited(c.env, identity.id, c.req.header("cf-connecting-ip"));
    if (limited) return c.json({ errorDetails: `too many evaluations from this address with this key; retry in ${limited} s` }, 429, { "Retry-After": String(limited) });
  }
  await next();
};
ofrep.use("/evaluate/*", requireKey);


ofrep.post("/evaluate/flags/:key", async (c) => {
  const key = c.req.param("key");
  const request = await readContext(c);
  if ("error" in request) return c.json({ key, errorCode: "INVALID_CONTEXT", errorDetails: request.error }, 400);
  const snapshot = await snapshotFor(c);
  if (!snapshot) {
    return c.json({ key, errorCode: "FLAG_NOT_FOUND", errorDetails: `flag "${key}" was not found: the environment has no flags` }, 404);
  }
  const result = snapshot.compiled.evaluate(key, request.context);
  record(c, snapshot, request.context, [result]);
  c.header(VERSION_HEADER, String(snapshot.version));
  return c.json(toOfrep(result, { configVersion: snapshot.version }), ofrepStatus(result));
});

ofrep.post("/evaluate/flags", async (c) => {
  const request = await readContext(c);
  if ("error" in request) return c.json({ errorCode: "INVALID_CONTEXT", errorDetails: request.error }, 400);
  const snapshot = await snapshotFor(c);
  const identity = c.get("identity");
  const results = snapshot ? snapshot.compiled.evaluateAll(request.context) : [];
  if (snapshot) record(c, snapshot, request.context, results);
  const eventStreams = await eventStreamsFor(
    c.env, c.req.url, { ...identity, environment: identity.environment! }, readCredential(c.req.raw.headers) ?? "", snapshot?.version ?? 0,
  );
  const body = JSON.stringify({
    flags: results.map((result) => toOfrep(result)),
    ...(eventStreams ? { eventStreams } : {}),
    metadata: {
      project: identity.project,
      environment: identity.environment,
      configVersion: snapshot?.version ?? 0,
      ...(snapshot ? { updatedAt: snapshot.updatedAt } : {}),
    },
  });
  const etag = `"${createHash("sha1").update(body).digest("base64url")}"`;
  c.header("ETag", etag);
  c.header("Cache-Control", "private, no-cache");
  c.header(VERSION_HEADER, String(snapshot?.version ?? 0));
  if (matchesEtag(c.req.header("if-none-match"), etag)) return c.body(null, 304);
  return c.body(body, 200, { "content-type": "application/json" });
});

/** Counts the evaluations for stale-flag detection, exposures and shadow comparison, off the hot path. */
function record(c: Context<OfrepEnv>, snapshot: CompiledSnapshot, context: EvaluationContext, results: readonly EvaluationResult[]): void {
  recordEvaluations(snapshot, context, results, c.get("identity").id);
  const sending = flush((project) => c.env.FLAG_STORE.get(c.env.FLAG_STORE.idFromName(project)));
  if (sending) c.executionCtx.waitUntil(sending);
}

function snapshotSources(c: Context<OfrepEnv>): SnapshotSources {
  return {
    kv: c.env.FLAGS_KV,
    fromStore: (project, environment) => c.env.FLAG_STORE.get(c.env.FLAG_STORE.idFromName(project)).getSnapshot(environment),
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    refreshMs: refreshMs(c.env),
  };
}

/** Clock skew allowed in a `flagConfigLastModified`; anything later is ignored, not chased. */
const LAST_MODIFIED_SKEW_S = 60;

/**
 * The snapshot for the key's environment, at least as new as the caller names: `flagConfigEtag`
 * (a version, exact) and `flagConfigLastModified` (unix seconds or ISO 8601; a snapshot committed
 * in that second or later). Either makes a stale isolate read KV, and a lagging KV the FlagStore.
 */
async function snapshotFor(c: Context<OfrepEnv>): Promise<CompiledSnapshot | null> {
  const identity = c.get("identity");
  const sources = snapshotSources(c);
  const named = /^(?:W\/)?"?(\d+)"?$/.exec(c.req.query("flagConfigEtag") ?? "");
  const snapshot = await getSnapshot(sources, identity.project, identity.environment!, named ? Number(named[1]) : 0);
  const since = lastModifiedSeconds(c.req.query("flagConfigLastModified"));
  if (!snapshot || since === null || since > Date.now() / 1000 + LAST_MODIFIED_SKEW_S) return snapshot;
  if (Math.floor(Date.parse(snapshot.updatedAt) / 1000) >= since) return snapshot;
  // Older than the caller was told of: anything newer will do, and the FlagStore has the newest.
  return (await getSnapshot(sources, identity.project, identity.environment!, snapshot.version + 1)) ?? snapshot;
}

/** A `flagConfigLastModified` in unix seconds, or null when absent or unreadable. */
function lastModifiedSeconds(value: string | undefined): number | null {
  if (!value) return null;
  if (/^\d{1,12}$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

/** The evaluation context of an OFREP request body; a missing body or `context` is an empty context. */
async function readContext(c: Context<OfrepEnv>): Promise<{ context: EvaluationContext } | { error: string }> {
  const text = await c.req.text();
  if (text.trim() === "") return { context: {} };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { error: "the request body is not valid JSON" };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { error: 'the request body must be a JSON object like {"context": {"targetingKey": "user-1"}}' };
  }
  const context = (body as { context?: unknown }).context;
  if (context === undefined || context === null) return { context: {} };
  if (typeof context !== "object" || Array.isArray(context)) return { error: "context must be a JSON object" };
  const targetingKey = (context as { targetingKey?: unknown }).targetingKey;
  if (targetingKey !== undefined && typeof targetingKey !== "string") {
    return { error: "context.targetingKey must be a string" };
  }
  return { context: context as EvaluationContext };
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((candidate) => {
    const tag = candidate.trim();
    // `*` is not a match here: RFC 9110 answers it with 412 on a POST, and it would pin a cache.
    return tag === etag || tag === `W/${etag}`;
  });
}
