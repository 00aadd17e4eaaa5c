import { FlagdCore } from "@openfeature/flagd-core";
import { describe, expect, it } from "vitest";
import { compileFlagSet, shareConstantLists, toPlainFlagd, validateFlagSet } from "../../engine/index";
import { MAX_TARGETS_PER_FLAG } from "../../engine/targets";
import type { FlagSet } from "../../engine/types";

const customers = Array.from({ length: 400 }, (_, i) => `customer-${i}`);
const beta = customers.slice(0, 200);
const blocked = customers.slice(200, 220);

/** Flags overriding customers in every position of the evaluation order. */
const set: FlagSet = {
  flags: {
    checkout: {
      state: "ENABLED",
      variants: { new: "new", old: "old", blocked: "none" },
      defaultVariant: "old",
      targets: { new: beta, blocked },
      targeting: { if: [{ "==": [{ var: "country" }, "NZ"] }, "new", null] },
    },
    // Same long list as `checkout.new`: shared once in a snapshot.
    search: {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      targets: { on: beta },
    },
    killed: {
      state: "DISABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      targets: { on: beta },
    },
    gated: {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      prerequisites: [{ flag: "search", variant: "on" }],
      targets: { off: ["customer-5"], on: ["customer-300"] },
      targeting: {
        fractional: [
          ["on", 50],
          ["off", 50],
        ],
      },
    },
    // A prerequisite that is itself decided by targets, inlined by the plain export.
    dependent: {
      state: "ENABLED",
      variants: { yes: "yes", no: "no" },
      defaultVariant: "no",
      prerequisites: [{ flag: "gated", variant: "on" }],
      targeting: { if: [true, "yes", null] },
    },
  },
};

const variantOf = (result: ReturnType<ReturnType<typeof compileFlagSet>["evaluate"]>) => (result.kind === "value" ? result.variant : null);

