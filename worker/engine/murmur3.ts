/**
 * MurmurHash3 x86_32 (seed 0 unless given) over bytes, as flagd's Go evaluator computes it
 * (`github.com/twmb/murmur3`). Strings are hashed as their UTF-8 bytes, never as UTF-16 code
 * units, so non-ASCII bucketing values land where every other flagd implementation puts them.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const ENCODER = new TextEncoder();

/** Scratch buffer for string hashing: strings are UTF-8 encoded into it without allocating. */
let scratch = new Uint8Array(256);

/**
 * Hashes `length` bytes of `bytes` (from offset 0); returns an unsigned 32-bit integer.
 *
 * @example murmur3Bytes(new Uint8Array([0x61])) // 0x3c2569b2
 */
export function murmur3Bytes(bytes: Uint8Array, seed = 0, length = bytes.length): number {
  let h = seed | 0;
  const blocks = length & ~3;
  let i = 0;
  for (; i < blocks; i += 4) {
    let k = (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) | 0;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[i + 2]! << 16;
    if (tail >= 2) k ^= bytes[i + 1]! << 8;
    k ^= bytes[i]!;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hashes the UTF-8 encoding of `text` (lone surrogates become U+FFFD, as in Go's
 * string-to-bytes conversion of invalid UTF-16 input would after JSON decoding).
 *
 * @example murmur3("flagd") // same value as Go's murmur3.StringSum32("flagd")
 */
export function murmur3(text: string, seed = 0): number {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  const needed = text.length * 3;
  if (scratch.length < needed) scratch = new Uint8Array(Math.max(needed, scratch.length * 2));
  const { written } = ENCODER.encodeInto(text, scratch);
  return murmur3Bytes(scratch, seed, written);
}
