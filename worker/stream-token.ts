/**
 * Stream tokens: the credential in an OFREP event-stream URL. `EventSource` cannot send headers,
 * so the URL carries a short-lived token instead of the key itself: the key's project, environment,
 * id and SHA-256 (to check revocation against the KV key index), and an expiry, signed with
 * HMAC-SHA-256 under a key derived (HKDF) from the `SIGNING_SECRET` secret. Never from
 * `ADMIN_TOKEN`: any client-key holder obtains tokens, and must not be able to test guesses of the
 * bootstrap token against them offline.
 *
 * Format: `v1.<base64url(JSON claims)>.<base64url(HMAC of "v1.<claims>")>`.
 *
 * Expiries are rounded up to the next `windowSeconds` boundary plus one window, so every bulk
 * response of a key within one window carries the same URL: the response body, and so its ETag,
 * stays stable and `If-None-Match` still answers 304. A token lives between one and two windows.
 */
import * as z from "zod";
import { base64urlDecode, base64urlEncode, hmacSha256, importHmacKey, verifyHmacSha256 } from "../lib/crypto";
import { deriveKeyBytes } from "../lib/signing";

/** What a stream token grants: listening to one environment's change events until `exp`. */
export interface StreamClaims {
  project: string;
  environment: string;
  keyId: string;
  /** SHA-256 (hex) of the key, as the KV key index names it. */
  keyHash: string;
  /** Unix seconds after which the token is refused and an open stream ends. */
  exp: number;
}

const ClaimsSchema = z.object({
  p: z.string().min(1).max(63),
  e: z.string().min(1).max(63),
  k: z.string().min(1).max(64),
  h: z.string().regex(/^[0-9a-f]{64}$/),
  x: z.number().int().positive(),
});

const PREFIX = "v1";
const LABEL = "ofrep event-stream token v1";
const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key for stream tokens, derived once per isolate from `SIGNING_SECRET` (`lib/signing.ts`). */
function signingKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = deriveKeyBytes(secret, LABEL).then(importHmacKey);
    keys.clear();
    keys.set(secret, key);
  }
  return key;
}

/** The expiry of a token issued at `nowMs`: the end of the window after the current one. */
export function tokenExpiry(nowMs: number, windowSeconds: number): number {
  return (Math.floor(nowMs / 1000 / windowSeconds) + 2) * windowSeconds;
}

/**
 * Signs `claims` into a token.
 *
 * @example
 * const token = await signStreamToken(signingSecret(env) ?? refuse(), { project: "shop", environment: "production", keyId, keyHash, exp });
 */
export async function signStreamToken(secret: string, claims: StreamClaims): Promise<string> {
  const body = base64urlEncode(
    JSON.stringify({ p: claims.project, e: claims.environment, k: claims.keyId, h: claims.keyHash, x: claims.exp }),
  );
  const signed = `${PREFIX}.${body}`;
  return `${signed}.${base64urlEncode(await hmacSha256(await signingKey(secret), signed))}`;
}

export type TokenCheck = { ok: true; claims: StreamClaims } | { ok: false; reason: "malformed" | "bad-signature" | "expired" };

/** Verifies a token's signature (in constant time) and expiry; never throws. */
export async function verifyStreamToken(secret: string, token: string, nowMs: number): Promise<TokenCheck> {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== PREFIX || token.length > 1_024) return { ok: false, reason: "malformed" };
  const mac = base64urlDecode(parts[2]!);
  const body = base64urlDecode(parts[1]!);
  if (!mac || !body) return { ok: false, reason: "malformed" };
  const valid = await verifyHmacSha256(await signingKey(secret), `${PREFIX}.${parts[1]}`, mac);
  if (!valid) return { ok: false, reason: "bad-signature" };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  const parsed = ClaimsSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: "malformed" };
  const { p, e, k, h, x } = parsed.data;
  if (x * 1000 <= nowMs) return { ok: false, reason: "expired" };
  return { ok: true, claims: { project: p, environment: e, keyId: k, keyHash: h, exp: x } };
}
