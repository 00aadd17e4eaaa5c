import { FlagdCore } from "@openfeature/flagd-core";
import { describe, expect, it } from "vitest";
import { compileFlagSet } from "../../engine/evaluate";
import { UNEXPORTED_METADATA_KEY } from "../../engine/export-operators";
import { toPlainFlagd } from "../../engine/export";
import type { FlagSet, JsonValue } from "../../engine/types";
import { validateFlagSet } from "../../engine/validate";

const NOW = Date.UTC(2025, 0, 15, 12); // the evaluation time of every test below
const flagOf = (condition: JsonValue) => ({
  state: "ENABLED" as const,
  variants: { yes: "yes", no: "no" },
  defaultVariant: "no",
  targeting: { if: [condition, "yes", "no"] },
});
const setOf = (condition: JsonValue): FlagSet => {
  const checked = validateFlagSet({ flags: { f: flagOf(condition) } });
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.flagSet;
};

/** The variant flagd's own evaluator (flagd-core) picks for the exported document. */
function flagdVariant(plain: FlagSet, context: Record<string, JsonValue>): string | undefined {
  const core = new FlagdCore(undefined, undefined, { disableDynamicCodeGeneration: true });
  core.setConfigurations(JSON.stringify(plain));
  const realNow = Date.now;
  Date.now = () => NOW; // flagd-core reads $flagd.timestamp from the clock
  try {
    return core.resolveStringEvaluation("f", "caller-default", context).variant;
  } finally {
    Date.now = realNow;
  }
}

const subjects: JsonValue[] = [
  "ada@example.com",
  "ADA@EXAMPLE.COM",
  "ada@example.com.evil",
  "example.com",
  "gold",
  "platinum",
  "golden",
  "",
  "a+b=c",
  "x|y",
  42,
  true,
  null,
  ["gold"],
  { a: 1 },
];

describe("toPlainFlagd rewrites what flagd can say exactly", () => {
  it.each<[string, JsonValue, string]>([
    ["a suffix", { matches: [{ var: "s" }, "@example\\.com$"] }, "ends_with"],
    ["a prefix", { matches: [{ var: "s" }, "^gold"] }, "starts_with"],
    ["a whole string", { matches: [{ var: "s" }, "^gold$"] }, "==="],
    ["\\A…\\z anchors", { matches: [{ var: "s" }, "\\Agold\\z"] }, "==="],
    ["a substring", { matches: [{ var: "s" }, "example"] }, "in"],
    ["escaped punctuation", { matches: [{ var: "s" }, "a\\+b="] }, "in"],
    ["an anchored alternation", { matches: [{ var: "s" }, "^(?:gold|platinum)$"] }, "==="],
    ["a top-level alternation", { matches: [{ var: "s" }, "^gold|\\.com$"] }, "starts_with"],
    ["an escaped bar", { matches: [{ var: "s" }, "^x\\|y$"] }, "==="],
    ["the empty pattern", { matches: [{ var: "s" }, ""] }, "ends_with"],
    ["i without letters", { matches: [{ var: "s" }, "\\+", "i"] }, "in"],
    ["m with \\A", { matches: [{ var: "s" }, "\\Agold", "m"] }, "starts_with"],
  ])("matches with %s", (_name, condition, operator) => {
    const set = setOf(condition);
    const plain = toPlainFlagd(set);
    const exported = JSON.stringify(plain.flags["f"]!.targeting);
    expect(exported).not.toContain('"matches"');
    expect(exported).toContain(`"${operator}"`);
    expect(plain.flags["f"]!.metadata?.[UNEXPORTED_METADATA_KEY]).toBeUndefined();
    const ours = compileFlagSet(set);
    for (const s of subjects) {
      const expected = ours.evaluate("f", { s }, { now: NOW });
      expect(flagdVariant(plain, { s }), `${JSON.stringify(condition)} on ${JSON.stringify(s)}`).toBe(
        expected.kind === "value" ? expected.variant : undefined,
      );
    }
  });

  const now = { "*": [{ var: "$flagd.timestamp" }, 1000] };
  it.each<[string, JsonValue, string]>([
    ["after a constant", { after: [now, "2025-01-01"] }, "yes"],
    ["before a constant", { before: [now, "2025-01-01T00:00:00+01:00"] }, "no"],
    ["a constant before now", { before: ["2025-01-15T11:59:59Z", now] }, "yes"],
    ["a constant after now", { after: [NOW + 1, now] }, "yes"],
    ["the very instant", { after: [now, NOW] }, "no"],
    ["two constants", { before: ["2024-01-01", "2025-01-01"] }, "yes"],
  ])("before/after: the current time %s", (_name, condition, variant) => {
    const set = setOf(condition);
    const plain = toPlainFlagd(set);
    const exported = JSON.stringify(plain.flags["f"]!.targeting);
    expect(exported).not.toMatch(/"(before|after)"/);
    expect(compileFlagSet(set).evaluate("f", {}, { now: NOW })).toMatchObject({ variant });
    expect(flagdVariant(plain, {})).toBe(variant);
  });
});