describe("individual targets", () => {
  const compiled = compileFlagSet(validateFlagSetOrThrow(set));

  it.each([
    [
      "a listed key serves its variant, before targeting",
      "checkout",
      { targetingKey: "customer-3", country: "NZ" },
      "new",
      "TARGETING_MATCH",
    ],
    ["a key listed under another variant", "checkout", { targetingKey: "customer-205", country: "NZ" }, "blocked", "TARGETING_MATCH"],
    ["an unlisted key falls through to targeting", "checkout", { targetingKey: "customer-300", country: "NZ" }, "new", "TARGETING_MATCH"],
    ["an unlisted key with no rule match gets the default", "checkout", { targetingKey: "customer-300" }, "old", "DEFAULT"],
    ["no targeting key: targets do not apply", "search", {}, "off", "STATIC"],
    ["a non-string targeting key: targets do not apply", "search", { targetingKey: 3 }, "off", "STATIC"],
    ["targets without targeting", "search", { targetingKey: "customer-0" }, "on", "TARGETING_MATCH"],
    ["the kill switch comes first", "killed", { targetingKey: "customer-0" }, null, "DISABLED"],
    ["prerequisites come first", "gated", { targetingKey: "customer-300" }, "off", "PREREQUISITE_FAILED"],
    ["targets after prerequisites that hold", "gated", { targetingKey: "customer-5" }, "off", "TARGETING_MATCH"],
  ] as const)("%s", (_name, flag, context, variant, reason) => {
    const result = compiled.evaluate(flag, context as Parameters<typeof compiled.evaluate>[1]);
    expect(variantOf(result)).toBe(variant);
    expect(result.reason).toBe(reason);
  });

  it("says which contexts a target decides", () => {
    expect(compiled.targetedBy("checkout", { targetingKey: "customer-205" })).toBe("blocked");
    expect(compiled.targetedBy("checkout", { targetingKey: "customer-300" })).toBeUndefined();
    expect(compiled.targetedBy("nope", { targetingKey: "customer-1" })).toBeUndefined();
  });

  it.each([
    ["an unknown variant", { on: ["a"], maybe: ["b"] }, "flags.f.targets.maybe"],
    ["an empty id", { on: [""] }, "flags.f.targets.on[0]"],
    ["an id over 256 characters", { on: ["x".repeat(257)] }, "flags.f.targets.on[0]"],
    ["a control character", { on: ["a\u0007b"] }, "flags.f.targets.on[0]"],
    ["a number", { on: [7] }, "flags.f.targets.on[0]"],
    ["an id under two variants", { on: ["a"], off: ["b", "a"] }, "flags.f.targets.off[1]"],
    ["not a list", { on: "a" }, "flags.f.targets.on"],
    ["not an object", ["a"], "flags.f.targets"],
  ])("refuses %s", (_name, targets, path) => {
    const result = validateFlagSet({
      flags: { f: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off", targets } },
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems.map((p) => p.path)).toContain(path);
  });

  it(`refuses more than ${MAX_TARGETS_PER_FLAG} ids on a flag, and reports a bounded number of bad ids`, () => {
    const many = Array.from({ length: MAX_TARGETS_PER_FLAG + 1 }, (_, i) => `k${i}`);
    const tooMany = validateFlagSet({ flags: { f: { state: "ENABLED", variants: { on: true }, targets: { on: many } } } });
    expect(!tooMany.ok && tooMany.problems.map((p) => p.message)).toContainEqual(expect.stringContaining("at most 100000 targets"));
    const bad = validateFlagSet({ flags: { f: { state: "ENABLED", variants: { on: true }, targets: { on: many.map(() => "") } } } });
    expect(!bad.ok && bad.problems.length).toBeLessThanOrEqual(12);
  });

  it("normalises: duplicates once, ids in code point order, empty lists dropped", () => {
    const result = validateFlagSetOrThrow({
      flags: {
        f: { state: "ENABLED", variants: { on: true, off: false }, targets: { on: ["b", "\u{1F600}", "\uFFFD", "a", "b"], off: [] } },
      },
    });
    expect(result.flags["f"]!.targets).toEqual({ on: ["a", "b", "\uFFFD", "\u{1F600}"] });
    const none = validateFlagSetOrThrow({ flags: { f: { state: "ENABLED", variants: { on: true }, targets: { on: [] } } } });
    expect(none.flags["f"]!.targets).toBeUndefined();
  });

  it("a compiled set with a malformed target list degrades that flag alone", () => {
    const broken = compileFlagSet({
      flags: {
        bad: { state: "ENABLED", variants: { on: true }, targets: { ghost: ["a"] } },
        good: { state: "ENABLED", variants: { on: true }, defaultVariant: "on" },
      },
    });
    expect(broken.evaluate("bad", { targetingKey: "a" })).toMatchObject({ kind: "error", errorCode: "PARSE_ERROR" });
    expect(broken.errors.get("bad")).toMatch(/targets\.ghost/);
    expect(broken.evaluate("good", {})).toMatchObject({ kind: "value", variant: "on" });
  });

  it("shares identical long target lists in a snapshot, evaluating the same", () => {
    const shared = shareConstantLists(set);
    expect(Object.keys(shared.$evaluators ?? {})).toEqual(["edgeflags.list.0"]);
    expect(shared.flags["search"]!.targets).toEqual({ on: { $ref: "edgeflags.list.0" } });
    // Ordinary objects: the snapshot crosses Durable Object RPC.
    expect(Object.getPrototypeOf(shared.flags["search"]!.targets)).toBe(Object.prototype);
    expect(JSON.stringify(shared).length).toBeLessThan(JSON.stringify(set).length * 0.75);
    const fromShared = compileFlagSet(shared);
    expect(fromShared.errors.size).toBe(0);
    for (const targetingKey of [...customers.slice(0, 230), "nobody"]) {
      expect(fromShared.evaluateAll({ targetingKey })).toEqual(compiled.evaluateAll({ targetingKey }));
    }
  });

  it("exports to plain flagd that flagd-core (and this engine) answer with the same variants", () => {
    const plain = toPlainFlagd(set);
    expect(JSON.stringify(plain)).not.toContain('"targets"');
    expect(validateFlagSet(plain).ok).toBe(true);
    expect(plain.flags["search"]!.targeting).toEqual({ if: [{ in: [{ var: "targetingKey" }, beta] }, "on", null] });
    const core = new FlagdCore(undefined, undefined, { disableDynamicCodeGeneration: true });
    core.setConfigurations(JSON.stringify(plain));
    const ours = compileFlagSet(plain);
    let checked = 0;
    for (const targetingKey of [...customers, "nobody"]) {
      for (const country of ["NZ", "FR"]) {
        const context = { targetingKey, country };
        for (const key of ["checkout", "search", "gated", "dependent"]) {
          const expected = variantOf(compiled.evaluate(key, context));
          const flag = set.flags[key]!;
          const fallback = typeof Object.values(flag.variants)[0] === "boolean" ? false : "none";
          const resolved =
            typeof fallback === "boolean"
              ? core.resolveBooleanEvaluation(key, fallback, context)
              : core.resolveStringEvaluation(key, fallback, context);
          expect(resolved.variant ?? null, `${key} for ${targetingKey}/${country}`).toBe(expected);
          expect(variantOf(ours.evaluate(key, context))).toBe(expected);
          checked++;
        }
      }
    }
    expect(checked).toBe(401 * 2 * 4);
  });
});

function validateFlagSetOrThrow(input: unknown): FlagSet {
  const result = validateFlagSet(input);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.flagSet;
}
