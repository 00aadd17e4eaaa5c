/**
 * The edge reads snapshots with `readSnapshot`, plain checks of the envelope, instead of
 * `SnapshotSchema` (whose first use in a fresh isolate cost more than compiling the flags). It must
 * answer as the schema does on every snapshot: the same verdict on a valid one and on each way of
 * breaking one.
 */
import { describe, expect, it } from "vitest";
import { readSnapshot, SnapshotSchema } from "../contracts/snapshot";

const valid = {
  format: 1,
  project: "shop",
  environment: "production",
  version: 12,
  etag: '"12"',
  updatedAt: "2026-12-02T00:00:00.000Z",
  flagSet: {
    flags: { beta: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off" } },
    $evaluators: { "edgeflags.list.0": ["a", "b"] },
    metadata: { team: "web", weight: 2, live: true },
  },
  tracking: { beta: ["exp:1", "ramp:2:0"] },
  rampRules: { beta: { if: [true, "on"] } },
  draft: { id: "d1", sampleRate: 0.5, flagSet: { flags: {} } },
  migration: { authority: "edgeflags", since: "2026-12-01T00:00:00.000Z", graceUntil: null },
};

type Mutation = [string, (s: Record<string, any>) => unknown];
const mutations: Mutation[] = [
  ["the snapshot itself", (s) => s],
  ["no optional fields", ({ tracking, rampRules, draft, migration, ...rest }) => rest],
  ["a flag set without $evaluators and metadata", (s) => ({ ...s, flagSet: { flags: s.flagSet.flags } })],
  ["another format", (s) => ({ ...s, format: 2 })],
  ["no format", ({ format, ...rest }) => rest],
  ["a numeric project", (s) => ({ ...s, project: 1 })],
  ["no environment", ({ environment, ...rest }) => rest],
  ["a negative version", (s) => ({ ...s, version: -1 })],
  ["a fractional version", (s) => ({ ...s, version: 1.5 })],
  ["a version as text", (s) => ({ ...s, version: "12" })],
  ["an unsafe integer version", (s) => ({ ...s, version: 2 ** 60 })],
  ["no etag", ({ etag, ...rest }) => rest],
  ["a null updatedAt", (s) => ({ ...s, updatedAt: null })],
  ["no flag set", ({ flagSet, ...rest }) => rest],
  ["flags as a list", (s) => ({ ...s, flagSet: { flags: [] } })],
  ["a flag that is not an object", (s) => ({ ...s, flagSet: { flags: { beta: true } } })],
  ["a flag that is a list", (s) => ({ ...s, flagSet: { flags: { beta: [] } } })],
  ["$evaluators as a list", (s) => ({ ...s, flagSet: { ...s.flagSet, $evaluators: [] } })],
  ["metadata with an object value", (s) => ({ ...s, flagSet: { ...s.flagSet, metadata: { a: {} } } })],
  ["metadata with a null value", (s) => ({ ...s, flagSet: { ...s.flagSet, metadata: { a: null } } })],
  ["tracking with a number", (s) => ({ ...s, tracking: { beta: [1] } })],
  ["tracking as a list", (s) => ({ ...s, tracking: [] })],
  ["rampRules as a string", (s) => ({ ...s, rampRules: "x" })],
  ["a draft rate over 1", (s) => ({ ...s, draft: { ...s.draft, sampleRate: 1.5 } })],
  ["a draft rate below 0", (s) => ({ ...s, draft: { ...s.draft, sampleRate: -0.1 } })],
  ["a draft without an id", (s) => ({ ...s, draft: { sampleRate: 0.5, flagSet: { flags: {} } } })],
  ["a draft with a broken flag set", (s) => ({ ...s, draft: { ...s.draft, flagSet: { flags: { x: 1 } } } })],
  ["an unknown authority", (s) => ({ ...s, migration: { ...s.migration, authority: "nobody" } })],
  ["a migration without graceUntil", (s) => ({ ...s, migration: { authority: "legacy", since: "x" } })],
  ["a migration with a graceUntil", (s) => ({ ...s, migration: { ...s.migration, graceUntil: "2026-12-09T00:00:00.000Z" } })],
  ["null", () => null],
  ["a list", () => []],
  ["a string", () => "snapshot"],
];

describe("readSnapshot", () => {
  it.each(mutations)("gives the schema's verdict on %s", (_name, mutate) => {
    const value = mutate(structuredClone(valid));
    const text = JSON.stringify(value);
    const read = readSnapshot(text);
    expect(read !== null).toBe(SnapshotSchema.safeParse(JSON.parse(text)).success);
    if (read) expect(read.version).toBe(valid.version);
  });

  it("throws on text that is not JSON, as a failed read does", () => {
    expect(() => readSnapshot('{"format":1,')).toThrow(SyntaxError);
  });
});
