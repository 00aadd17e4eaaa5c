/**
 * The rule builder in a real browser: an editor builds "country in [CA, US] → on, else 10% on"
 * without typing any JSON (the slider of one variant moves the other's), saves it, reads it back in
 * plain words, and the edge's OFREP answers follow it; a flag made through the API, saved unedited,
 * is not written. Every wait is on a condition.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileFlagSet } from "../../engine/evaluate";
import { axeSource, launchBrowser, scanPage, signInWithKey, startWorker, type RunningWorker } from "./harness";
import { POLL, until, WAIT } from "./wait";

const PROJECT = "builder";
let worker: RunningWorker;
let browser: Browser;
let adminKey: string;
let serverKey: string;

const made = {
  if: [
    { ends_with: [{ var: "email" }, "@example.com"] },
    "on",
    { sem_ver: [{ var: "app" }, ">=", "2.0.0"] },
    "on",
    {
      fractional: [
        ["on", 25],
        ["off", 75],
      ],
    },
  ],
};

/** A rule whose AND holds an OR group. */
const grouped = {
  if: [
    {
      and: [
        { in: [{ var: "country" }, ["CA", "US"]] },
        { or: [{ ends_with: [{ var: "email" }, "@example.com"] }, { "==": [{ var: "plan" }, "beta"] }] },
      ],
    },
    "on",
    "off",
  ],
};

