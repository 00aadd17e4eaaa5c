/**
 * The flag list and flag page read a flag's rules in plain words; "try a context" says which rule
 * decided; the rule builder saves the same targeting the API stores, and an unedited save writes
 * nothing.
 */
import { describe, expect, it } from "vitest";
import type { FlagSet, JsonValue } from "../engine/types";
import { call, setupProject } from "./helpers";
import { consoleRequest, consoleSignIn, formFieldsOf } from "./console-helpers";

const rules: JsonValue = {
  if: [
    { $ref: "staff" },
    "on",
    { in: [{ var: "country" }, ["CA", "US", "MX"]] },
    "on",
    {
      fractional: [
        ["on", 20],
        ["off", 80],
      ],
    },
  ],
};
const flags: FlagSet = {
  flags: {
    rollout: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off", targeting: rules },
    plain: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off" },
  },
};

async function project(name: string): Promise<string> {
  await setupProject(name, { flags: {} });
  const segment = await call("PUT", `/admin/v1/projects/${name}/segments/staff`, {
    body: { description: "Staff", rule: { ends_with: [{ var: "email" }, "@example.com"] } },
  });
  expect(segment.status, JSON.stringify(segment.body)).toBe(200);
  for (const [key, def] of Object.entries(flags.flags)) {
    const put = await call("POST", `/admin/v1/projects/${name}/environments/production/flags`, { body: { key, ...def } });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
  }
  return consoleSignIn(name);
}

const decode = (html: string) =>
  html
    .replace(/&gt;/g, ">")
    .replace(/&lt;/g, "<")
    .replace(/&amp;/g, "&")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");

/** The console's "try a context" answer to `form`, posted to `path`, decoded. */
async function tried(path: string, cookie: string, form: Record<string, string>): Promise<string> {
  return decode((await consoleRequest("POST", path, cookie, form)).text);
}

describe("rules in plain words", () => {
  it("on the flag list and the flag page, segments described by their rule", async () => {
    const cookie = await project("rules-words");
    const list = decode((await consoleRequest("GET", "/console/p/rules-words/flags?env=production", cookie)).text);
    for (const line of ["staff (email ends with @example.com) → on", "country in CA, US, MX → on", "everyone else: 20% on, 80% off"]) {
      expect(list).toContain(`<li>${line}</li>`);
    }
    const page = decode((await consoleRequest("GET", "/console/p/rules-words/flags/rollout?env=production", cookie)).text);
    expect(page).toContain("<li>country in CA, US, MX → on</li>");
  });

  it('"try a context" says which rule decided, in every environment', async () => {
    const cookie = await project("rules-try");
    const res = await consoleRequest("POST", "/console/p/rules-try/flags/rollout/try", cookie, {
      env: "production",
      context: JSON.stringify({ targetingKey: "u1", country: "MX" }),
    });
    expect(res.status).toBe(200);
    const html = decode(res.text);
    expect(html).toContain("rule 2: country in CA, US, MX → on");
    expect(html).toContain("absent here");
    // The reason in words, its OpenFeature code beside it.
    expect(html).toContain('<td data-label="Reason">a rule or individual target matched<span class="meta"> (TARGETING_MATCH)</span></td>');
    const staff = await tried("/console/p/rules-try/flags/rollout/try", cookie, {
      env: "production",
      context: JSON.stringify({ targetingKey: "u1", email: "a@example.com" }),
    });
    expect(staff).toContain("rule 1: staff (email ends with @example.com) → on");
    const other = await tried("/console/p/rules-try/flags/rollout/try", cookie, {
      env: "production",
      context: JSON.stringify({ targetingKey: "u1", country: "FR" }),
    });
    expect(other).toMatch(/everyone else: 20% on, 80% off \(bucket (on|off)\)/);
  });
});

