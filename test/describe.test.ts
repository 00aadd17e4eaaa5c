/**
 * Rules in plain words (admin/ui/describe.ts) and the rule builder's model of targeting
 * (admin/ui/rule-model.ts): a table of flags and the lines they read as, and the round trip
 * targeting → model → targeting over every flag of the conformance flag sets and the bench workload.
 */
import { describe, expect, inject, it } from "vitest";
import { describeTargeting, type DescribedFlag } from "../admin/ui/describe";
import { fromTargeting, toTargeting, type RuleModel } from "../admin/ui/rule-model";
import type { JsonValue } from "../engine/types";
import { generateWorkload } from "../bench/workload.mjs";
import { mergedTestbedFlags, testbedFlagFiles, testbedJson } from "./conformance/testbed-files";

const onOff = { on: true, off: false };
const flag = (targeting: JsonValue | undefined, extra: Partial<DescribedFlag> = {}): DescribedFlag => ({
  state: "ENABLED",
  variants: onOff,
  defaultVariant: "off",
  ...(targeting === undefined ? {} : { targeting }),
  ...extra,
});
const v = (name: string) => ({ var: name });
const evaluators: Record<string, JsonValue> = {
  staff: { ends_with: [v("email"), "@example.com"] },
  vips: { in: [v("targetingKey"), ["a", "b", "c", "d", "e", "f", "g"]] },
};

