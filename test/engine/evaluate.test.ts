import { describe, expect, it } from "vitest";
import { compileFlagSet, FRACTIONAL_MODE_METADATA_KEY } from "../../engine/index";
import type { EvaluationContext, EvaluationResult, FlagSet } from "../../engine/index";

const SET: FlagSet = {
  metadata: { flagSetId: "shop", team: "growth", [FRACTIONAL_MODE_METADATA_KEY]: "v2" },
  $evaluators: { is_staff: { ends_with: [{ var: "email" }, "@shop.io"] } },
  flags: {
    "static-bool": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
    "static-int": { state: "ENABLED", variants: { one: 1, half: 0.5 }, defaultVariant: "one" },
    "static-float": { state: "ENABLED", variants: { half: 0.5 }, defaultVariant: "half" },
    "static-object": { state: "ENABLED", variants: { o: { a: [1] } }, defaultVariant: "o" },
    disabled: { state: "DISABLED", variants: { on: true }, defaultVariant: "on" },
    "no-default": { state: "ENABLED", variants: { on: true }, defaultVariant: null },
    staff: {
      state: "ENABLED",
      variants: { yes: "staff", no: "customer" },
      defaultVariant: "no",
      targeting: { if: [{ $ref: "is_staff" }, "yes", null] },
      metadata: { team: "platform", owner: "ada" },
    },
    "bool-name": { state: "ENABLED", variants: { true: 1, false: 0 }, defaultVariant: "false", targeting: { "==": [{ var: "x" }, 1] } },
    "number-name": { state: "ENABLED", variants: { "1": "one", "2": "two" }, defaultVariant: "2", targeting: { "+": [{ var: "x" }, 0] } },
    "unknown-variant": { state: "ENABLED", variants: { a: "a" }, defaultVariant: "a", targeting: { var: "pick" } },
    "object-result": { state: "ENABLED", variants: { a: "a" }, defaultVariant: "a", targeting: { var: "obj" } },
    "broken-op": { state: "ENABLED", variants: { a: "a" }, defaultVariant: "a", targeting: { nope: [1] } },
    "broken-ref": { state: "ENABLED", variants: { a: "a" }, defaultVariant: "a", targeting: { if: [{ $ref: "missing" }, "a", null] } },
    "broken-fractional": { state: "ENABLED", variants: { a: "a" }, defaultVariant: "a", targeting: { fractional: [["a", 2.5]] } },
    timestamp: {
      state: "ENABLED",
      variants: { past: "past", future: "future" },
      defaultVariant: "past",
      targeting: { if: [{ "<": [{ var: "$flagd.timestamp" }, 2_000_000_000] }, "past", "future"] },
    },
    "flag-key": { state: "ENABLED", variants: { "flag-key": "me" }, defaultVariant: null, targeting: { var: "$flagd.flagKey" } },
  },
};

const set = compileFlagSet(SET);
const value = (r: EvaluationResult) => (r.kind === "value" ? r.value : r.kind);

