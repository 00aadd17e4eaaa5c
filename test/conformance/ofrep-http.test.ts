/**
 * The flagd-testbed `targeting` and `evaluation` features a second time, over HTTP: every
 * evaluation goes through `@openfeature/server-sdk` and an OFREP provider to the Worker's own
 * fetch handler (`exports.default.fetch`), so the wire mapping, status codes and the provider's
 * reading of them are under test, not only the engine.
 *
 * The testbed documents cannot pass the admin API's strict validation (twelve flags break the
 * schema on purpose), so each mode's flag set is written straight into KV as the FlagStore
 * publishes it, for a project and `server` key created through the admin API.
 */
import { env, exports } from "cloudflare:workers";
import { OpenFeature } from "@openfeature/server-sdk";
import type { Client, Provider } from "@openfeature/server-sdk";
import { OFREPProvider } from "@openfeature/ofrep-provider";
import type { Pickle } from "@cucumber/messages";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SNAPSHOT_FORMAT, snapshotEtag, snapshotKvKey, type Snapshot } from "../../contracts/snapshot";
import { FRACTIONAL_MODE_METADATA_KEY } from "../../engine/index";
import type { FlagSet } from "../../engine/types";
import { resetEdgeState } from "../../worker/edge-state";
import { setupProject } from "../helpers";
import { conformanceSuite, matchesTags, picklesOf } from "./gherkin";
import { mergedTestbedFlags, TESTBED } from "./testbed-files";
import { OfrepServerProvider } from "./ofrep-server-provider";
import { EdgeflagsProvider } from "../../packages/openfeature-provider/src/index";
import { runPickleOverOfrep } from "./ofrep-steps";
import { unsupportedStep } from "./steps";

const payload = inject("conformance");
const BASE_URL = "http://edgeflags.test";
/** Above any version the FlagStore reaches here, so the edge prefers this snapshot to its own. */
const TESTBED_VERSION = 1_000_000;

const MODES = {
  v2: "not @fractional-v1 and not @fractional-v3 and not @deprecated",
  v3: "not @fractional-v1 and not @fractional-v2 and not @deprecated",
} as const;
type Mode = keyof typeof MODES;

const FEATURES = { targeting: "gherkin/targeting.feature", evaluation: "gherkin/evaluation.feature" } as const;

/** The Worker as the providers' fetch: a Request (and init) in, the Worker's Response out. */
const workerFetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => exports.default.fetch(new Request(input, init));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The testbed's allFlags.json; in v3 mode with fractional v3 switched on in the flag-set metadata. */
function allFlags(mode: Mode): FlagSet {
  const merged = mergedTestbedFlags(payload);
  if (mode === "v3")
    merged["metadata"] = { ...(isObject(merged["metadata"]) ? merged["metadata"] : {}), [FRACTIONAL_MODE_METADATA_KEY]: "v3" };
  // Unvalidated on purpose (see above); the edge still parses the snapshot's shape when it reads KV.
  return merged as unknown as FlagSet;
}

/** Writes a flag set to KV exactly as the FlagStore's outbox publishes a snapshot. */
async function publishUnvalidated(project: string, flagSet: FlagSet): Promise<void> {
  const snapshot: Snapshot = {
    format: SNAPSHOT_FORMAT,
    project,
    environment: "production",
    version: TESTBED_VERSION,
    etag: snapshotEtag(TESTBED_VERSION),
    updatedAt: new Date().toISOString(),
    flagSet,
  };
  await env.FLAGS_KV.put(snapshotKvKey(project, "production"), JSON.stringify(snapshot), { metadata: { version: TESTBED_VERSION } });
}

/**
 * Scenarios that do not apply over OFREP, with the reason. OFREP's request schema types
 * `context.targetingKey` as a string, and the Worker answers a request with any other type with
 * `400 INVALID_CONTEXT` (test/ofrep.test.ts); flagd's in-process evaluator instead ignores it and
 * buckets on nothing, which the in-process suite covers.
 */
function notOverOfrep(pickle: Pickle): string | undefined {
  const step = pickle.steps.find((s) => /^a context containing a key "targetingKey", with type "(?!String")/.test(s.text));
  return step ? `OFREP types targetingKey as a string; the Worker answers 400 INVALID_CONTEXT to: ${step.text}` : undefined;
}

interface Planned {
  pickle: Pickle;
  skip?: string;
}

