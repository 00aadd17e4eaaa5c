import { describe, expect, it } from "vitest";
import { convertLaunchDarkly } from "../admin/import/launchdarkly";
import type { ImportPlan } from "../contracts/import-plan";
import { compileFlagSet, validateFlagSet } from "../engine/index";
import type { EvaluationContext, JsonValue } from "../engine/types";
import { engineServesTargets, flagSetOf, planWith } from "./import-helpers";
import raw from "./fixtures/import/launchdarkly.json?raw";

const fixture: unknown = JSON.parse(raw);

const planOf = (data: unknown = fixture, environments?: Record<string, string>): ImportPlan =>
  planWith(convertLaunchDarkly, data, environments);

const plan = planOf();
const NOW = Date.UTC(2025, 5, 1);

describe("convertLaunchDarkly on the fixture", () => {
  it("produces flag sets edgeflags accepts, in every environment", () => {
    expect(plan.environments).toEqual(["production", "test"]);
    for (const environment of plan.environments) {
      const checked = validateFlagSet(flagSetOf(plan, environment));
      expect(checked.ok ? [] : checked.problems).toEqual([]);
    }
    expect(plan.flags.map((f) => f.key)).toEqual(["new-checkout", "banner-color", "price-tier"]);
    expect(plan.flags[0]).toMatchObject({ description: "The redesigned checkout", tags: ["checkout"], lifetime: "temporary" });
  });

  it("lists exactly what it could not map, per flag and environment", () => {
    expect(plan.unmapped.map((u) => [u.flag, u.environment, u.construct])).toEqual([
      [null, "production", 'segment "whales"'],
      [null, "production", 'segment "half" rule 1 weight'],
      ["new-checkout", "production", 'rule 4 clause op "segmentMatch" on "segmentMatch"'],
      ["new-checkout", "production", 'rule 5 clause op "segmentMatch" on "segmentMatch"'],
      ["banner-color", "production", "rule 2 trackEvents"],
      ["banner-color", "production", 'rule 5 clause op "in" on "kind"'],
      ["banner-color", "production", 'rule 7 clause op "matches" on "name"'],
      ["banner-color", "production", 'rule 10 clause op "after" on "signupDate"'],
      ["banner-color", "production", 'prerequisite "gone-flag"'],
      ["price-tier", "production", "the default rule experiment"],
      ["price-tier", "production", "the default rule trackEvents"],
      ["json-config", null, "variation 0 value"],
      ["old-flag", null, "archived flag"],
    ]);
    expect(plan.unmapped.find((u) => u.construct.includes("rule 4"))?.detail).toMatch(
      /segment "not-exported" is not in the export.*left out/,
    );
    expect(plan.unmapped.find((u) => u.construct.includes("rule 7"))?.detail).toMatch(/not an RE2 regular expression/);
    expect(plan.unmapped.find((u) => u.construct.includes("rule 10"))?.detail).toMatch(
      /"next tuesday" is not a date.*the rule is left out/,
    );
  });

  it("notes every percentage rollout as re-bucketed, and the approximated context kinds", () => {
    expect(plan.notes.map((n) => [n.flag, n.kind])).toEqual([
      ["new-checkout", "approximated"],
      ["new-checkout", "rebucketed"],
      ["new-checkout", "rebucketed"],
      ["price-tier", "rebucketed"],
    ]);
  });

  it("keeps a segment identical across environments once and splits one that differs", () => {
    expect(plan.segments.map((s) => s.name)).toEqual(["beta-testers-production", "beta-testers-test", "staff"]);
    expect(plan.segments.find((s) => s.name === "staff")).toMatchObject({ members: ["alice", "bob"] });
  });
});

