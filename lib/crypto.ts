/**
 * The Worker's cryptography in one place, on Web Crypto (`crypto.subtle`, `crypto.getRandomValues`):
 * HMAC-SHA-256, HKDF, SHA-256 and SHA-1, random tokens, constant-time comparison, base64url and
 * hex. Stream tokens, console sessions, keys, ids and webhook and trigger signatures are all built
 * from these, so each encoding is written once.
 *
 * `hkdfSync` is the one exception: the audit chain derives its key in a Durable Object's
 * constructor and hashes inside synchronous SQLite transactions, where nothing may be awaited; it
 * is RFC 5869 over the plain-JavaScript HMAC of `./sha256-sync.ts` and yields the same bytes as
 * `hkdf`.
 *
 * @example
 * const key = await hkdf(secret, "edgeflags", "ofrep event-stream token v1");
 * const mac = base64urlEncode(await hmacSha256(key, "v1.payload"));
 */
import { decodeBase64 } from "hono/utils/encode";
import { hmacSha256Sync } from "./sha256-sync";

const encoder = new TextEncoder();
const HMAC = { name: "HMAC", hash: "SHA-256" } as const;

/** Key material as callers hold it: a secret string, raw bytes, or an imported HMAC key. */
export type HmacKey = string | Uint8Array | CryptoKey;

/**
 * `data` as bytes Web Crypto takes: a string as its UTF-8 bytes; a view of an ArrayBuffer as it
 * is, a view of anything else (a SharedArrayBuffer, which `crypto.subtle` refuses) copied.
 */
function bytesOf(data: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const { buffer } = bytes;
  return buffer instanceof ArrayBuffer ? new Uint8Array(buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
}

/** Imports raw key material (a string is taken as its UTF-8 bytes) as an HMAC-SHA-256 key. */
export function importHmacKey(material: string | Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", bytesOf(material), HMAC, false, ["sign", "verify"]);
}

async function hmacKeyOf(key: HmacKey): Promise<CryptoKey> {
  return key instanceof CryptoKey ? key : importHmacKey(key);
}

/**
 * HMAC-SHA-256 of `message` under `key`.
 *
 * @example hexEncode(await hmacSha256("secret", "1700000000.{}")) // 64 hex characters
 */
export async function hmacSha256(key: HmacKey, message: string | Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKeyOf(key), bytesOf(message)));
}

/** Whether `mac` is the HMAC-SHA-256 of `message` under `key`, compared in constant time. */
export async function verifyHmacSha256(key: HmacKey, message: string | Uint8Array, mac: Uint8Array): Promise<boolean> {
  return crypto.subtle.verify("HMAC", await hmacKeyOf(key), bytesOf(mac), bytesOf(message));
}

/**
 * HKDF-SHA-256 of `secret` (its UTF-8 bytes) with `salt` and `info`: `length` bytes.
 *
 * @example const key = await hkdf(env.SIGNING_SECRET, "edgeflags", "edgeflags console session v2");
 */
export async function hkdf(secret: string, salt: string, info: string, length = 32): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode(salt), info: encoder.encode(info) },
    material,
    length * 8,
  );
  return new Uint8Array(bits);
}

/** `hkdf` for callers that cannot await (a synchronous SQLite transaction); the same bytes. */
export function hkdfSync(secret: string, salt: string, info: string, length = 32): Uint8Array {
  // RFC 5869: extract a pseudorandom key, then expand it block by block (T(i) = HMAC(T(i-1) | info | i)).
  const prk = hmacSha256Sync(salt, secret);
  const infoBytes = encoder.encode(info);
  const okm = new Uint8Array(Math.ceil(length / 32) * 32);
  let previous: Uint8Array = new Uint8Array(0);
  for (let i = 1; (i - 1) * 32 < length; i++) {
    const input = new Uint8Array(previous.length + infoBytes.length + 1);
    input.set(previous);
    input.set(infoBytes, previous.length);
    input[input.length - 1] = i;
    previous = hmacSha256Sync(prk, input);
    okm.set(previous, (i - 1) * 32);
  }
  return okm.slice(0, length);
}

/** A digest of `data` (a string is taken as its UTF-8 bytes) with Web Crypto. */
export async function digest(algorithm: "SHA-256" | "SHA-1", data: string | Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(algorithm, bytesOf(data)));
}

/** SHA-256 of `data` as lowercase hex. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  return hexEncode(await digest("SHA-256", data));
}

/** `length` bytes from the platform's cryptographically secure generator. */
export function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

/**
 * A random token of `length` bytes, as unpadded base64url: key secrets, ids, trigger tokens.
 *
 * @example `key_${randomToken(9)}` // "key_" and 12 URL-safe characters
 */
export function randomToken(length: number): string {
  return base64urlEncode(randomBytes(length));
}

/**
 * Whether two byte strings are equal, in time that depends only on their lengths (never on where
 * they differ). A string is taken as its UTF-8 bytes.
 */
export function constantTimeEqual(left: string | Uint8Array, right: string | Uint8Array): boolean {
  const a = bytesOf(left);
  const b = bytesOf(right);
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/** base64url without padding (RFC 4648 §5) of `data` (a string is taken as its UTF-8 bytes). */
export function base64urlEncode(data: string | Uint8Array): string {
  let binary = "";
  for (const byte of bytesOf(data)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** `data` as padded standard base64 (RFC 4648 §4). */
export function base64Encode(data: string | Uint8Array): string {
  let binary = "";
  for (const byte of bytesOf(data)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The bytes of an unpadded base64url text; null when it is not one. */
export function base64urlDecode(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    return decodeBase64(text.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return null;
  }
}

/** Lowercase hex of `bytes`. */
export function hexEncode(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** The bytes of a hex text (either case); null when it is not an even run of hex digits. */
export function hexDecode(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}
