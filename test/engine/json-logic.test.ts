import { describe, expect, it } from "vitest";
import { RuleError } from "../../engine/json-logic";
import { apply } from "./helpers";

type Row = [string, unknown, Record<string, unknown>, unknown];

// [name, rule, context, expected] — json-logic-js semantics (https://jsonlogic.com/operations.html).
const OPERATORS: Row[] = [
  ["var dotted", { var: "user.name" }, { user: { name: "ada" } }, "ada"],
  ["var array index", { var: "list.1" }, { list: ["a", "b"] }, "b"],
  ["var default when missing", { var: ["plan", "free"] }, {}, "free"],
  ["var null leaf is not missing", { var: ["plan", "free"] }, { plan: null }, null],
  ["var missing → null", { var: "nope.deeper" }, {}, null],
  ["var never reads the prototype", { var: "constructor" }, {}, null],
  ["var numeric path", { var: 0 }, { "0": "zero" }, "zero"],
  ["var computed path", { var: { cat: ["a", ".b"] } }, { a: { b: 7 } }, 7],
  ["var $flagd.flagKey", { var: "$flagd.flagKey" }, {}, "flag"],
  ["var $flagd.timestamp", { var: "$flagd.timestamp" }, {}, 1_700_000_000],
  ["var $flagd overrides the context", { var: "$flagd.flagKey" }, { $flagd: { flagKey: "spoofed" } }, "flag"],
  ["var $flagd unknown property", { var: ["$flagd.other", "d"] }, {}, "d"],
  ["var targetingKey", { var: "targetingKey" }, { targetingKey: "u1" }, "u1"],
  ["missing", { missing: ["a", "b", "c"] }, { a: 1, c: "" }, ["b", "c"]],
  ["missing with array", { missing: [["a", "b"]] }, { b: 0 }, ["a"]],
  ["missing_some enough", { missing_some: [1, ["a", "b"]] }, { a: 1 }, []],
  ["missing_some not enough", { missing_some: [2, ["a", "b", "c"]] }, { a: 1 }, ["b", "c"]],
  ["if then", { if: [true, "yes", "no"] }, {}, "yes"],
  ["if else", { if: [false, "yes", "no"] }, {}, "no"],
  ["if chain", { if: [false, 1, false, 2, 3] }, {}, 3],
  ["if no else → null", { if: [false, "yes"] }, {}, null],
  ["if single", { if: ["only"] }, {}, "only"],
  ["if empty", { if: [] }, {}, null],
  ["?:", { "?:": [true, 1, 2] }, {}, 1],
  ["if [] is falsy", { if: [[], "yes", "no"] }, {}, "no"],
  ["if '0' is truthy", { if: ["0", "yes", "no"] }, {}, "yes"],
  ["== loose", { "==": [1, "1"] }, {}, true],
  ["== null/undefined", { "==": [null, { var: "nope" }] }, {}, true],
  ["== 0 and false", { "==": [0, false] }, {}, true],
  ["=== strict", { "===": [1, "1"] }, {}, false],
  ["!= loose", { "!=": [1, "1"] }, {}, false],
  ["!== strict", { "!==": [1, "1"] }, {}, true],
  ["! value", { "!": true }, {}, false],
  ["! [[]]", { "!": [[]] }, {}, true],
  ["!! array", { "!!": [["a"]] }, {}, true],
  ["!! '0'", { "!!": ["0"] }, {}, true],
  ["or returns first truthy", { or: [false, 0, "a", "b"] }, {}, "a"],
  ["or returns last falsy", { or: [false, 0] }, {}, 0],
  ["and returns first falsy", { and: [true, "", 3] }, {}, ""],
  ["and returns last", { and: [true, "a", 3] }, {}, 3],
  [">", { ">": [2, 1] }, {}, true],
  [">=", { ">=": [1, 1] }, {}, true],
  ["<", { "<": [1, 2] }, {}, true],
  ["<=", { "<=": [2, 1] }, {}, false],
  ["< between", { "<": [1, 2, 3] }, {}, true],
  ["< between fails", { "<": [1, 4, 3] }, {}, false],
  ["<= between", { "<=": [1, 1, 3] }, {}, true],
  ["> with string numbers", { ">": ["10", 9] }, {}, true],
  ["max", { max: [1, 3, 2] }, {}, 3],
  ["min", { min: [1, 3, 2] }, {}, 1],
  ["+", { "+": [4, 2] }, {}, 6],
  ["+ parses strings", { "+": ["3.14"] }, {}, 3.14],
  ["+ variadic", { "+": [2, 2, 2, 2, 2] }, {}, 10],
  ["- binary", { "-": [4, 2] }, {}, 2],
  ["- unary", { "-": [2] }, {}, -2],
  ["*", { "*": [2, 3, 4] }, {}, 24],
  ["/", { "/": [4, 2] }, {}, 2],
  ["%", { "%": [101, 2] }, {}, 1],
  ["map", { map: [{ var: "xs" }, { "*": [{ var: "" }, 2] }] }, { xs: [1, 2, 3] }, [2, 4, 6]],
  ["map non-array", { map: [{ var: "nope" }, { var: "" }] }, {}, []],
  ["filter", { filter: [{ var: "xs" }, { "%": [{ var: "" }, 2] }] }, { xs: [1, 2, 3] }, [1, 3]],
  ["reduce", { reduce: [{ var: "xs" }, { "+": [{ var: "current" }, { var: "accumulator" }] }, 0] }, { xs: [1, 2, 3, 4] }, 10],
  ["reduce non-array", { reduce: [{ var: "nope" }, { var: "current" }, 5] }, {}, 5],
  ["all", { all: [[1, 2, 3], { ">": [{ var: "" }, 0] }] }, {}, true],
  ["all empty is false", { all: [[], { ">": [{ var: "" }, 0] }] }, {}, false],
  ["none", { none: [[-3, -2], { ">": [{ var: "" }, 0] }] }, {}, true],
  ["some", { some: [[-1, 0, 1], { ">": [{ var: "" }, 0] }] }, {}, true],
  [
    "some over objects",
    { some: [{ var: "pies" }, { "==": [{ var: "filling" }, "apple"] }] },
    { pies: [{ filling: "pumpkin" }, { filling: "apple" }] },
    true,
  ],
  ["merge", { merge: [[1, 2], 3, [4, [5]]] }, {}, [1, 2, 3, 4, [5]]],
  ["in constant array", { in: ["Ringo", ["John", "Paul", "George", "Ringo"]] }, {}, true],
  ["in constant array miss", { in: ["Yoko", ["John", "Paul"]] }, {}, false],
  ["in is strict on arrays", { in: ["1", [1, 2]] }, {}, false],
  ["in string", { in: ["Spring", "Springfield"] }, {}, true],
  ["in dynamic array", { in: [{ var: "a" }, { var: "list" }] }, { a: 2, list: [1, 2] }, true],
  ["in dynamic string", { in: ["@faas.com", { var: "email" }] }, { email: "x@faas.com" }, true],
  ["in non-container", { in: ["a", { var: "nope" }] }, {}, false],
  ["cat", { cat: ["I love", " pie", 3] }, {}, "I love pie3"],
  ["substr", { substr: ["jsonlogic", 4] }, {}, "logic"],
  ["substr negative start", { substr: ["jsonlogic", -5] }, {}, "logic"],
  ["substr length", { substr: ["jsonlogic", 1, 3] }, {}, "son"],
  ["substr negative length", { substr: ["jsonlogic", 4, -2] }, {}, "log"],
  ["log passes through", { log: "apple" }, {}, "apple"],
  ["literal array of rules", [{ var: "a" }, 2], { a: 1 }, [1, 2]],
  ["empty object literal", {}, {}, {}],
  ["starts_with", { starts_with: [{ var: "id" }, "abc"] }, { id: "abcdef" }, true],
  ["starts_with miss", { starts_with: [{ var: "id" }, "abc"] }, { id: "xabc" }, false],
  ["starts_with non-string → null", { starts_with: [{ var: "id" }, "abc"] }, { id: 123 }, null],
  ["starts_with wrong arity → null", { starts_with: ["abc"] }, {}, null],
  ["ends_with", { ends_with: [{ var: "email" }, "@company.com"] }, { email: "a@company.com" }, true],
  ["ends_with non-string → null", { ends_with: [1, "1"] }, {}, null],
  ["sem_ver", { sem_ver: [{ var: "v" }, ">=", "1.2.0"] }, { v: "1.10.0" }, true],
  ["sem_ver invalid → null", { sem_ver: [{ var: "v" }, ">=", "1.2.0"] }, { v: "x" }, null],
];