describe("the imported targeting answers as LaunchDarkly would", () => {
  it("maps user targets to individual targets; other context kinds to the first rule", () => {
    const production = flagSetOf(plan, "production");
    expect(production.flags["new-checkout"]!.targets).toEqual({ on: ["user-1", "user-2"] });
    expect(production.flags["banner-color"]!.targets).toEqual({ Blue: ["user-7"] });
    expect((production.flags["new-checkout"]!.targeting as { if: JsonValue[] }).if.slice(0, 2)).toEqual([
      { in: [{ var: "organization.key" }, ["org-9"]] },
      "off",
    ]);
  });

  it.runIf(engineServesTargets)("serves a targeted user the target's variant before any rule", () => {
    const production = compileFlagSet(flagSetOf(plan, "production"));
    expect(production.evaluate("new-checkout", { targetingKey: "user-1", email: "x@else.com" })).toMatchObject({ variant: "on" });
    expect(production.evaluate("banner-color", { targetingKey: "user-7", version: "3.0.0", email: "x@example.com" })).toMatchObject({
      variant: "Blue",
    });
  });

  const production = compileFlagSet(flagSetOf(plan, "production"));
  const test = compileFlagSet(flagSetOf(plan, "test"));
  const variant = (set: ReturnType<typeof compileFlagSet>, flag: string, context: EvaluationContext) => {
    const r = set.evaluate(flag, context, { now: NOW });
    return r.kind === "value" ? r.variant : r.kind;
  };

  it.each<[string, EvaluationContext, string]>([
    [
      "a targeted organization (another context kind)",
      { targetingKey: "u", organization: { key: "org-9" }, email: "a@example.com" },
      "off",
    ],
    ["a staff email (rule 1, second value)", { targetingKey: "u", email: "ann@example.org" }, "on"],
    ["a beta tester by list", { targetingKey: "beta-2", email: "b@else.com" }, "on"],
    ["a beta tester by rule", { targetingKey: "z", plan: "beta", email: "b@else.com" }, "on"],
  ])("new-checkout in production: %s → %s", (_name, context, expected) => {
    expect(variant(production, "new-checkout", context)).toBe(expected);
  });

  it("rule 2 matches DE/FR users on a plan other than free; a missing plan is not 'other than free'", () => {
    const targeting = flagSetOf(plan, "production").flags["new-checkout"]!.targeting as { if: JsonValue[] };
    const condition = targeting.if[4]!; // [org targets, off, rule 1, on, rule 2, its rollout, …]
    const rule2 = compileFlagSet({
      flags: { f: { state: "ENABLED", variants: { y: true, n: false }, defaultVariant: "n", targeting: { if: [condition, "y", "n"] } } },
    });
    expect(targeting.if[5]).toEqual({
      fractional: [
        ["on", 30000],
        ["off", 70000],
      ],
    });
    expect(rule2.evaluate("f", { country: "DE", plan: "pro" })).toMatchObject({ variant: "y" });
    expect(rule2.evaluate("f", { country: "FR", plan: "free" })).toMatchObject({ variant: "n" });
    expect(rule2.evaluate("f", { country: "DE" })).toMatchObject({ variant: "n" });
    expect(rule2.evaluate("f", { country: "US", plan: "pro" })).toMatchObject({ variant: "n" });
    expect(rule2.evaluate("f", { country: ["US", "FR"], plan: "pro" })).toMatchObject({ variant: "y" });
    expect(rule2.evaluate("f", { country: "DE", plan: ["pro", "free"] })).toMatchObject({ variant: "n" });
  });

  it("buckets the fallthrough by email: one email, one answer, whatever the targeting key", () => {
    const answers = new Set(
      ["k1", "k2", "k3", "k4"].map((targetingKey) => variant(production, "new-checkout", { targetingKey, email: "same@else.com" })),
    );
    expect(answers.size).toBe(1);
    const spread = new Set(
      Array.from({ length: 200 }, (_, i) => variant(production, "new-checkout", { targetingKey: "k", email: `u${i}@else.com` })),
    );
    expect(spread).toEqual(new Set(["on", "off"]));
  });

  it.each<[string, EvaluationContext, string]>([
    ["version > 2.0.0", { targetingKey: "u", version: "2.1.0" }, "green"],
    ["signed up before 2024", { targetingKey: "u", signupDate: "2023-05-01T10:00:00+02:00" }, "Blue"],
    ["a name matching ^(?i)ada\\b", { targetingKey: "u", name: "ADA Lovelace" }, "Blue"],
    ["a name not matching it", { targetingKey: "u", name: "Adam" }, "Red"],
    ["age < 18", { targetingKey: "u", age: 17 }, "Blue"],
    ["age as a string is no number", { targetingKey: "u", age: "17" }, "Red"],
    ["an array attribute: any element may match", { targetingKey: "u", age: [30, 17] }, "Blue"],
    ["an array attribute: no element matching", { targetingKey: "u", age: [30, 40] }, "Red"],
    ["an address in Berlin without spam", { targetingKey: "u", address: { city: "Berlin" } }, "green"],
    ["an address in Berlin with spam", { targetingKey: "u", email: "spam@example.com", address: { city: "Berlin" } }, "Red"],
    ["score ≥ 90 seen in 2025", { targetingKey: "u", score: 95, lastSeen: "2025-02-01" }, "green"],
    ["score ≥ 90 seen in 2024", { targetingKey: "u", score: 95, lastSeen: "2024-02-01" }, "Red"],
    ["a version below 1 (LaunchDarkly's partial version)", { targetingKey: "u", version: "0.9.1" }, "Blue"],
    ["version 1.0.0 is not below 1", { targetingKey: "u", version: "1.0.0" }, "Red"],
    ["nothing matching: the fallthrough", { targetingKey: "u" }, "Red"],
  ])("banner-color (prerequisite new-checkout on): %s → %s", (_name, context, expected) => {
    expect(variant(production, "banner-color", { ...context, email: (context.email as string) ?? "x@example.com" })).toBe(expected);
  });

  it("banner-color serves its off variation when the prerequisite fails", () => {
    const r = production.evaluate("banner-color", { targetingKey: "u", organization: { key: "org-9" }, version: "9.0.0" });
    expect(r).toMatchObject({ kind: "value", variant: "Red", reason: "PREREQUISITE_FAILED" });
  });

  it("a flag that is off serves its off variation", () => {
    expect(test.evaluate("new-checkout", { targetingKey: "alice" })).toMatchObject({ kind: "value", variant: "off", reason: "DISABLED" });
  });

  it("price-tier splits by the organization's key, and without an off variation defaults to the caller's value", () => {
    const answers = new Set(
      Array.from({ length: 100 }, (_, i) => variant(production, "price-tier", { targetingKey: "same", organization: { key: `org-${i}` } })),
    );
    expect(answers).toEqual(new Set(["low", "high"]));
    expect(flagSetOf(plan, "production").flags["price-tier"]!.defaultVariant).toBeNull();
  });
});

