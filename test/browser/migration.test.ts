/**
 * Audit mode end to end against `wrangler dev`: the audit-mode provider running in Node (its
 * global fetch) beside the official OFREP provider reports comparisons to the served Worker; the
 * console's migration page shows them in Chromium (and passes an axe-core scan); a cut-over
 * without the override is refused with the API's reason in the page, the override does it, and the
 * provider then answers from edgeflags.
 */
import { OFREPProvider } from "@openfeature/ofrep-provider";
import { InMemoryProvider, OpenFeature } from "@openfeature/server-sdk";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditModeProvider } from "../../packages/openfeature-audit-mode/src/index";
import { axeSource, launchBrowser, scanPage, startWorker, type RunningWorker } from "./harness";
import { patient, POLL, until } from "./wait";

const PROJECT = "migrating";
const DOMAIN = "browser-migration";

let worker: RunningWorker;
let browser: Browser;
let serverKey: string;
let provider: AuditModeProvider;

beforeAll(async () => {
  worker = await startWorker();
  expect((await worker.admin("PUT", `/projects/${PROJECT}`, { environments: ["qa", "production"] })).status).toBe(201);
  const flags = {
    flags: {
      checkout: {
        state: "ENABLED",
        variants: { on: true, off: false },
        defaultVariant: "on",
        // The import got one customer wrong: audit mode is there to find it.
        targeting: { if: [{ "==": [{ var: "targetingKey" }, "acme"] }, "off", "on"] },
      },
      banner: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
    },
  };
  expect((await worker.admin("PUT", `/projects/${PROJECT}/environments/qa/flagd`, flags)).status).toBe(200);
  serverKey = (await worker.admin("POST", `/projects/${PROJECT}/environments/qa/keys`, { scope: "server", name: "app" })).body.key;
  await until("the server key to reach the edge", async () => (await worker.ofrep(serverKey, "banner")).status === 200);
  browser = await launchBrowser();
});

afterAll(async () => {
  await OpenFeature.close();
  await browser?.close();
  await worker?.stop();
});

describe("audit mode against a served Worker", () => {
  it("reports comparisons from Node, shows them in the console, and follows a cut-over made there", async () => {
    const bool = { variants: { on: true, off: false }, defaultVariant: "on", disabled: false };
    provider = new AuditModeProvider({
      legacy: new InMemoryProvider({ checkout: bool, banner: bool }),
      edgeflags: new OFREPProvider({ baseUrl: worker.base, headers: [["Authorization", `Bearer ${serverKey}`]] }),
      url: worker.base,
      serverKey,
      logger: { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} },
    });
    await OpenFeature.setProviderAndWait(DOMAIN, provider);
    const client = OpenFeature.getClient(DOMAIN);
    for (const customer of ["acme", "globex", "initech", "acme"]) {
      expect(await client.getBooleanValue("checkout", false, { targetingKey: customer })).toBe(true);
      expect(await client.getBooleanValue("banner", false, { targetingKey: customer })).toBe(true);
    }
    await provider.flush();
    expect(provider.stats()).toMatchObject({ compared: 8, mismatched: 2, delivered: { compared: 8, mismatched: 2 }, queued: 0 });

    const context = patient(await browser.newContext({ baseURL: worker.base, viewport: { width: 1280, height: 900 } }));
    const page = await context.newPage();
    page.on("dialog", (dialog) => void dialog.accept());
    await page.goto("/console/sign-in");
    await page.getByLabel("Project").fill(PROJECT);
    await page.getByLabel("Admin key or token").fill(worker.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForLoadState("domcontentloaded");

    await page.getByRole("link", { name: "Migration" }).click();
    await page.getByRole("link", { name: "qa", exact: true }).click();
    const rows = page.locator("#flag-comparisons tbody tr");
    await expect.poll(() => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-flag"))), POLL).toEqual(["checkout", "banner"]);
    await expect.poll(() => rows.first().locator('[data-label="Rate"]').textContent(), POLL).toBe("50.0%");
    await expect.poll(() => page.locator("#samples tbody tr").count(), POLL).toBe(2);
    await expect.poll(() => page.locator("#unmet-reasons").textContent(), POLL).toContain("8 comparisons in the last 7 days");

    const axe = axeSource();
    if (axe) {
      const serious = (await scanPage(page, axe)).filter((v) => v.impact === "serious" || v.impact === "critical");
      expect(serious, JSON.stringify(serious, null, 2)).toEqual([]);
    }

    // Without the override the API refuses, and the page says why.
    await page.getByLabel("Reason").fill("QA looks right");
    await page.getByRole("button", { name: "Cut over" }).click();
    await expect.poll(() => page.locator("#cutover-error").textContent(), POLL).toContain("Not cut over:");
    expect(await page.locator("#cutover-error").textContent()).toContain("2 mismatches in the last 7 days, more than the 0 allowed");

    // With it, the environment is cut over and the page says so.
    await page.getByLabel("Reason").fill("QA looks right; acme fixed by hand");
    await page.getByLabel(/^Override: cut qa over to edgeflags/).check();
    await page.getByRole("button", { name: "Cut over" }).click();
    await expect.poll(() => page.getByRole("status").first().textContent(), POLL).toContain("qa is now answered by edgeflags.");
    await context.close();

    // The provider follows the authority and answers from edgeflags (acme gets edgeflags' answer).
    await until("the provider to follow the cut-over", async () => {
      await client.getBooleanValue("banner", false, { targetingKey: "u" });
      await provider.flush();
      return provider.authority === "edgeflags";
    });
    expect(await client.getBooleanValue("checkout", true, { targetingKey: "acme" })).toBe(false);
  });
});
