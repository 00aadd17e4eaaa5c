/**
 * How a request carries a credential, and the shape of every key edgeflags issues: shared by the
 * edge (OFREP, sync, streams) and the admin API, so both read credentials the same way.
 */

/** The shape of every key edgeflags issues: `ef_<scope>_` and 32 base64url characters. */
const KEY_SHAPE = /^ef_(client|server|admin)_[A-Za-z0-9_-]{32}$/;

/** Whether `credential` could be an edgeflags key at all; anything else is refused without a lookup. */
export function looksLikeKey(credential: string): boolean {
  return KEY_SHAPE.test(credential);
}

/**
 * The scope a credential's shape names (`ef_admin_…` → `"admin"`), or null when it is not shaped
 * like a key. Says nothing about whether such a key exists.
 */
export function shapedScope(credential: string): "client" | "server" | "admin" | null {
  const match = KEY_SHAPE.exec(credential);
  return match ? (match[1] as "client" | "server" | "admin") : null;
}

/** The credential of a request: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function readCredential(headers: Headers): string | null {
  const authorization = headers.get("authorization");
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1] ?? null;
  }
  return headers.get("x-api-key")?.trim() || null;
}
