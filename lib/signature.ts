/**
 * HMAC-SHA256 request signatures, shared by webhooks we send and signed triggers we receive.
 *
 * Header: `Edgeflags-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 * The timestamp is signed with the body, so a receiver rejects replays by refusing timestamps
 * outside a window (`SIGNATURE_TOLERANCE_SECONDS`).
 *
 * @example
 * // A receiver in Node:
 * const [t, v1] = header.split(",").map((part) => part.split("=")[1]);
 * const expected = createHmac("sha256", secret).update(`${t}.${rawBody}`).digest("hex");
 * const fresh = Math.abs(Date.now() / 1000 - Number(t)) <= 300;
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "Edgeflags-Signature";
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export function sign(secret: string, body: string, timestamp: number): string {
  const mac = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `t=${timestamp},v1=${mac}`;
}

export type SignatureCheck = { ok: true; timestamp: number; mac: string } | { ok: false; reason: string };

/** Checks a signature header against the body; `now` in unix seconds. */
export function verifySignature(secret: string, body: string, header: string | null | undefined, now: number): SignatureCheck {
  if (!header) return { ok: false, reason: `the ${SIGNATURE_HEADER} header is missing` };
  const parts = new Map(header.split(",").map((part) => {
    const at = part.indexOf("=");
    return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
  }));
  const timestamp = Number(parts.get("t"));
  const mac = parts.get("v1");
  if (!Number.isInteger(timestamp) || !mac || !/^[0-9a-f]{64}$/.test(mac)) {
    return { ok: false, reason: `${SIGNATURE_HEADER} must look like t=<unix seconds>,v1=<hex HMAC-SHA256>` };
  }
  if (Math.abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS) {
    return { ok: false, reason: `the signature timestamp is more than ${SIGNATURE_TOLERANCE_SECONDS} seconds from now; sign each request when you send it` };
  }
  const expected = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest();
  if (!timingSafeEqual(expected, Buffer.from(mac, "hex"))) return { ok: false, reason: "the signature does not match the body" };
  return { ok: true, timestamp, mac };
}
