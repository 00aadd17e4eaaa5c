/**
 * flagd's `fractional` operator: deterministic, weighted bucketing.
 *
 * v2 (flagd's current behaviour): the bucketing value is the string the first argument evaluates
 * to, or else `$flagd.flagKey + targetingKey`; it is hashed with MurmurHash3 x86_32 over its UTF-8
 * bytes. v3 (opt-in, flagd's accepted ADR "Harden Hashing Consistency…"): the bucketing value may
 * be any non-null, non-array JSON value, or else the array `[flagKey, targetingKey]`; it is hashed
 * as deterministic CBOR. Both then map the hash onto the weights the same way:
 * `bucket = floor(hash × totalWeight / 2^32)`, the first variant whose cumulative weight exceeds it.
 *
 * Every problem found while evaluating (no targeting key, a weight that is not an integer, a total
 * of zero, …) answers `null`, so the flag falls back to its default variant, as in flagd.
 */
import { encodeCbor } from "./cbor";
import { RuleError } from "./json-logic";
import type { Rule, Scope } from "./json-logic";
import { murmur3, murmur3Bytes, murmur3Concat } from "./murmur3";
import type { FractionalMode } from "./types";

/** The largest total weight flagd accepts (int32 max). */
export const MAX_TOTAL_WEIGHT = 2147483647;

const TWO_16 = 65536;

/**
 * Maps a 32-bit hash onto `[0, totalWeight)`: `floor(hash × totalWeight / 2^32)`, computed
 * exactly in doubles (the full product can reach 2^63, beyond 2^53).
 *
 * @example bucketOf(0xffffffff, 100) // 99
 */
export function bucketOf(hash: number, totalWeight: number): number {
  const hi = Math.floor(hash / TWO_16);
  const lo = hash % TWO_16;
  const a = hi * totalWeight; // < 2^47
  const b = lo * totalWeight; // < 2^47
  return Math.floor((a + Math.floor(b / TWO_16)) / TWO_16);
}

/** The v2 hash of a bucketing string. */
export function hashV2(value: string): number {
  return murmur3(value);
}

/** The v3 hash of a bucketing value (any JSON value). */
export function hashV3(value: unknown): number {
  return murmur3Bytes(encodeCbor(value));
}

/**
 * Picks the variant for `hash` among `variants` with `weights` (non-negative integers summing to
 * `total` > 0).
 */
export function pickVariant(hash: number, variants: readonly unknown[], weights: readonly number[], total: number): unknown {
  const bucket = bucketOf(hash, total);
  let end = 0;
  for (let i = 0; i < weights.length; i++) {
    end += weights[i]!;
    if (bucket < end) return variants[i];
  }
  return null;
}

/** Compiles one argument of a rule (supplied by `compile.ts`, which owns the operator table). */
export type CompileArg = (logic: unknown, at: string) => Rule;

