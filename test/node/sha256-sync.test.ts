/**
 * The synchronous SHA-256, HMAC and HKDF the audit chain hashes with (it cannot await Web Crypto
 * inside a transaction) give the bytes `node:crypto` gives, which is what the chain was written
 * with: every entry already stored still verifies, and new entries are hashed as before.
 */
import { createHash, createHmac, hkdfSync as nodeHkdfSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hexEncode, hkdfSync } from "../../lib/crypto";
import { hmacSha256Sync, sha256Sync } from "../../lib/sha256-sync";

/** Deterministic bytes of any length, so the lengths around the 64-byte block edges are all covered. */
function bytes(length: number, seed: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 31 + seed * 7) & 255);
}

describe("sha256Sync", () => {
  it.each<[string, string]>([
    ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    ["abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"],
  ])("FIPS 180-2 vector %j", (text, expected) => {
    expect(hexEncode(sha256Sync(text))).toBe(expected);
  });

  it("agrees with node:crypto at every length from 0 to 200 bytes, and on UTF-8 text", () => {
    for (let length = 0; length <= 200; length++) {
      const data = bytes(length, length);
      expect(hexEncode(sha256Sync(data)), `length ${length}`).toBe(createHash("sha256").update(data).digest("hex"));
    }
    const text = '["0000",1,1700000000000,"key:ü€😀","flag.toggled",null]';
    expect(hexEncode(sha256Sync(text))).toBe(createHash("sha256").update(text).digest("hex"));
  });
});

describe("hmacSha256Sync", () => {
  it("matches RFC 4231 case 2 and case 6 (a key longer than a block)", () => {
    expect(hexEncode(hmacSha256Sync("Jefe", "what do ya want for nothing?"))).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
    expect(hexEncode(hmacSha256Sync(new Uint8Array(131).fill(0xaa), "Test Using Larger Than Block-Size Key - Hash Key First"))).toBe(
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    );
  });

  it("agrees with node:crypto for keys and messages of every length around the block size", () => {
    for (let length = 0; length <= 140; length++) {
      const key = bytes(length, 3);
      const message = bytes(200 - length, 5);
      expect(hexEncode(hmacSha256Sync(key, message)), `key of ${length} bytes`).toBe(
        createHmac("sha256", key).update(message).digest("hex"),
      );
    }
  });
});

describe("hkdfSync", () => {
  it.each([16, 32, 42, 64, 100])("agrees with node:crypto for %i bytes", (length) => {
    const expected = Buffer.from(nodeHkdfSync("sha256", "secret", "edgeflags", "audit chain v1", length)).toString("hex");
    expect(hexEncode(hkdfSync("secret", "edgeflags", "audit chain v1", length))).toBe(expected);
  });
});
