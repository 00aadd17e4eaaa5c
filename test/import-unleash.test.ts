import { describe, expect, it } from "vitest";
import { convertUnleash } from "../admin/import/unleash";
import type { ImportPlan } from "../contracts/import-plan";
import { compileFlagSet, validateFlagSet } from "../engine/index";
import type { EvaluationContext } from "../engine/types";
import { engineServesTargets, flagSetOf, planWith } from "./import-helpers";
import raw from "./fixtures/import/unleash.json?raw";

const fixture: unknown = JSON.parse(raw);

const planOf = (data: unknown = fixture, environments?: Record<string, string>): ImportPlan => planWith(convertUnleash, data, environments);

const plan = planOf();
const NOW = Date.UTC(2025, 5, 1);
const production = compileFlagSet(flagSetOf(plan, "production"));
const development = compileFlagSet(flagSetOf(plan, "development"));
const answer = (flag: string, context: EvaluationContext, now = NOW) => {
  const r = production.evaluate(flag, context, { now });
  return r.kind === "value" ? r.variant : r.kind;
};

describe("convertUnleash on the fixture (two exports: production, development)", () => {
  it("produces flag sets edgeflags accepts, in every environment", () => {
    expect(plan.environments).toEqual(["production", "development"]);
    for (const environment of plan.environments) {
      const checked = validateFlagSet(flagSetOf(plan, environment));
      expect(checked.ok ? [] : checked.problems).toEqual([]);
    }
    expect(plan.flags.map((f) => f.key)).toEqual(["new-onboarding", "checkout-variant", "pricing", "child-feature", "mixed-payloads"]);
    expect(plan.flags[0]).toMatchObject({ description: "The new onboarding flow", tags: ["simple:onboarding"], lifetime: "temporary" });
    expect(plan.flags[2]).toMatchObject({ lifetime: "permanent" });
    expect(plan.segments).toEqual([
      { name: "beta-users", description: "Unleash segment Beta Users", rule: { in: [{ var: "plan" }, ["beta"]] } },
    ]);
  });

  it("lists exactly what it could not map, per flag and environment", () => {
    expect(plan.unmapped.map((u) => [u.flag, u.environment, u.construct])).toEqual([
      [null, "production", 'segment "Broken"'],
      ["new-onboarding", "production", 'strategy "default" (disabled)'],
      ["new-onboarding", "production", 'strategy "applicationHostname"'],
      ["new-onboarding", "production", 'strategy "remoteAddress" CIDR ranges'],
      ["checkout-variant", null, "impressionData"],
      ["checkout-variant", "production", 'strategy "default" constraint DATE_BEFORE on "currentTime"'],
      ["pricing", "production", 'strategy "default" segment 2'],
      ["pricing", "production", 'strategy "gradualRolloutRandom"'],
      ["pricing", "production", 'strategy "my-custom-strategy"'],
      ["child-feature", "production", 'strategy "flexibleRollout" stickiness "random"'],
      ["child-feature", "production", 'dependency on "missing-parent"'],
      ["mixed-payloads", "production", "variant payloads"],
      ["mixed-payloads", "production", 'strategy "default" variant stickiness "random"'],
      ["retired", null, "archived feature"],
    ]);
  });

  it("notes every percentage split as re-bucketed", () => {
    expect(plan.notes.map((n) => [n.flag, n.kind])).toEqual([
      ["new-onboarding", "rebucketed"],
      ["checkout-variant", "rebucketed"],
      ["checkout-variant", "rebucketed"],
      ["child-feature", "rebucketed"],
      ["mixed-payloads", "rebucketed"],
    ]);
  });
});

