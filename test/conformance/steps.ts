/**
 * Step definitions for the flagd-testbed features, driving the engine directly: a "provider" is a
 * compiled flag set, "evaluating with details" is `CompiledFlagSet.evaluate`.
 *
 * A step no definition matches makes the scenario not applicable (it is skipped, with the step as
 * the reason); README.md lists those step kinds and why they do not apply to edgeflags.
 */
import type { Pickle, PickleStep } from "@cucumber/messages";
import { expect } from "vitest";
import { compileFlagSet, FRACTIONAL_MODE_METADATA_KEY } from "../../engine/index";
import type { CompiledFlagSet, EvaluationContext, EvaluationResult, FlagType, JsonValue } from "../../engine/index";

/** The flag sets a scenario can ask for, by the name the testbed's selector gives them. */
export interface FlagSources {
  /** `Given an evaluator`: evaluator/flags/testkit-flags.json. */
  evaluator: CompiledFlagSet;
  /** A provider with no selector, or selector `flags/allFlags.json`: the merged flags/ documents. */
  allFlags: CompiledFlagSet;
  /** Provider selectors: `rawflags/<file>` → that document alone. */
  raw: ReadonlyMap<string, CompiledFlagSet>;
  /** Static context the testbed's launchpad injects (`context-value`). */
  injectedContext: Readonly<Record<string, JsonValue>>;
}

export type GherkinType = "Boolean" | "String" | "Integer" | "Float" | "Object";

interface World {
  sources: FlagSources;
  options: Map<string, string>;
  flagSet?: CompiledFlagSet;
  injected: Readonly<Record<string, JsonValue>>;
  flag?: { key: string; type: GherkinType; fallback: JsonValue };
  context: Record<string, JsonValue>;
  result?: EvaluationResult;
}

const ENGINE_TYPE: Record<GherkinType, FlagType> = {
  Boolean: "boolean",
  String: "string",
  Integer: "integer",
  Float: "number",
  Object: "object",
};

/** Reads a Gherkin cell as a value of the named type (`\"` in object cells is an escaped quote). */
export function typedValue(type: string, text: string): JsonValue {
  switch (type) {
    case "Boolean":
      return text === "true";
    case "Integer":
      return Number.parseInt(text, 10);
    case "Float":
      return Number.parseFloat(text);
    case "Object":
      return JSON.parse(text.replace(/\\"/g, '"')) as JsonValue;
    default:
      return text;
  }
}

function detailsValue(world: World): JsonValue {
  const { result, flag } = world;
  if (!result || !flag) throw new Error("no evaluation yet");
  return result.kind === "value" ? result.value : flag.fallback;
}

function reasonOf(result: EvaluationResult): string {
  return result.kind === "error" ? "ERROR" : result.reason;
}

type StepFn = (world: World, match: RegExpMatchArray, step: PickleStep) => void;

/** What every suite's world has for the steps that name the flag and build the context. */
export interface FlagAndContext {
  flag?: { key: string; type: GherkinType; fallback: JsonValue };
  context: Record<string, JsonValue>;
}

/** The testbed's steps that name the flag under test and build its context, for any suite's world. */
export function givenFlagAndContextSteps<W extends FlagAndContext>(): [RegExp, (world: W, match: RegExpMatchArray) => void][] {
  return [
    [
      /^a (Boolean|String|Integer|Float|Object)-flag with key "([^"]*)" and a (?:default|fallback) value "(.*)"$/,
      (w, m) => {
        const type = m[1] as GherkinType;
        w.flag = { key: m[2]!, type, fallback: typedValue(type, m[3]!) };
      },
    ],
    [
      /^a context containing a key "([^"]*)", with type "([^"]*)" and with value "(.*)"$/,
      (w, m) => {
        w.context[m[1]!] = typedValue(m[2]!, m[3]!);
      },
    ],
    [
      /^a context containing a nested property with outer key "([^"]*)" and inner key "([^"]*)", with value "(.*)"$/,
      (w, m) => {
        w.context[m[1]!] = { [m[2]!]: m[3]! };
      },
    ],
    [
      /^a context containing a targeting key with value "(.*)"$/,
      (w, m) => {
        w.context["targetingKey"] = m[1]!;
      },
    ],
  ];
}

