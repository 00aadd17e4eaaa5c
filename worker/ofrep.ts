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
import { Hono, type Context } from "hono";
import type { EvaluationContext, EvaluationResult } from "../engine/types";
import { EVENT_STREAM_PATH, eventStreamsFor, handleEventStream } from "./events";
import { MAX_OFREP_BODY_BYTES, readBoundedText } from "./bounded-body";
import {
  bulkFlags,
  ofrepRefusal,
  ofrepStatus,
  toOfrepBulk,
  toOfrepSingle,
  unavailableRefusal,
  type BulkFlags,
  type OfrepRefusal,
  type OfrepRoute,
} from "../contracts/ofrep-wire";
import { logStale, logUnavailable, sweepDegradedLogs } from "./request-log";
import {
  edgeSources,
  getSnapshot,
  type CompiledSnapshot,
  type SnapshotLookup,
  type SnapshotSources,
  type StaleNote,
} from "./snapshot-cache";
import { keyCheck, requireKey, type EnvironmentKey, type HeaderKeyRule, type KeyEnv } from "./require-key";
import { flushAfter, recordEvaluations } from "./telemetry";

export const VERSION_HEADER = "X-Edgeflags-Config-Version";
/**
 * Present when the answer came from a snapshot the edge could not confirm or replace because KV
 * and the FlagStore failed (stale-if-error); its value is the `StaleNote` reason. The metadata
 * then carries `stale: true` and `staleReason`.
 */
export const STALE_HEADER = "X-Edgeflags-Stale";

/** The key rule of both evaluation routes. */
const EVALUATION_KEY: HeaderKeyRule = {
  scopes: ["client", "server"],
  missing: "send a client or server key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
  forbidden: () => "admin keys do not evaluate flags; use a client or server key of an environment",
  // Public client keys, per key and client address: one abusive page does not throttle an app's other users.
  limit: { scopes: ["client"], bucket: (keyId) => keyId, what: "evaluations" },
};
const admitEvaluationKey = keyCheck(EVALUATION_KEY);

/** One admitted evaluation request: what both routes work from. */
interface Evaluation {
  request: Request;
  /** The URL's query with its `?`, or "" (the hot path reads it from `request.url` without parsing the URL). */
  search: string;
  /** Headers every answer carries (the hot path's CORS headers), or null when the router adds them. */
  answerHeaders: readonly (readonly [string, string])[] | null;
  env: Env;
  waitUntil: (promise: Promise<unknown>) => void;
  identity: EnvironmentKey;
  credential: string;
}

const EVALUATE_PREFIX = "/ofrep/v1/evaluate/flags";

/**
 * Which evaluation route a POST path is: `"bulk"`, one flag (`{ flag }`), or null for anything
 * else, including a percent-encoded path, which is left to the router's decoding.
 */
export function evaluationRoute(pathname: string): "bulk" | { flag: string } | null {
  if (!pathname.startsWith(EVALUATE_PREFIX)) return null;
  if (pathname.length === EVALUATE_PREFIX.length) return "bulk";
  if (pathname[EVALUATE_PREFIX.length] !== "/") return null;
  const flag = pathname.slice(EVALUATE_PREFIX.length + 1);
  return flag === "" || flag.includes("/") || flag.includes("%") ? null : { flag };
}

/**
 * The path and query of a request URL as the runtime serialized it (already parsed and
 * normalized, so the path is the text from the first `/` after the host up to the `?`).
 *
 * @example
 * requestPath("https://edge.example/ofrep/v1/evaluate/flags?flagConfigEtag=3"); // { pathname: "/ofrep/v1/evaluate/flags", search: "?flagConfigEtag=3" }
 */
export function requestPath(url: string): { pathname: string; search: string } {
  const authority = url.indexOf("//");
  const start = url.indexOf("/", authority < 0 ? 0 : authority + 2);
  if (start < 0) return { pathname: "/", search: "" };
  const query = url.indexOf("?", start);
  return query < 0 ? { pathname: url.slice(start), search: "" } : { pathname: url.slice(start, query), search: url.slice(query) };
}

/**
 * Answers a POST to an evaluation route (`evaluationRoute`), key check included: the hot path,
 * dispatched by the composition root without the router. Every answer carries `answerHeaders`
 * (the routes' CORS headers), set as it is built.
 *
 * @example
 * const { pathname, search } = requestPath(request.url);
 * const route = evaluationRoute(pathname);
 * if (request.method === "POST" && route) return answerEvaluation(request, search, route, env, (p) => ctx.waitUntil(p), CORS);
 */
