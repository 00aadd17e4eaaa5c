/**
 * Console sessions: an admin credential (an `admin` key or the bootstrap token) exchanged for a
 * signed, short-lived cookie, so the browser never keeps the credential itself.
 *
 * - The cookie is `HttpOnly`, `SameSite=Strict`, `Path=/`, and `Secure` with the `__Host-` prefix
 *   everywhere but localhost (plain http there, so `npm start` works).
 * - It is a Hono signed cookie (`hono/cookie`): `<base64url JSON>.<base64 HMAC-SHA256>`, signed
 *   with a key derived (HKDF) from the `SIGNING_SECRET` secret, never from `ADMIN_TOKEN`: rotating
 *   it ends every session. Cookies sealed before (`<base64url JSON>.<base64url HMAC>`, the same
 *   key and MAC) still open until they expire.
 * - It holds no secret: the key's id and SHA-256 hash, the project, and the times. Each use
 *   re-checks the key against the project's FlagStore, so revoking the key ends its sessions at once.
 * - It lives `SESSION_TTL_SECONDS` after its last refresh and never beyond `SESSION_MAX_SECONDS`.
 * - A request authenticated by the cookie that changes state must carry an `Origin` equal to the
 *   Worker's own (CSRF defence on top of `SameSite=Strict`).
 *
 * @example
 * const actor = await authenticateSession(request, env, "default"); // null: no session cookie
 */
import type { Context } from "hono";
import { deleteCookie, generateSignedCookie, setSignedCookie } from "hono/cookie";
import { parse, parseSigned, type CookieOptions } from "hono/utils/cookie";
import * as z from "zod";
import { base64urlDecode, base64urlEncode, verifyHmacSha256 } from "../lib/crypto";
import { adminTokenUsable, ADMIN_TOKEN_TOO_SHORT, deriveKeyBytes, signingSecret, SIGNING_SECRET_PROBLEM } from "../lib/signing";
import { BOOTSTRAP_ACTOR, keyActor, type Actor } from "./actor";
import { findProjectKey } from "./projects";
import { problem } from "./problem";

export const SESSION_TTL_SECONDS = 30 * 60;
export const SESSION_MAX_SECONDS = 12 * 60 * 60;

export interface Session {
  /** The project a key session is bound to; null for a bootstrap-token session (every project). */
  project: string | null;
  /** The project the console opens after sign-in. */
  home: string;
  /** The admin key behind the session; both null for the bootstrap token. */
  keyId: string | null;
  keyHash: string | null;
  /** Unix seconds. */
  issuedAt: number;
  expiresAt: number;
  /**
   * Who is signed in and their role in the project, resolved by the console on each request with
   * the same check as every admin call; never sealed in the cookie.
   */
  actor?: Actor;
  /** True when the person came through Cloudflare Access: there is no cookie to refresh or clear. */
  access?: boolean;
}

const PROJECT = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const SessionSchema = z.object({
  v: z.literal(1),
  project: z.string().regex(PROJECT).nullable(),
  home: z.string().regex(PROJECT),
  keyId: z.string().max(100).nullable(),
  keyHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
  issuedAt: z.number().int(),
  expiresAt: z.number().int(),
});

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** True for the hosts where the cookie may go without `Secure` (local development only). */
export function isLocalhost(url: URL): boolean {
  return url.hostname === "localhost" || url.hostname === "127.0.0.1" || url.hostname === "[::1]";
}

/** `__Host-edgeflags_session` (Secure) on real hosts, `edgeflags_session` on localhost over http. */
export function sessionCookieName(url: URL): string {
  return url.protocol === "http:" && isLocalhost(url) ? "edgeflags_session" : "__Host-edgeflags_session";
}

let derived: { secret: string; key: Promise<Uint8Array> } | null = null;

