/**
 * API keys at the edge: resolve a key to the project and environment it serves from isolate
 * memory, refreshed from the KV key index.
 */
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { looksLikeKey } from "../contracts/credentials";
import { hashKey, keyIndexKvKey, KeyIdentitySchema, type KeyIdentity } from "../contracts/snapshot";
import { edgeState } from "./edge-state";
import type { StreamClaims } from "./stream-token";

/** Unknown keys are remembered this long, so a flood of bad keys does not become a flood of KV reads. */
const UNKNOWN_KEY_TTL_MS = 5_000;
const { knownKeys, unknownKeys } = edgeState;

/**
 * What the edge knows of a key: its identity, that it is unknown (or revoked, or expired), or
 * nothing, because the KV key index failed or timed out for a key this isolate has not seen.
 */
export type KeyLookup = { kind: "known"; identity: KeyIdentity } | { kind: "unknown" } | { kind: "unavailable"; detail: string };

/**
 * Resolves `key`. A known key is served from memory and revalidated against KV in the background
 * once `refreshMs` has passed, so revocation reaches this isolate within KV's propagation window
 * plus `refreshMs`; while KV fails, a key already known here keeps working. A key is never called
 * unknown because KV did not answer: that is `unavailable`.
 *
 * @example
 * const lookup = await resolveKey(env.FLAGS_KV, ctx.waitUntil.bind(ctx), credential, 5_000);
 */
export async function resolveKey(
  kv: KVNamespace,
  waitUntil: (promise: Promise<unknown>) => void,
  key: string,
  refreshMs: number,
): Promise<KeyLookup> {
  const now = resolveKeyNow(kv, waitUntil, key, refreshMs);
  if (now) return now;
  let lookup: KeyLookup;
  try {
    const identity = await readIndex(kv, key);
    lookup = identity ? (knownKeys.get(key)?.lookup ?? { kind: "known", identity }) : UNKNOWN;
  } catch (error) {
    return { kind: "unavailable", detail: error instanceof Error ? error.message : String(error) };
  }
  return lookup.kind === "known" && expired(lookup.identity) ? UNKNOWN : lookup;
}

const UNKNOWN: KeyLookup = Object.freeze({ kind: "unknown" });

/**
 * What isolate memory alone says of `key`, as `resolveKey` would answer it (a known key's
 * revalidation started when due), or null when only the KV key index can tell: the hot path's
 * key check without a promise.
 *
 * @example
 * const lookup = resolveKeyNow(env.FLAGS_KV, waitUntil, credential, 5_000) ?? (await resolveKey(env.FLAGS_KV, waitUntil, credential, 5_000));
 */
export function resolveKeyNow(
  kv: KVNamespace,
  waitUntil: (promise: Promise<unknown>) => void,
  key: string,
  refreshMs: number,
): KeyLookup | null {
  const now = Date.now();
  // Only keys that look like keys are ever held as known.
  const known = knownKeys.get(key);
  if (known) {
    if (now - known.checkedAt >= refreshMs && !known.refreshing) {
      known.refreshing = true;
      // A failed revalidation keeps the key working and is retried after another `refreshMs`.
      waitUntil(
        readIndex(kv, key)
          .catch(() => {
            known.checkedAt = Date.now();
          })
          .finally(() => {
            known.refreshing = false;
          }),
      );
    }
    // A rotated key's old half stops at its expiry here too, not only when KV drops it.
    return expired(known.identity) ? UNKNOWN : known.lookup;
  }
  if (!looksLikeKey(key)) return UNKNOWN;
  const unknownAt = unknownKeys.get(key);
  if (unknownAt !== undefined && now - unknownAt < Math.min(UNKNOWN_KEY_TTL_MS, refreshMs)) return UNKNOWN;
  return null;
}

/** Whether this isolate holds `key` as known: such a key has the shape of a key. */
export function isKnownKey(key: string): boolean {
  return knownKeys.has(key);
}

function expired(identity: KeyIdentity): boolean {
  const { expiresAt } = identity;
  return !!expiresAt && Date.parse(expiresAt) <= Date.now();
}

/** Reads the key index, within the edge's KV deadline; throws when KV fails or does not answer. */
async function readIndex(kv: KVNamespace, key: string): Promise<KeyIdentity | null> {
  const raw = await withDeadline(kv.get(keyIndexKvKey(hashKey(key)), "json"), DEADLINE_MS.edgeKvRead, "KV key index read");
  const parsed = raw === null ? null : KeyIdentitySchema.safeParse(raw);
  const identity = parsed?.success ? parsed.data : null;
  // Known and unknown keys are held apart: a flood of made-up keys evicts only made-up keys.
  if (identity) {
    knownKeys.set(key, { identity, lookup: Object.freeze({ kind: "known", identity }), checkedAt: Date.now(), refreshing: false });
    unknownKeys.delete(key);
  } else {
    unknownKeys.set(key, Date.now());
    knownKeys.delete(key);
  }
  return identity;
}

/**
 * What the KV key index says of the key an event-stream token was issued to (the same source, and
 * the same propagation bound, as `resolveKey`): `known` while it is active for the token's
 * environment, else `unknown`. Remembered per isolate for `maxAgeMs` by key hash, so a thousand
 * streams of one client key cost one KV read per interval. When KV fails or times out the last
 * answer stands; `unavailable` when there is none.
 */
export async function resolveStreamKey(kv: KVNamespace, claims: StreamClaims, maxAgeMs: number): Promise<KeyLookup> {
  const now = Date.now();
  const cached = edgeState.streamKeyChecks.get(claims.keyHash);
  if (cached && now - cached.checkedAt < maxAgeMs) return streamLookup(cached.identity);
  let raw: unknown;
  try {
    raw = await withDeadline(kv.get(keyIndexKvKey(claims.keyHash), "json"), DEADLINE_MS.edgeKvRead, "KV key index read");
  } catch (error) {
    return cached ? streamLookup(cached.identity) : { kind: "unavailable", detail: error instanceof Error ? error.message : String(error) };
  }
  const parsed = raw === null ? null : KeyIdentitySchema.safeParse(raw);
  const found = parsed?.success ? parsed.data : null;
  const active =
    found !== null &&
    found.id === claims.keyId &&
    found.project === claims.project &&
    found.environment === claims.environment &&
    (!found.expiresAt || Date.parse(found.expiresAt) > now);
  const identity = active ? found : null;
  edgeState.streamKeyChecks.set(claims.keyHash, { identity, checkedAt: now });
  return streamLookup(identity);
}

function streamLookup(identity: KeyIdentity | null): KeyLookup {
  return identity ? { kind: "known", identity } : { kind: "unknown" };
}
