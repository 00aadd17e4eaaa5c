import { describe, expect, it } from "vitest";
import { compileFlagSet, OFF_VARIANT_METADATA_KEY, toPlainFlagd, validateFlagSet } from "../../engine/index";
import type { FlagSet } from "../../engine/types";

const OFF = OFF_VARIANT_METADATA_KEY;
const set: FlagSet = {
  flags: {
    "checkout-kill-switch": {
      state: "DISABLED",
      variants: { on: true, off: false },
      defaultVariant: "on",
      metadata: { owner: "payments", [OFF]: "off" },
    },
    "legacy-kill": { state: "DISABLED", variants: { on: true, off: false }, defaultVariant: "on" },
    hero: {
      state: "DISABLED",
      variants: { control: "Welcome", sale: "Sale" },
      defaultVariant: "sale",
      targeting: {
        fractional: [
          ["control", 1],
          ["sale", 1],
        ],
      },
      metadata: { [OFF]: "control" },
    },
    "live-with-off": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on", metadata: { [OFF]: "off" } },
    "needs-killed-off": {
      state: "ENABLED",
      variants: { a: "a", b: "b" },
      defaultVariant: "a",
      targeting: { if: [true, "b", null] },
      prerequisites: [{ flag: "checkout-kill-switch", variant: "off" }],
    },
    "needs-killed-on": {
      state: "ENABLED",
      variants: { a: "a", b: "b" },
      defaultVariant: "a",
      targeting: { if: [true, "b", null] },
      prerequisites: [{ flag: "checkout-kill-switch", variant: "on" }],
    },
  },
};

describe("off variants", () => {
  const compiled = compileFlagSet(set);

  it.each([
    [
      "checkout-kill-switch",
      "boolean",
      { kind: "value", value: false, variant: "off", reason: "DISABLED", metadata: { owner: "payments" } },
    ],
    ["hero", "string", { kind: "value", value: "Welcome", variant: "control", reason: "DISABLED" }],
    ["legacy-kill", "boolean", { kind: "default", reason: "DISABLED" }],
    ["live-with-off", "boolean", { kind: "value", value: true, variant: "on", reason: "STATIC" }],
  ] as const)("%s answers %o", (key, type, expected) => {
    const result = compiled.evaluate(key, { targetingKey: "user-1" }, { type });
    expect(result).toMatchObject(expected);
    expect(result.metadata).not.toHaveProperty(OFF);
    expect(compiled.evaluateAll({ targetingKey: "user-1" }).find((r) => r.key === key)).toMatchObject(expected);
  });

  it("checks the off variant's type like any other answer", () => {
    expect(compiled.evaluate("checkout-kill-switch", {}, { type: "string" })).toMatchObject({ kind: "error", errorCode: "TYPE_MISMATCH" });
  });

  it("lets a prerequisite on a killed flag see the off variant it serves", () => {
    expect(compiled.evaluate("needs-killed-off", {})).toMatchObject({ variant: "b", reason: "TARGETING_MATCH" });
    expect(compiled.evaluate("needs-killed-on", {})).toMatchObject({ variant: "a", reason: "PREREQUISITE_FAILED" });
  });

  it("exports to plain flagd as an ENABLED flag serving the off variant to everyone, with a metadata note", () => {
    const plain = toPlainFlagd(set);
    expect(plain.flags["checkout-kill-switch"]).toEqual({
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      metadata: { owner: "payments", [OFF]: "off", "edgeflags.state": "DISABLED" },
    });
    expect(plain.flags["hero"]).toEqual({
      state: "ENABLED",
      variants: { control: "Welcome", sale: "Sale" },
      defaultVariant: "control",
      metadata: { [OFF]: "control", "edgeflags.state": "DISABLED" },
    });
    expect(plain.flags["legacy-kill"]).toEqual(set.flags["legacy-kill"]);
    expect(plain.flags["live-with-off"]).toEqual(set.flags["live-with-off"]);
    // flagd, reading the export, serves the same values and variants for every flag.
    const exported = compileFlagSet(plain);
    for (const key of Object.keys(set.flags)) {
      const here = compiled.evaluate(key, { targetingKey: "user-1" });
      const there = exported.evaluate(key, { targetingKey: "user-1" });
      expect([key, there.kind === "value" ? [there.value, there.variant] : there.kind]).toEqual([
        key,
        here.kind === "value" ? [here.value, here.variant] : here.kind,
      ]);
    }
  });

  it.each<[string, unknown, string]>([
    ["an unknown variant", "of", 'off variant "of" is not one of the variants (on, off)'],
    ["a non-string", true, "the off variant must be a variant name, got true"],
  ])("refuses %s as the off variant", (_name, off, message) => {
    const result = validateFlagSet({
      flags: { k: { state: "DISABLED", variants: { on: true, off: false }, defaultVariant: "on", metadata: { [OFF]: off } } },
    });
    expect(result).toEqual({ ok: false, problems: [{ path: `flags.k.metadata.${OFF}`, message }] });
  });

  it("refuses an off variant on the flag set instead of a flag", () => {
    expect(validateFlagSet({ flags: {}, metadata: { [OFF]: "off" } })).toMatchObject({
      ok: false,
      problems: [{ path: `metadata.${OFF}` }],
    });
  });

  it("accepts a valid off variant", () => {
    expect(validateFlagSet(set)).toMatchObject({ ok: true });
  });
});
