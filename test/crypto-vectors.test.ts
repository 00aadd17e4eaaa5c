/**
 * Pinned vectors: every signature, token and cookie the Worker has ever issued must still verify,
 * and new ones must come out byte for byte as before. The expected values were computed
 * independently with `node:crypto` (`createHmac`, `hkdfSync`), the way the Worker computed them
 * before it moved to Web Crypto.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openSession, sealSession, type Session } from "../admin/session";
import {
  base64urlDecode,
  base64urlEncode,
  constantTimeEqual,
  hexDecode,
  hexEncode,
  hkdf,
  hkdfSync,
  hmacSha256,
  sha256Hex,
  verifyHmacSha256,
} from "../lib/crypto";
import { sign, verifySignature } from "../lib/signature";
import { deriveKey, deriveKeyBytes } from "../lib/signing";
import { signStreamToken, verifyStreamToken } from "../worker/stream-token";

const SECRET = "test-signing-secret-of-enough-length-0123456789";
const secretEnv = { ...env, SIGNING_SECRET: SECRET };

const WEBHOOK = { secret: "whsec_vector", body: '{"event":"flag.updated"}', timestamp: 1700000000 };
const WEBHOOK_HEADER = "t=1700000000,v1=8d05da6e0364c85bf17ab33e264b22e2e03565a785d689cfbfc51ca4082d9253";

const CLAIMS = { project: "shop", environment: "production", keyId: "key_abc", keyHash: "a".repeat(64), exp: 1700000120 };
const STREAM_TOKEN =
  "v1.eyJwIjoic2hvcCIsImUiOiJwcm9kdWN0aW9uIiwiayI6ImtleV9hYmMiLCJoIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYSIsIngiOjE3MDAwMDAxMjB9.rhi4oM7mECqhMY8jE1-zBWsl-mUk-_wK4nAsBbrDZ3k";

const SESSION: Session = {
  project: "shop",
  home: "shop",
  keyId: "key_abc",
  keyHash: "b".repeat(64),
  issuedAt: 1700000000,
  expiresAt: 1700001800,
};
const PAYLOAD =
  "eyJ2IjoxLCJwcm9qZWN0Ijoic2hvcCIsImhvbWUiOiJzaG9wIiwia2V5SWQiOiJrZXlfYWJjIiwia2V5SGFzaCI6ImJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmIiLCJpc3N1ZWRBdCI6MTcwMDAwMDAwMCwiZXhwaXJlc0F0IjoxNzAwMDAxODAwfQ";
/** A cookie as sealed before sessions were Hono signed cookies: base64url MAC. */
const LEGACY_COOKIE = `${PAYLOAD}.EvmBFf3MNicOqYEtHp_A_0QWd0qWs7cr0NKpRSLZ9L8`;
/** The same MAC as a Hono signed cookie value: base64 with padding, URI-encoded. */
const HONO_COOKIE = `${PAYLOAD}.EvmBFf3MNicOqYEtHp%2FA%2F0QWd0qWs7cr0NKpRSLZ9L8%3D`;

const AUDIT_KEY = "c233dca510db07495fb90a85a005adbfd25a7240eeaa43fa13c5a5ab91248d07";