/** The session HMAC key, derived once per isolate; null without a usable `SIGNING_SECRET`. */
function signingKey(env: Env): Promise<Uint8Array> | null {
  const secret = signingSecret(env);
  if (!secret) return null;
  if (derived?.secret !== secret) derived = { secret, key: deriveKeyBytes(secret, "edgeflags console session v2") };
  return derived.key;
}

/** The cookie's attributes: `Secure` wherever the name carries the `__Host-` prefix. */
function cookieOptions(url: URL, maxAge: number): CookieOptions {
  const secure = sessionCookieName(url).startsWith("__Host-");
  return { path: "/", httpOnly: true, sameSite: "Strict", maxAge, ...(secure ? { secure: true } : {}) };
}

function sealedPayload(session: Session): string {
  const { actor: _actor, access: _access, ...sealed } = session;
  return base64urlEncode(JSON.stringify({ v: 1, ...sealed }));
}

/** The session a verified payload holds, or null when it is malformed or expired. */
function parsePayload(payload: string, now: number): Session | null {
  const bytes = base64urlDecode(payload);
  if (!bytes) return null;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
  const parsed = SessionSchema.safeParse(json);
  if (!parsed.success) return null;
  const { v: _version, ...session } = parsed.data;
  if (session.expiresAt <= now || session.issuedAt + SESSION_MAX_SECONDS <= now) return null;
  return session;
}

const LEGACY_VALUE = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;

/**
 * The payload of a cookie sealed before sessions were Hono signed cookies (the same key and MAC,
 * base64url-encoded); null when `value` is not one or its MAC does not match. Such cookies last
 * `SESSION_MAX_SECONDS` at most, so this can go one release later.
 */
async function legacyPayload(value: string | undefined, key: Uint8Array): Promise<string | null> {
  const match = value === undefined ? null : LEGACY_VALUE.exec(value);
  const mac = match ? base64urlDecode(match[2]!) : null;
  if (!match || !mac) return null;
  return (await verifyHmacSha256(key, match[1]!, mac)) ? match[1]! : null;
}

/** The session in the cookie `name` of a `Cookie` header, or null when absent, forged, malformed or expired. */
async function openCookie(header: string, name: string, env: Env, now: number): Promise<Session | null> {
  const key = await signingKey(env);
  if (!key) return null;
  const signed = (await parseSigned(header, key, name))[name];
  if (signed === false) return null;
  const payload = signed ?? (await legacyPayload(parse(header, name)[name], key));
  return payload === null ? null : parsePayload(payload, now);
}

/**
 * The signed cookie value of `session`, as a browser sends it back; null when the Worker has no
 * `SIGNING_SECRET` to sign with.
 */
export async function sealSession(session: Session, env: Env): Promise<string | null> {
  const key = await signingKey(env);
  if (!key) return null;
  const cookie = await generateSignedCookie("s", sealedPayload(session), key);
  return cookie.split(";")[0]!.slice("s=".length);
}

/** The session in a cookie value, or null when it is malformed, forged or expired. */
export function openSession(value: string, env: Env, now = nowSeconds()): Promise<Session | null> {
  return openCookie(`s=${value}`, "s", env, now);
}

/** A new session for the actor that just proved its credential. */
export function newSession(actor: Actor, home: string, keyHash: string | null, now = nowSeconds()): Session {
  return {
    project: actor.bootstrap ? null : home,
    home,
    keyId: actor.bootstrap ? null : actor.name.replace(/^key:/, ""),
    keyHash: actor.bootstrap ? null : keyHash,
    issuedAt: now,
    expiresAt: now + SESSION_TTL_SECONDS,
  };
}

/**
 * The console's view of a person signed in through Cloudflare Access: no cookie (their token comes
 * with every request and is verified each time), bound to the project it was verified for.
 */
export function accessSession(actor: Actor, project: string, now = nowSeconds()): Session {
  return { project, home: project, keyId: null, keyHash: null, issuedAt: now, expiresAt: now + SESSION_MAX_SECONDS, actor, access: true };
}