const CASES: [string, DescribedFlag, string[]][] = [
  ["no targeting", flag(undefined), ["everyone → off (the default)"]],
  ["no default variant", flag(undefined, { defaultVariant: null }), ["everyone → the caller's code default"]],
  ["a fixed variant", flag("on"), ["everyone → on"]],
  ["a fixed variant, as a rule object", flag({ if: [true, "on"] }), ["everyone → on"]],
  [
    "the issue's example",
    flag({
      if: [
        { $ref: "staff" },
        "on",
        { in: [v("country"), ["CA", "US", "MX"]] },
        "on",
        {
          fractional: [
            ["on", 20],
            ["off", 80],
          ],
        },
      ],
    }),
    ["staff (email ends with @example.com) → on", "country in CA, US, MX → on", "everyone else: 20% on, 80% off"],
  ],
  ["not in", flag({ if: [{ "!": { in: [v("plan"), ["free"]] } }, "on"] }), ["plan not in free → on", "everyone else → off (the default)"]],
  ["contains", flag({ if: [{ in: ["@corp", v("email")] }, "on", "off"] }), ["email contains @corp → on", "everyone else → off"]],
  ["equals", flag({ if: [{ "==": [v("plan"), "pro"] }, "on", "off"] }), ["plan is pro → on", "everyone else → off"]],
  ["not equals", flag({ if: [{ "!=": [v("beta"), true] }, "off", "on"] }), ["beta is not true → off", "everyone else → on"]],
  ["strict equals", flag({ if: [{ "===": [v("tier"), 3] }, "on"] }), ["tier is exactly 3 → on", "everyone else → off (the default)"]],
  ["strict differs", flag({ if: [{ "!==": [v("tier"), 3] }, "on"] }), ["tier is not exactly 3 → on", "everyone else → off (the default)"]],
  [
    "starts with",
    flag({ if: [{ starts_with: [v("id"), "test-"] }, "on"] }),
    ["id starts with test- → on", "everyone else → off (the default)"],
  ],
  [
    "does not end with",
    flag({ if: [{ "!": { ends_with: [v("email"), ".gov"] } }, "on"] }),
    ["email does not end with .gov → on", "everyone else → off (the default)"],
  ],
  [
    "numbers",
    flag({ if: [{ ">=": [v("age"), 18] }, "on", { "<": [v("age"), 13] }, "off"] }),
    ["age ≥ 18 → on", "age < 13 → off", "everyone else → off (the default)"],
  ],
  [
    "semver",
    flag({ if: [{ sem_ver: [v("app"), ">=", "2.1.0"] }, "on"] }),
    ["app is version at least 2.1.0 → on", "everyone else → off (the default)"],
  ],
  [
    "semver caret",
    flag({ if: [{ sem_ver: [v("app"), "^", "2.0.0"] }, "on"] }),
    ["app is a version compatible with 2.0.0 → on", "everyone else → off (the default)"],
  ],
  [
    "matches",
    flag({ if: [{ matches: [v("email"), "^qa\\+", "i"] }, "on"] }),
    ["email matches /^qa\\+/i → on", "everyone else → off (the default)"],
  ],
  [
    "after a date, now",
    flag({ if: [{ after: [{ "*": [v("$flagd.timestamp"), 1000] }, "2025-03-01"] }, "on"] }),
    ["now is after 2025-03-01 → on", "everyone else → off (the default)"],
  ],
  [
    "before a date",
    flag({ if: [{ before: [v("signup"), "2024-01-01T00:00:00Z"] }, "on"] }),
    ["signup is before 2024-01-01T00:00:00Z → on", "everyone else → off (the default)"],
  ],
  [
    "AND / OR groups",
    flag({ if: [{ and: [{ "==": [v("plan"), "pro"] }, { or: [{ in: [v("country"), ["CA"]] }, { $ref: "staff" }] }] }, "on"] }),
    ["plan is pro and (country in CA or staff (email ends with @example.com)) → on", "everyone else → off (the default)"],
  ],
  [
    "a long list, a negated segment",
    flag({ if: [{ "!": { $ref: "vips" } }, "off", { $ref: "vips" }, "on"] }),
    [
      "not vips (targetingKey in a, b, c, d and 3 more) → off",
      "vips (targetingKey in a, b, c, d and 3 more) → on",
      "everyone else → off (the default)",
    ],
  ],
  ["an unknown segment", flag({ if: [{ $ref: "gone" }, "on"] }), ["segment gone → on", "everyone else → off (the default)"]],
  [
    "a split by an attribute, uneven weights",
    flag({ fractional: [v("email"), ["on", 1], ["off", 2]] }),
    ["everyone: 33.3% on, 66.7% off (by email)"],
  ],
  [
    "individual targets and prerequisites",
    flag(undefined, { targets: { on: ["u1", "u2", "u3"], off: ["u4"] }, prerequisites: [{ flag: "checkout", variant: "on" }] }),
    [
      "only when checkout is on; otherwise → off (the default)",
      "3 individual targets → on",
      "1 individual target → off",
      "everyone else → off (the default)",
    ],
  ],
  [
    "off with an off variant",
    flag("on", { state: "DISABLED", metadata: { "edgeflags.offVariant": "off" } }),
    ["off: everyone gets off (the off variant)", "everyone → on"],
  ],
  [
    "off without an off variant",
    flag(undefined, { state: "DISABLED" }),
    ["off: callers get their code default", "everyone → off (the default)"],
  ],
  [
    "what the words cannot say, as compact JSON",
    flag({ if: [{ "<": [1, v("n"), 5] }, "on", { if: [{ var: "x" }, "on", "off"] }] }),
    ['{"<":[1,{"var":"n"},5]} → on', 'everyone else → {"if":[{"var":"x"},"on","off"]}'],
  ],
  ["targeting that is not an if", flag({ "==": [v("x"), 1] }), ['everyone → {"==":[{"var":"x"},1]}']],
  [
    "values that need quotes",
    flag({ if: [{ in: [v("city"), ["New York, NY", "Paris"]] }, "on"] }),
    ['city in "New York, NY", Paris → on', "everyone else → off (the default)"],
  ],
];

describe("rules in plain words", () => {
  it.each(CASES)("%s", (_, input, lines) => {
    expect(describeTargeting(input, evaluators)).toEqual(lines);
  });

  it("describes segments by a lookup (the console's segment list)", () => {
    const lines = describeTargeting(flag({ if: [{ $ref: "beta" }, "on"] }), (name) =>
      name === "beta" ? "targetingKey is one of 12 ids" : null,
    );
    expect(lines[0]).toBe("beta (targetingKey is one of 12 ids) → on");
  });

  it("cuts long JSON", () => {
    const [line] = describeTargeting(flag({ some: [v("list"), { "==": [v(""), "x".repeat(500)] }] }));
    expect(line!.length).toBeLessThan(140);
    expect(line!.endsWith("…")).toBe(true);
  });
});

