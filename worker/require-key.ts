/**
 * The one key check of the edge's keyed routes (OFREP evaluation, flagd sync, event streams):
 * read the credential, resolve it against the KV key index (`keys.ts`), refuse in OFREP's shape
 * when it is missing, unknown, cannot be checked or has the wrong scope, rate-limit what the rule
 * limits, and leave the handler a typed identity of one environment.
 *
 * OFREP and sync read a key from the request's headers (`requireKey`, a middleware); an event
 * stream, whose `EventSource` cannot send headers, a signed token from its URL (`admitStream`).
 * Both judge what the key index said by the same `admit` and `limit`. On the evaluation path a
 * key this isolate knows is checked without a promise; only the rate limiter answers later.
 *
 * @example
 * const serverKey = requireKey({ missing: "send a server key", scopes: ["server"], forbidden: (scope) => `a ${scope} key cannot sync` });
 * sync.get("/flagd", serverKey, (c) => c.json({ environment: c.get("identity").environment }));
 */
import { createMiddleware } from "hono/factory";
import { readCredential, shapedScope } from "../contracts/credentials";
import { ofrepRefusal, unavailableRefusal, UNAVAILABLE_RETRY_AFTER_S, type OfrepRefusal } from "../contracts/ofrep-wire";
import type { KeyIdentity, KeyScope } from "../contracts/snapshot";
import { signingSecret, SIGNING_SECRET_PROBLEM } from "../lib/signing";
import { isKnownKey, resolveKey, resolveKeyNow, resolveStreamKey, type KeyLookup } from "./keys";
import { rateLimited, type LimitVerdict } from "./rate-limit";
import { logUnavailable } from "./request-log";
import { refreshMs } from "./snapshot-cache";
import { verifyStreamToken, type StreamClaims } from "./stream-token";

/** A key that serves one environment (a client or server key): what a keyed handler is given. */
export type EnvironmentKey = KeyIdentity & { environment: string };

/** The variables `requireKey` sets: the key's identity and the key itself. */
export interface KeyVariables {
  identity: EnvironmentKey;
  credential: string;
}

/** The Hono environment of a route behind `requireKey`. */
export type KeyEnv = { Bindings: Env; Variables: KeyVariables };

/** What a route accepts, and what it tells a caller it refuses. */
export interface KeyRule {
  /** The scopes the route serves; any other key (admin keys always) is refused with 403. */
  scopes: readonly Exclude<KeyScope, "admin">[];
  /** The detail of the 403 for a key of another scope. */
  forbidden: (scope: KeyScope) => string;
  /** Keys limited per key and client address (`CLIENT_RATE_LIMITER`): which, in which bucket, and what the 429 counts. */
  limit?: { scopes: readonly KeyScope[]; bucket: (keyId: string) => string; what: string };
  /** The detail of the 401 for a key the index does not hold, or holds revoked or expired. */
  unknown: string;
  /** The refusal when the key index could not be read for a key this isolate does not know. */
  unavailable: (detail: string) => OfrepRefusal;
}

/** A rule for a key sent in the headers; `missing` tells a caller without one what to send. */
export type HeaderKeyRule = Omit<KeyRule, "unknown" | "unavailable"> & { missing: string };

/** Whether a key serves an environment (admin keys serve none). */
function servesEnvironment(identity: KeyIdentity): identity is EnvironmentKey {
  return identity.environment !== null;
}

/** The identity `rule` admits from what the key index said, or the refusal. */
function admit(rule: KeyRule, request: Request, lookup: KeyLookup, project?: string): EnvironmentKey | Response {
  if (lookup.kind === "unavailable") {
    logUnavailable(request, { project }, `the key index could not be read: ${lookup.detail}`);
    return ofrepRefusal(rule.unavailable(lookup.detail), "other");
  }
  if (lookup.kind === "unknown") return ofrepRefusal({ code: "unauthenticated", detail: rule.unknown }, "other");
  const identity = lookup.identity;
  if (!servesEnvironment(identity) || identity.scope === "admin" || !rule.scopes.includes(identity.scope)) {
    return ofrepRefusal({ code: "forbidden", detail: rule.forbidden(identity.scope) }, "other");
  }
  return identity;
}