export async function answerEvaluation(
  request: Request,
  search: string,
  route: "bulk" | { flag: string },
  env: Env,
  waitUntil: (promise: Promise<unknown>) => void,
  answerHeaders: readonly (readonly [string, string])[],
): Promise<Response> {
  const admitted = await admitEvaluationKey(request, env, waitUntil);
  if (admitted instanceof Response) return withHeaders(admitted, answerHeaders);
  const call: Evaluation = { request, search, answerHeaders, env, waitUntil, identity: admitted.identity, credential: admitted.credential };
  return route === "bulk" ? evaluateBulk(call) : evaluateOne(call, route.flag);
}

/** `response` with `headers` set on it. */
export function withHeaders(response: Response, headers: readonly (readonly [string, string])[] | null): Response {
  if (headers) for (const [name, value] of headers) response.headers.set(name, value);
  return response;
}

/** A refusal of an admitted evaluation, with the headers every answer carries. */
function refuse(call: Evaluation, refusal: OfrepRefusal, route: OfrepRoute): Response {
  return withHeaders(ofrepRefusal(refusal, route), call.answerHeaders);
}

/** The headers of an answer: `headers` and the ones every answer carries. */
function answerHeaders(call: Evaluation, headers: Record<string, string>): Record<string, string> {
  if (call.answerHeaders) for (const [name, value] of call.answerHeaders) headers[name] = value;
  return headers;
}

export const ofrep = new Hono<KeyEnv>();

// The event stream authenticates by the token in its URL (EventSource cannot send headers).
ofrep.get(EVENT_STREAM_PATH, (c) =>
  handleEventStream(c.req.raw, c.env, c.executionCtx, async (project, environment) => {
    const lookup = await getSnapshot(
      snapshotSources(c.env, (p) => c.executionCtx.waitUntil(p)),
      project,
      environment,
    );
    return lookup.kind === "snapshot" ? lookup.snapshot : null;
  }),
);

// The routes as the router sees them: requests `answerEvaluation` does not take (another method,
// a percent-encoded flag key) get the same key check and answers here.
ofrep.use("/evaluate/*", requireKey(EVALUATION_KEY));
const routed = (c: Context<KeyEnv>): Evaluation => ({
  request: c.req.raw,
  search: requestPath(c.req.raw.url).search,
  answerHeaders: null,
  env: c.env,
  waitUntil: (p) => c.executionCtx.waitUntil(p),
  identity: c.get("identity"),
  credential: c.get("credential"),
});
ofrep.post("/evaluate/flags/:key", (c) => evaluateOne(routed(c), c.req.param("key")));
ofrep.post("/evaluate/flags", (c) => evaluateBulk(routed(c)));

/**
 * The stale fields of an answer's metadata (none when fresh); a stale answer is logged, once per
 * kind and interval (`request-log.ts`), and a fresh one writes the counts of stale answers due.
 */
function staleMetadata(call: Evaluation, version: number, stale: StaleNote | null): { stale: true; staleReason: string } | undefined {
  if (!stale) {
    sweepDegradedLogs();
    return undefined;
  }
  logStale(call.request, call.identity, version, stale);
  return { stale: true, staleReason: stale.detail };
}

/** The 503 when no snapshot can be had for the key's environment, logged. */
function noSnapshot(call: Evaluation, detail: string, route: OfrepRoute): Response {
  logUnavailable(call.request, call.identity, detail);
  return refuse(call, unavailableRefusal(`no flag configuration could be loaded: ${detail}`), route);
}

async function evaluateOne(call: Evaluation, key: string): Promise<Response> {
  const text = await readBody(call.request);
  const request = typeof text === "string" ? parseContext(text) : text;
  if ("refusal" in request) return refuse(call, request.refusal, { flag: key });
  const lookup = await snapshotFor(call);
  if (lookup.kind === "unavailable") return noSnapshot(call, lookup.detail, { flag: key });
  if (lookup.kind === "missing") {
    return refuse(call, { code: "not-found", detail: `flag "${key}" was not found: the environment has no flags` }, { flag: key });
  }
  const { snapshot, stale } = lookup;
  const result = snapshot.compiled.evaluate(key, request.context);
  record(call, snapshot, request.context, [result]);
  const headers = answerHeaders(call, { "content-type": "application/json", [VERSION_HEADER]: String(snapshot.version) });
  if (stale) headers[STALE_HEADER] = stale.reason;
  const body = toOfrepSingle(result, snapshot.version, staleMetadata(call, snapshot.version, stale));
  return new Response(body, { status: ofrepStatus(result), headers });
}

/**
 * A bulk answer kept for a request body, so the same context asked again (a page reload, a
 * re-poll, every anonymous visitor of a page) is neither parsed nor evaluated again. It is good
 * for the snapshot it was evaluated on, within the second `$flagd.timestamp` names; telemetry
 * still records every evaluation it answers.
 */
interface Remembered {
  context: EvaluationContext;
  snapshot: CompiledSnapshot | null;
  second: number;
  results: readonly EvaluationResult[];
  flags: BulkFlags;
}
/** Bodies longer than this are not remembered: a repeated context is small. */
const REMEMBER_MAX_BODY = 1_024;
/** Remembered answers per isolate; the map is emptied when it is full. */
const REMEMBER_MAX = 64;
const remembered = new Map<string, Remembered>();

