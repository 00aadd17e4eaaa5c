/**
 * `GET /edge/v1/freshness`: how current the isolate that answers is, per project environment it
 * holds — the snapshot's version, where it came from, when it was last confirmed current and how
 * long ago, any stale note, and the location's version beacon as this isolate read it and as the
 * location's cache holds it now. One request is answered by one isolate of one location
 * (`colo`), so a monitor that calls it from many places sees a location that lags.
 *
 * The deployment's `ADMIN_TOKEN` sees every environment the isolate holds; a server key sees
 * its own environment. Client keys are public and are refused. Failed guesses are throttled per
 * address like the admin API's (`lib/auth-throttle.ts`): 429 with `Retry-After`.
 *
 * @example
 * curl -H "Authorization: Bearer $SERVER_KEY" https://flags.example.com/edge/v1/freshness
 */
import { Hono } from "hono";
import { readCredential } from "../contracts/credentials";
import type { EnvironmentFreshness, Freshness } from "../contracts/edge-freshness";
import { ofrepRefusal } from "../contracts/ofrep-wire";
import { blockedFor, countAuthFailure } from "../lib/auth-throttle";
import { constantTimeEqual } from "../lib/crypto";
import { adminTokenUsable } from "../lib/signing";
import { edgeState, environmentKey } from "./edge-state";
import { beaconNote, readBeacon } from "./freshness-beacon";
import { resolveKey } from "./keys";
import { refreshMs } from "./snapshot-cache";

export const freshness = new Hono<{ Bindings: Env }>();

const encoder = new TextEncoder();

/** Whether `credential` is the deployment's bootstrap admin token. */
function isAdminToken(env: Env, credential: string): boolean {
  return adminTokenUsable(env) && constantTimeEqual(encoder.encode(credential), encoder.encode(env.ADMIN_TOKEN));
}

function iso(ms: number | null | undefined): string | null {
  return ms ? new Date(ms).toISOString() : null;
}

/** One environment's freshness in this isolate. */
function environmentFreshness(project: string, environment: string, now: number): EnvironmentFreshness {
  const key = environmentKey(project, environment);
  const entry = edgeState.snapshots.get(key);
  const state = edgeState.beacons.get(key);
  const seen = state?.seen ?? null;
  const known = Math.max(edgeState.knownVersions.get(key) ?? 0, seen?.version ?? 0);
  // A beacon the store confirmed, naming no newer version, confirms the snapshot too.
  const beaconConfirms = entry && seen && seen.version <= entry.snapshot.version ? seen.confirmedAt : 0;
  const confirmedAt = entry ? Math.max(entry.checkedAt, beaconConfirms) : 0;
  return {
    project,
    environment,
    snapshot: entry
      ? {
          version: entry.snapshot.version,
          updatedAt: entry.snapshot.updatedAt,
          source: entry.source,
          installedAt: new Date(entry.installedAt).toISOString(),
          confirmedAt: new Date(confirmedAt).toISOString(),
          ageMs: now - confirmedAt,
          stale: entry.stale ?? beaconNote(key),
        }
      : null,
    knownVersion: known > 0 ? known : null,
    beacon: state
      ? {
          version: seen?.version ?? 0,
          confirmedAt: iso(seen?.confirmedAt),
          checkedAt: iso(state.checkedAt),
          failure: seen?.failure ? { at: new Date(seen.failure.at).toISOString(), detail: seen.failure.detail } : null,
          off: state.off ? { until: new Date(state.off.until).toISOString(), detail: state.off.detail } : null,
          cacheFailure: state.cacheFailure
            ? { since: new Date(state.cacheFailure.since).toISOString(), detail: state.cacheFailure.detail }
            : null,
        }
      : null,
    location: null,
    behind: entry ? known > entry.snapshot.version : known > 0,
  };
}

/** Every (project, environment) the isolate holds a snapshot or a beacon of. */
function heldEnvironments(): Array<[string, string]> {
  const keys = new Set([...edgeState.snapshots.keys(), ...edgeState.beacons.keys()]);
  return [...keys].map((key) => {
    const at = key.indexOf("\u0000");
    return [key.slice(0, at), key.slice(at + 1)];
  });
}

/** The failure-throttle bucket of this route: it names no project, so its guesses count together. */
const THROTTLE_SCOPE = "(edge freshness)";

function tooMany(retryAfter: number): Response {
  return ofrepRefusal(
    {
      code: "rate-limited",
      detail: `too many failed authentication attempts from this address; retry in ${retryAfter} s with a valid credential`,
      retryAfter,
    },
    "other",
  );
}

freshness.get("/freshness", async (c) => {
  // A guesser of the admin token or of a server key is refused before its guess is checked.
  const blocked = blockedFor(c.req.raw, THROTTLE_SCOPE);
  if (blocked !== null) return tooMany(blocked);
  const credential = readCredential(c.req.raw.headers);
  if (!credential) {
    return ofrepRefusal(
      { code: "unauthenticated", detail: "send the deployment's admin token, or a server key, as 'Authorization: Bearer <token>'" },
      "other",
    );
  }
  let scope: { project: string; environment: string } | null = null;
  if (!isAdminToken(c.env, credential)) {
    const lookup = await resolveKey(c.env.FLAGS_KV, (p) => c.executionCtx.waitUntil(p), credential, refreshMs(c.env));
    if (lookup.kind === "unavailable") {
      return ofrepRefusal(
        { code: "unavailable", detail: `this key could not be checked: ${lookup.detail}; retry in 5 s`, retryAfter: 5 },
        "other",
      );
    }
    if (lookup.kind === "unknown") {
      const wait = await countAuthFailure(c.env, c.req.raw, THROTTLE_SCOPE);
      if (wait !== null) return tooMany(wait);
      return ofrepRefusal({ code: "unauthenticated", detail: "this key is not known or has been revoked" }, "other");
    }
    const { identity } = lookup;
    if (identity.scope !== "server" || identity.environment === null) {
      return ofrepRefusal(
        { code: "forbidden", detail: `a ${identity.scope} key cannot read the edge's freshness; use a server key or the admin token` },
        "other",
      );
    }
    scope = { project: identity.project, environment: identity.environment };
  }
  const now = Date.now();
  const held = scope ? [[scope.project, scope.environment] as [string, string]] : heldEnvironments();
  const environments = await Promise.all(
    held.map(async ([project, environment]) => {
      const local = environmentFreshness(project, environment, now);
      // The location's beacon as the cache holds it now: another isolate may have refreshed it.
      const location = await readBeacon(project, environment).catch(() => null);
      if (!location) return local;
      const behind = local.behind || (local.snapshot ? location.version > local.snapshot.version : location.version > 0);
      return { ...local, location: { version: location.version, confirmedAt: iso(location.confirmedAt) }, behind };
    }),
  );
  const colo = c.req.raw.cf?.colo;
  const body: Freshness = { colo: typeof colo === "string" ? colo : null, at: new Date(now).toISOString(), environments };
  c.header("cache-control", "no-store");
  return c.json(body);
});
