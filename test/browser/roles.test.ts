/**
 * Roles in a real browser: headless Chromium against `wrangler dev`. A viewer signs in with a
 * viewer key and sees their name and role in the header, and no control that changes anything
 * (no toggle, no edit form, no key form); a request they forge anyway is refused by the admin API
 * and changes nothing. An editor limited to staging sees the toggle there, not in production.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, startWorker, writeControls, type RunningWorker } from "./harness";
import { patient, WAIT } from "./wait";

const PROJECT = "roles";
const FLAG = { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" };

let worker: RunningWorker;
let browser: Browser;

async function keyWith(role: string, environments?: string[]): Promise<string> {
  const created = await worker.admin("POST", `/projects/${PROJECT}/keys`, {
    scope: "admin",
    role,
    name: `${role} person`,
    ...(environments ? { environments } : {}),
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.key;
}

async function signedIn(credential: string): Promise<Page> {
  const context = patient(await browser.newContext({ baseURL: worker.base }));
  const page = await context.newPage();
  await page.goto("/console/sign-in");
  await page.getByLabel("Project").fill(PROJECT);
  await page.getByLabel("Admin key or token").fill(credential);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/p\/roles\/flags/, WAIT);
  return page;
}

beforeAll(async () => {
  worker = await startWorker();
  expect((await worker.admin("PUT", `/projects/${PROJECT}`, { environments: ["staging", "production"] })).status).toBe(201);
  for (const env of ["staging", "production"]) {
    const put = await worker.admin("PUT", `/projects/${PROJECT}/environments/${env}/flagd`, { flags: { "kill-switch": FLAG } });
    expect(put.status).toBe(200);
  }
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
});

describe("roles in the console", () => {
  it("a viewer sees who they are and no control that changes anything", async () => {
    const page = await signedIn(await keyWith("viewer"));
    await expect.poll(() => page.locator("header .who").last().textContent(), WAIT).toContain("viewer");
    for (const screen of ["flags", "flags/kill-switch", "keys", "segments", "webhooks", "triggers", "environments", "drafts"]) {
      await page.goto(`/console/p/${PROJECT}/${screen}`);
      await page.waitForLoadState("domcontentloaded");
      expect(await writeControls(page), screen).toEqual([]);
    }
    // A change forged from the page anyway is refused by the admin API, and nothing changes.
    const before = (await worker.admin("GET", `/projects/${PROJECT}/audit?limit=500`)).body.entries.length;
    const status = await page.evaluate(async (path) => {
      const body = new URLSearchParams({ env: "production", state: "DISABLED", version: "1", reason: "forged" });
      return (await fetch(path, { method: "POST", body, redirect: "manual" })).status;
    }, `/console/p/${PROJECT}/flags/kill-switch/toggle`);
    expect(status).toBe(403);
    expect((await worker.admin("GET", `/projects/${PROJECT}/audit?limit=500`)).body.entries.length).toBe(before);
  });

  it("an editor limited to staging is offered the toggle in staging only", async () => {
    const page = await signedIn(await keyWith("editor", ["staging"]));
    await page.goto(`/console/p/${PROJECT}/flags/kill-switch`);
    await expect.poll(() => page.locator("a[data-toggle][data-env=staging]").count(), WAIT).toBeGreaterThan(0);
    expect(await page.locator("a[data-toggle][data-env=production]").count()).toBe(0);
  });
});
