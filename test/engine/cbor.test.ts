import { describe, expect, it } from "vitest";
import { encodeCbor } from "../../engine/cbor";

const hex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

describe("deterministic CBOR", () => {
  // RFC 8949 Appendix A, plus the ADR's normalization (integral floats are integers; -0 is 0).
  it.each<[unknown, string]>([
    [0, "00"],
    [1, "01"],
    [23, "17"],
    [24, "1818"],
    [100, "1864"],
    [1000, "1903e8"],
    [1000000, "1a000f4240"],
    [1000000000000, "1b000000e8d4a51000"],
    [18446744073709551615n, "1bffffffffffffffff"],
    [-1, "20"],
    [-10, "29"],
    [-100, "3863"],
    [-1000, "3903e7"],
    [1.0, "01"],
    [-0.0, "00"],
    [1.1, "fb3ff199999999999a"],
    [1.5, "f93e00"],
    [65504.5, "fa477fe080"],
    [100000.5, "fa47c35040"],
    [3.4028234663852886e38, "fa7f7fffff"],
    [1e300, "fb7e37e43c8800759c"],
    [5.960464477539063e-8, "f90001"],
    [0.00006103515625, "f90400"],
    [-4.1, "fbc010666666666666"],
    [1e20, "fb4415af1d78b58c40"], // integral but beyond 2^64, and not exact in binary32
    [false, "f4"],
    [true, "f5"],
    [null, "f6"],
    ["", "60"],
    ["a", "6161"],
    ["IETF", "6449455446"],
    ['"\\', "62225c"],
    ["\u00fc", "62c3bc"],
    ["\u6c34", "63e6b0b4"],
    ["\ud800\udd51", "64f0908591"],
    [[], "80"],
    [[1, 2, 3], "83010203"],
    [[1, [2, 3], [4, 5]], "8301820203820405"],
    [{}, "a0"],
    [{ a: 1, b: [2, 3] }, "a26161016162820203"],
    // keys sorted by their encoded bytes: shorter first, then bytewise
    [{ aa: 2, z: 1 }, "a2617a01626161" + "02"],
    [{ b: 2, a: 1 }, "a2616101616202"],
  ])("vector %#: %s", (value, expected) => {
    expect(hex(encodeCbor(value))).toBe(expected);
  });

  it("encodes integers beyond 2^53 exactly", () => {
    expect(hex(encodeCbor(2 ** 60))).toBe("1b1000000000000000");
    expect(hex(encodeCbor(-(2 ** 63)))).toBe("3b7fffffffffffffff");
  });

  it("encodes integral values outside [-2^63, 2^64) as floats", () => {
    expect(hex(encodeCbor(2 ** 64))).toBe("fa5f800000");
  });
});
