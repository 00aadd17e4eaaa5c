import { describe, expect, inject, it } from "vitest";
import { validateFlagSet } from "../../engine/index";
import type { FlagSetProblem } from "../../engine/index";

const flag = (extra: Record<string, unknown> = {}) => ({
  state: "ENABLED",
  variants: { on: true, off: false },
  defaultVariant: "on",
  ...extra,
});
const problemsOf = (input: unknown): FlagSetProblem[] => {
  const result = validateFlagSet(input);
  return result.ok ? [] : result.problems;
};

describe("validateFlagSet", () => {
  it("accepts a valid set and returns it typed", () => {
    const input = {
      flags: { a: flag({ targeting: { if: [{ $ref: "r" }, "on", null] }, metadata: { owner: "ada" } }) },
      $evaluators: { r: { "==": [1, 1] } },
      metadata: { flagSetId: "s" },
    };
    const result = validateFlagSet(input);
    expect(result).toEqual({ ok: true, flagSet: input });
  });

  it.each<[string, unknown, FlagSetProblem]>([
    ["not an object", [], { path: "", message: 'a flag set must be a JSON object with "flags", got []' }],
    ["no flags", {}, { path: "flags", message: 'a flag set needs "flags": an object keyed by flag key' }],
    [
      "flags as array",
      { flags: [] },
      { path: "flags", message: '"flags" must be an object keyed by flag key (the array form is for the flagd daemon only)' },
    ],
    ["empty key", { flags: { "": flag() } }, { path: "flags", message: "a flag key must not be empty" }],
    [
      "bad state",
      { flags: { a: flag({ state: "ON" }) } },
      { path: "flags.a.state", message: 'state must be "ENABLED" or "DISABLED", got "ON"' },
    ],
    [
      "no variants",
      { flags: { a: { state: "ENABLED" } } },
      { path: "flags.a.variants", message: "variants must be an object of variant name → value, got nothing" },
    ],
    [
      "empty variants",
      { flags: { a: flag({ variants: {}, defaultVariant: null }) } },
      { path: "flags.a.variants", message: "a flag needs at least one variant" },
    ],
    [
      "mixed variant types",
      { flags: { a: flag({ variants: { on: true, off: "false" } }) } },
      { path: "flags.a.variants", message: "all variants of a flag must have the same type, got boolean (on), string (off)" },
    ],
    [
      "array variant",
      { flags: { a: flag({ variants: { on: [1] }, defaultVariant: null }) } },
      { path: "flags.a.variants.on", message: "a variant must be a boolean, string, number or object, got [1]" },
    ],
    [
      "unknown default variant",
      { flags: { "new-checkout": flag({ defaultVariant: "blue" }) } },
      { path: "flags.new-checkout.defaultVariant", message: '"blue" is not one of the variants (on, off)' },
    ],
    [
      "non-string default variant",
      { flags: { a: flag({ defaultVariant: 1 }) } },
      { path: "flags.a.defaultVariant", message: "defaultVariant must be a variant name or null, got 1" },
    ],
    [
      "object metadata value",
      { flags: { a: flag({ metadata: { x: { y: 1 } } }) } },
      { path: "flags.a.metadata.x", message: 'metadata values must be a string, number or boolean, got {"y":1}' },
    ],
    [
      "set metadata value",
      { flags: {}, metadata: { x: [1] } },
      { path: "metadata.x", message: "metadata values must be a string, number or boolean, got [1]" },
    ],
    [
      "flagSetId not a string",
      { flags: {}, metadata: { flagSetId: 1 } },
      { path: "metadata.flagSetId", message: "flagSetId must be a string, got 1" },
    ],
    [
      "bad fractional mode",
      { flags: {}, metadata: { "edgeflags.fractional": "v9" } },
      { path: "metadata.edgeflags.fractional", message: 'must be "v2" or "v3", got "v9"' },
    ],
    [
      "unknown operator",
      { flags: { a: flag({ targeting: { if: [{ nope: [1] }, "on", "off"] } }) } },
      { path: "flags.a.targeting.if[0].nope", message: 'unknown operator "nope"' },
    ],
    [
      "unknown $ref",
      { flags: { a: flag({ targeting: { $ref: "x" } }) } },
      { path: "flags.a.targeting.$ref", message: '$ref "x" does not name an evaluator in $evaluators (none defined)' },
    ],
    ["$ref cycle", { flags: {}, $evaluators: { x: { $ref: "x" } } }, { path: "$evaluators.x.$ref", message: "$ref cycle: x → x" }],
    [
      "targeting not an object",
      { flags: { a: flag({ targeting: "on" }) } },
      { path: "flags.a.targeting", message: 'targeting must be a JsonLogic rule object (or {} for none), got "on"' },
    ],
    [
      "negative weight",
      {
        flags: {
          a: flag({
            targeting: {
              fractional: [
                ["on", -1],
                ["off", 1],
              ],
            },
          }),
        },
      },
      { path: "flags.a.targeting.fractional[0][1]", message: "a weight must be a non-negative integer or a rule, got -1" },
    ],
    [
      "literal bucketing value",
      { flags: { a: flag({ targeting: { fractional: ["x", ["on", 1]] } }) } },
      {
        path: "flags.a.targeting.fractional[0]",
        message: 'the bucketing value must be a rule such as {"var": "email"}, got "x"; omit it to bucket by targetingKey',
      },
    ],
    [
      "sem_ver operator",
      { flags: { a: flag({ targeting: { sem_ver: [{ var: "v" }, "===", "1.0.0"] } }) } },
      { path: "flags.a.targeting.sem_ver[1]", message: 'sem_ver operator must be one of = != < <= > >= ^ ~, got "==="' },
    ],
    [
      "sem_ver version",
      { flags: { a: flag({ targeting: { sem_ver: [{ var: "v" }, "=", "v1"] } }) } },
      { path: "flags.a.targeting.sem_ver[2]", message: '"v1" is not a semantic version (major.minor.patch, e.g. "1.4.0")' },
    ],
    [
      "starts_with arity",
      { flags: { a: flag({ targeting: { starts_with: ["x"] } }) } },
      { path: "flags.a.targeting.starts_with", message: "starts_with takes exactly 2 arguments, got 1" },
    ],
    [
      "== arity",
      { flags: { a: flag({ targeting: { "==": [1] } }) } },
      { path: "flags.a.targeting.==", message: "== takes exactly 2 arguments, got 1" },
    ],
    [
      "$flagd property",
      { flags: { a: flag({ targeting: { var: "$flagd.nope" } }) } },
      { path: "flags.a.targeting.var", message: '"$flagd.nope" is not a flagd property: use "$flagd.flagKey" or "$flagd.timestamp"' },
    ],
  ])("rejects %s", (_name, input, problem) => {
    expect(problemsOf(input)).toContainEqual(problem);
  });

  it("reports every problem, not just the first", () => {
    expect(problemsOf({ flags: { a: flag({ state: "X", defaultVariant: "z" }), b: flag({ targeting: { nope: 1 } }) } })).toHaveLength(3);
  });
});

