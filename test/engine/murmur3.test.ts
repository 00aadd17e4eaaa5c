import { describe, expect, it } from "vitest";
import { murmur3, murmur3Bytes } from "../../engine/murmur3";
import { utf8 } from "./helpers";

// Expected values: the testbed's brute-forced preimages (targeting.feature, "hash edge cases"), the
// well-known MurmurHash3 x86_32 vectors, and, for non-ASCII text, a byte-wise reference
// implementation run outside this code base (Python, over `str.encode("utf-8")`), which agrees with
// all of the former.
const VECTORS: [string, number][] = [
  ["", 0],
  ["a", 1009084850],
  ["hello", 613153351],
  ["The quick brown fox jumps over the lazy dog", 776992547],
  ["ejOoVL", 0],
  ["bY9fO-", 1],
  ["SI7p-", 2147483647],
  ["6LvT0", 2147483648],
  ["ceQdGm", 4294967295],
  ["café", 605818632],
  ["Świętopełk", 805072450],
  ["あいうえおかき", 1929324886],
  ["😀", 3199479546],
  ["fractional-flagjack", 2682799072],
  ["flagkeyéuser", 1515605368],
  ["日本語キー", 3757955032],
  ["Ünïcödé-ключ", 2936587087],
];

describe("murmur3 (x86_32, seed 0, UTF-8)", () => {
  it.each(VECTORS)("murmur3(%j) = %i", (text, expected) => {
    expect(murmur3(text)).toBe(expected);
  });

  it.each(VECTORS)("murmur3Bytes(utf8(%j)) = %i", (text, expected) => {
    expect(murmur3Bytes(utf8(text))).toBe(expected);
  });

  it("hashes UTF-8 bytes, not UTF-16 code units", () => {
    // "é" is one UTF-16 unit (0xe9) but two UTF-8 bytes (0xc3 0xa9).
    expect(murmur3("é")).toBe(murmur3Bytes(new Uint8Array([0xc3, 0xa9])));
    expect(murmur3("é")).not.toBe(murmur3Bytes(new Uint8Array([0xe9])));
  });

  it("hashes only the first `length` bytes", () => {
    expect(murmur3Bytes(utf8("hello world"), 0, 5)).toBe(613153351);
  });

  it("grows its scratch buffer for long strings", () => {
    const long = "é".repeat(5000);
    expect(murmur3(long)).toBe(murmur3Bytes(utf8(long)));
  });

  it("replaces lone surrogates with U+FFFD, as a UTF-8 encoder must", () => {
    expect(murmur3("\uD800")).toBe(murmur3("\uFFFD"));
  });
});
