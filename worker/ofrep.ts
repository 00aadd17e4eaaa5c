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
import { EVENT_STREAM_PATH, eventStreamsFor, handleEventStream, streamSettings, type StreamSettings } from "./events";
import { declaredText, MAX_OFREP_BODY_BYTES, readBoundedText } from "./bounded-body";
import {
  bulkBody,
  bulkFlags,
  bulkTail,
  ofrepRefusal,
  ofrepStatus,
  toOfrepBulk,
  toOfrepSingle,
  unavailableRefusal,
  type BulkFlags,
  type BulkTail,
  type OfrepRefusal,
  type OfrepRoute,
} from "../contracts/ofrep-wire";
import { tokenExpiry } from "./stream-token";
import { logStale, logUnavailable, sweepDegradedLogs } from "./request-log";
import {
  edgeSources,
  getSnapshot,
  snapshotNow,
  type CompiledSnapshot,
  type SnapshotLookup,
  type SnapshotSources,
  type StaleNote,
} from "./snapshot-cache";
import { keyCheck, requireKey, type EnvironmentKey, type HeaderKeyRule, type KeyEnv, type PendingKey } from "./require-key";
import type { LimitVerdict } from "./rate-limit";
import { flushAfter, recordEvaluation, recordEvaluations } from "./telemetry";

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
  /** `request.url`, read once (the runtime builds a new string each time it is read). */
  url: string;
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

/** A request URL with its path and query, as `requestPath` reads them. */
export interface RequestPath {
  url: string;
  pathname: string;
  search: string;
}

/**
 * The path and query of a request URL as the runtime serialized it (already parsed and
 * normalized, so the path is the text from the first `/` after the host up to the `?`).
 *
 * @example
 * requestPath("https://edge.example/ofrep/v1/evaluate/flags?flagConfigEtag=3"); // { url, pathname: "/ofrep/v1/evaluate/flags", search: "?flagConfigEtag=3" }
 */
export function requestPath(url: string): RequestPath {
  const authority = url.indexOf("//");
  const start = url.indexOf("/", authority < 0 ? 0 : authority + 2);
  if (start < 0) return { url, pathname: "/", search: "" };
  const query = url.indexOf("?", start);
  return query < 0 ? { url, pathname: url.slice(start), search: "" } : { url, pathname: url.slice(start, query), search: url.slice(query) };
}

/**
 * Answers a POST to an evaluation route (`evaluationRoute`), key check included: the hot path,
 * dispatched by the composition root without the router. Every answer carries `answerHeaders`
 * (the routes' CORS headers), set as it is built.
 *
 * @example
 * const path = requestPath(request.url);
 * const route = evaluationRoute(path.pathname);
 * if (request.method === "POST" && route) return answerEvaluation(request, path, route, env, (p) => ctx.waitUntil(p), CORS);
 */
export function answerEvaluation(
  request: Request,
  path: RequestPath,
  route: "bulk" | { flag: string },
  env: Env,
  waitUntil: (promise: Promise<unknown>) => void,
  answerHeaders: readonly (readonly [string, string])[],
): Promise<Response> | Response {
  const admitted = admitEvaluationKey.admit(request, env, waitUntil);
  if (admitted instanceof Promise)
    return admitted.then((key) => evaluateAdmitted(key, request, path, route, env, waitUntil, answerHeaders));
  return evaluateAdmitted(admitted, request, path, route, env, waitUntil, answerHeaders);
}