/** The 429 when `rule` limits the key and it is over its limit from this address, else null. */
async function limit(rule: KeyRule, env: Env, request: Request, identity: EnvironmentKey): Promise<Response | null> {
  const retryAfter = await limiting(rule, env, request, identity)?.read();
  return retryAfter ? limitRefusal(rule, retryAfter) : null;
}

/** The rate limiter's verdict to come (seconds to wait, 0: not limited) when `rule` limits the key, else null. */
function limiting(rule: KeyRule, env: Env, request: Request, identity: EnvironmentKey): LimitVerdict | null {
  const limits = rule.limit;
  if (!limits?.scopes.includes(identity.scope)) return null;
  return rateLimited(env, limits.bucket(identity.id), request.headers.get("cf-connecting-ip"));
}

function limitRefusal(rule: KeyRule, retryAfter: number): Response {
  return ofrepRefusal(
    { code: "rate-limited", detail: `too many ${rule.limit?.what} from this address with this key; retry in ${retryAfter} s`, retryAfter },
    "other",
  );
}

/** A header rule with the refusals every header-keyed route shares. */
function headerKeyRule(headerRule: HeaderKeyRule): KeyRule & { missing: string } {
  return {
    ...headerRule,
    unknown: "this key is not known or has been revoked",
    unavailable: (detail) => unavailableRefusal(`this key could not be checked: ${detail}`),
  };
}

/**
 * A key admitted before the rate limiter has answered: the caller starts its own work (reading the
 * body) and then reads `limited`, the seconds to wait (0: not limited; null: the rule does not
 * limit this key), answering `refusal(seconds)` when it is over.
 */
export interface PendingKey extends KeyVariables {
  limited: LimitVerdict | null;
}

/** The credential of a request's headers (`readCredential`); a known key sent as `Bearer <key>` without a regex. */
function credentialOf(headers: Headers): string | null {
  const authorization = headers.get("authorization");
  if (authorization?.startsWith("Bearer ")) {
    const key = authorization.slice(7);
    // A known key has a key's shape (no spaces): what the regex would have read.
    if (isKnownKey(key)) return key;
  }
  return readCredential(headers);
}

/**
 * Admits the key of a request's `Authorization: Bearer` or `X-API-Key` header under a rule made
 * by `headerKeyRule`: the key with the limiter's verdict to come, or the refusal to answer with.
 * Without a promise when isolate memory knows the key (`resolveKeyNow`).
 */
function admitHeaderKey(
  rule: KeyRule & { missing: string },
  request: Request,
  env: Env,
  waitUntil: (promise: Promise<unknown>) => void,
): PendingKey | Response | Promise<PendingKey | Response> {
  const credential = credentialOf(request.headers);
  if (!credential) return ofrepRefusal({ code: "unauthenticated", detail: rule.missing }, "other");
  const refresh = refreshMs(env);
  const known = resolveKeyNow(env.FLAGS_KV, waitUntil, credential, refresh);
  if (known) return pendingKey(rule, request, env, credential, known);
  return resolveKey(env.FLAGS_KV, waitUntil, credential, refresh).then((lookup) => pendingKey(rule, request, env, credential, lookup));
}

function pendingKey(rule: KeyRule, request: Request, env: Env, credential: string, lookup: KeyLookup): PendingKey | Response {
  // The edge's index holds no admin keys: one sent here is refused for what it is (its shape says
  // so, whether or not it exists), not as an unknown key the caller would go looking for.
  if (lookup.kind === "unknown" && shapedScope(credential) === "admin") {
    return ofrepRefusal({ code: "forbidden", detail: rule.forbidden("admin") }, "other");
  }
  const identity = admit(rule, request, lookup);
  if (identity instanceof Response) return identity;
  return { identity, credential, limited: limiting(rule, env, request, identity) };
}

/**
 * A key check for a route dispatched without Hono: `admit` answers the key's identity and the key
 * with the rate limiter's verdict still to come (`PendingKey`), or the refusal (401, 403, 503) to
 * send as it is; `refusal` is the 429 for a verdict over the limit. No promise when the key is
 * known here, so the caller reads the body while the limiter answers.
 *
 * @example
 * const evaluationKey = keyCheck({ missing: "send a client key", scopes: ["client"], forbidden: () => "…" });
 * let admitted = evaluationKey.admit(request, env, (p) => ctx.waitUntil(p));
 * if (admitted instanceof Promise) admitted = await admitted;
 * if (admitted instanceof Response) return admitted;
 * const retryAfter = await admitted.limited?.read();
 * if (retryAfter) return evaluationKey.refusal(retryAfter);
 */