/** Every flag of the testbed's flag files and of the bench workload, with its `$evaluators`. */
function corpus(): { name: string; targeting: JsonValue | undefined }[] {
  const out: { name: string; targeting: JsonValue | undefined }[] = [];
  const add = (source: string, set: unknown) => {
    const record = set as { flags?: Record<string, { targeting?: JsonValue }>; $evaluators?: Record<string, JsonValue> };
    for (const [key, def] of Object.entries(record.flags ?? {})) out.push({ name: `${source}/${key}`, targeting: def.targeting });
    for (const [key, rule] of Object.entries(record.$evaluators ?? {})) out.push({ name: `${source}/$evaluators/${key}`, targeting: rule });
  };
  const payload = inject("conformance");
  if (payload.found) {
    for (const file of testbedFlagFiles(payload)) add(file, testbedJson(payload, file));
    add("allFlags", mergedTestbedFlags(payload));
  }
  const workload = generateWorkload();
  add("workload-inline", workload.inline);
  add("workload-segment", workload.segment);
  return out;
}

describe("the rule builder's model of targeting", () => {
  const flags = corpus();

  it("round-trips every flag of the conformance flag sets and the bench workload exactly", () => {
    expect(flags.length).toBeGreaterThan(200);
    for (const { name, targeting } of flags) {
      const back = toTargeting(fromTargeting(targeting));
      expect({ name, targeting: back }).toEqual({ name, targeting });
    }
  });

  it("reads the workload's rules into builder pieces, not raw JSON", () => {
    const workload = generateWorkload();
    for (const [key, def] of Object.entries(workload.segment.flags as Record<string, { targeting?: JsonValue }>)) {
      const model = fromTargeting(def.targeting);
      const pieces = [...model.rules.map((r) => r.when.kind), ...model.rules.map((r) => r.serve.kind), model.otherwise.kind];
      expect({ key, raw: pieces.filter((p) => p === "raw") }).toEqual({ key, raw: [] });
    }
  });

  it("builds the issue's rule from a model", () => {
    const model: RuleModel = {
      rules: [
        {
          when: { kind: "compare", subject: { kind: "attribute", name: "country" }, op: "in", values: ["CA", "US"] },
          serve: { kind: "variant", variant: "on" },
        },
      ],
      otherwise: {
        kind: "split",
        by: null,
        buckets: [
          { variant: "on", weight: 10 },
          { variant: "off", weight: 90 },
        ],
      },
    };
    expect(toTargeting(model)).toEqual({
      if: [
        { in: [{ var: "country" }, ["CA", "US"]] },
        "on",
        {
          fractional: [
            ["on", 10],
            ["off", 90],
          ],
        },
      ],
    });
  });

  it.each<[string, JsonValue | undefined]>([
    ["absent", undefined],
    ["null", null],
    ["empty object", {}],
    ["an explicit null else", { if: [{ "==": [v("a"), 1] }, "on", null] }],
    ["a rule serving the default", { if: [{ "==": [v("a"), 1] }, null, "on"] }],
    ["var with a default", { if: [{ "==": [{ var: ["a", 2] }, 1] }, "on"] }],
    ["!! of a var", { if: [{ "!!": v("beta") }, "on"] }],
    ["double negation", { if: [{ "!": { "!": { in: [v("a"), ["x"]] } } }, "on"] }],
    ["mixed list", { if: [{ in: [v("a"), ["x", 1, true]] }, "on"] }],
    [
      "split with a rule weight",
      {
        fractional: [
          ["on", { var: "w" }],
          ["off", 1],
        ],
      },
    ],
    ["split without weights", { fractional: [["on"], ["off"]] }],
    ["if with one argument", { if: [true] }],
    ["a bare variant", "on"],
    ["a variant for everyone", { if: [true, "on"] }],
  ])("round-trips odd shapes exactly: %s", (_, targeting) => {
    expect(toTargeting(fromTargeting(targeting))).toEqual(targeting);
  });
});
