/**
 * The server's signing secret (`SIGNING_SECRET`) and the rules every credential secret follows.
 *
 * Stream tokens, console session cookies and the audit chain are keyed from `SIGNING_SECRET`,
 * each with its own HKDF label, and never from `ADMIN_TOKEN`: anything a client key holder can
 * obtain (a stream token) must not be a test oracle for the bootstrap token. Both secrets must be
 * at least `MIN_SECRET_LENGTH` characters; a shorter one is treated as absent and the features that
 * need it refuse with 503 and the command that fixes it.
 *
 * @example
 * const secret = signingSecret(env); // null: refuse with SIGNING_SECRET_PROBLEM
 * const key = await deriveKeyBytes(secret, "edgeflags console session v2");
 */
import { hkdf, hkdfSync } from "./crypto";

/** The HKDF salt of every key derived from `SIGNING_SECRET`. */
const SALT = "edgeflags";

/** Shortest accepted `ADMIN_TOKEN` and `SIGNING_SECRET` (characters). */
export const MIN_SECRET_LENGTH = 32;

/** What to tell an operator whose Worker has no usable `SIGNING_SECRET`. */
export const SIGNING_SECRET_PROBLEM = `the server has no SIGNING_SECRET of at least ${MIN_SECRET_LENGTH} characters; set one with \`openssl rand -base64 32 | npx wrangler secret put SIGNING_SECRET\` (locally: a SIGNING_SECRET line in .dev.vars)`;

/** What to tell an operator whose `ADMIN_TOKEN` is too short to be accepted. */
export const ADMIN_TOKEN_TOO_SHORT = `the configured ADMIN_TOKEN is shorter than ${MIN_SECRET_LENGTH} characters and is refused; set a longer one with \`openssl rand -base64 32 | npx wrangler secret put ADMIN_TOKEN\` (locally: the ADMIN_TOKEN line in .dev.vars)`;

/** `SIGNING_SECRET` when it is set and long enough, else null. */
export function signingSecret(env: Env): string | null {
  const secret = env.SIGNING_SECRET;
  return typeof secret === "string" && secret.length >= MIN_SECRET_LENGTH ? secret : null;
}

/** Whether the configured `ADMIN_TOKEN` is long enough to be accepted at all. */
export function adminTokenUsable(env: Env): boolean {
  return typeof env.ADMIN_TOKEN === "string" && env.ADMIN_TOKEN.length >= MIN_SECRET_LENGTH;
}

/** A 32-byte key for one purpose (`label`), derived from `secret` with HKDF-SHA-256. */
export function deriveKeyBytes(secret: string, label: string): Promise<Uint8Array> {
  return hkdf(secret, SALT, label);
}

/**
 * `deriveKeyBytes` for callers that cannot await (the audit chain, keyed in a Durable Object's
 * constructor and used inside synchronous transactions); the same bytes.
 */
export function deriveKey(secret: string, label: string): Uint8Array {
  return hkdfSync(secret, SALT, label);
}