describe("pinned signatures", () => {
  it("a webhook signature is the one receivers have always checked", async () => {
    expect(await sign(WEBHOOK.secret, WEBHOOK.body, WEBHOOK.timestamp)).toBe(WEBHOOK_HEADER);
    expect(await verifySignature(WEBHOOK.secret, WEBHOOK.body, WEBHOOK_HEADER, WEBHOOK.timestamp + 10)).toEqual({
      ok: true,
      timestamp: WEBHOOK.timestamp,
      mac: WEBHOOK_HEADER.slice(-64),
    });
    expect((await verifySignature(WEBHOOK.secret, `${WEBHOOK.body} `, WEBHOOK_HEADER, WEBHOOK.timestamp)).ok).toBe(false);
    expect((await verifySignature(WEBHOOK.secret, WEBHOOK.body, WEBHOOK_HEADER.replace(/.$/, "0"), WEBHOOK.timestamp)).ok).toBe(false);
  });

  it("a stream token issued before still verifies, and a new one is the same bytes", async () => {
    expect(await signStreamToken(SECRET, CLAIMS)).toBe(STREAM_TOKEN);
    expect(await verifyStreamToken(SECRET, STREAM_TOKEN, (CLAIMS.exp - 60) * 1000)).toEqual({ ok: true, claims: CLAIMS });
    expect(await verifyStreamToken(SECRET, `${STREAM_TOKEN.slice(0, -1)}A`, (CLAIMS.exp - 60) * 1000)).toEqual({
      ok: false,
      reason: "bad-signature",
    });
  });

  it("a session cookie sealed before still opens; a new one carries the same MAC as a Hono signed cookie", async () => {
    const now = SESSION.issuedAt + 60;
    expect(await openSession(LEGACY_COOKIE, secretEnv, now)).toEqual(SESSION);
    expect(await sealSession(SESSION, secretEnv)).toBe(HONO_COOKIE);
    expect(await openSession(HONO_COOKIE, secretEnv, now)).toEqual(SESSION);
    // Either form with a changed payload, or under another secret, does not open.
    const other = { ...env, SIGNING_SECRET: `${SECRET}-other` };
    expect(await openSession(LEGACY_COOKIE, other, now)).toBeNull();
    expect(await openSession(HONO_COOKIE, other, now)).toBeNull();
    expect(await openSession(LEGACY_COOKIE.replace("eyJ2", "eyJ3"), secretEnv, now)).toBeNull();
    expect(await openSession(HONO_COOKIE.replace("eyJ2", "eyJ3"), secretEnv, now)).toBeNull();
    expect(await openSession(LEGACY_COOKIE, secretEnv, SESSION.expiresAt)).toBeNull();
  });

  it("the audit chain's key is the same HKDF output, sync and async", async () => {
    expect(hexEncode(deriveKey(SECRET, "audit chain v1"))).toBe(AUDIT_KEY);
    expect(hexEncode(await deriveKeyBytes(SECRET, "audit chain v1"))).toBe(AUDIT_KEY);
  });
});

describe("lib/crypto", () => {
  it("HKDF on Web Crypto and the synchronous HKDF agree", async () => {
    expect(hexEncode(await hkdf("secret", "salt", "info", 42))).toBe(hexEncode(hkdfSync("secret", "salt", "info", 42)));
  });

  it("HMAC-SHA-256 and SHA-256 match RFC 4231 case 2 and FIPS 180-2", async () => {
    const mac = await hmacSha256("Jefe", "what do ya want for nothing?");
    expect(hexEncode(mac)).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    expect(await verifyHmacSha256("Jefe", "what do ya want for nothing?", mac)).toBe(true);
    expect(await verifyHmacSha256("Jefe", "what do ya want for nothing!", mac)).toBe(false);
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it.each<[string, string]>([
    ["", ""],
    ["f", "Zg"],
    ["\u00ff\u00fe", "w7_Dvg"],
    ["subjects?_d", "c3ViamVjdHM_X2Q"],
  ])("base64url of %j is %j, and back", (text, encoded) => {
    expect(base64urlEncode(text)).toBe(encoded);
    expect(new TextDecoder().decode(base64urlDecode(encoded)!)).toBe(text);
  });

  it.each(["a+b", "a/b", "Zg==", "a b", "Z"])("base64url refuses %j", (text) => {
    expect(base64urlDecode(text)).toBeNull();
  });

  it("hex round-trips and refuses what is not hex", () => {
    expect(hexEncode(hexDecode("00ff7A")!)).toBe("00ff7a");
    expect(hexDecode("abc")).toBeNull();
    expect(hexDecode("zz")).toBeNull();
  });

  it("constant-time comparison", () => {
    const a = new Uint8Array([1, 2, 3]);
    expect(constantTimeEqual(a, new Uint8Array([1, 2, 3]))).toBe(true);
    expect(constantTimeEqual(a, new Uint8Array([1, 2, 4]))).toBe(false);
    expect(constantTimeEqual(a, new Uint8Array([1, 2]))).toBe(false);
  });
});