async function evaluateBulk(call: Evaluation): Promise<Response> {
  const text = await readBody(call.request);
  if (typeof text !== "string") return refuse(call, text.refusal, "bulk");
  let memo = remembered.get(text);
  let context: EvaluationContext;
  if (memo) context = memo.context;
  else {
    const request = parseContext(text);
    if ("refusal" in request) return refuse(call, request.refusal, "bulk");
    context = request.context;
  }
  const lookup = await snapshotFor(call);
  if (lookup.kind === "unavailable") return noSnapshot(call, lookup.detail, "bulk");
  const snapshot = lookup.kind === "snapshot" ? lookup.snapshot : null;
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (!memo || memo.snapshot !== snapshot || memo.second !== second) {
    const results = snapshot ? snapshot.compiled.evaluateAll(context, { now }) : [];
    memo = { context, snapshot, second, results, flags: bulkFlags(results) };
    if (text.length <= REMEMBER_MAX_BODY) {
      if (remembered.size >= REMEMBER_MAX) remembered.clear();
      remembered.set(text, memo);
    }
  }
  if (snapshot) record(call, snapshot, context, memo.results);
  const { identity } = call;
  const version = snapshot?.version ?? 0;
  const eventStreams = await eventStreamsFor(call.env, call.request.url, identity, call.credential, version);
  const stale = lookup.kind === "snapshot" ? lookup.stale : null;
  const { body, etag } = toOfrepBulk(memo.flags, eventStreams, {
    project: identity.project,
    environment: identity.environment,
    configVersion: version,
    ...(snapshot ? { updatedAt: snapshot.updatedAt } : {}),
    ...staleMetadata(call, version, stale),
  });
  const headers = answerHeaders(call, { ETag: etag, "Cache-Control": "private, no-cache", [VERSION_HEADER]: String(version) });
  if (stale) headers[STALE_HEADER] = stale.reason;
  if (matchesEtag(call.request.headers.get("if-none-match"), etag)) return new Response(null, { status: 304, headers });
  headers["content-type"] = "application/json";
  return new Response(body, { status: 200, headers });
}

/** Counts the evaluations for stale-flag detection, exposures and shadow comparison, off the hot path. */
function record(call: Evaluation, snapshot: CompiledSnapshot, context: EvaluationContext, results: readonly EvaluationResult[]): void {
  recordEvaluations(snapshot, context, results, call.identity.id);
  flushAfter(call.env, call.waitUntil);
}

function snapshotSources(env: Env, waitUntil: (promise: Promise<unknown>) => void): SnapshotSources {
  return edgeSources(env, waitUntil);
}

/** Clock skew allowed in a `flagConfigLastModified`; anything later is ignored, not chased. */
const LAST_MODIFIED_SKEW_S = 60;

/**
 * The snapshot for the key's environment, at least as new as the caller names: `flagConfigEtag`
 * (a version, exact) and `flagConfigLastModified` (unix seconds or ISO 8601; a snapshot committed
 * in that second or later). Either makes a stale isolate read KV, and a lagging KV the FlagStore.
 */
async function snapshotFor(call: Evaluation): Promise<SnapshotLookup> {
  const { identity } = call;
  const sources = snapshotSources(call.env, call.waitUntil);
  const query = call.search === "" ? null : new URLSearchParams(call.search);
  const named = /^(?:W\/)?"?(\d+)"?$/.exec(query?.get("flagConfigEtag") ?? "");
  const lookup = await getSnapshot(sources, identity.project, identity.environment, named ? Number(named[1]) : 0);
  const since = lastModifiedSeconds(query?.get("flagConfigLastModified") ?? undefined);
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

/** The request body as text, bounded (`MAX_OFREP_BODY_BYTES`) before anything is parsed, or the 413. */
async function readBody(request: Request): Promise<string | { refusal: OfrepRefusal }> {
  const text = await readBoundedText(request, MAX_OFREP_BODY_BYTES);
  if (typeof text === "string") return text;
  return {
    refusal: {
      code: "too-large",
      detail: `the request body is over ${MAX_OFREP_BODY_BYTES} bytes; an evaluation context is small: send only the attributes your flags target`,
    },
  };
}

/** The evaluation context of an OFREP request body; a missing body or `context` is an empty context. */
function parseContext(text: string): { context: EvaluationContext } | { refusal: OfrepRefusal } {
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

function matchesEtag(header: string | null, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((candidate) => {
    const tag = candidate.trim();
    // `*` is not a match here: RFC 9110 answers it with 412 on a POST, and it would pin a cache.
    return tag === etag || tag === `W/${etag}`;
  });
}
