/**
 * API keys at the edge: read the credential from a request, and resolve a key to the project and
 * environment it serves from isolate memory, refreshed from the KV key index.
 */
import { hashKey, keyIndexKvKey, KeyIdentitySchema, type KeyIdentity } from "../durable-objects/snapshot";

/** The credential of a request: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
/** The shape of every key edgeflags issues: `ef_<scope>_` and 32 base64url characters. */
const KEY_SHAPE = /^ef_(client|server|admin)_[A-Za-z0-9_-]{32}$/;

/** Whether `credential` could be an edgeflags key at all; anything else is refused without a lookup. */
export function looksLikeKey(credential: string): boolean {
  return KEY_SHAPE.test(credential);
}

export function readCredential(headers: Headers): string | null {
  const authorization = headers.get("authorization");
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1] ?? null;
  }
  return headers.get("x-api-key")?.trim() || null;
}

interface CachedIdentity {
  identity: KeyIdentity | null;
  checkedAt: number;
  refreshing: boolean;
}

/** Unknown keys are remembered this long, so a flood of bad keys does not become a flood of KV reads. */
const UNKNOWN_KEY_TTL_MS = 5_000;
const MAX_CACHED_KEYS = 10_000;
/** Keyed by the key itself, so a cached key costs no hashing; only misses hash it for KV. */
const identities = new Map<string, CachedIdentity>();

/**
 * The identity of `key`, or null when it is unknown or revoked. A known key is served from memory
 * and revalidated against KV in the background once `refreshMs` has passed, so revocation reaches
 * this isolate within KV's propagation window plus `refreshMs`.
 */
export async function resolveKey(
  kv: KVNamespace,
  waitUntil: (promise: Promise<unknown>) => void,
  key: string,
  refreshMs: number,
): Promise<KeyIdentity | null> {
  if (!looksLikeKey(key)) return null;
  const identity = await cachedIdentity(kv, waitUntil, key, refreshMs);
  // A rotated key's old half stops at its expiry here too, not only when KV drops it.
  if (identity?.expiresAt && Date.parse(identity.expiresAt) <= Date.now()) return null;
  return identity;
}

async function cachedIdentity(
  kv: KVNamespace,
  waitUntil: (promise: Promise<unknown>) => void,
  key: string,
  refreshMs: number,
): Promise<KeyIdentity | null> {
  const cached = identities.get(key);
  const now = Date.now();
  if (cached) {
    const age = now - cached.checkedAt;
    if (cached.identity === null) {
      if (age < Math.min(UNKNOWN_KEY_TTL_MS, refreshMs)) return null;
    } else {
      if (age >= refreshMs && !cached.refreshing) {
        cached.refreshing = true;
        waitUntil(lookup(kv, key).finally(() => { cached.refreshing = false; }));
      }
      return cached.identity;
    }
  }
  return lookup(kv, key);
}

async function lookup(kv: KVNamespace, key: string): Promise<KeyIdentity | null> {
  const raw = await kv.get(keyIndexKvKey(hashKey(key)), "json");
  const parsed = raw === null ? null : KeyIdentitySchema.safeParse(raw);
  const identity = parsed?.success ? parsed.data : null;
  if (identities.size >= MAX_CACHED_KEYS) {
    // Make room by dropping unknown keys first, so a flood of bad keys cannot push the good ones
    // out of memory and every real request onto KV.
    for (const [cachedKey, cached] of identities) if (cached.identity === null) identities.delete(cachedKey);
    if (identities.size >= MAX_CACHED_KEYS) identities.clear();
  }
  identities.set(key, { identity, checkedAt: Date.now(), refreshing: false });
  return identity;
}

/** Forgets every cached key; for tests that change keys behind the isolate's back. */
export function clearKeyCache(): void {
  identities.clear();
}
