import { describe, expect, it } from "vitest";
import { parseDate } from "../../engine/dates";
import { compileFlagSet } from "../../engine/evaluate";
import { validateFlagSet } from "../../engine/validate";
import { apply } from "./helpers";

const flagWith = (targeting: unknown) => ({
  flags: { f: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off", targeting } },
});

describe("matches", () => {
  it.each<[unknown, string, string | undefined, boolean]>([
    ["ada@example.com", "@example\\.com$", undefined, true],
    ["ada@example.com.evil", "@example\\.com$", undefined, false],
    ["ada@examplexcom", "@example\\.com$", undefined, false],
    ["beta-tester", "tester", undefined, true], // unanchored search, like LaunchDarkly's matches
    ["beta-tester", "^tester", undefined, false],
    ["ADA@EXAMPLE.COM", "@example\\.com$", undefined, false],
    ["ADA@EXAMPLE.COM", "@example\\.com$", "i", true],
    ["line one\nline two", "^line two$", undefined, false],
    ["line one\nline two", "^line two$", "m", true],
    ["a\nb", "a.b", undefined, false],
    ["a\nb", "a.b", "s", true],
    ["x\n", "^x$", undefined, false], // RE2's $ is the end of the text, not before a final newline
    ["v1.22.3", "^v1\\.(2[0-9])\\.\\d+$", undefined, true],
    ["日本語", "^\\p{Han}+$", undefined, true],
    ["", "^$", undefined, true],
  ])("%j matches %j (flags %j) → %j", (subject, pattern, flags, expected) => {
    const rule = { matches: flags === undefined ? [{ var: "s" }, pattern] : [{ var: "s" }, pattern, flags] };
    expect(apply(rule, { s: subject })).toBe(expected);
  });

  it.each([[42], [null], [true], [["a"]], [{ a: 1 }]])("a non-string subject %j is false", (subject) => {
    expect(apply({ matches: [{ var: "s" }, ".*"] }, { s: subject })).toBe(false);
  });

  it("is false when the attribute is missing", () => {
    expect(apply({ matches: [{ var: "s" }, ""] }, {})).toBe(false);
  });

  it("answers hostile patterns on long inputs in linear time: (a+)+$ against 100,000 a's and a b", () => {
    const long = `${"a".repeat(100_000)}b`;
    expect(apply({ matches: [{ var: "s" }, "(a+)+$"] }, { s: long })).toBe(false);
    expect(apply({ matches: [{ var: "s" }, "(a+)+b$"] }, { s: long })).toBe(true);
    expect(apply({ matches: [{ var: "s" }, "^(a+)+$"] }, { s: long })).toBe(false);
    expect(apply({ matches: [{ var: "s" }, "^(a|aa)+$"] }, { s: long })).toBe(false);
    expect(apply({ matches: [{ var: "s" }, "^(.*a){20}$"] }, { s: `${"a".repeat(30)}` })).toBe(true);
  });

  it("compiles a pattern once per flag set, shared by every flag that uses it", () => {
    const set = {
      flags: Object.fromEntries(
        ["a", "b"].map((k) => [
          k,
          {
            state: "ENABLED",
            variants: { on: true, off: false },
            defaultVariant: "off",
            targeting: { if: [{ matches: [{ var: "email" }, "@corp\\.com$"] }, "on", "off"] },
          },
        ]),
      ),
    };
    const compiled = compileFlagSet(set);
    expect(compiled.errors.size).toBe(0);
    expect(compiled.evaluate("a", { email: "x@corp.com" })).toMatchObject({ value: true, reason: "TARGETING_MATCH" });
    expect(compiled.evaluate("b", { email: "x@other.com" })).toMatchObject({ value: false });
  });

  it("a flag whose pattern cannot compile answers PARSE_ERROR alone", () => {
    const set = {
      flags: {
        bad: {
          state: "ENABLED",
          variants: { on: true, off: false },
          defaultVariant: "off",
          targeting: { if: [{ matches: [{ var: "s" }, "(?=a)"] }, "on", "off"] },
        },
        good: { state: "ENABLED", variants: { on: true }, defaultVariant: "on" },
      },
    };
    const compiled = compileFlagSet(set);
    expect(compiled.evaluate("bad", { s: "a" })).toMatchObject({ kind: "error", errorCode: "PARSE_ERROR" });
    expect(compiled.evaluate("good", {})).toMatchObject({ kind: "value", value: true });
  });
});

describe("before and after", () => {
  it.each<[string, unknown, unknown, boolean]>([
    ["before", "2025-01-01", "2025-01-02", true],
    ["before", "2025-01-02", "2025-01-01", false],
    ["before", "2025-01-01", "2025-01-01", false],
    ["after", "2025-01-02", "2025-01-01", true],
    ["after", "2025-01-01", "2025-01-01", false],
    // a bare date is midnight UTC; offsets are honoured
    ["before", "2025-01-01T00:59:59+01:00", "2025-01-01", true],
    ["after", "2025-01-01T01:00:00+01:00", "2024-12-31T23:59:59Z", true],
    ["before", "2024-12-31T23:59:59.999Z", "2025-01-01", true],
    ["before", "2025-01-01T00:00:00.000Z", "2025-01-01", false],
    // unix milliseconds on either side
    ["before", 1735689599999, "2025-01-01", true],
    ["after", "2025-01-01T00:00:00.001Z", 1735689600000, true],
    ["before", 0, 1, true],
    // not dates: false in both directions
    ["before", "2025-01-01T10:00:00", "2026-01-01", false],
    ["after", "2025-01-01T10:00:00", "2020-01-01", false],
    ["before", "2025-02-30", "2026-01-01", false],
    ["after", "2025-02-30", "2020-01-01", false],
    ["before", "yesterday", "2026-01-01", false],
    ["before", null, "2026-01-01", false],
    ["after", true, 0, false],
    ["before", "2024-02-29", "2024-03-01", true], // leap day exists in 2024
    ["before", "2023-02-29", "2024-03-01", false], // …not in 2023
  ])("%s(%j, %j) → %j", (op, a, b, expected) => {
    expect(apply({ [op]: [{ var: "a" }, { var: "b" }] }, { a, b })).toBe(expected);
  });

  it("compares with the current time given as $flagd.timestamp × 1000", () => {
    const now = { "*": [{ var: "$flagd.timestamp" }, 1000] };
    expect(apply({ after: [now, "2023-11-14T22:13:19Z"] }, {}, { timestamp: 1_700_000_000 })).toBe(true);
    expect(apply({ after: [now, "2023-11-14T22:13:20Z"] }, {}, { timestamp: 1_700_000_000 })).toBe(false);
    expect(apply({ before: [now, "2023-11-14T22:13:21Z"] }, {}, { timestamp: 1_700_000_000 })).toBe(true);
  });

  it("parses ISO 8601 forms and refuses the rest", () => {
    expect(parseDate("2025-03-01T10:00:00+01:00")).toBe(Date.UTC(2025, 2, 1, 9));
    expect(parseDate("2025-03-01T10:00Z")).toBe(Date.UTC(2025, 2, 1, 10));
    expect(parseDate("2025-03-01t10:00:00.123456z")).toBe(Date.UTC(2025, 2, 1, 10, 0, 0, 123));
    expect(parseDate("2025-03-01T10:00:00-0230")).toBe(Date.UTC(2025, 2, 1, 12, 30));
    for (const bad of [
      "2025-3-1",
      "2025-03-01T24:00:00Z",
      "2025-03-01T10:60:00Z",
      "2025-13-01",
      "2025-03-01 10:00:00Z",
      `${"9".repeat(500)}`,
      Number.NaN,
    ])
      expect(parseDate(bad), String(bad)).toBeUndefined();
  });
});

describe("validation of matches, before and after", () => {
  it.each<[string, unknown, string, RegExp]>([
    [
      "an unclosed group",
      { matches: [{ var: "s" }, "(a"] },
      "flags.f.targeting.matches[1]",
      /not an RE2 regular expression: .*missing closing \)/,
    ],
    ["a lookahead (not RE2)", { matches: [{ var: "s" }, "(?=a)"] }, "flags.f.targeting.matches[1]", /unsupported Perl syntax/],
    ["a computed pattern", { matches: [{ var: "s" }, { var: "p" }] }, "flags.f.targeting.matches[1]", /constant string/],
    ["unknown flags", { matches: [{ var: "s" }, "a", "g"] }, "flags.f.targeting.matches[2]", /i, m and s/],
    ["repeated flags", { matches: [{ var: "s" }, "a", "ii"] }, "flags.f.targeting.matches[2]", /each at most once/],
    ["one argument", { matches: [{ var: "s" }] }, "flags.f.targeting.matches", /2 or 3 arguments/],
    ["a number subject", { matches: [42, "a"] }, "flags.f.targeting.matches[0]", /matches tests a string/],
    ["a long pattern", { matches: [{ var: "s" }, "a".repeat(5000)] }, "flags.f.targeting.matches[1]", /at most 4096/],
    ["a date without offset", { before: [{ var: "d" }, "2025-01-01T10:00:00"] }, "flags.f.targeting.before[1]", /is not a date/],
    ["an impossible date", { after: ["2025-02-30", { var: "d" }] }, "flags.f.targeting.after[0]", /is not a date/],
    ["one date", { after: [{ var: "d" }] }, "flags.f.targeting.after", /exactly 2/],
    [
      "deep inside an if",
      { if: [{ or: [true, { matches: [{ var: "s" }, "["] }] }, "on", "off"] },
      "flags.f.targeting.if[0].or[1].matches[1]",
      /RE2/,
    ],
  ])("refuses %s, naming its path", (_name, targeting, path, message) => {
    const result = validateFlagSet(flagWith(targeting));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it("names the evaluator whose pattern is bad", () => {
    const result = validateFlagSet({ ...flagWith({ $ref: "corp" }), $evaluators: { corp: { matches: [{ var: "email" }, "*"] } } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems).toContainEqual({ path: "$evaluators.corp.matches[1]", message: expect.stringMatching(/RE2/) });
  });

  it.each([
    [{ matches: [{ var: "email" }, "@example\\.com$", "i"] }],
    [{ matches: [{ var: "email" }, "^(a+)+$"] }],
    [{ before: [{ var: "signup" }, "2025-01-01"] }],
    [{ after: [{ "*": [{ var: "$flagd.timestamp" }, 1000] }, 1735689600000] }],
  ])("accepts %j", (targeting) => {
    expect(validateFlagSet(flagWith({ if: [targeting, "on", "off"] }))).toMatchObject({ ok: true });
  });
});
