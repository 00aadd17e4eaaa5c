/**
 * Deterministic CBOR (RFC 8949 §4.2.1, core deterministic encoding) of a JSON value, as flagd's
 * fractional v3 hashes its bucketing value (ADR "Harden Hashing Consistency And Add Support For
 * Non-string Attributes in Fractional Evaluation").
 *
 * Number normalization comes first: a number with no fractional part in [-2^63, 2^64-1] is an
 * integer (major type 0/1; -0 is 0); anything else is the shortest float (16, 32 or 64 bit) that
 * holds it exactly. Map keys are sorted by the bytes of their encodings.
 *
 * Why v3 is kept (an opt-in mode; v2 stays the default): it is not speculative. The ADR is
 * accepted, and flagd's released conformance suite (flagd-testbed v3.9.0) pins v3's buckets —
 * strings, booleans, integers, floats, `1` and `1.0` alike, `[flagKey, targetingKey]` when no value
 * is given — and every one of those rows passes here (`test/conformance/`). flagd's own evaluator
 * (core v0.16.1, `core/pkg/evaluator/fractional.go`) still hashes the string with MurmurHash3, which
 * is v2: so v3 is switched on per flag set (`"edgeflags.fractional": "v3"`), never by default. A flag
 * set that uses it keeps the bucketing flagd's suite specifies, and moves to flagd's release as is.
 * Hand-written rather than a CBOR library: it encodes JSON values only (no tags, no decoding), is
 * on the evaluation path, and adds nothing to the Worker's bundle.
 */

const ENCODER = new TextEncoder();
const TWO_64 = 18446744073709551616; // 2^64 as a double; 2^64 - 1 rounds to it
const MINUS_TWO_63 = -9223372036854775808;

class ByteWriter {
  bytes = new Uint8Array(64);
  length = 0;

  private ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.bytes[this.length++] = b;
  }

  append(chunk: Uint8Array): void {
    this.ensure(chunk.length);
    this.bytes.set(chunk, this.length);
    this.length += chunk.length;
  }

  /** A major type with its argument in the shortest form (`arg` is a non-negative integer). */
  head(major: number, arg: number | bigint): void {
    const m = major << 5;
    if (typeof arg === "number" && arg < 24) return this.byte(m | arg);
    if (typeof arg === "number" && arg <= 0xff) return (this.byte(m | 24), this.byte(arg));
    if (typeof arg === "number" && arg <= 0xffff) {
      this.byte(m | 25);
      this.byte(arg >>> 8);
      return this.byte(arg & 0xff);
    }
    if (typeof arg === "number" && arg <= 0xffffffff) {
      this.byte(m | 26);
      for (let shift = 24; shift >= 0; shift -= 8) this.byte((arg / 2 ** shift) & 0xff);
      return;
    }
    let big = BigInt(arg);
    this.byte(m | 27);
    const out = new Uint8Array(8);
    for (let i = 7; i >= 0; i--) {
      out[i] = Number(big & 0xffn);
      big >>= 8n;
    }
    this.append(out);
  }
}

function isHalfExact(value: number): number | undefined {
  // Returns the binary16 bits when `value` (already known to be float32-exact) fits binary16 exactly.
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const a = Math.abs(value);
  if (a === 0) return sign;
  if (a === Infinity) return sign | 0x7c00;
  if (a > 65504) return undefined;
  if (a >= 2 ** -14) {
    let e = Math.floor(Math.log2(a));
    if (2 ** e > a) e -= 1;
    else if (2 ** (e + 1) <= a) e += 1;
    const mant = a / 2 ** e - 1; // in [0, 1)
    const m10 = mant * 1024;
    if (!Number.isInteger(m10)) return undefined;
    return sign | ((e + 15) << 10) | m10;
  }
  const sub = a * 2 ** 24;
  if (!Number.isInteger(sub)) return undefined;
  return sign | sub;
}

function writeFloat(w: ByteWriter, value: number): void {
  if (Number.isNaN(value)) {
    w.byte(0xf9);
    w.byte(0x7e);
    return w.byte(0x00);
  }
  if (Math.fround(value) === value) {
    const half = isHalfExact(value);
    if (half !== undefined) {
      w.byte(0xf9);
      w.byte(half >>> 8);
      return w.byte(half & 0xff);
    }
    const view = new DataView(new ArrayBuffer(4));
    view.setFloat32(0, value);
    w.byte(0xfa);
    return w.append(new Uint8Array(view.buffer));
  }
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  w.byte(0xfb);
  w.append(new Uint8Array(view.buffer));
}

function writeNumber(w: ByteWriter, value: number): void {
  if (Number.isInteger(value) && value >= MINUS_TWO_63 && value < TWO_64) {
    if (value >= 0) return w.head(0, value <= Number.MAX_SAFE_INTEGER ? value : BigInt(value));
    // -1 - n, computed exactly
    const n = value >= -Number.MAX_SAFE_INTEGER ? -1 - value : -1n - BigInt(value);
    return w.head(1, n);
  }
  writeFloat(w, value);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function encodeKey(key: string): Uint8Array {
  const w = new ByteWriter();
  writeString(w, key);
  return w.bytes.slice(0, w.length);
}

function writeString(w: ByteWriter, text: string): void {
  const utf8 = ENCODER.encode(text);
  w.head(3, utf8.length);
  w.append(utf8);
}

function write(w: ByteWriter, value: unknown): void {
  switch (typeof value) {
    case "string":
      return writeString(w, value);
    case "number":
      return writeNumber(w, value);
    case "boolean":
      return w.byte(value ? 0xf5 : 0xf4);
    case "bigint":
      return value >= 0n ? w.head(0, value) : w.head(1, -1n - value);
    case "object": {
      if (value === null) return w.byte(0xf6);
      if (Array.isArray(value)) {
        w.head(4, value.length);
        for (const item of value) write(w, item === undefined ? null : item);
        return;
      }
      const record = value as Record<string, unknown>;
      const entries: { key: Uint8Array; value: unknown }[] = [];
      for (const key of Object.keys(record)) {
        const item = record[key];
        if (item !== undefined) entries.push({ key: encodeKey(key), value: item });
      }
      entries.sort((x, y) => compareBytes(x.key, y.key));
      w.head(5, entries.length);
      for (const entry of entries) {
        w.append(entry.key);
        write(w, entry.value);
      }
      return;
    }
    default:
      // undefined, functions, symbols: not JSON; encoded as CBOR undefined so hashing stays total.
      return w.byte(0xf7);
  }
}

/**
 * Encodes a JSON value as deterministic CBOR.
 *
 * @example encodeCbor(["flag", "user-1"]) // Uint8Array [0x82, 0x64, ...]
 */
export function encodeCbor(value: unknown): Uint8Array {
  const w = new ByteWriter();
  write(w, value);
  return w.bytes.subarray(0, w.length);
}
