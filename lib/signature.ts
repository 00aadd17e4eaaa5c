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
import { base64Encode, hexDecode, hexEncode, hmacSha256, verifyHmacSha256 } from "./crypto";

export const SIGNATURE_HEADER = "Edgeflags-Signature";
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * The signature header value for `body` sent at `timestamp` (unix seconds).
 *
 * @example headers[SIGNATURE_HEADER] = await sign(webhook.secret, payload, Math.floor(Date.now() / 1000));
 */
export async function sign(secret: string, body: string, timestamp: number): Promise<string> {
  return `t=${timestamp},v1=${hexEncode(await hmacSha256(secret, `${timestamp}.${body}`))}`;
}

export type SignatureCheck = { ok: true; timestamp: number; mac: string } | { ok: false; reason: string };

/** Checks a signature header against the body; `now` in unix seconds. */
export async function verifySignature(
  secret: string,
  body: string,
  header: string | null | undefined,
  now: number,
): Promise<SignatureCheck> {
  if (!header) return { ok: false, reason: `the ${SIGNATURE_HEADER} header is missing` };
  const parts = new Map(
    header.split(",").map((part) => {
      const at = part.indexOf("=");
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const timestamp = Number(parts.get("t"));
  const mac = parts.get("v1");
  const given = mac !== undefined && /^[0-9a-f]{64}$/.test(mac) ? hexDecode(mac) : null;
  if (!Number.isInteger(timestamp) || mac === undefined || given === null) {
    return { ok: false, reason: `${SIGNATURE_HEADER} must look like t=<unix seconds>,v1=<hex HMAC-SHA256>` };
  }
  if (Math.abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS) {
    return {
      ok: false,
      reason: `the signature timestamp is more than ${SIGNATURE_TOLERANCE_SECONDS} seconds from now; sign each request when you send it`,
    };
  }
  if (!(await verifyHmacSha256(secret, `${timestamp}.${body}`, given)))
    return { ok: false, reason: "the signature does not match the body" };
  return { ok: true, timestamp, mac };
}

/**
 * A webhook secret as Standard Webhooks (https://www.standardwebhooks.com) spells one: `whsec_`
 * and the base64 of the signing key, here the UTF-8 bytes of the secret itself. Give it to any
 * Standard Webhooks library (`new Webhook(standardSecret)` of the `standardwebhooks` package).
 */
export function standardSecret(secret: string): string {
  return `whsec_${base64Encode(secret)}`;
}

/**
 * The Standard Webhooks headers of a message: `webhook-id` (the same on every retry, so a receiver
 * can drop repeats), `webhook-timestamp` (unix seconds) and `webhook-signature`
 * (`v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, the key as in `standardSecret`).
 */
export async function standardWebhookHeaders(
  secret: string,
  id: string,
  body: string,
  timestamp: number,
): Promise<Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string>> {
  const mac = await hmacSha256(secret, `${id}.${timestamp}.${body}`);
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${base64Encode(mac)}` };
}