function evaluateAdmitted(
  admitted: PendingKey | Response,
  request: Request,
  path: RequestPath,
  route: "bulk" | { flag: string },
  env: Env,
  waitUntil: (promise: Promise<unknown>) => void,
  answerHeaders: readonly (readonly [string, string])[],
): Promise<Response> | Response {
  if (admitted instanceof Response) return withHeaders(admitted, answerHeaders);
  const { url, search } = path;
  const call: Evaluation = {
    request,
    url,
    search,
    answerHeaders,
    env,
    waitUntil,
    identity: admitted.identity,
    credential: admitted.credential,
  };
  // The body is read while the rate limiter answers; a 429 still comes before anything about the body.
  const body = declaredText(request, MAX_OFREP_BODY_BYTES);
  return route === "bulk" ? evaluateBulk(call, body, admitted.limited) : evaluateOne(call, route.flag, body, admitted.limited);
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
  ...requestPath(c.req.raw.url),
  answerHeaders: null,
  env: c.env,
  waitUntil: (p) => c.executionCtx.waitUntil(p),
  identity: c.get("identity"),
  credential: c.get("credential"),
});
ofrep.post("/evaluate/flags/:key", (c) => evaluateOne(routed(c), c.req.param("key"), null, null));
ofrep.post("/evaluate/flags", (c) => evaluateBulk(routed(c), null, null));

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

/** The 429 of a key over its limit from this address. */
function limitedAnswer(call: Evaluation, retryAfter: number): Response {
  return withHeaders(admitEvaluationKey.refusal(retryAfter), call.answerHeaders);
}

/** A body the connection did not deliver (it ended before its declared length): 400, not an error of ours. */
const UNREADABLE: OfrepRefusal = {
  code: "invalid-context",
  detail: "the request body could not be read (the connection ended before it was complete): send the evaluation context again",
};

/** The body `declaredText` started (or a bounded read now); a read that fails is the refusal above, after the limiter's verdict. */
function readBody(call: Evaluation, body: Promise<string> | string | null): Promise<string | OfrepRefusal> | string {
  if (typeof body === "string") return body;
  return (body ?? readBoundedText(call.request, MAX_OFREP_BODY_BYTES)).then(
    (text) => (typeof text === "string" ? text : TOO_LARGE),
    () => UNREADABLE,
  );
}

const TOO_LARGE: OfrepRefusal = {
  code: "too-large",
  detail: `the request body is over ${MAX_OFREP_BODY_BYTES} bytes; an evaluation context is small: send only the attributes your flags target`,
};

/**
 * One flag. `body` is the read `declaredText` started (null: read it bounded now); `limited` the
 * rate limiter's verdict (null: the key is not limited), which comes before anything about the body.
 */
async function evaluateOne(
  call: Evaluation,
  key: string,
  body: Promise<string> | string | null,
  limited: LimitVerdict | null,
): Promise<Response> {
  const text = await readBody(call, body);
  const verdict = limited?.read() ?? 0;
  const retryAfter = typeof verdict === "number" ? verdict : await verdict;
  if (retryAfter) return limitedAnswer(call, retryAfter);
  if (typeof text !== "string") return refuse(call, text, { flag: key });
  const request = parseContext(text);
  if ("refusal" in request) return refuse(call, request.refusal, { flag: key });
  const found = lookupFor(call);
  const lookup = found instanceof Promise ? await found : found;
  if (lookup.kind === "unavailable") return noSnapshot(call, lookup.detail, { flag: key });
  if (lookup.kind === "missing") {
    return refuse(call, { code: "not-found", detail: `flag "${key}" was not found: the environment has no flags` }, { flag: key });
  }
  const { snapshot, stale } = lookup;
  const result = snapshot.compiled.evaluate(key, request.context);
  recordEvaluation(snapshot, request.context, result, call.identity.id);
  flushAfter(call.env, call.waitUntil);
  const answer = toOfrepSingle(result, snapshot.version, staleMetadata(call, snapshot.version, stale));
  const status = ofrepStatus(result);
  if (stale) {
    const headers = answerHeaders(call, { "content-type": "application/json", [VERSION_HEADER]: String(snapshot.version) });
    headers[STALE_HEADER] = stale.reason;
    return new Response(answer, { status, headers });
  }
  return new Response(answer, singleInit(call, snapshot, status));
}

/**
 * Response inits of a fresh single-flag answer per snapshot, status and answer headers: the
 * headers are built once (the runtime copies them into each response).
 */
