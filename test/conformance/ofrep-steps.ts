/**
 * Step definitions for the flagd-testbed features driven through an OpenFeature SDK client, so
 * every evaluation is an OFREP request to the Worker. The patterns are those of `steps.ts` (the
 * in-process suite); `unsupportedStep` from there decides which scenarios are not applicable, so
 * both suites skip exactly the same scenarios.
 */
import type { Pickle, PickleStep } from "@cucumber/messages";
import type { Client, EvaluationDetails, FlagValue, JsonValue } from "@openfeature/server-sdk";
import { expect } from "vitest";
import { givenFlagAndContextSteps, typedValue, type GherkinType } from "./steps";

/** The SDK clients a scenario can ask for; each is bound to an environment holding those flags. */
export interface OfrepClients {
  /** A provider with no selector, or selector `flags/allFlags.json`: the merged flags/ documents. */
  allFlags: Client;
}

interface World {
  clients: OfrepClients;
  options: Map<string, string>;
  client?: Client;
  flag?: { key: string; type: GherkinType; fallback: JsonValue };
  context: Record<string, JsonValue>;
  details?: EvaluationDetails<FlagValue>;
}

type StepFn = (world: World, match: RegExpMatchArray, step: PickleStep) => void | Promise<void>;

function evaluateWith(
  client: Client,
  type: GherkinType,
  key: string,
  fallback: JsonValue,
  context: World["context"],
): Promise<EvaluationDetails<FlagValue>> {
  switch (type) {
    case "Boolean":
      return client.getBooleanDetails(key, fallback as boolean, context);
    case "String":
      return client.getStringDetails(key, fallback as string, context);
    case "Integer":
    case "Float":
      return client.getNumberDetails(key, fallback as number, context);
    case "Object":
      return client.getObjectDetails(key, fallback, context);
  }
}

function details(world: World): EvaluationDetails<FlagValue> {
  if (!world.details) throw new Error("no evaluation yet");
  return world.details;
}

const STEPS: [RegExp, StepFn][] = [
  [
    /^an evaluator$/,
    () => {
      throw new Error("the evaluator suite runs in-process only (flagd-testbed.test.ts)");
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
      if (selector && selector !== "flags/allFlags.json") throw new Error(`no environment for selector "${selector}"`);
      w.client = w.clients.allFlags;
    },
  ],
  ...givenFlagAndContextSteps<World>(),
  [
    /^the flag was evaluated with details$/,
    async (w) => {
      if (!w.client || !w.flag) throw new Error("no provider or flag");
      w.details = await evaluateWith(w.client, w.flag.type, w.flag.key, w.flag.fallback, w.context);
    },
  ],
  [
    /^the resolved details value should be "(.*)"$/,
    (w, m) => {
      expect(details(w).value, JSON.stringify(w.details)).toStrictEqual(typedValue(w.flag!.type, m[1]!));
    },
  ],
  [
    /^the reason should be "([^"]*)"$/,
    (w, m) => {
      expect(details(w).reason, JSON.stringify(w.details)).toBe(m[1]);
    },
  ],
  [
    /^the error-code should be "([^"]*)"$/,
    (w, m) => {
      expect(details(w).errorCode ?? "", JSON.stringify(w.details)).toBe(m[1]);
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
      expect(details(w).flagMetadata).toMatchObject(expected);
    },
  ],
  [
    /^the resolved metadata is empty$/,
    (w) => {
      expect(details(w).flagMetadata).toStrictEqual({});
    },
  ],
];

/** Runs a pickle's steps through the SDK clients; assertion failures throw. */
export async function runPickleOverOfrep(pickle: Pickle, clients: OfrepClients): Promise<void> {
  const world: World = { clients, options: new Map(), context: {} };
  for (const step of pickle.steps) {
    const entry = STEPS.map(([pattern, fn]) => [step.text.match(pattern), fn] as const).find(([match]) => match);
    if (!entry) throw new Error(`unsupported step: ${step.text}`);
    await entry[1](world, entry[0]!, step);
  }
}
