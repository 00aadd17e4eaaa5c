/**
 * The client's mirror of the server's rules, checked against the server's own code: a flag key the
 * ingest would refuse is never put in a batch (it would make the server refuse the whole batch).
 */
import { describe, expect, it } from "vitest";
import { flagKeyProblem } from "../../../engine/names.ts";
import { reportableFlagKey, retryAfterMs } from "../src/wire.ts";

describe("flag keys", () => {
  it.each([
    "new-checkout",
    "a.b_c:d",
    "é",
    "x".repeat(256),
    "x".repeat(257),
    "",
    "has space",
    "a/b",
    "a?b",
    "a#b",
    "a%b",
    "tab\there",
    "\u007f",
    "__proto__",
    "constructor",
    "prototype",
    "Constructor",
  ])("%j is reportable exactly when edgeflags accepts it as a flag key", (key) => {
    expect(reportableFlagKey(key)).toBe(flagKeyProblem(key) === null);
  });
});

describe("Retry-After", () => {
  const now = Date.parse("2026-12-01T12:00:00Z");
  it.each([
    ["5", 5_000],
    [" 120 ", 120_000],
    ["Tue, 01 Dec 2026 12:00:30 GMT", 30_000],
    ["Tue, 01 Dec 2026 11:00:00 GMT", 0],
    ["soon", null],
    [null, null],
  ] as const)("%j waits %j ms", (header, ms) => {
    expect(retryAfterMs(header, now)).toBe(ms);
  });
});