const singleInits = new WeakMap<CompiledSnapshot, { answerHeaders: Evaluation["answerHeaders"]; byStatus: Map<number, ResponseInit> }>();

function singleInit(call: Evaluation, snapshot: CompiledSnapshot, status: number): ResponseInit {
  let inits = singleInits.get(snapshot);
  if (inits?.answerHeaders !== call.answerHeaders) {
    inits = { answerHeaders: call.answerHeaders, byStatus: new Map() };
    singleInits.set(snapshot, inits);
  }
  let init = inits.byStatus.get(status);
  if (!init) {
    const headers = new Headers(answerHeaders(call, { "content-type": "application/json", [VERSION_HEADER]: String(snapshot.version) }));
    init = { status, headers };
    inits.byStatus.set(status, init);
  }
  return init;
}

/**
 * A bulk evaluation kept for a request body, so the same context asked again (a page reload, a
 * re-poll, every anonymous visitor of a page) is neither parsed nor evaluated again. It is good
 * for the snapshot it was evaluated on, within the second `$flagd.timestamp` names; telemetry
 * still records every evaluation it answers.
 *
 * The first ask keeps only the results: most bodies are never sent again (every visitor's own
 * context), and a kept 30 kB body outlives the young generation and costs every collection a
 * copy of it. The serialized flags and the answer are kept from the second ask on.
 */
interface Remembered {
  context: EvaluationContext;
  snapshot: CompiledSnapshot | null;
  second: number;
  results: readonly EvaluationResult[];
  /** The serialized flags, once the body was asked again. */
  flags: BulkFlags | null;
  /** The fresh answer last built from it, once the body was asked again. */
  answer: BulkAnswer | null;
}

/** A fresh bulk answer as sent: good while its tail (`freshTail`) and the answer headers are the same. */
interface BulkAnswer {
  tail: BulkTail;
  answerHeaders: Evaluation["answerHeaders"];
  body: string;
  etag: string;
  /** The inits of its 200 and 304, built when it is answered a second time. */
  ok: ResponseInit | null;
  notModified: ResponseInit | null;
}

/**
 * The headers of fresh bulk answers with one tail and the same answer headers, all but the ETag:
 * built once, then copied per answer (a copy of a `Headers` costs the runtime less than reading
 * a plain object's six properties into a new one).
 */
interface BulkHeaders {
  answerHeaders: Evaluation["answerHeaders"];
  /** The 200's (with its content type) and the 304's. */
  ok: Headers;
  notModified: Headers;
}
const bulkHeaders = new WeakMap<BulkTail, BulkHeaders>();

function bulkHeadersFor(call: Evaluation, tail: BulkTail): BulkHeaders {
  let kept = bulkHeaders.get(tail);
  if (kept?.answerHeaders !== call.answerHeaders) {
    const headers = answerHeaders(call, { "Cache-Control": "private, no-cache", [VERSION_HEADER]: String(tail.configVersion) });
    kept = {
      answerHeaders: call.answerHeaders,
      notModified: new Headers(headers),
      ok: new Headers({ ...headers, "content-type": "application/json" }),
    };
    bulkHeaders.set(tail, kept);
  }
  return kept;
}

/** A copy of `headers` with the ETag `etag`. */
function withEtag(headers: Headers, etag: string): Headers {
  const copy = new Headers(headers);
  copy.set("ETag", etag);
  return copy;
}

/** Bodies longer than this are not remembered: a repeated context is small. */
const REMEMBER_MAX_BODY = 1_024;
/** Remembered answers per isolate; the map is emptied when it is full. */
const REMEMBER_MAX = 64;
const remembered = new Map<string, Remembered>();

