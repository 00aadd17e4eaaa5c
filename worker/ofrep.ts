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
import { Hono, type Context } from "hono";
import type { EvaluationContext, EvaluationResult } from "../engine/types";
import { EVENT_STREAM_PATH, eventStreamsFor, handleEventStream } from "./events";
import { MAX_OFREP_BODY_BYTES, readBoundedText } from "./bounded-body";
import {
  ofrepRefusal,
  ofrepStatus,
  toOfrep,
  toOfrepBulk,
  unavailableRefusal,
  type OfrepRefusal,
  type OfrepRoute,
} from "../contracts/ofrep-wire";
import { logStale, logUnavailable } from "./request-log";
import {
  edgeSources,
  getSnapshot,
  type CompiledSnapshot,
  type SnapshotLookup,
  type SnapshotSources,
  type StaleNote,
} from "./snapshot-cache";
import { requireKey, type KeyEnv } from "./require-key";
import { flushAfter, recordEvaluations } from "./telemetry";

export const VERSION_HEADER = "X-Edgeflags-Config-Version";
/**
 * Present when the answer came from a snapshot the edge could not confirm or replace because KV
 * and the FlagStore failed (stale-if-error); its value is the `StaleNote` reason. The metadata
 * then carries `stale: true` and `staleReason`.
 */
export const STALE_HEADER = "X-Edgeflags-Stale";

type OfrepEnv = KeyEnv;

export const ofrep = new Hono<OfrepEnv>();

// The event stream authenticates by the token in its URL (EventSource cannot send headers).
ofrep.get(EVENT_STREAM_PATH, (c) =>
  handleEventStream(c.req.raw, c.env, c.executionCtx, async (project, environment) => {
    const lookup = await getSnapshot(snapshotSources(c), project, environment);
    return lookup.kind === "snapshot" ? lookup.snapshot : null;
  }),
);

ofrep.use(
  "/evaluate/*",
  requireKey({
    scopes: ["client", "server"],
    missing: "send a client or server key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
    forbidden: () => "admin keys do not evaluate flags; use a client or server key of an environment",
    // Public client keys, per key and client address: one abusive page does not throttle an app's other users.
    limit: { scopes: ["client"], bucket: (keyId) => keyId, what: "evaluations" },
  }),
);

/** Marks a stale answer in its headers and log, and returns the metadata that says so (empty when fresh). */
function staleMetadata(c: Context<OfrepEnv>, version: number, stale: StaleNote | null): { stale?: true; staleReason?: string } {
  if (!stale) return {};
  logStale(c.req.raw, c.get("identity"), version, stale);
  c.header(STALE_HEADER, stale.reason);
  return { stale: true, staleReason: stale.detail };
}

/** The 503 when no snapshot can be had for the key's environment, logged. */
function noSnapshot(c: Context<OfrepEnv>, detail: string, route: OfrepRoute): Response {
  logUnavailable(c.req.raw, c.get("identity"), detail);
  return ofrepRefusal(unavailableRefusal(`no flag configuration could be loaded: ${detail}`), route);
}

ofrep.post("/evaluate/flags/:key", async (c) => {
  const key = c.req.param("key");
  const request = await readContext(c);
  if ("refusal" in request) return ofrepRefusal(request.refusal, { flag: key });
  const lookup = await snapshotFor(c);
  if (lookup.kind === "unavailable") return noSnapshot(c, lookup.detail, { flag: key });
  if (lookup.kind === "missing") {
    return ofrepRefusal({ code: "not-found", detail: `flag "${key}" was not found: the environment has no flags` }, { flag: key });
  }
  const { snapshot, stale } = lookup;
  const result = snapshot.compiled.evaluate(key, request.context);
  record(c, snapshot, request.context, [result]);
  c.header(VERSION_HEADER, String(snapshot.version));
  return c.json(toOfrep(result, { configVersion: snapshot.version, ...staleMetadata(c, snapshot.version, stale) }), ofrepStatus(result));
});

