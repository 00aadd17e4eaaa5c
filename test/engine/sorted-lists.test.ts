/**
 * Long id lists as the FlagStore publishes them (sorted, each id once) and as a store before that
 * published them (in the order written): the edge reads either, and every answer is the same —
 * before and after an isolate has answered enough lookups to build the list's `Set`.
 */
import { describe, expect, it } from "vitest";
import { SET_AFTER_LOOKUPS } from "../../engine/compile";
import { compileFlagSet, shareConstantLists } from "../../engine/index";
import type { FlagSet, JsonValue } from "../../engine/types";

// Out of order, with a repeat, and with ids that sort differently by code unit and by code point.
const ids = [...Array.from({ length: 300 }, (_, i) => `cust-${(i * 7919) % 1000}`), "cust-7", "cust-\u{1f600}", "cust-\uffff", "Cust-0"];
const listFlag = (haystack: JsonValue) => ({
  state: "ENABLED" as const,
  variants: { in: "in", out: "out" },
  defaultVariant: "out",
  targeting: { if: [{ in: [{ var: "customerId" }, haystack] }, "in", null] },
});
const written: FlagSet = {
  flags: {
    a: listFlag(ids),
    b: listFlag(ids),
    segment: listFlag(null),
    short: listFlag(["b", "a"]),
    shortSorted: listFlag(["a", "b"]),
  },
  $evaluators: { vips: { in: [{ var: "customerId" }, ids] }, ordered: ids },
};
written.flags["segment"]!.targeting = { if: [{ $ref: "vips" }, "in", null] };
/** What a store before this one published: the list shared, in the order written. */
const publishedBefore: FlagSet = {
  flags: { ...written.flags, a: listFlag({ $ref: "edgeflags.list.0" }), b: listFlag({ $ref: "edgeflags.list.0" }) },
  $evaluators: { ...written.$evaluators, "edgeflags.list.0": ids },
};

const probes: unknown[] = [
  "cust-0",
  "cust-7",
  "cust-999",
  "cust-1000",
  "cust-\u{1f600}",
  "cust-\uffff",
  "Cust-0",
  "cust-",
  "",
  "a",
  "b",
  7,
  null,
  undefined,
];

describe("long lists published sorted", () => {
  const published = shareConstantLists(written);

  it("stores a shared list sorted by code unit with each id once, and an evaluator's `in` list sorted in place", () => {
    const expected = [...new Set(ids)].sort();
    expect(published.$evaluators?.["edgeflags.list.0"]).toEqual(expected);
    expect(published.$evaluators?.["vips"]).toEqual({ in: [{ var: "customerId" }, expected] });
    // An evaluator that is a list may be read in order (`map`, `cat`): it stays as written.
    expect(published.$evaluators?.["ordered"]).toEqual(ids);
    expect(published.flags["short"]).toEqual(written.flags["short"]);
    expect(written.$evaluators?.["vips"]).toEqual({ in: [{ var: "customerId" }, ids] });
  });

  it("leaves a list that is already sorted and without repeats as it is", () => {
    const sorted = [...new Set(ids)].sort();
    const set: FlagSet = { flags: { a: listFlag(sorted) } };
    expect(shareConstantLists(set).$evaluators?.["edgeflags.list.0"]).toBe(sorted);
  });

  it.each([
    ["published (sorted)", () => published],
    ["as a store before this one published it (in the order written)", () => publishedBefore],
  ])("answers the snapshot %s exactly like the flags as written, before and after the list's Set is built", (_, set) => {
    const original = compileFlagSet(written);
    const read = compileFlagSet(set());
    expect(read.errors.size).toBe(0);
    // Every flag using the list counts its lookups together: enough rounds to cross the threshold.
    const rounds = Math.ceil(SET_AFTER_LOOKUPS / 3) + 2;
    for (let round = 0; round < rounds; round++) {
      for (const customerId of probes) {
        expect(read.evaluateAll({ customerId } as Record<string, JsonValue>)).toEqual(
          original.evaluateAll({ customerId } as Record<string, JsonValue>),
        );
      }
    }
    expect(read.evaluate("a", { customerId: "cust-0" })).toMatchObject({ variant: "in", reason: "TARGETING_MATCH" });
    expect(read.evaluate("a", { customerId: 7 })).toMatchObject({ variant: "out", reason: "DEFAULT" });
  });

  it("does not depend on the input list staying as it was", () => {
    const set = shareConstantLists(written);
    const compiled = compileFlagSet(set);
    const list = set.$evaluators?.["edgeflags.list.0"] as string[];
    list.splice(0, list.length, "nobody");
    expect(compiled.evaluate("a", { customerId: "cust-0" })).toMatchObject({ variant: "in" });
    expect(compiled.evaluate("a", { customerId: "nobody" })).toMatchObject({ variant: "out" });
  });
});

describe("answers built on first use", () => {
  const set: FlagSet = {
    flags: {
      f: {
        state: "ENABLED",
        variants: { a: { deep: [1] }, b: "B" },
        defaultVariant: "b",
        targeting: { if: [{ "==": [{ var: "x" }, 1] }, "a", { "==": [{ var: "x" }, 2] }, "nope", null] },
      },
    },
  };
  const compiled = compileFlagSet(set);

  it("serves one frozen answer per variant, its value a frozen copy of the input's", () => {
    const first = compiled.evaluate("f", { x: 1 });
    expect(first).toMatchObject({ kind: "value", variant: "a", value: { deep: [1] }, reason: "TARGETING_MATCH" });
    expect(compiled.evaluate("f", { x: 1 })).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    if (first.kind !== "value") return;
    expect(Object.isFrozen((first.value as { deep: number[] }).deep)).toBe(true);
    expect(first.value).not.toBe(set.flags["f"]!.variants["a"]);
    (set.flags["f"]!.variants["a"] as { deep: number[] }).deep.push(2);
    expect(compiled.evaluate("f", { x: 1 })).toMatchObject({ value: { deep: [1] } });
  });

  it("names the variants when targeting returns another", () => {
    expect(compiled.evaluate("f", { x: 2 })).toMatchObject({
      kind: "error",
      errorCode: "GENERAL",
      errorDetails: 'the targeting of flag "f" returned "nope", which is not one of the variants (a, b)',
    });
  });
});