describe("the imported targeting answers as Unleash would", () => {
  it.each<[string, EvaluationContext, string]>([
    ["staff email, case-insensitive, on a paid plan", { targetingKey: "u", email: "ann@acme.COM", plan: "pro" }, "on"],
    ["staff email on the free plan (NOT_IN)", { targetingKey: "u", email: "ann@acme.com", plan: "free" }, "off"],
    ["staff email without a plan (NOT_IN a missing field holds)", { targetingKey: "u", email: "ann@acme.com" }, "on"],
    ["an email merely containing the domain", { targetingKey: "u", email: "ann@acme.com.evil", plan: "pro" }, "off"],
    ["web, but not in the beta segment", { targetingKey: "u", appName: "web", plan: "pro" }, "off"],
    ["an address the CIDR strategy would have matched (left out)", { targetingKey: "u", remoteAddress: "10.0.0.1" }, "off"],
  ])("new-onboarding: %s → %s", (_name, context, expected) => {
    expect(answer("new-onboarding", context)).toBe(expected);
  });

  it("new-onboarding rolls out to a quarter of web beta users, stably per user", () => {
    const on = Array.from({ length: 400 }, (_, i) =>
      answer("new-onboarding", { targetingKey: `user-${i}x`, appName: "web", plan: "beta" }),
    ).filter((v) => v === "on").length;
    expect(on).toBeGreaterThan(50);
    expect(on).toBeLessThan(150);
    const bySession = Array.from({ length: 400 }, (_, i) =>
      answer("new-onboarding", { sessionId: `s-${i}`, appName: "web", plan: "beta" }),
    );
    expect(new Set(bySession)).toEqual(new Set(["on", "off"])); // default stickiness falls back to the session id
    expect(answer("new-onboarding", { appName: "web", plan: "beta" })).toBe("off"); // neither: not one shared bucket
    const one = { targetingKey: "user-42x", appName: "web", plan: "beta" };
    expect(new Set(Array.from({ length: 5 }, () => answer("new-onboarding", one))).size).toBe(1);
  });

  it("maps userWithId of a boolean flag to individual targets", () => {
    expect(flagSetOf(plan, "production").flags["new-onboarding"]!.targets).toEqual({ on: ["user-1", "user-2"] });
  });

  it.runIf(engineServesTargets)("serves those users on whatever their other attributes", () => {
    expect(answer("new-onboarding", { targetingKey: "user-2", plan: "free" })).toBe("on");
  });

  it("a feature disabled in an environment serves off there", () => {
    expect(development.evaluate("new-onboarding", { targetingKey: "u" })).toMatchObject({
      kind: "value",
      variant: "off",
      value: false,
      reason: "DISABLED",
    });
  });

  it.each<[string, EvaluationContext, number, string]>([
    ["Sweden: the strategy's own variant", { targetingKey: "u", country: "SE" }, NOW, "red"],
    ["an override by userId", { targetingKey: "vip-1", appVersion: "2.1.0" }, NOW, "blue"],
    ["an app version between 1.5 and 2.0: no strategy, the caller's default", { targetingKey: "u", appVersion: "1.9.9" }, NOW, "default"],
    ["an app version below 1.5 (a partial version)", { targetingKey: "vip-1", appVersion: "1.4.0" }, NOW, "blue"],
    ["before the start date: the caller's default", { targetingKey: "vip-1", appVersion: "2.1.0" }, Date.UTC(2024, 0, 1), "default"],
  ])("checkout-variant: %s → %s", (_name, context, now, expected) => {
    expect(answer("checkout-variant", context, now)).toBe(expected);
  });

  it("checkout-variant splits the environment's variants 50/50 and serves their payloads", () => {
    const seen = new Set(Array.from({ length: 100 }, (_, i) => answer("checkout-variant", { targetingKey: `k${i}`, appVersion: "3.0.0" })));
    expect(seen).toEqual(new Set(["blue", "green"]));
    expect(production.evaluate("checkout-variant", { targetingKey: "u", country: "SE" })).toMatchObject({ value: "#f00" });
  });

  it.each<[string, EvaluationContext, string]>([
    ["enough seats, no test company, a small discount", { targetingKey: "u", seats: "150", company: "acme", discount: "1.0" }, "standard"],
    ["a test company (inverted STR_CONTAINS)", { targetingKey: "u", seats: 150, company: "testco", discount: 1 }, "default"],
    ["no discount field (NUM_LT on a missing field fails)", { targetingKey: "u", seats: 150, company: "acme" }, "default"],
    ["too few seats", { targetingKey: "u", seats: 99, company: "acme", discount: 1 }, "default"],
  ])("pricing: %s → %s", (_name, context, expected) => {
    expect(answer("pricing", context)).toBe(expected);
  });

  it("pricing serves the JSON payload as an object", () => {
    expect(production.evaluate("pricing", { targetingKey: "u", seats: 150, company: "acme", discount: 1 })).toMatchObject({
      value: { seats: 10 },
    });
  });

  it("child-feature depends on new-onboarding: off when the parent is off", () => {
    expect(production.evaluate("child-feature", { targetingKey: "u", email: "x@else.com" })).toMatchObject({
      variant: "off",
      reason: "PREREQUISITE_FAILED",
    });
    const seen = new Set(Array.from({ length: 60 }, (_, i) => answer("child-feature", { targetingKey: `k${i}`, email: "ann@acme.com" })));
    expect(seen).toEqual(new Set(["on", "off"]));
  });

  it("mixed payloads fall back to the variant names as values", () => {
    expect(flagSetOf(plan, "production").flags["mixed-payloads"]!.variants).toEqual({ a: "a", b: "b" });
  });
});

describe("convertUnleash options and bad input", () => {
  it("selects and renames environments", () => {
    const renamed = planOf(fixture, { development: "dev" });
    expect(renamed.environments).toEqual(["dev"]);
    expect(renamed.flags.map((f) => [f.key, Object.keys(f.perEnvironment)])).toEqual([["new-onboarding", ["dev"]]]);
  });

  it("accepts one export on its own", () => {
    const single = planOf((JSON.parse(raw) as unknown[])[1]);
    expect(single.environments).toEqual(["development"]);
  });

  it("refuses an export of several environments whose strategies do not name theirs", () => {
    const [production] = JSON.parse(raw) as { featureEnvironments: unknown[] }[];
    const mixed = {
      ...production,
      featureEnvironments: [...production!.featureEnvironments, { enabled: true, featureName: "pricing", environment: "staging" }],
    };
    const result = convertUnleash(mixed, {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.detail).toMatch(/export one environment per file/);
  });

  it.each<[string, unknown, string]>([
    ["not an export", "hello", "0"],
    ["a feature without a name", { features: [{ description: "x" }] }, "0.features.0.name"],
    [
      "a constraint without contextName",
      { features: [], featureStrategies: [{ name: "default", featureName: "f", constraints: [{ operator: "IN" }] }] },
      "0.featureStrategies.0.constraints.0.contextName",
    ],
  ])("refuses %s, naming the path", (_name, data, path) => {
    const result = convertUnleash(data, {});
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.error).toMatchObject({ kind: "invalid", problems: expect.arrayContaining([expect.objectContaining({ path })]) });
  });
});