ofrep.post("/evaluate/flags", async (c) => {
  const request = await readContext(c);
  if ("refusal" in request) return ofrepRefusal(request.refusal, "bulk");
  const lookup = await snapshotFor(c);
  if (lookup.kind === "unavailable") return noSnapshot(c, lookup.detail, "bulk");
  const snapshot = lookup.kind === "snapshot" ? lookup.snapshot : null;
  const identity = c.get("identity");
  const results = snapshot ? snapshot.compiled.evaluateAll(request.context) : [];
  if (snapshot) record(c, snapshot, request.context, results);
  const eventStreams = await eventStreamsFor(c.env, c.req.url, identity, c.get("credential"), snapshot?.version ?? 0);
  const body = toOfrepBulk(results, eventStreams, {
    project: identity.project,
    environment: identity.environment,
    configVersion: snapshot?.version ?? 0,
    ...(snapshot ? { updatedAt: snapshot.updatedAt } : {}),
    ...staleMetadata(c, snapshot?.version ?? 0, lookup.kind === "snapshot" ? lookup.stale : null),
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
  flushAfter(c.env, (p) => c.executionCtx.waitUntil(p));
}

function snapshotSources(c: Context<OfrepEnv>): SnapshotSources {
  return edgeSources(c.env, (p) => c.executionCtx.waitUntil(p));
}

/** Clock skew allowed in a `flagConfigLastModified`; anything later is ignored, not chased. */
const LAST_MODIFIED_SKEW_S = 60;

/**
 * The snapshot for the key's environment, at least as new as the caller names: `flagConfigEtag`
 * (a version, exact) and `flagConfigLastModified` (unix seconds or ISO 8601; a snapshot committed
 * in that second or later). Either makes a stale isolate read KV, and a lagging KV the FlagStore.
 */
async function snapshotFor(c: Context<OfrepEnv>): Promise<SnapshotLookup> {
  const identity = c.get("identity");
  const sources = snapshotSources(c);
  const named = /^(?:W\/)?"?(\d+)"?$/.exec(c.req.query("flagConfigEtag") ?? "");
  const lookup = await getSnapshot(sources, identity.project, identity.environment, named ? Number(named[1]) : 0);
  const since = lastModifiedSeconds(c.req.query("flagConfigLastModified"));
  if (lookup.kind !== "snapshot" || since === null || since > Date.now() / 1000 + LAST_MODIFIED_SKEW_S) return lookup;
  if (Math.floor(Date.parse(lookup.snapshot.updatedAt) / 1000) >= since) return lookup;
  // Older than the caller was told of: anything newer will do, and the FlagStore has the newest.
  const newer = await getSnapshot(sources, identity.project, identity.environment, lookup.snapshot.version + 1);
  return newer.kind === "snapshot" ? newer : lookup;
}

/** A `flagConfigLastModified` in unix seconds, or null when absent or unreadable. */
function lastModifiedSeconds(value: string | undefined): number | null {
  if (!value) return null;
  if (/^\d{1,12}$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

/**
 * The evaluation context of an OFREP request body; a missing body or `context` is an empty context.
 * The body is bounded (`MAX_OFREP_BODY_BYTES`) before it is parsed.
 */
async function readContext(c: Context<OfrepEnv>): Promise<{ context: EvaluationContext } | { refusal: OfrepRefusal }> {
  const text = await readBoundedText(c.req.raw, MAX_OFREP_BODY_BYTES);
  if (typeof text !== "string") {
    return {
      refusal: {
        code: "too-large",
        detail: `the request body is over ${MAX_OFREP_BODY_BYTES} bytes; an evaluation context is small: send only the attributes your flags target`,
      },
    };
  }
  const invalid = (detail: string) => ({ refusal: { code: "invalid-context", detail } as const });
  if (text.trim() === "") return { context: {} };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return invalid("the request body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return invalid('the request body must be a JSON object like {"context": {"targetingKey": "user-1"}}');
  }
  const context = (body as { context?: unknown }).context;
  if (context === undefined || context === null) return { context: {} };
  if (typeof context !== "object" || Array.isArray(context)) return invalid("context must be a JSON object");
  const targetingKey = (context as { targetingKey?: unknown }).targetingKey;
  if (targetingKey !== undefined && typeof targetingKey !== "string") {
    return invalid("context.targetingKey must be a string");
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