describe("convertLaunchDarkly options and bad input", () => {
  it("selects and renames environments", () => {
    const renamed = planOf(fixture, { production: "prod" });
    expect(renamed.environments).toEqual(["prod"]);
    expect(Object.keys(renamed.flags[0]!.perEnvironment)).toEqual(["prod"]);
    expect(renamed.segments.map((s) => s.name)).toEqual(["beta-testers", "staff"]);
  });

  it("accepts the bare API answer {items: [...]}, without segments", () => {
    const items = (JSON.parse(raw) as { flags: { items: unknown[] } }).flags;
    const bare = planOf(items);
    expect(bare.segments).toEqual([]);
    expect(bare.unmapped.filter((u) => u.construct.includes("segmentMatch")).length).toBe(4);
  });

  it.each<[string, unknown, string]>([
    ["not an object", 42, ""],
    ["a flag without variations", { items: [{ key: "x", variations: [] }] }, "flags.0.variations"],
    [
      "a rule with a non-array clause list",
      { items: [{ key: "x", variations: [{ value: 1 }], environments: { p: { on: true, rules: [{ clauses: 3 }] } } }] },
      "flags.0.environments.p.rules.0.clauses",
    ],
  ])("refuses %s, naming the path", (_name, data, path) => {
    const result = convertLaunchDarkly(data, {});
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.kind).toBe("invalid");
      if (path) expect(JSON.stringify(result.error)).toContain(path);
    }
  });
});