/** Every flag, with `body` and `limited` as `evaluateOne` takes them. */
async function evaluateBulk(call: Evaluation, body: Promise<string> | string | null, limited: LimitVerdict | null): Promise<Response> {
  const text = await readBody(call, body);
  const verdict = limited?.read() ?? 0;
  const retryAfter = typeof verdict === "number" ? verdict : await verdict;
  if (retryAfter) return limitedAnswer(call, retryAfter);
  if (typeof text !== "string") return refuse(call, text, "bulk");
  let memo = remembered.get(text);
  let context: EvaluationContext;
  if (memo) context = memo.context;
  else {
    const request = parseContext(text);
    if ("refusal" in request) return refuse(call, request.refusal, "bulk");
    context = request.context;
  }
  const found = lookupFor(call);
  const lookup = found instanceof Promise ? await found : found;
  if (lookup.kind === "unavailable") return noSnapshot(call, lookup.detail, "bulk");
  const snapshot = lookup.kind === "snapshot" ? lookup.snapshot : null;
  const now = Date.now();
  const second = Math.floor(now / 1000);
  const askedAgain = memo !== undefined && memo.snapshot === snapshot && memo.second === second;
  if (!memo || !askedAgain) {
    const results = snapshot ? snapshot.compiled.evaluateAll(context, { now }) : [];
    memo = { context, snapshot, second, results, flags: null, answer: null };
    if (text.length <= REMEMBER_MAX_BODY) {
      if (remembered.size >= REMEMBER_MAX) remembered.clear();
      remembered.set(text, memo);
    }
  }
  if (snapshot) {
    recordEvaluations(snapshot, context, memo.results, call.identity.id);
    flushAfter(call.env, call.waitUntil);
  }
  const flags = memo.flags ?? bulkFlags(memo.results);
  if (askedAgain) memo.flags = flags;
  const stale = lookup.kind === "snapshot" ? lookup.stale : null;
  if (stale) return staleBulkAnswer(call, snapshot, flags, stale);
  sweepDegradedLogs();
  const kept = freshTail(call, snapshot, now);
  const tail = kept instanceof Promise ? await kept : kept;
  let answer = memo.answer;
  if (answer?.tail !== tail || answer.answerHeaders !== call.answerHeaders) {
    const { body: answerBody, etag } = bulkBody(flags, tail);
    answer = { tail, answerHeaders: call.answerHeaders, body: answerBody, etag, ok: null, notModified: null };
    if (askedAgain) memo.answer = answer;
    const headers = bulkHeadersFor(call, tail);
    if (matchesEtag(call.request.headers.get("if-none-match"), etag)) {
      return new Response(null, { status: 304, headers: withEtag(headers.notModified, etag) });
    }
    return new Response(answerBody, { status: 200, headers: withEtag(headers.ok, etag) });
  }
  // Asked again: the headers are built once (the runtime copies them into each response).
  if (matchesEtag(call.request.headers.get("if-none-match"), answer.etag)) {
    answer.notModified ??= { status: 304, headers: withEtag(bulkHeadersFor(call, tail).notModified, answer.etag) };
    return new Response(null, answer.notModified);
  }
  answer.ok ??= { status: 200, headers: withEtag(bulkHeadersFor(call, tail).ok, answer.etag) };
  return new Response(answer.body, answer.ok);
}

/** A bulk answer from a snapshot served stale: built whole, with the stale fields and header. */
async function staleBulkAnswer(call: Evaluation, snapshot: CompiledSnapshot | null, flags: BulkFlags, stale: StaleNote): Promise<Response> {
  const { identity } = call;
  const version = snapshot?.version ?? 0;
  const eventStreams = await eventStreamsFor(call.env, call.url, identity, call.credential, version, streamSettingsOf(call.env));
  const { body, etag } = toOfrepBulk(flags, eventStreams, {
    project: identity.project,
    environment: identity.environment,
    configVersion: version,
    ...(snapshot ? { updatedAt: snapshot.updatedAt } : {}),
    ...staleMetadata(call, version, stale),
  });
  const headers = answerHeaders(call, { ETag: etag, "Cache-Control": "private, no-cache", [VERSION_HEADER]: String(version) });
  headers[STALE_HEADER] = stale.reason;
  if (matchesEtag(call.request.headers.get("if-none-match"), etag)) return new Response(null, { status: 304, headers });
  headers["content-type"] = "application/json";
  return new Response(body, { status: 200, headers });
}

