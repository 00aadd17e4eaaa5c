import { describe, expect, it } from "vitest";
import { compileFlagSet, shareConstantLists } from "../../engine/index";
import type { FlagSet } from "../../engine/types";

const ids = Array.from({ length: 500 }, (_, i) => `customer-${i}`);
const set: FlagSet = {
  flags: Object.fromEntries(
    Array.from({ length: 3 }, (_, i) => [
      `list-flag-${i}`,
      {
        state: "ENABLED",
        variants: { a: "A", b: "B" },
        defaultVariant: "b",
        targeting: { if: [{ in: [{ var: "targetingKey" }, ids] }, "a", null] },
      },
    ]),
  ),
};
set.flags["short"] = {
  state: "ENABLED",
  variants: { a: "A", b: "B" },
  defaultVariant: "b",
  targeting: { if: [{ in: [{ var: "country" }, ["CA", "US"]] }, "a", null] },
};

describe("shared constant lists", () => {
  it("stores each long list once and references it from every flag", () => {
    const shared = shareConstantLists(set);
    expect(Object.keys(shared.$evaluators ?? {})).toEqual(["edgeflags.list.0"]);
    expect(JSON.stringify(shared).length).toBeLessThan(JSON.stringify(set).length / 2);
    expect(shared.flags["short"]).toEqual(set.flags["short"]);
    expect(set.$evaluators).toBeUndefined();
  });

  it("evaluates exactly like the original", () => {
    const original = compileFlagSet(set);
    const shared = compileFlagSet(shareConstantLists(set));
    expect(shared.errors.size).toBe(0);
    for (const targetingKey of ["customer-0", "customer-499", "customer-500", "nobody"]) {
      for (const country of ["CA", "FR"]) {
        expect(shared.evaluateAll({ targetingKey, country })).toEqual(original.evaluateAll({ targetingKey, country }));
      }
    }
  });

  it("leaves a set without long lists untouched", () => {
    const small: FlagSet = { flags: { f: set.flags["short"]! } };
    expect(shareConstantLists(small)).toBe(small);
  });
});
