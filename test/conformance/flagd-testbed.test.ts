/**
 * The flagd-testbed Gherkin suites (../shared/conformance/flagd-testbed), run against the engine.
 * Each scenario (each Examples row of an outline) is one test. Suites:
 * - `evaluator`: evaluator/gherkin/*.feature with evaluator/flags/testkit-flags.json;
 * - `provider`: the provider-level features that apply to a server owning its flag sets, with the
 *   flags/ documents deep-merged as the testbed's allFlags.json (selector-* files stay apart).
 * Each runs in mode v2 (flagd's current fractional) and v3 (fractional v3 enabled on the flag set).
 */
import { afterAll, describe, expect, inject, it } from "vitest";
import type { Pickle } from "@cucumber/messages";
import { conformanceSuite, matchesTags, picklesOf } from "./gherkin";
import { mergedTestbedFlags, TESTBED, testbedFlagFiles, testbedJson } from "./testbed-files";
import { compileDocument, runPickle, unsupportedStep } from "./steps";
import type { FlagSources } from "./steps";

const payload = inject("conformance");

const MODES = {
  v2: "not @fractional-v1 and not @fractional-v3 and not @deprecated",
  v3: "not @fractional-v1 and not @fractional-v2 and not @deprecated",
} as const;
type Mode = keyof typeof MODES;

/** Provider-level features that concern an SDK's connection, configuration or events, not evaluation. */
const NOT_APPLICABLE: Record<string, string> = {
  "gherkin/config.feature": "provider configuration options of flagd SDKs",
  "gherkin/connection.feature": "SDK connection lifecycle against a flagd daemon",
  "gherkin/events.feature": "SDK provider events",
  "gherkin/rpc-caching.feature": "the RPC provider's client-side cache",
  "gherkin/sync-payload.feature": "the in-process provider's sync stream payload",
};

const PROVIDER_FEATURES = ["targeting", "evaluation", "disabled", "metadata", "contextEnrichment", "selector"].map(
  (name) => `gherkin/${name}.feature`,
);

const json = (path: string) => testbedJson(payload, path);

function sourcesFor(mode: Mode): FlagSources {
  const v3 = mode === "v3";
  const flagFiles = testbedFlagFiles(payload);
  const merged = mergedTestbedFlags(payload);
  const raw = new Map(flagFiles.map((path) => [`rawflags/${path.slice("flags/".length)}`, compileDocument(json(path), v3)] as const));
  const launchpad = json("launchpad/configs/default.json");
  const injected = launchpad["context-value"];
  return {
    evaluator: compileDocument(json("evaluator/flags/testkit-flags.json"), v3),
    allFlags: compileDocument(merged, v3),
    raw,
    injectedContext:
      typeof injected === "object" && injected !== null && !Array.isArray(injected) ? (injected as FlagSources["injectedContext"]) : {},
  };
}

interface Planned {
  feature: string;
  pickle: Pickle;
  skip?: string;
}

function plan(features: readonly string[], mode: Mode): Planned[] {
  const planned: Planned[] = [];
  for (const feature of features) {
    const text = payload.files[TESTBED + feature];
    if (text === undefined) throw new Error(`missing ${TESTBED}${feature} in ${payload.dir}`);
    for (const pickle of picklesOf(feature, text)) {
      if (!matchesTags(pickle, MODES[mode])) continue;
      const step = unsupportedStep(pickle);
      planned.push(step ? { feature, pickle, skip: `step not applicable: ${step}` } : { feature, pickle });
    }
  }
  return planned;
}

conformanceSuite("flagd-testbed", payload, () => {
  const evaluatorFeatures = Object.keys(payload.files)
    .filter((path) => path.startsWith(`${TESTBED}evaluator/gherkin/`) && path.endsWith(".feature"))
    .map((path) => path.slice(TESTBED.length))
    .sort();
  const suites: Record<string, readonly string[]> = { evaluator: evaluatorFeatures, provider: PROVIDER_FEATURES };

  for (const mode of Object.keys(MODES) as Mode[]) {
    const sources = sourcesFor(mode);
    for (const [suite, features] of Object.entries(suites)) {
      describe(`flagd-testbed ${suite} ${mode}`, () => {
        const counts = { passed: 0, failed: 0, skipped: 0 };
        const planned = plan(features, mode);
        let index = 0;
        for (const { feature, pickle, skip } of planned) {
          const title = `${feature} › ${pickle.name} #${++index}`;
          if (skip) {
            counts.skipped++;
            it.skip(`${title} (${skip})`, () => {});
            continue;
          }
          it(title, () => {
            try {
              runPickle(pickle, sources);
            } catch (e) {
              counts.failed++;
              throw e;
            }
            counts.passed++;
          });
        }
        afterAll(() => {
          console.log(`flagd-testbed ${suite} ${mode}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
        });
      });
    }
  }

  describe("flagd-testbed coverage", () => {
    it("reads every provider-level feature, as run or as not applicable", () => {
      const all = Object.keys(payload.files)
        .filter((path) => path.startsWith(`${TESTBED}gherkin/`) && path.endsWith(".feature"))
        .map((path) => path.slice(TESTBED.length));
      expect(all.filter((path) => !PROVIDER_FEATURES.includes(path) && !(path in NOT_APPLICABLE))).toEqual([]);
    });
  });
});
