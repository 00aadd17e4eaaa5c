import { describe, expect, it } from "vitest";
import { compareSemVer, parseSemVer, semVerOperator } from "../../engine/sem-ver";

describe("sem_ver", () => {
  it.each<[unknown, string, unknown, boolean | null]>([
    ["1.0.0", "=", "1.0.0", true],
    ["1.0.0", "=", "1.0.1", false],
    ["1.0.0", "!=", "1.0.1", true],
    ["1.0.0", "<", "1.0.1", true],
    ["1.0.1", "<=", "1.0.1", true],
    ["2.0.0", ">", "1.99.99", true],
    ["1.0.0", ">=", "1.0.1", false],
    ["1.9.0", "^", "1.0.0", true],
    ["2.0.0", "^", "1.0.0", false],
    ["1.2.9", "~", "1.2.0", true],
    ["1.3.0", "~", "1.2.0", false],
    ["v1.0.0", "=", "1.0.0", true],
    ["V1.0.0", "=", "v1.0.0", true],
    ["1", "=", "1.0.0", true],
    ["1.2", "=", "1.2.0", true],
    [1, "=", "1.0.0", true],
    [1.2, ">", "1.1", true],
    ["1.0.0+build.7", "=", "1.0.0+other", true],
    // prerelease ordering, SemVer 2.0 §11
    ["1.0.0-alpha", "<", "1.0.0", true],
    ["1.0.0-alpha", "<", "1.0.0-alpha.1", true],
    ["1.0.0-alpha.1", "<", "1.0.0-alpha.beta", true],
    ["1.0.0-alpha.beta", "<", "1.0.0-beta", true],
    ["1.0.0-beta", "<", "1.0.0-beta.2", true],
    ["1.0.0-beta.2", "<", "1.0.0-beta.11", true],
    ["1.0.0-beta.11", "<", "1.0.0-rc.1", true],
    ["1.0.0-rc.1", "<", "1.0.0", true],
    // not versions, bad operators, bad arity: null
    ["2.0.0.0", "=", "2.0.0", null],
    ["not-a-version", "=", "1.0.0", null],
    ["01.0.0", "=", "1.0.0", null],
    ["1.0.0", "===", "1.0.0", null],
    ["1.0.0", "*", "1.0.0", null],
    [null, "=", "1.0.0", null],
    [true, "=", "1.0.0", null],
  ])("sem_ver(%j %s %j) = %j", (a, op, b, expected) => {
    expect(semVerOperator([a, op, b])).toBe(expected);
  });

  it.each([[[]], [["1.0.0", "="]], [["1.0.0", "=", "1.0.0", "x"]]])("wrong argument count %j → null", (args) => {
    expect(semVerOperator(args)).toBeNull();
  });

  it("parses prerelease identifiers as numbers or strings", () => {
    expect(parseSemVer("1.2.3-rc.10.x-y")).toEqual({ major: 1, minor: 2, patch: 3, prerelease: ["rc", 10, "x-y"] });
  });

  it("orders numeric identifiers before alphanumeric ones", () => {
    expect(compareSemVer(parseSemVer("1.0.0-1")!, parseSemVer("1.0.0-a")!)).toBeLessThan(0);
  });
});
