/**
 * Single sign-on in Chromium: `wrangler dev` with projects whose single sign-on is a Cloudflare
 * Access team, the team's key set served locally, and a browser that sends
 * `Cf-Access-Jwt-Assertion` on every request as Access does (no key, no cookie). A viewer sees
 * themselves and their role and no control that changes anything; an editor of staging changes
 * staging (not production), and the audit log names them; the project list shows every project
 * where the person holds a role. The pages pass an axe-core scan. Every wait is on a condition.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveKeySet, startAccessWorker, type KeySet } from "./fixtures/access-harness";
import { axeSource, launchBrowser, scanPage, writeControls } from "./harness";
import { patient, POLL, until, WAIT } from "./wait";

const TEAM = "edgeflags-test.cloudflareaccess.com";
const AUDIENCE = "edgeflags-browser-aud";
const PROJECT = "sso";
const FLAG = { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" };

let keys: KeySet;
let worker: Awaited<ReturnType<typeof startAccessWorker>>;
let browser: Browser;
let clientKey: string;

beforeAll(async () => {
  keys = await serveKeySet(TEAM);
  worker = await startAccessWorker(keys.origin);
  for (const [project, members] of [
    [
      PROJECT,
      [
        { email: "vic@example.com", role: "viewer" },
        { group: "qa-team", role: "editor", environments: ["staging"] },
      ],
    ],
    ["sso-mobile", [{ email: "qa@example.com", role: "viewer" }]],
    ["sso-other", [{ email: "someone@example.com", role: "admin" }]],
  ] as const) {
    expect((await worker.admin("PUT", `/projects/${project}`, { environments: ["staging", "production"] })).status).toBe(201);
    for (const env of ["staging", "production"]) {
      expect((await worker.admin("PUT", `/projects/${project}/environments/${env}/flagd`, { flags: { "kill-switch": FLAG } })).status).toBe(
        200,
      );
    }
    const access = await worker.admin("PUT", `/projects/${project}/access`, { teamDomain: TEAM, audience: AUDIENCE, members });
    expect(access.status, JSON.stringify(access.body)).toBe(200);
  }
  clientKey = (await worker.admin("POST", `/projects/${PROJECT}/environments/staging/keys`, { scope: "client" })).body.key;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await keys?.stop();
});

/** A browser behind Access: every request carries the person's identity token. */
async function asPerson(email: string, groups: string[] = []): Promise<Page> {
  const assertion = await keys.sign(email, groups, AUDIENCE);
  const context = patient(
    await browser.newContext({
      baseURL: worker.base,
      viewport: { width: 1280, height: 900 },
      extraHTTPHeaders: { "cf-access-jwt-assertion": assertion },
    }),
  );
  const page = await context.newPage();
  page.on("dialog", (dialog) => void dialog.accept());
  return page;
}

async function noSeriousViolations(page: Page) {
  const source = axeSource();
  if (source) expect((await scanPage(page, source)).filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);
}

describe("a person signed in through Cloudflare Access", () => {
  it("as a viewer sees who they are and their role, and no control that changes anything", async () => {
    const page = await asPerson("Vic@example.com");
    await page.goto(`/console/p/${PROJECT}/flags`);
    await expect.poll(() => page.locator("header .who").last().textContent(), POLL).toContain("Vic@example.com · viewer");
    // No key and no cookie: the token alone signed them in.
    expect(await page.context().cookies()).toEqual([]);
    await noSeriousViolations(page);
    for (const screen of ["flags", "flags/kill-switch", "keys", "segments", "schedules", "environments"]) {
      await page.goto(`/console/p/${PROJECT}/${screen}`);
      await page.waitForLoadState("domcontentloaded");
      expect(await writeControls(page), screen).toEqual([]);
    }
    expect(keys.served.length).toBeGreaterThan(0);
  });

  it("as an editor of staging changes staging, not production, and the audit log names them", async () => {
    const page = await asPerson("qa@example.com", ["qa-team"]);
    await page.goto(`/console/p/${PROJECT}/flags/kill-switch`);
    await expect.poll(() => page.locator("header .who").last().textContent(), POLL).toContain("qa@example.com · editor");
    await expect.poll(() => page.locator("a[data-toggle][data-env=staging]").count(), POLL).toBeGreaterThan(0);
    expect(await page.locator("a[data-toggle][data-env=production]").count()).toBe(0);
    await noSeriousViolations(page);

    await until("the client key to reach the edge", async () => (await worker.ofrep(clientKey, "kill-switch")).body.value === true);
    await page.locator("a[data-toggle][data-env=staging]").first().click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel(/Reason/).fill("checking the fallback");
    await dialog.locator("[data-submit]").click();
    await page.waitForURL(/done=toggled/, WAIT);
    await until("the change to reach the edge", async () => (await worker.ofrep(clientKey, "kill-switch")).body.reason === "DISABLED");

    const audit = await worker.admin("GET", `/projects/${PROJECT}/audit?limit=1`);
    expect(audit.body.entries[0]).toMatchObject({ actor: "user:qa@example.com", environment: "staging", reason: "checking the fallback" });
    await page.goto(`/console/p/${PROJECT}/audit`);
    await expect.poll(() => page.locator("main").textContent(), POLL).toContain("user:qa@example.com");
    await noSeriousViolations(page);
  });

  it("sees every project where they hold a role, and no other", async () => {
    const page = await asPerson("qa@example.com", ["qa-team"]);
    await page.goto(`/console/p/${PROJECT}/projects`);
    await expect.poll(() => page.locator("main a[href^='/console/p/sso']").allTextContents(), POLL).toEqual(["sso", "sso-mobile"]);
  });
});