describe("compileFlagSet", () => {
  it("lists every key and only the broken flags in errors", () => {
    expect(set.keys).toEqual(Object.keys(SET.flags));
    expect([...set.errors.keys()]).toEqual(["broken-op", "broken-ref", "broken-fractional"]);
    expect(set.errors.get("broken-op")).toBe('targeting.nope: unknown operator "nope"');
    expect(set.errors.get("broken-ref")).toMatch(/^targeting\.if\[0\]\.\$ref: \$ref "missing" does not name an evaluator/);
    expect(set.errors.get("broken-fractional")).toMatch(
      /^targeting\.fractional\[0\]\[1\]: a fractional weight must be an integer, got 2.5/,
    );
  });

  it("a broken flag answers PARSE_ERROR while the others still evaluate", () => {
    const broken = set.evaluate("broken-op", {});
    expect(broken).toMatchObject({ kind: "error", errorCode: "PARSE_ERROR", reason: "ERROR" });
    expect(broken.kind === "error" && broken.errorDetails).toContain("unknown operator");
    expect(set.evaluate("staff", { email: "a@shop.io" })).toMatchObject({ kind: "value", value: "staff" });
  });

  it("never throws, even on a hostile context", () => {
    const hostile = {
      get email(): string {
        throw new Error("boom");
      },
    };
    const result = set.evaluate("staff", hostile);
    expect(result).toMatchObject({ kind: "error", errorCode: "GENERAL" });
    expect(set.evaluateAll(hostile).find((r) => r.key === "staff")).toMatchObject({ kind: "error", errorCode: "GENERAL" });
  });

  it.each<[string, EvaluationContext, Partial<EvaluationResult>]>([
    ["static-bool", {}, { kind: "value", value: true, variant: "on", reason: "STATIC" }],
    ["disabled", {}, { kind: "default", reason: "DISABLED" }],
    ["no-default", {}, { kind: "default", reason: "DEFAULT" }],
    ["staff", { email: "a@shop.io" }, { kind: "value", value: "staff", variant: "yes", reason: "TARGETING_MATCH" }],
    ["staff", { email: "a@gmail.com" }, { kind: "value", value: "customer", variant: "no", reason: "DEFAULT" }],
    ["bool-name", { x: 1 }, { kind: "value", value: 1, variant: "true", reason: "TARGETING_MATCH" }],
    ["bool-name", { x: 2 }, { kind: "value", value: 0, variant: "false", reason: "TARGETING_MATCH" }],
    ["number-name", { x: 1 }, { kind: "value", value: "one", variant: "1" }],
    ["unknown-variant", { pick: "zzz" }, { kind: "error", errorCode: "GENERAL" }],
    ["unknown-variant", {}, { kind: "value", variant: "a", reason: "DEFAULT" }],
    ["object-result", { obj: { a: 1 } }, { kind: "error", errorCode: "GENERAL" }],
    ["missing-flag", {}, { kind: "error", errorCode: "FLAG_NOT_FOUND" }],
    ["flag-key", {}, { kind: "value", value: "me", reason: "TARGETING_MATCH" }],
  ])("%s with %j", (key, context, expected) => {
    expect(set.evaluate(key, context)).toMatchObject({ key, ...expected });
  });

  it.each<[string, "boolean" | "string" | "number" | "integer" | "object", boolean]>([
    ["static-bool", "boolean", true],
    ["static-bool", "string", false],
    ["static-int", "integer", true],
    ["static-int", "number", true],
    ["static-float", "integer", false],
    ["static-float", "number", true],
    ["static-object", "object", true],
    ["static-object", "string", false],
  ])("type check: %s as %s → %s", (key, type, ok) => {
    const result = set.evaluate(key, {}, { type });
    if (ok) expect(result.kind).toBe("value");
    else expect(result).toMatchObject({ kind: "error", errorCode: "TYPE_MISMATCH" });
  });

  it("merges flag-set metadata under flag metadata, without engine keys", () => {
    expect(set.evaluate("staff", {}).metadata).toEqual({ flagSetId: "shop", team: "platform", owner: "ada" });
    expect(set.evaluate("static-bool", {}).metadata).toEqual({ flagSetId: "shop", team: "growth" });
    expect(set.evaluate("missing", {}).metadata).toEqual({ flagSetId: "shop", team: "growth" });
    expect(set.metadata).toEqual({ flagSetId: "shop", team: "growth" });
  });

  it("$flagd.timestamp is options.now in whole seconds", () => {
    expect(value(set.evaluate("timestamp", {}, { now: 1_999_999_999_999 }))).toBe("past");
    expect(value(set.evaluate("timestamp", {}, { now: 2_000_000_000_000 }))).toBe("future");
  });

  it("evaluateAll answers every flag in key order, like evaluate", () => {
    const context = { email: "b@shop.io", x: 1 };
    const all = set.evaluateAll(context, { now: 0 });
    expect(all.map((r) => r.key)).toEqual(set.keys);
    expect(all).toEqual(set.keys.map((key) => set.evaluate(key, context, { now: 0 })));
  });

  it("results are frozen and do not share objects with the input", () => {
    const result = set.evaluate("static-object", {});
    expect(Object.isFrozen(result)).toBe(true);
    expect(result.kind === "value" && result.value).not.toBe(SET.flags["static-object"]!.variants["o"]);
  });

  it("does not read the context's prototype", () => {
    const s = compileFlagSet({
      flags: { f: { state: "ENABLED", variants: { a: "a" }, defaultVariant: null, targeting: { var: "toString" } } },
    });
    expect(s.evaluate("f", {})).toMatchObject({ kind: "default", reason: "DEFAULT" });
  });

  it("fractional mode comes from metadata, or the option", () => {
    expect(compileFlagSet({ flags: {}, metadata: { [FRACTIONAL_MODE_METADATA_KEY]: "v3" } }).fractional).toBe("v3");
    expect(compileFlagSet({ flags: {} }).fractional).toBe("v2");
    expect(compileFlagSet({ flags: {} }, { fractional: "v3" }).fractional).toBe("v3");
  });

  it("compiles garbage without throwing", () => {
    for (const input of [null, 1, "x", [], { flags: [] }, { flags: { a: null } }]) {
      expect(() => compileFlagSet(input)).not.toThrow();
    }
    expect(compileFlagSet({ flags: { a: null } }).evaluate("a", {}).kind).toBe("default");
  });

  it("shares constant `in` lists across flags", () => {
    const list = ["a", "b", "c"];
    const s = compileFlagSet({
      flags: {
        x: {
          state: "ENABLED",
          variants: { t: true, f: false },
          defaultVariant: "f",
          targeting: { if: [{ in: [{ var: "k" }, list] }, "t", "f"] },
        },
        y: {
          state: "ENABLED",
          variants: { t: true, f: false },
          defaultVariant: "f",
          targeting: { if: [{ in: [{ var: "k" }, [...list]] }, "t", "f"] },
        },
      },
    });
    expect(value(s.evaluate("x", { k: "b" }))).toBe(true);
    expect(value(s.evaluate("y", { k: "z" }))).toBe(false);
  });
});
