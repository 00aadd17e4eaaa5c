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
/** The same memory as 32-bit words, to read whole blocks at once on little-endian hosts. */
let scratchWords = new Uint32Array(scratch.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

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
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24) | 0;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return finish(bytes, h, i, length);
}

/** The tail bytes and the final mix. */
function finish(bytes: Uint8Array, hash: number, i: number, length: number): number {
  let h = hash;
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

/** Writes the UTF-8 encoding of `text` into the scratch buffer at `offset`; returns the new end. */
function writeUtf8(text: string, offset: number): number {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  const needed = offset + text.length * 3;
  if (scratch.length < needed) {
    const next = new Uint8Array(Math.max(needed, scratch.length * 2));
    next.set(scratch.subarray(0, offset));
    scratch = next;
    scratchWords = new Uint32Array(scratch.buffer, 0, scratch.length >>> 2);
  }
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return offset + i + ENCODER.encodeInto(text.slice(i), scratch.subarray(offset + i)).written;
    scratch[offset + i] = c;
  }
  return offset + n;
}

/**
 * Hashes the UTF-8 encoding of `text` (lone surrogates become U+FFFD, as any UTF-8 encoder does).
 *
 * @example murmur3("hello") // 613153351, as Go's murmur3.StringSum32("hello")
 */
export function murmur3(text: string, seed = 0): number {
  return hashScratch(writeUtf8(text, 0), seed);
}

/** `murmur3Bytes(scratch, seed, length)`, reading whole 32-bit blocks where the host allows. */
function hashScratch(length: number, seed: number): number {
  if (!LITTLE_ENDIAN) return murmur3Bytes(scratch, seed, length);
  const words = scratchWords;
  const blocks = length >>> 2;
  let h = seed | 0;
  for (let w = 0; w < blocks; w++) {
    let k = Math.imul(words[w]! | 0, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return finish(scratch, h, blocks << 2, length);
}

/** Hashes the UTF-8 encoding of `a + b` without building the concatenated string. */
export function murmur3Concat(a: string, b: string, seed = 0): number {
  const end = writeUtf8(a, 0);
  return hashScratch(writeUtf8(b, end), seed);
}
