/**
 * What compiling a snapshot does once, not once per flag: a list shared through `$evaluators` is
 * read into one `Set`, the set's metadata is shared by flags without their own, and results are
 * frozen where they are shared. Each must leave every answer as it was.
 */
import { describe, expect, it } from "vitest";
import { compileFlagSet } from "../../engine/index";
import type { FlagSet } from "../../engine/types";

const ids = Array.from({ length: 100 }, (_, i) => `cust-${i}`);
const listFlag = (ref: string) => ({
  state: "ENABLED" as const,
  variants: { on: true, off: false },
  defaultVariant: "off",
  targeting: { if: [{ in: [{ var: "customerId" }, { $ref: ref }] }, "on", null] },
});

describe("compiling a flag set with shared lists", () => {
  const set: FlagSet = {
    flags: Object.fromEntries([
      ...Array.from({ length: 10 }, (_, i) => [`list-${i}`, listFlag("ids")]),
      ["mixed", listFlag("mixed")],
      ["object", { state: "ENABLED", variants: { a: { deep: { x: [1] } } }, defaultVariant: "a", metadata: { owner: "me" } }],
    ]),
    // A list with a rule in it is no list of constants: `in` evaluates it with the context.
    $evaluators: { ids, mixed: ["cust-1", { var: "friend" }] },
    metadata: { team: "web" },
  };
  const compiled = compileFlagSet(set);

  it.each([
    ["cust-0", "on"],
    ["cust-99", "on"],
    ["cust-100", "off"],
  ])("answers every flag referring to the shared list alike for %s", (customerId, variant) => {
    const results = compiled.evaluateAll({ customerId });
    for (let i = 0; i < 10; i++) expect(results[i]).toMatchObject({ key: `list-${i}`, variant });
  });

  it("still evaluates `in` over a referenced list that is not all constants, with the context", () => {
    expect(compiled.evaluate("mixed", { customerId: "cust-1" })).toMatchObject({ variant: "on", reason: "TARGETING_MATCH" });
    expect(compiled.evaluate("mixed", { customerId: "cust-2", friend: "cust-2" })).toMatchObject({ variant: "on" });
    expect(compiled.evaluate("mixed", { customerId: "cust-2" })).toMatchObject({ variant: "off", reason: "DEFAULT" });
  });

  it("gives a flag without metadata the set's, and one with its own both", () => {
    expect(compiled.evaluate("list-0", {}).metadata).toEqual({ team: "web" });
    expect(compiled.evaluate("object", {}).metadata).toEqual({ team: "web", owner: "me" });
  });

  it("freezes shared results deeply, and never shares objects with the input", () => {
    const result = compiled.evaluate("object", {});
    expect(result.kind).toBe("value");
    if (result.kind !== "value") return;
    expect(Object.isFrozen(result)).toBe(true);
    expect(Object.isFrozen(result.metadata)).toBe(true);
    expect(Object.isFrozen((result.value as { deep: { x: number[] } }).deep.x)).toBe(true);
    expect(result.value).not.toBe(set.flags.object!.variants.a);
    expect(result.value).toEqual({ deep: { x: [1] } });
  });

  it("writes variant values as their JSON round trip would: -0 as 0", () => {
    const negative = compileFlagSet({ flags: { n: { state: "ENABLED", variants: { z: -0 }, defaultVariant: "z" } } });
    const result = negative.evaluate("n", {});
    expect(result.kind === "value" && Object.is(result.value, 0)).toBe(true);
  });
});