describe("toPlainFlagd keeps and names what flagd cannot say", () => {
  it.each<[string, JsonValue, string]>([
    [
      "a real regular expression",
      { matches: [{ var: "s" }, "^v1\\.\\d+$"] },
      "matches at targeting.if[0].matches: flagd has no regular expressions",
    ],
    ["a case-insensitive literal with letters", { matches: [{ var: "s" }, "@example\\.com$", "i"] }, "matches at targeting.if[0].matches"],
    ["^ under m", { matches: [{ var: "s" }, "^gold", "m"] }, "matches at targeting.if[0].matches"],
    [
      "a date in the context",
      { before: [{ var: "signup" }, "2025-01-01"] },
      "before at targeting.if[0].before: flagd cannot compare dates",
    ],
    ["two dates in the context", { after: [{ var: "a" }, { var: "b" }] }, "after at targeting.if[0].after"],
  ])("%s: exported unchanged, noted in the flag's metadata, refused by flagd", (_name, condition, note) => {
    const set = setOf(condition);
    const plain = toPlainFlagd(set);
    expect(plain.flags["f"]!.targeting).toEqual(set.flags["f"]!.targeting);
    expect(plain.flags["f"]!.metadata?.[UNEXPORTED_METADATA_KEY]).toContain(note);
    // A flagd evaluator refuses the rule instead of answering wrongly: the caller's default, with an error.
    const core = new FlagdCore(undefined, undefined, { disableDynamicCodeGeneration: true });
    core.setConfigurations(JSON.stringify(plain));
    const resolved = core.resolveStringEvaluation("f", "caller-default", { s: "v1.2", signup: "2024-01-01" });
    expect(resolved.value).toBe("caller-default");
    expect(resolved.errorCode).toBeDefined();
  });

  it("names the construct in every flag that reaches it through $ref or a prerequisite", () => {
    const checked = validateFlagSet({
      $evaluators: { staff: { matches: [{ var: "email" }, "^[a-z]+@corp\\.com$"] } },
      flags: {
        gate: flagOf({ $ref: "staff" }),
        child: { ...flagOf(true), prerequisites: [{ flag: "gate", variant: "yes" }] },
        plain: flagOf({ "==": [{ var: "plan" }, "pro"] }),
      },
    });
    if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
    const plain = toPlainFlagd(checked.flagSet);
    expect(plain.flags["gate"]!.metadata?.[UNEXPORTED_METADATA_KEY]).toBe(
      "matches at $evaluators.staff.matches: flagd has no regular expressions",
    );
    expect(plain.flags["child"]!.metadata?.[UNEXPORTED_METADATA_KEY]).toBe(
      "prerequisite gate: matches at $evaluators.staff.matches: flagd has no regular expressions",
    );
    expect(plain.flags["plain"]!.metadata).toBeUndefined();
    expect(plain.$evaluators?.["staff"]).toEqual(checked.flagSet.$evaluators!["staff"]);
  });

  it("leaves a flag set without these operators as it is", () => {
    const set = setOf({ starts_with: [{ var: "s" }, "a"] });
    expect(toPlainFlagd(set)).toBe(set);
  });

  it("rewrites inside evaluators and inlined prerequisites too", () => {
    const checked = validateFlagSet({
      $evaluators: { corp: { matches: [{ var: "email" }, "@corp\\.com$"] } },
      flags: { gate: flagOf({ $ref: "corp" }), child: { ...flagOf(true), prerequisites: [{ flag: "gate", variant: "yes" }] } },
    });
    if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
    const plain = toPlainFlagd(checked.flagSet);
    expect(JSON.stringify(plain)).not.toContain('"matches"');
    expect(plain.flags["child"]!.metadata).toBeUndefined();
    const core = new FlagdCore(undefined, undefined, { disableDynamicCodeGeneration: true });
    core.setConfigurations(JSON.stringify(plain));
    expect(core.resolveStringEvaluation("child", "d", { email: "a@corp.com" }).variant).toBe("yes");
    expect(core.resolveStringEvaluation("child", "d", { email: "a@else.com" }).variant).toBe("no");
  });
});