const STEPS: [RegExp, StepFn][] = [
  [
    /^an evaluator$/,
    (w) => {
      w.flagSet = w.sources.evaluator;
      w.injected = {};
    },
  ],
  [
    /^an option "([^"]*)" of type "([^"]*)" with value "([^"]*)"$/,
    (w, m) => {
      w.options.set(m[1]!, m[3]!);
    },
  ],
  [
    /^a (stable|metadata) flagd provider$/,
    (w) => {
      const selector = w.options.get("selector");
      if (!selector || selector === "flags/allFlags.json") w.flagSet = w.sources.allFlags;
      else {
        const set = w.sources.raw.get(selector);
        if (!set) throw new Error(`no flag source for selector "${selector}"`);
        w.flagSet = set;
      }
      w.injected = w.sources.injectedContext;
    },
  ],
  ...givenFlagAndContextSteps<World>(),
  [
    /^the flag was evaluated with details$/,
    (w) => {
      if (!w.flagSet || !w.flag) throw new Error("no provider or flag");
      const context: EvaluationContext = { ...w.injected, ...w.context };
      w.result = w.flagSet.evaluate(w.flag.key, context, { type: ENGINE_TYPE[w.flag.type] });
    },
  ],
  [
    /^the resolved details value should be "(.*)"$/,
    (w, m) => {
      expect(detailsValue(w), JSON.stringify(w.result)).toStrictEqual(typedValue(w.flag!.type, m[1]!));
    },
  ],
  [
    /^the reason should be "([^"]*)"$/,
    (w, m) => {
      expect(reasonOf(w.result!), JSON.stringify(w.result)).toBe(m[1]);
    },
  ],
  [
    /^the error-code should be "([^"]*)"$/,
    (w, m) => {
      const result = w.result!;
      if (m[1] === "") expect(result.kind, JSON.stringify(result)).not.toBe("error");
      else expect(result.kind === "error" ? result.errorCode : "(no error)", JSON.stringify(result)).toBe(m[1]);
    },
  ],
  [
    /^the resolved metadata should contain$/,
    (w, _m, step) => {
      const rows = step.argument?.dataTable?.rows ?? [];
      const expected: Record<string, JsonValue> = {};
      for (const row of rows.slice(1)) {
        const [key, type, value] = row.cells.map((cell) => cell.value);
        expected[key!] = typedValue(type!, value!);
      }
      expect(w.result!.metadata).toMatchObject(expected);
    },
  ],
  [
    /^the resolved metadata is empty$/,
    (w) => {
      expect(w.result!.metadata).toStrictEqual({});
    },
  ],
];

/** The first step of a pickle no definition matches, or `undefined` when all are supported. */
export function unsupportedStep(pickle: Pickle): string | undefined {
  return pickle.steps.find((step) => !STEPS.some(([pattern]) => pattern.test(step.text)))?.text;
}

/** Runs a pickle's steps against the engine; assertion failures throw. */
export function runPickle(pickle: Pickle, sources: FlagSources): void {
  const world: World = { sources, options: new Map(), injected: {}, context: {} };
  for (const step of pickle.steps) {
    const entry = STEPS.map(([pattern, fn]) => [step.text.match(pattern), fn] as const).find(([match]) => match);
    if (!entry) throw new Error(`unsupported step: ${step.text}`);
    entry[1](world, entry[0]!, step);
  }
}

/**
 * Compiles a testbed document straight away (unvalidated: several testbed flags deliberately break
 * the schema). In v3 mode the flag set opts in through its metadata, as an operator would.
 */
export function compileDocument(document: Record<string, unknown>, v3: boolean): CompiledFlagSet {
  if (!v3) return compileFlagSet(document);
  const metadata = typeof document["metadata"] === "object" && document["metadata"] !== null ? document["metadata"] : {};
  return compileFlagSet({ ...document, metadata: { ...metadata, [FRACTIONAL_MODE_METADATA_KEY]: "v3" } });
}