/** `streamSettings(env)`, read once per `env` object. */
const envStreamSettings = new WeakMap<Env, StreamSettings>();
function streamSettingsOf(env: Env): StreamSettings {
  let settings = envStreamSettings.get(env);
  if (!settings) {
    settings = streamSettings(env);
    envStreamSettings.set(env, settings);
  }
  return settings;
}

/**
 * The part of a fresh bulk body after its flags (event streams and metadata) as last built per
 * snapshot: the same for every context asked of the same deployment (`env`) through the same URL
 * with the same key within one stream-token window, so it is serialized and hashed once, not per request.
 */
interface FreshTail {
  /** The deployment's settings (event streams, signing secret) are read from it. */
  env: Env;
  url: string;
  credential: string;
  tokenExpiry: number;
  project: string;
  environment: string;
  tail: BulkTail;
}
const freshTails = new WeakMap<object, FreshTail>();
/** Where the tails of answers without a snapshot (an environment with no flags) are kept. */
const NO_SNAPSHOT = {};

function freshTail(call: Evaluation, snapshot: CompiledSnapshot | null, now: number): BulkTail | Promise<BulkTail> {
  const { identity } = call;
  const settings = streamSettingsOf(call.env);
  const expiry = settings.shards === 0 ? 0 : tokenExpiry(now, settings.tokenWindowSeconds);
  const owner = snapshot ?? NO_SNAPSHOT;
  const kept = freshTails.get(owner);
  if (
    kept &&
    kept.env === call.env &&
    kept.url === call.url &&
    kept.credential === call.credential &&
    kept.tokenExpiry === expiry &&
    kept.project === identity.project &&
    kept.environment === identity.environment
  ) {
    return kept.tail;
  }
  return buildTail(call, snapshot, settings, expiry, owner);
}

async function buildTail(
  call: Evaluation,
  snapshot: CompiledSnapshot | null,
  settings: StreamSettings,
  expiry: number,
  owner: object,
): Promise<BulkTail> {
  const { identity } = call;
  const version = snapshot?.version ?? 0;
  const eventStreams = await eventStreamsFor(call.env, call.url, identity, call.credential, version, settings);
  const tail = bulkTail(eventStreams, {
    project: identity.project,
    environment: identity.environment,
    configVersion: version,
    ...(snapshot ? { updatedAt: snapshot.updatedAt } : {}),
  });
  const { project, environment } = identity;
  freshTails.set(owner, {
    env: call.env,
    url: call.url,
    credential: call.credential,
    tokenExpiry: expiry,
    project,
    environment,
    tail,
  });
  return tail;
}

function snapshotSources(env: Env, waitUntil: (promise: Promise<unknown>) => void): SnapshotSources {
  return edgeSources(env, waitUntil);
}

/**
 * `snapshotFor(call)`, without a promise when the request names no version and memory can answer
 * (`snapshotNow`).
 */
function lookupFor(call: Evaluation): SnapshotLookup | Promise<SnapshotLookup> {
  if (call.search !== "") return snapshotFor(call);
  const { project, environment } = call.identity;
  return (
    snapshotNow(call.env, call.waitUntil, project, environment) ??
    getSnapshot(snapshotSources(call.env, call.waitUntil), project, environment)
  );
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

/** The evaluation context of an OFREP request body; a missing body or `context` is an empty context. */
function parseContext(text: string): { context: EvaluationContext } | { refusal: OfrepRefusal } {
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

function invalid(detail: string): { refusal: OfrepRefusal } {
  return { refusal: { code: "invalid-context", detail } };
}

function matchesEtag(header: string | null, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((candidate) => {
    const tag = candidate.trim();
    // `*` is not a match here: RFC 9110 answers it with 412 on a POST, and it would pin a cache.
    return tag === etag || tag === `W/${etag}`;
  });
}