beforeAll(async () => {
  worker = await startWorker();
  expect((await worker.admin("PUT", `/projects/${PROJECT}`, { environments: ["production"] })).status).toBe(201);
  const base = `/projects/${PROJECT}/environments/production/flags`;
  for (const [key, targeting] of [
    ["checkout", undefined],
    ["made-by-api", made],
    ["grouped", grouped],
  ] as const) {
    const created = await worker.admin("POST", base, {
      key,
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      ...(targeting ? { targeting } : {}),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
  adminKey = (await worker.admin("POST", `/projects/${PROJECT}/keys`, { scope: "admin", name: "editor" })).body.key;
  serverKey = (await worker.admin("POST", `/projects/${PROJECT}/environments/production/keys`, { scope: "server", name: "app" })).body.key;
  await until("the server key to reach the edge", async () => (await worker.ofrep(serverKey, "checkout")).status === 200);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
});

const signedIn = () => signInWithKey(browser, worker.base, PROJECT, adminKey);

describe("the rule builder in a browser", () => {
  it('builds "country in [CA, US] → on, else 10% on" without JSON, and the OFREP answer follows', async () => {
    const page = await signedIn();
    await page.goto(`/console/p/${PROJECT}/flags/checkout?env=production`);
    // The JSON editor is the advanced tab, hidden behind the builder.
    await expect.poll(() => page.locator("#raw-editor").isHidden(), POLL).toBe(true);
    await page.getByRole("button", { name: "Add a rule" }).click();
    const rule = page.locator("fieldset.rule").filter({ has: page.locator("legend", { hasText: "Rule 1" }) });
    await rule.getByLabel("Attribute", { exact: true }).fill("country");
    await rule.getByLabel("Operator", { exact: true }).selectOption({ label: "is one of" });
    await rule.getByLabel(/^Value/).fill("CA, US");
    await rule.getByLabel("Rule 1 serves", { exact: true }).selectOption("variant");
    await rule.getByLabel("Variant", { exact: true }).selectOption("on");
    const rest = page.locator("fieldset.rule").filter({ has: page.locator("legend", { hasText: "Everyone else" }) });
    await rest.getByLabel("Everyone else gets", { exact: true }).selectOption("split");
    await rest.getByLabel("Share of on", { exact: true }).fill("10");
    // Two variants: the other slider follows, and both show their percentage.
    await expect.poll(() => rest.getByLabel("Share of off", { exact: true }).inputValue(), POLL).toBe("90");
    await expect.poll(() => rest.locator("output").allTextContents(), POLL).toEqual(["10%", "90%"]);
    await page
      .getByLabel(/^Reason/)
      .first()
      .fill("north america first");
    await page.getByRole("button", { name: "Save rules to production" }).click();
    await page.waitForURL(/done=saved/, WAIT);
    await expect
      .poll(() => page.locator("#envs-title + .table-wrap li").allTextContents(), POLL)
      .toEqual(["country in CA, US → on", "everyone else: 10% on, 90% off"]);

    const stored = await worker.admin("GET", `/projects/${PROJECT}/environments/production/flags/checkout`);
    const expected = {
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
    };
    expect(stored.body.targeting).toEqual(expected);
    const engine = compileFlagSet({
      flags: { checkout: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off", targeting: expected } },
    });
    await until(
      "the edge to serve the new rules",
      async () => (await worker.ofrep(serverKey, "checkout", { targetingKey: "u1", country: "CA" })).body.variant === "on",
    );
    for (let i = 0; i < 40; i++) {
      const context = { targetingKey: `user-${i}`, country: i % 4 === 0 ? "US" : "FR" };
      const want = engine.evaluate("checkout", context);
      const got = await worker.ofrep(serverKey, "checkout", context);
      expect({ context, variant: got.body.variant }).toEqual({ context, variant: want.kind === "value" ? want.variant : undefined });
    }
  });

  it("opens a flag made through the API and, saved unedited, writes nothing", async () => {
    const before = await worker.admin("GET", `/projects/${PROJECT}/environments/production/flags/made-by-api`);
    const page = await signedIn();
    await page.goto(`/console/p/${PROJECT}/flags/made-by-api?env=production`);
    await page.getByRole("button", { name: "Save rules to production" }).click();
    await page.waitForURL(/done=unchanged/, WAIT);
    await expect.poll(() => page.getByRole("status").first().textContent(), POLL).toContain("nothing was written");
    const after = await worker.admin("GET", `/projects/${PROJECT}/environments/production/flags/made-by-api`);
    expect(after.body).toEqual(before.body);
  });

  it("checks the raw JSON as it is typed, in the advanced tab", async () => {
    const page = await signedIn();
    await page.goto(`/console/p/${PROJECT}/flags/made-by-api?env=production`);
    await page.getByRole("tab", { name: "JSON (advanced)" }).click();
    const area = page.getByLabel(/^Targeting/);
    await area.fill('{"if": [');
    await expect.poll(() => area.getAttribute("aria-invalid"), POLL).toBe("true");
    await expect.poll(() => page.locator("#targeting-live").textContent(), POLL).toContain("Not valid JSON yet");
    await area.fill(JSON.stringify(made));
    await expect.poll(() => area.getAttribute("aria-invalid"), POLL).toBe(null);
  });

  it("edits an AND/OR group inside a rule, and the page passes an axe-core scan", async () => {
    const page = await signedIn();
    await page.goto(`/console/p/${PROJECT}/flags/grouped?env=production`);
    const group = page.locator("fieldset.group").filter({ has: page.locator("legend", { hasText: "Group 2 of rule 1" }) });
    await expect.poll(() => group.getByLabel("Attribute", { exact: true }).count(), POLL).toBe(2);
    const source = axeSource();
    if (source) expect((await scanPage(page, source)).filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);
    await group.getByRole("button", { name: "Add a condition to this group" }).click();
    await page.waitForLoadState("domcontentloaded");
    const grown = page.locator("fieldset.group").filter({ has: page.locator("legend", { hasText: "Group 2 of rule 1" }) });
    await expect.poll(() => grown.getByLabel("Attribute", { exact: true }).count(), POLL).toBe(3);
    await grown.getByLabel("Attribute", { exact: true }).nth(2).fill("app");
    await grown.getByLabel("Operator", { exact: true }).nth(2).selectOption({ label: "version ≥" });
    await grown
      .getByLabel(/^Value/)
      .nth(2)
      .fill("2.0.0");
    await page.getByRole("button", { name: "Save rules to production" }).click();
    await page.waitForURL(/done=saved/, WAIT);
    const stored = await worker.admin("GET", `/projects/${PROJECT}/environments/production/flags/grouped`);
    expect(stored.body.targeting.if[0].and[1]).toEqual({
      or: [
        { ends_with: [{ var: "email" }, "@example.com"] },
        { "==": [{ var: "plan" }, "beta"] },
        { sem_ver: [{ var: "app" }, ">=", "2.0.0"] },
      ],
    });
  });
});
