/** The flagd-testbed's files as the suites use them, from the provided conformance folder. */
import type { ConformancePayload } from "./provide";

export const TESTBED = "flagd-testbed/";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** One JSON document of the testbed, by its path inside `flagd-testbed/`. */
export function testbedJson(payload: ConformancePayload, path: string): Record<string, unknown> {
  const text = payload.files[TESTBED + path];
  if (text === undefined) throw new Error(`missing ${TESTBED}${path} in ${payload.dir}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    target[key] = isObject(existing) && isObject(value) ? deepMerge({ ...existing }, value) : value;
  }
  return target;
}

/** The testbed's flag documents (`flags/*.json`, by path inside `flagd-testbed/`), sorted. */
export function testbedFlagFiles(payload: ConformancePayload): string[] {
  return Object.keys(payload.files)
    .filter((path) => path.startsWith(`${TESTBED}flags/`) && path.endsWith(".json"))
    .map((path) => path.slice(TESTBED.length))
    .sort();
}

/** The testbed's `allFlags.json`: every `flags/` document but `selector-*`, deep-merged in name order. */
export function mergedTestbedFlags(payload: ConformancePayload): Record<string, unknown> {
  return testbedFlagFiles(payload)
    .filter((path) => !path.slice("flags/".length).startsWith("selector-"))
    .reduce<Record<string, unknown>>((all, path) => deepMerge(all, testbedJson(payload, path)), {});
}
