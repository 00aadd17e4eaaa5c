/**
 * test/fixtures/bucketing-vectors.json (written by generate-bucketing-vectors.mjs from the engine)
 * checked three ways: the engine still reproduces every row; each v2 row agrees with a second,
 * independent computation (imurmurhash over the UTF-8 bytes, BigInt bucketing), and each ASCII v2
 * row with @openfeature/flagd-core itself; each v3 row agrees with a hand-built CBOR encoding
 * hashed the same independent way.
 */
import { FlagdCore } from "@openfeature/flagd-core";
import MurmurHash3 from "imurmurhash";
import { describe, expect, it } from "vitest";
import { compileFlagSet } from "../../engine/index";
import raw from "../fixtures/bucketing-vectors.json?raw";

interface Row {
  mode: "v2" | "v3";
  flagKey: string;
  bucketingValue: string;
  weights: number[];
  expected: string;
}

const { rows } = JSON.parse(raw) as { rows: Row[] };
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** MurmurHash3 over bytes via imurmurhash, which hashes char codes: feed it one byte per char. */
function independentHash(bytes: Uint8Array): number {
  let latin1 = "";
  for (const b of bytes) latin1 += String.fromCharCode(b);
  return new MurmurHash3(latin1).result() >>> 0;
}

function independentVariant(hash: number, weights: number[]): string {
  const total = weights.reduce((a, b) => a + b, 0);
  const bucket = (BigInt(hash) * BigInt(total)) >> 32n;
  let end = 0n;
  for (let i = 0; i < weights.length; i++) {
    end += BigInt(weights[i]!);
    if (bucket < end) return `variant-${i}`;
  }
  throw new Error("unreachable");
}

/** CBOR text string, by hand (major type 3). */
function cborText(text: string): number[] {
  const bytes = [...utf8(text)];
  const n = bytes.length;
  const head = n < 24 ? [0x60 | n] : n < 256 ? [0x78, n] : [0x79, n >> 8, n & 0xff];
  return [...head, ...bytes];
}

function groups(): Map<string, Row[]> {
  const byFlag = new Map<string, Row[]>();
  for (const row of rows) {
    const id = JSON.stringify([row.mode, row.flagKey, row.weights]);
    byFlag.set(id, [...(byFlag.get(id) ?? []), row]);
  }
  return byFlag;
}

function flagSetOf(row: Row) {
  const buckets = row.weights.map((w, i) => [`variant-${i}`, w]);
  const variants = Object.fromEntries(buckets.map(([name]) => [String(name), String(name)]));
  return { flags: { [row.flagKey]: { state: "ENABLED", variants, defaultVariant: null, targeting: { fractional: buckets } } } };
}

describe("bucketing vectors", () => {
  it("has at least 10,000 rows, in both modes, with non-ASCII keys", () => {
    expect(rows.length).toBeGreaterThanOrEqual(10_000);
    expect(new Set(rows.map((r) => r.mode))).toEqual(new Set(["v2", "v3"]));
    expect(rows.some((r) => /[^\x00-\x7f]/.test(r.flagKey))).toBe(true);
    expect(rows.some((r) => /[^\x00-\x7f]/.test(r.bucketingValue))).toBe(true);
  });

  it("the engine reproduces every row", () => {
    for (const group of groups().values()) {
      const first = group[0]!;
      const set = compileFlagSet(flagSetOf(first), { fractional: first.mode });
      for (const row of group) {
        const result = set.evaluate(row.flagKey, { targetingKey: row.bucketingValue });
        expect(result.kind === "value" ? result.variant : result, JSON.stringify(row)).toBe(row.expected);
      }
    }
  });

  it("v2 rows agree with an independent murmur3 + BigInt computation", () => {
    const v2 = rows.filter((r) => r.mode === "v2");
    for (const row of v2) {
      const hash = independentHash(utf8(row.flagKey + row.bucketingValue));
      expect(independentVariant(hash, row.weights), JSON.stringify(row)).toBe(row.expected);
    }
  });

  it("ASCII v2 rows agree with @openfeature/flagd-core", () => {
    let checked = 0;
    for (const group of groups().values()) {
      const ascii = group.filter((r) => r.mode === "v2" && /^[\x00-\x7f]*$/.test(r.flagKey + r.bucketingValue));
      if (ascii.length === 0) continue;
      const core = new FlagdCore(undefined, undefined, { disableDynamicCodeGeneration: true });
      core.setConfigurations(JSON.stringify(flagSetOf(ascii[0]!)));
      for (const row of ascii) {
        const resolved = core.resolveStringEvaluation(row.flagKey, "none", { targetingKey: row.bucketingValue });
        expect(resolved.variant, JSON.stringify(row)).toBe(row.expected);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(2000);
  });

  it("v3 rows agree with a hand-built CBOR [flagKey, value] hashed independently", () => {
    const v3 = rows.filter((r) => r.mode === "v3");
    for (const row of v3) {
      const bytes = new Uint8Array([0x82, ...cborText(row.flagKey), ...cborText(row.bucketingValue)]);
      expect(independentVariant(independentHash(bytes), row.weights), JSON.stringify(row)).toBe(row.expected);
    }
  });
});