function plan(feature: string, mode: Mode): Planned[] {
  const text = payload.files[TESTBED + feature];
  if (text === undefined) throw new Error(`missing ${TESTBED}${feature} in ${payload.dir}`);
  return picklesOf(feature, text)
    .filter((pickle) => matchesTags(pickle, MODES[mode]))
    .map((pickle) => {
      const step = unsupportedStep(pickle);
      const skip = step ? `step not applicable: ${step}` : notOverOfrep(pickle);
      return skip ? { pickle, skip } : { pickle };
    });
}

/** Creates the mode's project and server key, publishes the testbed flags, and binds an SDK domain to it. */
async function clientFor(project: string, mode: Mode, provider: (key: string) => Provider): Promise<Client> {
  const { key } = await setupProject(project, { flags: {} }, "server");
  await publishUnvalidated(project, allFlags(mode));
  resetEdgeState(["snapshots"]);
  await OpenFeature.setProviderAndWait(project, provider(key));
  return OpenFeature.getClient(project);
}

interface ProviderUnderTest {
  /** Appended to the suite name; empty for the provider the conformance claim rests on. */
  label: string;
  create: (key: string) => Provider;
  /** Scenarios this provider is known to get wrong, with the reason: run as expected failures. */
  knownBroken: (pickle: Pickle) => string | undefined;
}

const PROVIDERS: ProviderUnderTest[] = [
  {
    label: "",
    create: (key) =>
      new OfrepServerProvider({ baseUrl: BASE_URL, headers: [["Authorization", `Bearer ${key}`]], fetchImplementation: workerFetch }),
    knownBroken: () => undefined,
  },
  {
    // The published server provider, as an application would install it today.
    label: " [@openfeature/ofrep-provider 0.1.3]",
    create: (key) =>
      new OFREPProvider({ baseUrl: BASE_URL, headers: [["Authorization", `Bearer ${key}`]], fetchImplementation: workerFetch }),
    knownBroken: (pickle) =>
      pickle.steps.some((step) => step.text === 'the reason should be "DEFAULT"') &&
      pickle.tags.some((tag) => tag.name === "@no-default-variant")
        ? 'ofrep-core 0.1.4 rejects a 200 without `value` (OFREP\'s code-default answer) as GENERAL "does not match the expected format"'
        : undefined,
  },
  {
    // The in-process provider: the same scenarios answered by the edge's engine in the application.
    label: " [@edgeflags/openfeature-provider, in-process]",
    create: (key) => new EdgeflagsProvider({ url: BASE_URL, serverKey: key, fetch: workerFetch, stream: false, reportUsage: false }),
    knownBroken: () => undefined,
  },
];

conformanceSuite("ofrep-http", payload, () => {
  afterAll(() => OpenFeature.close());

  PROVIDERS.forEach(({ label, create, knownBroken }, providerIndex) => {
    for (const mode of Object.keys(MODES) as Mode[]) {
      describe(`ofrep-http ${mode}${label}`, () => {
        let client: Client;
        beforeAll(async () => {
          client = await clientFor(`ofrep-http-${mode}-${providerIndex}`, mode, create);
        });

        it("answers from the testbed snapshot written to KV", async () => {
          const details = await client.getStringDetails("string-flag", "bye");
          expect(details).toMatchObject({ value: "hi", flagMetadata: { configVersion: TESTBED_VERSION } });
        });

        for (const [suite, feature] of Object.entries(FEATURES)) {
          const name = `ofrep-http ${suite} ${mode}${label}`;
          describe(name, () => {
            const counts = { passed: 0, failed: 0, skipped: 0, knownBroken: 0 };
            let index = 0;
            for (const { pickle, skip } of plan(feature, mode)) {
              const title = `${feature} › ${pickle.name} #${++index}`;
              if (skip) {
                counts.skipped++;
                it.skip(`${title} (${skip})`, () => {});
                continue;
              }
              const broken = knownBroken(pickle);
              if (broken) {
                counts.knownBroken++;
                it.fails(`${title} (known provider bug: ${broken})`, () => runPickleOverOfrep(pickle, { allFlags: client }));
                continue;
              }
              it(title, async () => {
                try {
                  await runPickleOverOfrep(pickle, { allFlags: client });
                } catch (e) {
                  counts.failed++;
                  throw e;
                }
                counts.passed++;
              });
            }
            afterAll(() => {
              const broken = counts.knownBroken ? `, ${counts.knownBroken} failed as expected (provider bug)` : "";
              console.log(`${name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${broken}`);
            });
          });
        }
      });
    }
  });
});