interface Bucket {
  /** Literal variant (`undefined` when `variantRule` is set). */
  variant: unknown;
  variantRule: Rule | undefined;
  /** Literal weight, already clamped (`undefined` when `weightRule` is set). */
  weight: number | undefined;
  weightRule: Rule | undefined;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function literalWeight(raw: unknown, at: string): number {
  if (raw === null) return 1; // as flagd Go: a null weight keeps the default of 1
  if (typeof raw !== "number") throw new RuleError(at, `a fractional weight must be an integer, got ${JSON.stringify(raw)}`);
  if (!Number.isInteger(raw)) throw new RuleError(at, `a fractional weight must be an integer, got ${raw}`);
  if (raw > MAX_TOTAL_WEIGHT) throw new RuleError(at, `a fractional weight must be at most ${MAX_TOTAL_WEIGHT}, got ${raw}`);
  return Math.max(0, raw); // negative weights are clamped to 0, as flagd does
}

function compileBucket(raw: unknown, at: string, compileArg: CompileArg): Bucket {
  if (!Array.isArray(raw)) {
    throw new RuleError(at, `a fractional bucket must be an array [variant, weight], got ${JSON.stringify(raw)}`);
  }
  if (raw.length < 1 || raw.length > 2) {
    throw new RuleError(at, `a fractional bucket must be [variant] or [variant, weight], got ${raw.length} elements`);
  }
  const variant: unknown = raw[0];
  const weight: unknown = raw[1];
  const bucket: Bucket = { variant: undefined, variantRule: undefined, weight: 1, weightRule: undefined };
  if (isPlainObject(variant)) bucket.variantRule = compileArg(variant, `${at}[0]`);
  else if (Array.isArray(variant))
    throw new RuleError(`${at}[0]`, "a fractional variant must be a string, number, boolean or a rule, got an array");
  else bucket.variant = variant;
  if (raw.length === 2) {
    if (isPlainObject(weight)) {
      bucket.weight = undefined;
      bucket.weightRule = compileArg(weight, `${at}[1]`);
    } else {
      bucket.weight = literalWeight(weight, `${at}[1]`);
    }
  }
  return bucket;
}

/** Evaluates a variant: only strings, numbers, booleans and null name a variant. */
function asVariant(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  const t = typeof value;
  return t === "string" || t === "number" || t === "boolean" ? value : undefined;
}

/** Evaluates a weight; `undefined` when it is not usable (then the operator answers null). */
function asWeight(value: unknown): number | undefined {
  if (value === null || value === undefined) return 1;
  if (typeof value !== "number" || !Number.isInteger(value) || value > MAX_TOTAL_WEIGHT) return undefined;
  return value < 0 ? 0 : value;
}

/**
 * Compiles `{"fractional": args}`.
 *
 * @example compileFractional([{"var": "email"}, ["a", 50], ["b", 50]], "fractional", "v2", compileArg)
 */
export function compileFractional(args: unknown, at: string, mode: FractionalMode, compileArg: CompileArg): Rule {
  if (!Array.isArray(args)) throw new RuleError(at, "fractional takes an array: [bucketBy?, [variant, weight], …]");
  if (args.length === 0) throw new RuleError(at, "fractional needs at least one bucket [variant, weight]");

  // A literal array first argument is a bucket (the shorthand that buckets by targeting key);
  // anything else is the bucketing value. A rule there may still yield an array at run time: that
  // array is then a bucket, as in flagd, where all arguments are evaluated before classification.
  const first = args[0];
  const hasBucketBy = !Array.isArray(first);
  const bucketBy: Rule | undefined = hasBucketBy ? (isPlainObject(first) ? compileArg(first, `${at}[0]`) : () => first) : undefined;
  const rawBuckets = hasBucketBy ? args.slice(1) : args;
  if (rawBuckets.length === 0) throw new RuleError(at, "fractional needs at least one bucket [variant, weight] after the bucketing value");
  const offset = hasBucketBy ? 1 : 0;
  // One loop, no callbacks: a snapshot has many fractional rules, each compiled once in a fresh isolate.
  // Arrays of their final length: `push` onto an empty array reserves room for 17 items.
  const count = rawBuckets.length;
  const buckets = new Array<Bucket>(count);
  const staticVariants = new Array<unknown>(count);
  const staticWeights = new Array<number>(count);
  let isStatic = true;
  let staticTotal = 0;
  for (let i = 0; i < count; i++) {
    const b = compileBucket(rawBuckets[i], `${at}[${i + offset}]`, compileArg);
    buckets[i] = b;
    if (b.variantRule || b.weightRule) isStatic = false;
    staticVariants[i] = b.variant;
    staticWeights[i] = b.weight ?? 0;
    staticTotal += b.weight ?? 0;
  }
  if (isStatic && staticTotal > MAX_TOTAL_WEIGHT) {
    throw new RuleError(at, `the fractional weights add up to ${staticTotal}, more than ${MAX_TOTAL_WEIGHT}`);
  }

  const hashTargetingKey = (scope: Scope): number | undefined => {
    const key = Object.hasOwn(scope.ctx, "targetingKey") ? scope.ctx["targetingKey"] : undefined;
    if (typeof key !== "string") return undefined;
    return mode === "v3" ? hashV3([scope.flagKey, key]) : murmur3Concat(scope.flagKey, key);
  };

  return (scope, data) => {
    let hash: number | undefined;
    let leading: unknown[] | undefined; // a bucket produced by the first argument at run time
    if (bucketBy) {
      const value = bucketBy(scope, data);
      if (Array.isArray(value)) {
        leading = value;
        hash = hashTargetingKey(scope);
      } else if (mode === "v3") {
        if (value === null || value === undefined) return null;
        hash = hashV3(value);
      } else if (typeof value === "string") {
        hash = hashV2(value);
      } else if (value === null || value === undefined) {
        hash = hashTargetingKey(scope);
      } else {
        return null;
      }
    } else {
      hash = hashTargetingKey(scope);
    }
    if (hash === undefined) return null;

    if (isStatic && !leading) {
      return staticTotal === 0 ? null : pickVariant(hash, staticVariants, staticWeights, staticTotal);
    }

    const variants: unknown[] = [];
    const weights: number[] = [];
    let total = 0;
    if (leading) {
      if (leading.length < 1 || leading.length > 2) return null;
      const variant = asVariant(leading[0]);
      const weight = leading.length === 2 ? asWeight(leading[1]) : 1;
      if (variant === undefined || weight === undefined) return null;
      variants.push(variant);
      weights.push(weight);
      total += weight;
    }
    for (const b of buckets) {
      const variant = b.variantRule ? asVariant(b.variantRule(scope, data)) : b.variant;
      const weight = b.weightRule ? asWeight(b.weightRule(scope, data)) : b.weight;
      if (variant === undefined || weight === undefined) return null;
      variants.push(variant);
      weights.push(weight);
      total += weight;
    }
    if (total === 0 || total > MAX_TOTAL_WEIGHT) return null;
    return pickVariant(hash, variants, weights, total);
  };
}
