import { describe, expect, it } from "vitest";
import { compileFlagSet, toPlainFlagd, validateFlagSet } from "../../engine/index";
import type { FlagSet } from "../../engine/types";

const set: FlagSet = {
  flags: {
    "new-checkout": {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      targeting: {
        fractional: [
          ["on", 30],
          ["off", 70],
        ],
      },
    },
    "express-pay": {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      targeting: {
        if: [
          { "==": [{ var: "plan" }, "pro"] },
          "on",
          {
            fractional: [
              ["on", 50],
              ["off", 50],
            ],
          },
        ],
      },
      prerequisites: [{ flag: "new-checkout", variant: "on" }],
    },
    "one-click": {
      state: "ENABLED",
      variants: { yes: "yes", no: "no" },
      defaultVariant: null,
      targeting: { if: [{ $ref: "beta" }, "yes", "no"] },
      prerequisites: [{ flag: "express-pay", variant: "on" }],
    },
    "kill-all": { state: "DISABLED", variants: { on: true }, defaultVariant: "on" },
    "needs-disabled": {
      state: "ENABLED",
      variants: { a: "a", b: "b" },
      defaultVariant: "a",
      targeting: { if: [true, "b", null] },
      prerequisites: [{ flag: "kill-all", variant: "on" }],
    },
  },
  $evaluators: { beta: { in: [{ var: "country" }, ["CA", "NZ"]] } },
};

describe("prerequisites", () => {
  const compiled = compileFlagSet(set);

  it.each([
    { id: "user-3", plan: "pro" },
    { id: "user-8", plan: "free" },
  ])("applies a flag's rules only when its prerequisite serves the required variant ($id)", ({ id, plan }) => {
    const prerequisite = compiled.evaluate("new-checkout", { targetingKey: id });
    const result = compiled.evaluate("express-pay", { targetingKey: id, plan });
    if (prerequisite.kind === "value" && prerequisite.variant === "on") {
      expect(result.reason).not.toBe("PREREQUISITE_FAILED");
      if (plan === "pro") expect(result).toMatchObject({ variant: "on", reason: "TARGETING_MATCH" });
    } else {
      expect(result).toMatchObject({ kind: "value", variant: "off", reason: "PREREQUISITE_FAILED" });
    }
  });

  it("fails a prerequisite that is disabled, and chains through several flags", () => {
    expect(compiled.evaluate("needs-disabled", {})).toMatchObject({ variant: "a", reason: "PREREQUISITE_FAILED" });
    let chained = 0;
    for (let i = 0; i < 500; i++) {
      const result = compiled.evaluate("one-click", { targetingKey: `u${i}`, plan: "pro", country: "CA" });
      const pay = compiled.evaluate("express-pay", { targetingKey: `u${i}`, plan: "pro" });
      if (pay.kind === "value" && pay.variant === "on") {
        expect(result).toMatchObject({ variant: "yes" });
        chained++;
      } else {
        expect(result).toMatchObject({ kind: "default", reason: "PREREQUISITE_FAILED" });
      }
    }
    expect(chained).toBeGreaterThan(100);
  });

  it("rejects cycles and unknown prerequisites at validation, naming them", () => {
    const cyclic = structuredClone(set);
    cyclic.flags["new-checkout"]!.prerequisites = [{ flag: "one-click", variant: "yes" }];
    const result = validateFlagSet(cyclic);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems.map((p) => p.message)).toContainEqual(expect.stringMatching(/^prerequisite cycle: (\S+ → )+\S+$/));
    const unknown = structuredClone(set);
    unknown.flags["express-pay"]!.prerequisites = [{ flag: "ghost", variant: "on" }];
    expect(!validateFlagSet(unknown).ok && (validateFlagSet(unknown) as { problems: { path: string }[] }).problems[0]!.path).toBe(
      "flags.express-pay.prerequisites[0].flag",
    );
    const badVariant = structuredClone(set);
    badVariant.flags["express-pay"]!.prerequisites = [{ flag: "new-checkout", variant: "maybe" }];
    expect(validateFlagSet(badVariant).ok).toBe(false);
  });

  it("answers PARSE_ERROR for flags on a cycle it is given anyway, and evaluates the rest", () => {
    const cyclic = structuredClone(set);
    cyclic.flags["new-checkout"]!.prerequisites = [{ flag: "express-pay", variant: "on" }];
    const broken = compileFlagSet(cyclic);
    expect(broken.evaluate("new-checkout", { targetingKey: "x" })).toMatchObject({ kind: "error", errorCode: "PARSE_ERROR" });
    expect(broken.evaluate("express-pay", { targetingKey: "x" })).toMatchObject({ kind: "error", errorCode: "PARSE_ERROR" });
    expect(broken.evaluate("kill-all", {})).toMatchObject({ reason: "DISABLED" });
    expect(broken.errors.get("new-checkout")).toMatch(/prerequisite cycle/);
  });

  it("exports to plain flagd that serves the same variants for 5,000 contexts", () => {
    const plain = toPlainFlagd(set);
    expect(JSON.stringify(plain)).not.toContain("prerequisites");
    expect(validateFlagSet(plain).ok).toBe(true);
    const plainCompiled = compileFlagSet(plain);
    const countries = ["CA", "US", "NZ"];
    const plans = ["pro", "free"];
    for (let i = 0; i < 5000; i++) {
      const context = { targetingKey: `user-${i}`, plan: plans[i % 2]!, country: countries[i % 3]! };
      for (const key of Object.keys(set.flags)) {
        const a = compiled.evaluate(key, context);
        const b = plainCompiled.evaluate(key, context);
        expect(a.kind === "value" ? a.variant : null, `${key} for ${JSON.stringify(context)}`).toBe(b.kind === "value" ? b.variant : null);
      }
    }
  });
});