export function keyCheck(headerRule: HeaderKeyRule) {
  const rule = headerKeyRule(headerRule);
  return {
    admit: (request: Request, env: Env, waitUntil: (promise: Promise<unknown>) => void) => admitHeaderKey(rule, request, env, waitUntil),
    refusal: (retryAfter: number) => limitRefusal(rule, retryAfter),
  };
}

/**
 * The middleware admitting the key of a request's `Authorization: Bearer` or `X-API-Key` header
 * under `rule`; the handler reads `c.get("identity")` and `c.get("credential")`.
 */
export function requireKey(headerRule: HeaderKeyRule) {
  const check = keyCheck(headerRule);
  return createMiddleware<KeyEnv>(async (c, next) => {
    const admitted = await check.admit(c.req.raw, c.env, (p) => c.executionCtx.waitUntil(p));
    if (admitted instanceof Response) return admitted;
    const retryAfter = await admitted.limited?.read();
    if (retryAfter) return check.refusal(retryAfter);
    c.set("identity", admitted.identity);
    c.set("credential", admitted.credential);
    await next();
  });
}

/** The refusal when an event stream cannot be opened now; the provider reconnects or polls. */
export function streamUnavailable(why: string): OfrepRefusal {
  return {
    code: "unavailable",
    detail: `${why}; the provider will poll or retry in ${UNAVAILABLE_RETRY_AFTER_S} s`,
    retryAfter: UNAVAILABLE_RETRY_AFTER_S,
  };
}

/**
 * Event streams: client and server keys; opening one is limited like client evaluations, per key
 * and client address, whatever the key's scope: a stream holds a request here and a socket on a
 * broadcaster shard.
 */
const STREAM_RULE: KeyRule = {
  scopes: ["client", "server"],
  forbidden: (scope) => `a ${scope} key does not listen to event streams; use a client or server key`,
  limit: { scopes: ["client", "server"], bucket: (keyId) => `stream:${keyId}`, what: "event streams opened" },
  unknown: "the key this stream was issued to is revoked or expired",
  unavailable: () => streamUnavailable("the key this stream was issued to could not be checked"),
};

/**
 * Admits the stream token in a request's URL (`?token=`, `stream-token.ts`), checked against the
 * key it was issued to (remembered for `keyCheckMs`): its claims and the key's identity, or the
 * refusal to answer with.
 *
 * @example
 * const admitted = await admitStream(request, env, settings.keyCheckMs);
 * if (admitted instanceof Response) return admitted;
 */
export async function admitStream(
  request: Request,
  env: Env,
  keyCheckMs: number,
): Promise<{ claims: StreamClaims; identity: EnvironmentKey } | Response> {
  const token = new URL(request.url).searchParams.get("token");
  if (!token)
    return ofrepRefusal({ code: "unauthenticated", detail: "this URL needs the token from the bulk evaluation's eventStreams" }, "other");
  const secret = signingSecret(env);
  if (!secret) {
    logUnavailable(request, {}, SIGNING_SECRET_PROBLEM);
    return ofrepRefusal(streamUnavailable(`event streams are unavailable: ${SIGNING_SECRET_PROBLEM}`), "other");
  }
  const check = await verifyStreamToken(secret, token, Date.now());
  if (!check.ok) {
    const detail =
      check.reason === "expired"
        ? "this event-stream URL has expired; POST /ofrep/v1/evaluate/flags for a new one"
        : "this event-stream token is not valid";
    return ofrepRefusal({ code: "unauthenticated", detail }, "other");
  }
  const claims = check.claims;
  const identity = admit(STREAM_RULE, request, await resolveStreamKey(env.FLAGS_KV, claims, keyCheckMs), claims.project);
  if (identity instanceof Response) return identity;
  return (await limit(STREAM_RULE, env, request, identity)) ?? { claims, identity };
}
