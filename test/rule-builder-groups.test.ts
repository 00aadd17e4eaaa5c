/**
 * AND/OR groups inside a rule, in the rule builder: a group row is edited in the form (its own
 * join, its conditions added and removed); a group inside that is kept as JSON and still written
 * back exactly. Targeting made through the API, opened and saved unedited, is identical; the flag
 * page renders group rows whose posted fields save nothing new.
 */
import { describe, expect, it } from "vitest";
import { editForm, formFields, formToFlag, readForm, toForm, type BuiltFlag } from "../admin/ui/rule-form";
import type { JsonValue } from "../engine/types";
import { consoleRequest, consoleSignIn, formFieldsOf } from "./console-helpers";
import { call, setupProject } from "./helpers";

const country: JsonValue = { in: [{ var: "country" }, ["CA", "US"]] };
const staff: JsonValue = { ends_with: [{ var: "email" }, "@example.com"] };
const beta: JsonValue = { "==": [{ var: "plan" }, "beta"] };
const deep: JsonValue = { and: [{ ">=": [{ var: "age" }, 18] }, { "!": { starts_with: [{ var: "email" }, "x"] } }] };

/** Targeting with groups one and two levels inside a rule's own group. */
const nested: JsonValue = {
  if: [{ and: [country, { or: [staff, beta, deep] }] }, "on", { or: [{ and: [beta] }] }, "off", "off"],
};

const flag = (targeting: JsonValue): BuiltFlag => ({ variants: { on: true, off: false }, defaultVariant: "off", targeting });

/** The flag back from the form as the browser would post it. */
const posted = (form: ReturnType<typeof toForm>, stored: BuiltFlag) => formToFlag(readForm(formFields(form)), stored);

describe("groups inside a rule", () => {
  it("are rows of the form, one level edited and deeper ones kept as JSON", () => {
    const form = toForm(flag(nested));
    const group = form.rules[0]!.conditions[1]!;
    expect(group.op).toBe("group");
    expect(group.join).toBe("or");
    expect(group.items!.map((c) => c.op)).toEqual(["ends_with", "==", "raw"]);
    expect(JSON.parse(group.items![2]!.json)).toEqual(deep);
    const fields = formFields(form);
    expect(fields).toMatchObject({ "r0.c1.op": "group", "r0.c1.join": "or", "r0.c1.cn": "3", "r0.c1.c0.attr": "email" });
  });

  it.each<[string, JsonValue]>([
    ["one group in the rule's group", nested],
    ["a group as the rule's only condition", { if: [{ or: [{ and: [country, staff] }] }, "on"] }],
    ["three levels", { if: [{ and: [{ or: [{ and: [{ or: [beta, staff] }, country] }] }] }, "on", "off"] }],
  ])("round-trip unchanged: %s", (_label, targeting) => {
    const back = posted(toForm(flag(targeting)), flag(targeting));
    expect(back.ok && back.flag.targeting).toEqual(targeting);
  });

  it("take an edit: the group's join, a condition added to it, one removed", () => {
    const stored = flag(nested);
    let form = editForm(toForm(stored), "add-condition:0:1");
    expect(form.rules[0]!.conditions[1]!.items).toHaveLength(4);
    const fields = formFields(form);
    Object.assign(fields, { "r0.c1.join": "and", "r0.c1.c3.attr": "country", "r0.c1.c3.op": "in", "r0.c1.c3.value": "MX" });
    form = editForm(readForm(fields), "remove-condition:0:1:2");
    const back = posted(form, stored);
    expect(back.ok && back.flag.targeting).toEqual({
      if: [{ and: [country, { and: [staff, beta, { in: [{ var: "country" }, ["MX"]] }] }] }, "on", { or: [{ and: [beta] }] }, "off", "off"],
    });
  });

  it("are added to a rule with one condition, and keep at least one row", () => {
    const stored = flag({ if: [country, "on"] });
    let form = editForm(toForm(stored), "add-group:0");
    const fields = formFields(form);
    Object.assign(fields, { "r0.c1.c0.attr": "plan", "r0.c1.c0.op": "==", "r0.c1.c0.value": "beta" });
    form = editForm(readForm(fields), "remove-condition:0:1:0");
    expect(form.rules[0]!.conditions[1]!.items).toHaveLength(1);
    const back = posted(form, stored);
    expect(back.ok && back.flag.targeting).toEqual({ if: [{ and: [country, { or: [beta] }] }, "on"] });
  });

  it("refuse a bad value inside a group beside its field", () => {
    const stored = flag(nested);
    const fields = formFields(toForm(stored));
    Object.assign(fields, { "r0.c1.c1.op": ">=", "r0.c1.c1.value": "many" });
    const back = formToFlag(readForm(fields), stored);
    expect(back.ok).toBe(false);
    if (!back.ok) expect(back.errors["r0.c1.c1.value"]).toContain("is not a number");
  });
});

describe("groups on the flag page", () => {
  it("render as rows whose unedited fields save nothing; an edit inside a group is saved", async () => {
    await setupProject("rules-groups", { flags: {} });
    const api = "/admin/v1/projects/rules-groups/environments/production/flags/nested";
    const created = await call("POST", "/admin/v1/projects/rules-groups/environments/production/flags", {
      body: { key: "nested", state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off", targeting: nested },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const cookie = await consoleSignIn("rules-groups");
    const path = "/console/p/rules-groups/flags/nested";
    const page = await consoleRequest("GET", `${path}?env=production`, cookie);
    expect(page.text).toContain("Group 2 of rule 1");
    const fields = await formFieldsOf(page.text, "form[data-rule-builder]");
    expect(fields).toMatchObject({ "r0.c1.op": "group", "r0.c1.join": "or", "r0.c1.cn": "3" });
    const unchanged = await consoleRequest("POST", `${path}/builder`, cookie, { ...fields, op: "save" });
    expect(unchanged.headers.get("location")).toContain("done=unchanged");
    expect((await call("GET", api)).body.version).toBe(created.body.version);

    const saved = await consoleRequest("POST", `${path}/builder`, cookie, { ...fields, "r0.c1.c1.value": "gold", op: "save" });
    expect(saved.status, saved.text.replace(/[\s\S]*?(Not saved[^<]*)[\s\S]*/, "$1").slice(0, 500)).toBe(303);
    const stored = (await call("GET", api)).body.targeting;
    expect(stored.if[0].and[1]).toEqual({ or: [staff, { "==": [{ var: "plan" }, "gold"] }, deep] });
  });
});