const conformance = inject("conformance");
const SCHEMA_TESTS = "flagd-testbed/flagd-schemas/json/test/";
const fixtures = (folder: string): [string, unknown][] =>
  Object.entries(conformance.files)
    .filter(([path]) => path.startsWith(SCHEMA_TESTS + folder) && path.endsWith(".json"))
    .map(([path, text]): [string, unknown] => [path.slice(SCHEMA_TESTS.length), JSON.parse(text)]);
/** Every string, number and boolean in a rule, as text: the variant names it could return. */
const literals = (rule: unknown): string[] =>
  Array.isArray(rule)
    ? rule.flatMap(literals)
    : rule !== null && typeof rule === "object"
      ? Object.values(rule).flatMap(literals)
      : rule === null || rule === ""
        ? []
        : [String(rule)];
/**
 * The rule as a flag's targeting; `$ref`s it names get a stub evaluator, and every literal it
 * holds is a variant (the fixtures test structure, not which variants a flag has).
 */
const asFlagSet = (rule: unknown) => {
  const refs = [...JSON.stringify(rule).matchAll(/"\$ref":"([^"]*)"/g)].map((m) => m[1]!);
  const $evaluators = Object.fromEntries(refs.map((name) => [name, { "==": [1, 1] }]));
  const variants = Object.fromEntries(["on", ...literals(rule)].map((name) => [name, name]));
  return { $evaluators, flags: { f: { state: "ENABLED", variants, defaultVariant: "on", targeting: rule } } };
};

describe.skipIf(!conformance.found)("validateFlagSet against flagd-schemas test fixtures", () => {
  it("finds the fixtures", () => {
    expect(fixtures("flags/negative/").length).toBeGreaterThanOrEqual(9);
    expect(fixtures("targeting/negative/").length).toBeGreaterThanOrEqual(9);
  });
  it.each(fixtures("flags/positive/").concat(fixtures("flagd/positive/")))("accepts %s", (_path, document) => {
    expect(problemsOf(document)).toEqual([]);
  });
  it.each(fixtures("flags/negative/"))("rejects %s", (_path, document) => {
    expect(problemsOf(document)).not.toEqual([]);
  });
  it.each(fixtures("targeting/positive/"))("accepts targeting %s", (_path, rule) => {
    expect(problemsOf(asFlagSet(rule))).toEqual([]);
  });
  it.each(fixtures("targeting/negative/"))("rejects targeting %s", (_path, rule) => {
    expect(problemsOf(asFlagSet(rule))).not.toEqual([]);
  });
  const example = (name: string): unknown => JSON.parse(conformance.files[`flagd-testbed/flagd-schemas/json/examples/${name}`]!);
  it("accepts examples/minimal.json", () => {
    expect(problemsOf(example("minimal.json"))).toEqual([]);
  });
  it("rejects exactly the deliberately failing branches of examples/full.json", () => {
    // Each is a bad comparison whose branch returns "fail", which is not a variant either.
    expect(problemsOf(example("full.json")).map((p) => p.path)).toEqual([
      "flags.starts-ends-flag.targeting.if[2].if[2].if[0].ends_with[1]",
      "flags.starts-ends-flag.targeting.if[2].if[2].if[1]",
      "flags.equal-greater-lesser-version-flag.targeting.if[2].if[2].if[2].if[0].sem_ver[2]",
      "flags.equal-greater-lesser-version-flag.targeting.if[2].if[2].if[2].if[1]",
    ]);
  });
});
