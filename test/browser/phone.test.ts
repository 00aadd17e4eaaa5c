/**
 * The console on a phone (390×844, touch) in headless Chromium against `wrangler dev`: the header
 * leaves the screen to the flags, the kill switch is two taps from the list, `/` focuses search,
 * the project switcher lists the projects, the page says when the edge serves a change, no page
 * scrolls sideways, and axe-core finds no serious or critical violation.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeSource, launchBrowser, scanPage, startWorker, type RunningWorker } from "./harness";
import { patient, POLL, WAIT } from "./wait";

const PROJECT = "phone-shop";
const OTHER = "phone-other";
const PHONE = { width: 390, height: 844 };

let worker: RunningWorker;
let browser: Browser;

beforeAll(async () => {
  worker = await startWorker();
  for (const project of [PROJECT, OTHER]) {
    expect((await worker.admin("PUT", `/projects/${project}`, { environments: ["staging", "production"] })).status).toBe(201);
  }
  const flags: Record<string, unknown> = {};
  for (const key of ["checkout-kill-switch", "new-search", "dark-mode"]) {
    flags[key] = {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "on",
      metadata: { description: `The ${key} flag` },
    };
  }
  for (const env of ["staging", "production"]) {
    const put = await worker.admin("PUT", `/projects/${PROJECT}/environments/${env}/flagd`, { flags }, { "x-change-reason": "seed" });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
  }
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
});

async function phonePage(): Promise<Page> {
  const context = patient(await browser.newContext({ viewport: PHONE, hasTouch: true, isMobile: true, baseURL: worker.base }));
  const page = await context.newPage();
  await page.goto("/console/sign-in");
  await page.getByLabel("Project").fill(PROJECT);
  await page.getByLabel("Admin key or token").fill(worker.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/flags/);
  await page.goto(`/console/p/${PROJECT}/flags?env=production`);
  return page;
}

describe("the console on a phone", () => {
  it("keeps the header under a fifth of the screen and the first flag's kill switch above the fold", async () => {
    const page = await phonePage();
    const header = await page.locator("header.top").boundingBox();
    // A third is the most the issue allows; the layout keeps it under a fifth (it took 30% before).
    expect(header!.height).toBeLessThan(PHONE.height / 5);
    const first = await page.locator("#results tbody tr").first().boundingBox();
    expect(first!.y).toBeLessThan(PHONE.height);
    // Its production switch, the kill switch, is on screen without scrolling.
    const kill = page.locator('a[data-toggle][data-flag="checkout-kill-switch"][data-env="production"]');
    await expect.poll(() => kill.isVisible(), POLL).toBe(true);
    expect(await kill.evaluate((el) => el.getBoundingClientRect().bottom)).toBeLessThanOrEqual(PHONE.height);
    await page.context().close();
  });

  it("draws the switch as a switch and the state as a label", async () => {
    const page = await phonePage();
    const track = await page
      .locator("a.switch")
      .first()
      .evaluate((el) => {
        const before = (globalThis as any).getComputedStyle(el, "::before");
        return { width: Number.parseFloat(before.width), height: Number.parseFloat(before.height), radius: before.borderRadius };
      });
    expect(track.width).toBeGreaterThan(track.height * 1.5);
    expect(Number.parseFloat(track.radius)).toBeGreaterThanOrEqual(track.height / 2);
    // The toggle confirmation page (no script needed) shows the current state as a label.
    await page.goto(`/console/p/${PROJECT}/flags/new-search/toggle?env=staging`);
    const label = await page
      .locator("span.state")
      .first()
      .evaluate((el) => Number.parseFloat((globalThis as any).getComputedStyle(el).borderTopLeftRadius));
    expect(label).toBeLessThanOrEqual(4);
    await page.context().close();
  });

  it("turns the kill switch off in two taps, and says when the edge serves it", async () => {
    const page = await phonePage();
    await page.locator('a[data-toggle][data-flag="checkout-kill-switch"][data-env="production"]').tap();
    await page.getByRole("dialog").getByRole("button", { name: "Errors or an incident" }).tap();
    await page.waitForURL(/done=toggled/, WAIT);
    const flag = await worker.admin("GET", `/projects/${PROJECT}/environments/production/flags/checkout-kill-switch`);
    expect(flag.body.state).toBe("DISABLED");
    const audit = await worker.admin("GET", `/projects/${PROJECT}/audit?limit=1`);
    expect(audit.body.entries[0]).toMatchObject({ action: "flag.disabled", reason: "Errors or an incident" });
    const status = page.locator("[data-edge-status]");
    await expect.poll(() => status.getAttribute("data-edge-state"), POLL).toBe("live");
    expect(await status.textContent()).toContain(`Saved as version ${flag.body.version} — live at the edge`);
    // What the line claims is what KV holds: the FlagStore's record of the snapshot it wrote.
    const replication = await worker.admin("GET", `/projects/${PROJECT}/replication`);
    const published = replication.body.published.find((row: { target: string }) => row.target === "production");
    expect(published.version).toBeGreaterThanOrEqual(flag.body.version);
    await page.context().close();
  });

  it("never scrolls sideways: every main page fits the phone's width", async () => {
    const page = await phonePage();
    const wider: string[] = [];
    // A flag page with the ramp's step form, the keys page with its role list, and the other screens.
    for (const screen of [
      "flags?env=production",
      "flags/new-search?env=production",
      "keys",
      "environments?from=staging&to=production",
      "segments",
      "experiments",
      "webhooks",
      "triggers",
      "audit",
    ]) {
      await page.goto(`/console/p/${PROJECT}/${screen}`);
      await page.locator("main h1").first().waitFor();
      const width = await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth);
      if (width > PHONE.width) wider.push(`${screen}: ${width} px`);
    }
    expect(wider).toEqual([]);
    await page.context().close();
  });

  it("focuses search on '/', but not while typing in a field", async () => {
    const page = await phonePage();
    await page.locator("h1").click();
    await page.keyboard.press("/");
    await expect.poll(() => page.evaluate(() => (globalThis as any).document.activeElement?.id), POLL).toBe("q");
    expect(await page.locator("#q").inputValue()).toBe("");
    await page.locator("#q").fill("");
    await page.keyboard.type("a/b");
    expect(await page.locator("#q").inputValue()).toBe("a/b");
    await page.locator("#project-switch").fill("");
    await page.locator("#project-switch").pressSequentially("x/");
    expect(await page.locator("#project-switch").inputValue()).toBe("x/");
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.id)).toBe("project-switch");
    await page.context().close();
  });

  it("lists the projects in the switcher and on the projects page, and still opens a typed name", async () => {
    const page = await phonePage();
    await expect
      .poll(() => page.locator("#project-options option").evaluateAll((options) => options.map((o) => o.getAttribute("value"))), POLL)
      .toEqual(expect.arrayContaining([PROJECT, OTHER]));
    await page.goto(`/console/p/${PROJECT}/projects`);
    await page.getByRole("link", { name: OTHER }).click();
    await page.waitForURL(new RegExp(`/console/p/${OTHER}/flags`));
    await page.locator("#project-switch").fill(PROJECT);
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await page.waitForURL(new RegExp(`/console/p/${PROJECT}/flags`));
    await page.context().close();
  });

  const axe = axeSource();
  it.skipIf(axe === null)("has no serious or critical axe-core violations at phone size", async () => {
    const page = await phonePage();
    const found: string[] = [];
    const check = async (label: string) => {
      for (const v of await scanPage(page, axe!)) {
        if (v.impact === "serious" || v.impact === "critical")
          found.push(`${label}: ${v.id} (${v.impact}) ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
      }
    };
    await check("flags");
    await page.locator('a[data-toggle][data-flag="dark-mode"][data-env="staging"]').tap();
    await page.getByRole("dialog").waitFor();
    await check("kill-switch dialog");
    await page.goto(`/console/p/${PROJECT}/projects`);
    await check("projects");
    await page.goto(`/console/p/${PROJECT}/flags/new-search?env=production`);
    await check("flag page");
    expect(found).toEqual([]);
    await page.context().close();
  });
  if (axe === null) it.skip("axe-core is not installed (npm install -D axe-core): the accessibility scan did not run", () => {});
});