describe("JsonLogic operators", () => {
  it.each(OPERATORS)("%s", (_name, rule, context, expected) => {
    expect(apply(rule, context)).toStrictEqual(expected);
  });

  it("$ref resolves to the shared evaluator", () => {
    const evaluators = { is_admin: { in: [{ var: "email" }, ["a@x.io", "b@x.io"]] } };
    expect(apply({ if: [{ $ref: "is_admin" }, "yes", "no"] }, { email: "b@x.io" }, { evaluators })).toBe("yes");
    expect(apply({ if: [{ $ref: "is_admin" }, "yes", "no"] }, { email: "c@x.io" }, { evaluators })).toBe("no");
  });

  it("$ref inside an evaluator resolves too", () => {
    const evaluators = { a: { $ref: "b" }, b: { "==": [{ var: "x" }, 1] } };
    expect(apply({ $ref: "a" }, { x: 1 }, { evaluators })).toBe(true);
  });

  it.each<[string, unknown, Record<string, unknown>, RegExp]>([
    ["unknown operator", { invalid: [1] }, {}, /unknown operator "invalid"/],
    ["nested unknown operator", { if: [{ nope: [] }, 1, 2] }, {}, /^if\[0\]\.nope: unknown operator/],
    ["two operators in one object", { "==": [1, 1], "!=": [1, 2] }, {}, /exactly one operator/],
    ["unknown $ref", { $ref: "missing" }, { present: true }, /\$ref "missing" does not name an evaluator in \$evaluators \(present\)/],
    ["$ref not a string", { $ref: 1 }, {}, /\$ref must name an evaluator/],
    ["$ref cycle", { $ref: "a" }, { a: { $ref: "b" }, b: { or: [{ $ref: "a" }] } }, /\$ref cycle: a → b → a/],
    ["fractional not an array", { fractional: "x" }, {}, /fractional takes an array/],
    ["fractional without buckets", { fractional: [{ var: "k" }] }, {}, /at least one bucket/],
    ["fractional bucket not an array", { fractional: [["a", 1], "b"] }, {}, /fractional\[1\]: a fractional bucket must be an array/],
    ["fractional decimal weight", { fractional: [["a", 1.5]] }, {}, /must be an integer, got 1.5/],
    ["fractional string weight", { fractional: [["a", "25"]] }, {}, /must be an integer, got "25"/],
    [
      "fractional weights too large",
      {
        fractional: [
          ["a", 2147483647],
          ["b", 1],
        ],
      },
      {},
      /add up to 2147483648/,
    ],
    ["fractional bucket too long", { fractional: [["a", 1, 2]] }, {}, /\[variant\] or \[variant, weight\]/],
  ])("refuses to compile: %s", (_name, rule, evaluators, message) => {
    expect(() => apply(rule, {}, { evaluators })).toThrow(RuleError);
    expect(() => apply(rule, {}, { evaluators })).toThrow(message);
  });
});
