/**
 * The one key check of the edge's keyed routes (OFREP evaluation, flagd sync): read the
 * credential, resolve it against the KV key index (`keys.ts`), refuse in OFREP's shape when it is
 * missing, unknown, cannot be checked or has the wrong scope, rate-limit public client keys, and
 * leave the handler a typed identity of one environment.
 *
 * @example
 * const sync = new Hono<KeyEnv>();
 * sync.use("/flagd", requireKey({ scopes: ["server"], missing: "send a server key", forbidden: (scope) => `a ${scope} key cannot sync` }));
 * sync.get("/flagd", (c) => c.json({ environment: c.get("identity").environment }));
 */
import { createMiddleware } from "hono/factory";
import { readCredential } from "../contracts/credentials";
import { ofrepRefusal, unavailableRefusal } from "../contracts/ofrep-wire";
import type { KeyIdentity, KeyScope } from "../contracts/snapshot";
import { resolveKey } from "./keys";
import { rateLimited } from "./rate-limit";
import { logUnavailable } from "./request-log";
import { refreshMs } from "./snapshot-cache";

/** A key that serves one environment (a client or server key): what a keyed handler is given. */
export type EnvironmentKey = KeyIdentity & { environment: string };

/** The variables `requireKey` sets: the key's identity and the credential it was sent as. */
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
  /** The detail of the 401 when the request carries no credential. */
  missing: string;
  /** The detail of the 403 for a key of another scope. */
  forbidden: (scope: KeyScope) => string;
}

/** Whether a key serves an environment (admin keys serve none). */
function servesEnvironment(identity: KeyIdentity): identity is EnvironmentKey {
  return identity.environment !== null;
}

/**
 * The middleware admitting keys that `rule` accepts. Client keys are rate limited per key and
 * client address; a limiter that fails limits nothing.
 */
export function requireKey(rule: KeyRule) {
  return createMiddleware<KeyEnv>(async (c, next) => {
    const credential = readCredential(c.req.raw.headers);
    if (!credential) return ofrepRefusal({ code: "unauthenticated", detail: rule.missing }, "other");
    const lookup = await resolveKey(c.env.FLAGS_KV, (p) => c.executionCtx.waitUntil(p), credential, refreshMs(c.env));
    if (lookup.kind === "unavailable") {
      logUnavailable(c.req.raw, {}, `the key index could not be read: ${lookup.detail}`);
      return ofrepRefusal(unavailableRefusal(`this key could not be checked: ${lookup.detail}`), "other");
    }
    if (lookup.kind === "unknown") return ofrepRefusal({ code: "unauthenticated", detail: "this key is not known or has been revoked" }, "other");
    const identity = lookup.identity;
    if (!servesEnvironment(identity) || identity.scope === "admin" || !rule.scopes.includes(identity.scope)) {
      return ofrepRefusal({ code: "forbidden", detail: rule.forbidden(identity.scope) }, "other");
    }
    c.set("identity", identity);
    c.set("credential", credential);
    if (identity.scope === "client") {
      const limited = await rateLimited(c.env, identity.id, c.req.header("cf-connecting-ip"));
      if (limited) return ofrepRefusal({ code: "rate-limited", detail: `too many evaluations from this address with this key; retry in ${limited} s`, retryAfter: limited }, "other");
    }
    await next();
  });
}
