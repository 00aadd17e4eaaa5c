import { describe, expect, it } from "vitest";
import { bucketOf, hashV2, hashV3, MAX_TOTAL_WEIGHT } from "../../engine/fractional";
import { apply } from "./helpers";

describe("bucketOf: floor(hash × total / 2^32), exact", () => {
  it.each<[number, number, number]>([
    [0, 100, 0],
    [1, 100, 0],
    [2147483647, 100, 49],
    [2147483648, 100, 50],
    [4294967295, 100, 99],
    [4294967295, MAX_TOTAL_WEIGHT, MAX_TOTAL_WEIGHT - 1],
    [4294967295, 3, 2],
    [0x80000001, MAX_TOTAL_WEIGHT, 1073741823],
  ])("bucketOf(%i, %i) = %i", (hash, total, expected) => {
    expect(bucketOf(hash, total)).toBe(expected);
    expect(BigInt(bucketOf(hash, total))).toBe((BigInt(hash) * BigInt(total)) >> 32n);
  });

  it("matches BigInt arithmetic where doubles would round", () => {
    for (let hash = 4294967295; hash > 4294000000; hash -= 9973) {
      for (const total of [MAX_TOTAL_WEIGHT, 2147480000, 999999937]) {
        expect(BigInt(bucketOf(hash, total))).toBe((BigInt(hash) * BigInt(total)) >> 32n);
      }
    }
  });
});

describe("fractional v2", () => {
  const flagKey = "fractional-hash-edge-flag";
  const edges = { fractional: [{ var: "targetingKey" }, ["lower", 50], ["upper", 50]] };

  it.each([
    ["ejOoVL", "lower"],
    ["bY9fO-", "lower"],
    ["SI7p-", "lower"],
    ["6LvT0", "upper"],
    ["ceQdGm", "upper"],
  ])("bucketBy %s → %s (testbed hash edges)", (targetingKey, expected) => {
    expect(apply(edges, { targetingKey }, { flagKey })).toBe(expected);
  });

  it("buckets by flagKey + targetingKey without a bucketing value", () => {
    const rule = {
      fractional: [
        ["a", 50],
        ["b", 50],
      ],
    };
    // murmur3("my-flag" + "user-1") decides; the same input through a bucketBy expression agrees.
    const viaShorthand = apply(rule, { targetingKey: "user-1" }, { flagKey: "my-flag" });
    const viaExpression = apply(
      { fractional: [{ cat: [{ var: "$flagd.flagKey" }, { var: "targetingKey" }] }, ["a", 50], ["b", 50]] },
      { targetingKey: "user-1" },
      { flagKey: "my-flag" },
    );
    expect(viaShorthand).toBe(viaExpression);
    expect(viaShorthand).toBe(bucketOf(hashV2("my-flaguser-1"), 100) < 50 ? "a" : "b");
  });

  it("uses a bucketing value as given, without the flag key", () => {
    const rule = { fractional: [{ var: "email" }, ["a", 50], ["b", 50]] };
    expect(apply(rule, { email: "x@y.z" })).toBe(bucketOf(hashV2("x@y.z"), 100) < 50 ? "a" : "b");
  });

  it.each<[string, unknown, Record<string, unknown>, unknown]>([
    ["no targeting key", { fractional: [["a", 1]] }, {}, null],
    ["non-string targeting key", { fractional: [["a", 1]] }, { targetingKey: 5 }, null],
    ["missing bucketing value falls back to the targeting key", { fractional: [{ var: "nope" }, ["a", 1]] }, { targetingKey: "t" }, "a"],
    ["number bucketing value → null", { fractional: [{ var: "n" }, ["a", 1]] }, { n: 5 }, null],
    [
      "all weights zero → null",
      {
        fractional: [
          ["a", 0],
          ["b", 0],
        ],
      },
      { targetingKey: "t" },
      null,
    ],
    [
      "negative weight is clamped",
      {
        fractional: [
          ["a", -50],
          ["b", 100],
        ],
      },
      { targetingKey: "t" },
      "b",
    ],
    ["weight defaults to 1", { fractional: [["a"]] }, { targetingKey: "t" }, "a"],
    ["null weight means 1", { fractional: [["a", null]] }, { targetingKey: "t" }, "a"],
    ["variant from a rule", { fractional: [[{ var: "v" }, 1]] }, { targetingKey: "t", v: "dyn" }, "dyn"],
    [
      "weight from a rule",
      {
        fractional: [
          ["a", { var: "w" }],
          ["b", 1],
        ],
      },
      { targetingKey: "t", w: 0 },
      "b",
    ],
    ["non-integer weight from a rule → null", { fractional: [["a", { var: "w" }]] }, { targetingKey: "t", w: 1.5 }, null],
    ["object variant from a rule → null", { fractional: [[{ var: "v" }, 1]] }, { targetingKey: "t", v: { a: 1 } }, null],
    [
      "boolean variants",
      {
        fractional: [
          [false, 0],
          [true, 100],
        ],
      },
      { targetingKey: "t" },
      true,
    ],
    ["bucket produced by the first argument", { fractional: [{ merge: [["a"], [1]] }, ["b", 0]] }, { targetingKey: "t" }, "a"],
  ])("%s", (_name, rule, context, expected) => {
    expect(apply(rule, context)).toStrictEqual(expected);
  });
});

describe("fractional v3", () => {
  const v3 = { fractional: "v3" as const, flagKey: "f" };

  it("hashes CBOR of [flagKey, targetingKey] without a bucketing value", () => {
    const rule = {
      fractional: [
        ["a", 50],
        ["b", 50],
      ],
    };
    const expected = bucketOf(hashV3(["f", "user-1"]), 100) < 50 ? "a" : "b";
    expect(apply(rule, { targetingKey: "user-1" }, v3)).toBe(expected);
  });

  it("hashes non-string bucketing values", () => {
    const rule = { fractional: [{ var: "id" }, ["a", 50], ["b", 50]] };
    expect(apply(rule, { id: 12345 }, v3)).toBe(bucketOf(hashV3(12345), 100) < 50 ? "a" : "b");
    expect(apply(rule, { id: 1.0 }, v3)).toBe(apply(rule, { id: 1 }, v3));
  });

  it.each<[string, unknown, Record<string, unknown>]>([
    ["null bucketing value → null", { fractional: [{ var: "nope" }, ["a", 1]] }, { targetingKey: "t" }],
    ["non-string targeting key → null", { fractional: [["a", 1]] }, { targetingKey: 12345 }],
    ["no targeting key → null", { fractional: [["a", 1]] }, {}],
  ])("%s", (_name, rule, context) => {
    expect(apply(rule, context, v3)).toBeNull();
  });

  it("differs from v2 (CBOR adds a header, so buckets move)", () => {
    expect(hashV3("abc")).not.toBe(hashV2("abc"));
  });
});
