/**
 * The rule builder's form (admin/ui/rule-form.ts): every flag of the conformance flag sets and the
 * bench workload goes flag → form → posted fields → flag unchanged; an editor's fields build the
 * issue's "country in [CA, US] → on, else 10% on"; renames follow; bad values are refused by field.
 */
import { describe, expect, inject, it } from "vitest";
import { generateWorkload } from "../bench/workload.mjs";
import { editForm, formFields, formToFlag, readForm, toForm, type BuiltFlag } from "../admin/ui/rule-form";
import { sameJson } from "../admin/ui/rule-model";
import { mergedTestbedFlags, testbedFlagFiles, testbedJson } from "./conformance/testbed-files";

function corpus(): [string, BuiltFlag][] {
  const out: [string, BuiltFlag][] = [];
  const add = (source: string, set: unknown) => {
    for (const [key, def] of Object.entries((set as { flags?: Record<string, BuiltFlag> }).flags ?? {}))
      out.push([`${source}/${key}`, def]);
  };
  const payload = inject("conformance");
  if (payload.found) {
    for (const file of testbedFlagFiles(payload)) add(file, testbedJson(payload, file));
    add("allFlags", mergedTestbedFlags(payload));
  }
  const workload = generateWorkload();
  add("workload", workload.segment);
  add("workload-inline", workload.inline);
  return out;
}

const pick = (f: BuiltFlag) => ({
  variants: f.variants,
  defaultVariant: f.defaultVariant ?? null,
  targeting: f.targeting ?? null,
  off: f.metadata?.["edgeflags.offVariant"] ?? null,
});

describe("the rule builder's form", () => {
  it("round-trips every conformance and workload flag through the posted fields unchanged", () => {
    const flags = corpus();
    expect(flags.length).toBeGreaterThan(200);
    let same = 0;
    for (const [name, flag] of flags) {
      const back = formToFlag(readForm(formFields(toForm(flag))), flag);
      expect({ name, ok: back.ok }).toEqual({ name, ok: true });
      if (!back.ok) continue;
      if (!sameJson(pick(back.flag), pick(flag))) expect({ name, flag: pick(back.flag) }).toEqual({ name, flag: pick(flag) });
      same++;
    }
    expect(same).toBe(flags.length);
  });

  it("builds country in [CA, US] → on, else 10% on from an editor's fields", () => {
    const stored: BuiltFlag = { variants: { on: true, off: false }, defaultVariant: "off" };
    let form = editForm(toForm(stored), "add-rule");
    const fields = formFields(form);
    Object.assign(fields, {
      "r0.c0.attr": "country",
      "r0.c0.op": "in",
      "r0.c0.value": "CA, US",
      "r0.serve": "variant",
      "r0.variant": "on",
      "else.serve": "split",
      "else.b0.weight": "10",
      "else.b1.weight": "90",
    });
    form = readForm(fields);
    const built = formToFlag(form, stored);
    expect(built).toMatchObject({
      ok: true,
      flag: {
        targeting: {
          if: [
            { in: [{ var: "country" }, ["CA", "US"]] },
            "on",
            {
              fractional: [
                ["on", 10],
                ["off", 90],
              ],
            },
          ],
        },
      },
    });
  });

  it("renames a variant everywhere the rules, the default and the off variant name it", () => {
    const stored: BuiltFlag = {
      variants: { on: true, off: false },
      defaultVariant: "off",
      metadata: { "edgeflags.offVariant": "off" },
      targeting: {
        if: [
          { "==": [{ var: "plan" }, "pro"] },
          "on",
          {
            fractional: [
              ["on", 1],
              ["off", 3],
            ],
          },
        ],
      },
    };
    const fields = formFields(toForm(stored));
    fields["v1.name"] = "disabled";
    const built = formToFlag(readForm(fields), stored);
    expect(built.ok && built.flag).toEqual({
      variants: { on: true, disabled: false },
      defaultVariant: "disabled",
      metadata: { "edgeflags.offVariant": "disabled" },
      targeting: {
        if: [
          { "==": [{ var: "plan" }, "pro"] },
          "on",
          {
            fractional: [
              ["on", 1],
              ["disabled", 3],
            ],
          },
        ],
      },
    });
  });

  it.each<[string, Record<string, string>, string]>([
    ["a boolean variant that is not one", { "v0.value": "yes" }, "v0.value"],
    ["a number where a comparison needs one", { "r0.c0.op": ">", "r0.c0.value": "ten" }, "r0.c0.value"],
    ["no attribute", { "r0.c0.attr": "" }, "r0.c0.attr"],
    ["an empty list", { "r0.c0.value": " , " }, "r0.c0.value"],
    ["a negative weight", { "else.serve": "split", "else.b0.weight": "-1" }, "else.b0.weight"],
    ["two variants with one name", { "v1.name": "on" }, "v1.name"],
    ["raw JSON that is not JSON", { "r0.c0.op": "raw", "r0.c0.json": "{nope" }, "r0.c0.json"],
  ])("refuses %s, beside the field", (_, change, field) => {
    const stored: BuiltFlag = {
      variants: { on: true, off: false },
      defaultVariant: "off",
      targeting: { if: [{ in: [{ var: "country" }, ["CA"]] }, "on"] },
    };
    const fields = { ...formFields(toForm(stored)), ...change };
    const built = formToFlag(readForm(fields), stored);
    expect(built.ok).toBe(false);
    if (!built.ok) expect(Object.keys(built.errors)).toContain(field);
  });

  it("reads quoted list items, and numbers as numbers", () => {
    const stored: BuiltFlag = { variants: { a: "x", b: "y" }, defaultVariant: "a" };
    const fields = formFields(editForm(toForm(stored), "add-rule"));
    Object.assign(fields, { "r0.c0.attr": "city", "r0.c0.value": '"New York, NY", Paris', "r0.variant": "b" });
    expect(formToFlag(readForm(fields), stored)).toMatchObject({
      ok: true,
      flag: { targeting: { if: [{ in: [{ var: "city" }, ["New York, NY", "Paris"]] }, "b"] } },
    });
    Object.assign(fields, { "r0.c0.attr": "tier", "r0.c0.value": "1, 2", "r0.c0.type": "number" });
    expect(formToFlag(readForm(fields), stored)).toMatchObject({
      ok: true,
      flag: { targeting: { if: [{ in: [{ var: "tier" }, [1, 2]] }, "b"] } },
    });
  });
});