describe('"try a context" without JSON', () => {
  it("offers a targeting key field and one field per attribute the rules read, through segments, and answers from them", async () => {
    const cookie = await project("rules-try-fields");
    const page = await consoleRequest("GET", "/console/p/rules-try-fields/flags/rollout?env=production", cookie);
    const fields = await formFieldsOf(page.text, 'form[action$="/try"]');
    // email from the staff segment's rule, country from the flag's own; the JSON box starts empty.
    expect(Object.keys(fields).sort()).toEqual(["attr.country", "attr.email", "context", "env", "targetingKey"]);
    expect(fields["context"]).toBe("");
    expect(page.text).toContain('<label for="try-key">User or customer id');
    const staff = await consoleRequest("POST", "/console/p/rules-try-fields/flags/rollout/try", cookie, {
      ...fields,
      targetingKey: "acme-42",
      "attr.email": "ana@example.com",
    });
    expect(staff.status).toBe(200);
    const html = decode(staff.text);
    expect(html).toContain("rule 1: staff (email ends with @example.com) → on");
    // What was typed stays in the form.
    expect(html).toContain('value="acme-42"');
    expect(html).toContain('value="ana@example.com"');
    // A typed field wins over the same attribute in the JSON box.
    const typed = await tried("/console/p/rules-try-fields/flags/rollout/try", cookie, {
      ...fields,
      context: JSON.stringify({ targetingKey: "u1", country: "FR" }),
      "attr.country": "MX",
    });
    expect(typed).toContain("rule 2: country in CA, US, MX → on");
  });

  it("reads a number attribute as a number and says so when it is not one", async () => {
    const name = "rules-try-number";
    await setupProject(name, {
      flags: {
        big: {
          state: "ENABLED",
          variants: { on: true, off: false },
          defaultVariant: "off",
          targeting: { if: [{ ">=": [{ var: "seats" }, 50] }, "on", "off"] },
        },
      },
    });
    const cookie = await consoleSignIn(name);
    const page = await consoleRequest("GET", `/console/p/${name}/flags/big?env=production`, cookie);
    expect(page.text).toMatch(/<label for="try-attr-0">seats<span class="hint"> \(a number\)<\/span><\/label>/);
    const on = await tried(`/console/p/${name}/flags/big/try`, cookie, {
      env: "production",
      targetingKey: "acme-42",
      "attr.seats": "120",
    });
    expect(on).toMatch(/<td data-label="Variant"><code>on<\/code><\/td>/);
    const bad = await consoleRequest("POST", `/console/p/${name}/flags/big/try`, cookie, {
      env: "production",
      targetingKey: "acme-42",
      "attr.seats": "lots",
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("seats is compared with numbers: type a number, e.g. 42.");
    expect(bad.text).not.toContain('id="try-results"');
  });
});

describe("the rule builder", () => {
  const path = "/console/p/rules-build/flags/checkout";
  const api = "/admin/v1/projects/rules-build/environments/production/flags/checkout";

  it("opens a flag made through the API and, saved unedited, writes nothing", async () => {
    const cookie = await project("rules-noop");
    for (const key of ["rollout", "plain"]) {
      const before = await call("GET", `/admin/v1/projects/rules-noop/environments/production/flags/${key}`);
      const page = await consoleRequest("GET", `/console/p/rules-noop/flags/${key}?env=production`, cookie);
      const fields = await formFieldsOf(page.text, "form[data-rule-builder]");
      expect(fields["rn"]).toBe(key === "rollout" ? "2" : "0");
      const saved = await consoleRequest("POST", `/console/p/rules-noop/flags/${key}/builder`, cookie, { ...fields, op: "save" });
      expect(saved.status).toBe(303);
      expect(saved.headers.get("location")).toContain("done=unchanged");
      const after = await call("GET", `/admin/v1/projects/rules-noop/environments/production/flags/${key}`);
      expect(after.body.version).toBe(before.body.version);
      expect(after.body).toEqual(before.body);
    }
    const audit = await call("GET", "/admin/v1/projects/rules-noop/audit?limit=50");
    // Only the setup: no flag was written.
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual([
      "flag.created",
      "flag.created",
      "segment.changed",
      "segment.changed",
      "segment.changed",
      "key.created",
      "project.created",
    ]);
  });

  it("builds country in [CA, US] → on, else 10% on from the form, and the OFREP answer follows", async () => {
    await setupProject("rules-build", {
      flags: { checkout: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off" } },
    });
    const key = (await call("POST", "/admin/v1/projects/rules-build/environments/production/keys", { body: { scope: "client" } })).body.key;
    const cookie = await consoleSignIn("rules-build");
    const opened = await consoleRequest("GET", `${path}?env=production`, cookie);
    const added = await consoleRequest("POST", `${path}/builder`, cookie, {
      ...(await formFieldsOf(opened.text, "form[data-rule-builder]")),
      op: "add-rule",
    });
    expect(added.status).toBe(200);
    const fields = await formFieldsOf(added.text, "form[data-rule-builder]");
    expect(fields["rn"]).toBe("1");
    Object.assign(fields, {
      "r0.c0.attr": "country",
      "r0.c0.op": "in",
      "r0.c0.value": "CA, US",
      "r0.serve": "variant",
      "r0.variant": "on",
      "else.serve": "split",
      "else.b0.weight": "10",
      "else.b1.weight": "90",
      reason: "north america first",
      op: "save",
    });
    const saved = await consoleRequest("POST", `${path}/builder`, cookie, fields);
    expect(saved.status, saved.text.slice(0, 2000)).toBe(303);
    expect(saved.status, saved.text.replace(/[\s\S]*?(Not saved[^<]*)[\s\S]*/, "$1").slice(0, 500)).toBe(303);
    expect(saved.headers.get("location")).toContain("done=saved");
    const stored = await call("GET", api);
    expect(stored.body.targeting).toEqual({
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
    });
    const page = decode((await consoleRequest("GET", `${path}?env=production`, cookie)).text);
    expect(page).toContain("<li>country in CA, US → on</li>");
    expect(page).toContain("<li>everyone else: 10% on, 90% off</li>");
    const { drainOutbox, evaluate } = await import("./helpers");
    await drainOutbox("rules-build");
    const answer = await evaluate(key, "checkout", { targetingKey: "user-1", country: "CA" });
    expect(answer.body).toMatchObject({ value: true, variant: "on", reason: "TARGETING_MATCH" });
  });

  it("refuses a bad value beside its field and writes nothing", async () => {
    await setupProject("rules-bad", {
      flags: { checkout: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off" } },
    });
    const cookie = await consoleSignIn("rules-bad");
    const opened = await consoleRequest("GET", "/console/p/rules-bad/flags/checkout?env=production", cookie);
    const fields = await formFieldsOf(opened.text, "form[data-rule-builder]");
    const added = await consoleRequest("POST", "/console/p/rules-bad/flags/checkout/builder", cookie, { ...fields, op: "add-rule" });
    const next = await formFieldsOf(added.text, "form[data-rule-builder]");
    Object.assign(next, { "r0.c0.attr": "age", "r0.c0.op": ">=", "r0.c0.value": "eighteen", op: "save" });
    const refused = await consoleRequest("POST", "/console/p/rules-bad/flags/checkout/builder", cookie, next);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('id="rb-r0-c0-value-error"');
    expect(decode(refused.text)).toContain('"eighteen" is not a number');
    const stored = await call("GET", "/admin/v1/projects/rules-bad/environments/production/flags/checkout");
    expect(stored.body.targeting).toBeUndefined();
  });

  it("adds pasted targets and removes one, through POST …/targets", async () => {
    await setupProject("rules-targets", {
      flags: { checkout: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off" } },
    });
    const cookie = await consoleSignIn("rules-targets");
    const added = await consoleRequest("POST", "/console/p/rules-targets/flags/checkout/targets", cookie, {
      env: "production",
      ids: "u1\nu2, u3 u2",
      variant: "on",
      action: "add",
    });
    expect(added.status).toBe(303);
    let stored = await call("GET", "/admin/v1/projects/rules-targets/environments/production/flags/checkout");
    expect(stored.body.targets).toEqual({ on: ["u1", "u2", "u3"] });
    const page = decode((await consoleRequest("GET", "/console/p/rules-targets/flags/checkout?env=production", cookie)).text);
    expect(page).toContain("<li>3 individual targets → on</li>");
    await consoleRequest("POST", "/console/p/rules-targets/flags/checkout/targets", cookie, { env: "production", remove: "u2" });
    stored = await call("GET", "/admin/v1/projects/rules-targets/environments/production/flags/checkout");
    expect(stored.body.targets).toEqual({ on: ["u1", "u3"] });
  });
});

describe("saving from the flag page keeps what the page does not edit", () => {
  it("keeps prerequisites, from the builder and from the JSON editor", async () => {
    await setupProject("rules-prereq", {
      flags: {
        base: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
        child: {
          state: "ENABLED",
          variants: { on: true, off: false },
          defaultVariant: "off",
          prerequisites: [{ flag: "base", variant: "on" }],
        },
      },
    });
    const cookie = await consoleSignIn("rules-prereq");
    const api = "/admin/v1/projects/rules-prereq/environments/production/flags/child";
    const opened = await consoleRequest("GET", "/console/p/rules-prereq/flags/child?env=production", cookie);
    const fields = await formFieldsOf(opened.text, "form[data-rule-builder]");
    const saved = await consoleRequest("POST", "/console/p/rules-prereq/flags/child/builder", cookie, {
      ...fields,
      defaultVariant: "on",
      op: "save",
    });
    expect(saved.status, saved.text.replace(/[\s\S]*?(Not saved[^<]*)[\s\S]*/, "$1").slice(0, 500)).toBe(303);
    expect(saved.headers.get("location")).toContain("done=saved");
    expect((await call("GET", api)).body.prerequisites).toEqual([{ flag: "base", variant: "on" }]);
    const page = await consoleRequest("GET", "/console/p/rules-prereq/flags/child?env=production", cookie);
    const raw = await formFieldsOf(page.text, `form[action$="/edit"]`);
    const edited = await consoleRequest("POST", "/console/p/rules-prereq/flags/child/edit", cookie, {
      ...raw,
      targeting: '{"if": [true, "on"]}',
    });
    expect(edited.status, edited.text.replace(/[\s\S]*?(role="alert">[^<]*)[\s\S]*/, "$1").slice(0, 500)).toBe(303);
    expect(edited.headers.get("location")).toContain("done=saved");
    const stored = (await call("GET", api)).body;
    expect(stored.targeting).toEqual({ if: [true, "on"] });
    expect(stored.prerequisites).toEqual([{ flag: "base", variant: "on" }]);
  });
});