/** The session extended by another TTL, capped at its maximum age. */
export function refreshSession(session: Session, now = nowSeconds()): Session {
  return { ...session, expiresAt: Math.min(now + SESSION_TTL_SECONDS, session.issuedAt + SESSION_MAX_SECONDS) };
}

/** True once less than half the TTL is left: time to send a refreshed cookie. */
export function sessionNeedsRefresh(session: Session, now = nowSeconds()): boolean {
  return session.expiresAt - now < SESSION_TTL_SECONDS / 2 && session.issuedAt + SESSION_MAX_SECONDS > now + 60;
}

/**
 * Sets the session cookie of `session` on the response; false (and nothing set) when the Worker
 * has no `SIGNING_SECRET` to sign with.
 */
export async function setSessionCookie(c: Context, session: Session, now = nowSeconds()): Promise<boolean> {
  const key = await signingKey(c.env);
  if (!key) return false;
  const url = new URL(c.req.url);
  await setSignedCookie(c, sessionCookieName(url), sealedPayload(session), key, cookieOptions(url, Math.max(0, session.expiresAt - now)));
  return true;
}

/** Removes the session cookie on the response. */
export function clearSessionCookie(c: Context): void {
  const url = new URL(c.req.url);
  deleteCookie(c, sessionCookieName(url), cookieOptions(url, 0));
}

/** The raw session cookie of a request, or null. */
export function readSessionCookie(request: Request): string | null {
  const name = sessionCookieName(new URL(request.url));
  return parse(request.headers.get("cookie") ?? "", name)[name] || null;
}

/** The request's valid session, or null (no cookie, or one that is forged or expired). */
export async function readSession(request: Request, env: Env, now = nowSeconds()): Promise<Session | null> {
  const header = request.headers.get("cookie");
  return header === null ? null : openCookie(header, sessionCookieName(new URL(request.url)), env, now);
}

/**
 * A 403 for a state-changing request whose `Origin` is not this Worker's own; null when the
 * request is safe (GET/HEAD/OPTIONS) or same-origin. A missing `Origin` is refused too: every
 * browser sends it on POST, PUT and DELETE.
 */
export function checkOrigin(request: Request): Response | null {
  if (SAFE_METHODS.has(request.method)) return null;
  const origin = request.headers.get("origin");
  const own = new URL(request.url).origin;
  if (origin === own) return null;
  return problem(
    "forbidden",
    origin
      ? `a console session cannot change anything from another origin (${origin}); use ${own}`
      : "a console session can change things only from a page of the console (the Origin header is missing)",
  );
}

/**
 * The actor behind a request's session cookie for `project`; a problem response when the cookie
 * is bad, expired, for another project, cross-origin or its key was revoked; null when there is
 * no session cookie at all (the caller then asks for a Bearer credential).
 */
export async function authenticateSession(request: Request, env: Env, project: string): Promise<Actor | Response | null> {
  const value = readSessionCookie(request);
  if (value === null) return null;
  if (!signingSecret(env)) return problem("unavailable", `console sessions are unavailable: ${SIGNING_SECRET_PROBLEM}`);
  const session = await readSession(request, env);
  if (!session) return problem("unauthorized", "the console session has expired or is not valid; sign in again");
  if (session.project !== null && session.project !== project) {
    return problem("forbidden", `this console session is for project "${session.project}"; sign in with an admin key of "${project}"`);
  }
  const crossOrigin = checkOrigin(request);
  if (crossOrigin) return crossOrigin;
  if (session.keyHash === null) {
    return adminTokenUsable(env) ? BOOTSTRAP_ACTOR : problem("unavailable", ADMIN_TOKEN_TOO_SHORT);
  }
  // A key session names one project; the registry answers for it before any FlagStore wakes.
  const identity = await findProjectKey(env, project, session.keyHash);
  if (identity instanceof Response) return identity;
  if (identity?.scope !== "admin" || identity.id !== session.keyId) {
    return problem("unauthorized", "the admin key behind this console session was revoked; sign in again");
  }
  return keyActor(identity);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
