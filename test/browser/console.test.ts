/**
 * The operator console in a real browser: headless Chromium (web security on) against
 * `wrangler dev`. Covers the list: sign in, search among 200 flags, toggle with a reason
 * (seen by OFREP and the audit log), bad targeting shown inline, a concurrent change shown as a
 * conflict, a client key refused, escaped output, an axe-core scan of each main page, and
 * screenshots of the main screens (into `docs/screenshots/` with UPDATE_SCREENSHOTS=1).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeSource, launchBrowser, ROOT, scanPage, startWorker, type RunningWorker } from "./harness";
import { patient, POLL, until, WAIT_MS } from "./wait";

const PROJECT = "shop";
const ENVIRONMENTS = ["development", "staging", "production"];
const XSS = `<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">`;

let worker: RunningWorker;
let browser: Browser;
let adminKey: string;
/**
 * Screenshots go to docs/screenshots when UPDATE_SCREENSHOTS=1 (to refresh the README's), else to
 * a scratch folder, so a test run leaves the working tree as it was.
 */
const SCREENSHOTS =
  process.env["UPDATE_SCREENSHOTS"] === "1" ? join(ROOT, "docs", "screenshots") : mkdtempSync(join(tmpdir(), "edgeflags-screenshots-"));

let clientKey: string;
/** For bulk traffic: server keys are not rate limited (client keys are, per key and address). */
let serverKey: string;
/** Set by the experiment test, for the accessibility scan and the screenshots. */
let experimentPath = "";
/** The revert page of a flag change, set by the revert test, scanned by axe-core. */
let revertPath = "";
const RAMP_FLAG = "search-experiment-001";
const SPLIT_FLAG = "checkout-button-copy";

function flagSet(environment: string) {
  const flags: Record<string, unknown> = {};
  const areas = ["checkout", "search", "profile", "billing", "onboarding"];
  for (let i = 0; i < 200; i++) {
    const area = areas[i % areas.length]!;
    flags[`${area}-experiment-${String(i).padStart(3, "0")}`] = {
      state: i % 7 === 0 && environment === "production" ? "DISABLED" : "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: environment === "development" ? "on" : "off",
      metadata: { description: `Rollout ${i} of the ${area} team`, owner: `${area}-team`, tags: `${area},${i % 2 ? "web" : "mobile"}` },
    };
  }
  flags["checkout-kill-switch"] = {
    state: "ENABLED",
    variants: { on: true, off: false },
    defaultVariant: "on",
    metadata: { description: "Turn off to take the new checkout out of service at once", owner: "payments", tags: "checkout,kill-switch" },
  };
  flags["new-checkout"] = {
    state: "ENABLED",
    variants: { on: true, off: false },
    defaultVariant: "off",
    targeting: {
      if: [
        { ends_with: [{ var: "email" }, "@example.com"] },
        "on",
        {
          fractional: [
            ["on", 10],
            ["off", 90],
          ],
        },
      ],
    },
    metadata: { description: "Staff first, then a 10% rollout", owner: "payments", tags: "checkout" },
  };
  flags["homepage-hero"] = {
    state: "ENABLED",
    variants: { control: "Welcome back", "spring-sale": "Spring sale: 20% off" },
    defaultVariant: "control",
    targeting: { if: [{ in: [{ var: "country" }, ["CA", "US"]] }, "spring-sale", null] },
    metadata: { description: "Homepage headline by country", owner: "growth", tags: "web" },
  };
  flags["xss-probe"] = {
    state: "ENABLED",
    variants: { on: true, off: false },
    defaultVariant: "on",
    metadata: { description: XSS, owner: "security", tags: "probe" },
  };
  return { flags };
}

beforeAll(async () => {
  worker = await startWorker();
  const created = await worker.admin("PUT", `/projects/${PROJECT}`, { environments: ENVIRONMENTS });
  expect(created.status).toBe(201);
  for (const env of ENVIRONMENTS) {
    const put = await worker.admin("PUT", `/projects/${PROJECT}/environments/${env}/flagd`, flagSet(env), {
      "x-change-reason": "initial import",
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
  }
  const admin = await worker.admin("POST", `/projects/${PROJECT}/keys`, { scope: "admin", name: "on-call" });
  adminKey = admin.body.key;
  const client = await worker.admin("POST", `/projects/${PROJECT}/environments/production/keys`, { scope: "client", name: "web app" });
  clientKey = client.body.key;
  serverKey = (await worker.admin("POST", `/projects/${PROJECT}/environments/production/keys`, { scope: "server", name: "back end" })).body
    .key;
  // The key index reaches KV through the outbox; wait until the edge knows the client key.
  await until("the client key to reach the edge", async () => (await worker.ofrep(clientKey, "checkout-kill-switch")).status === 200);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  if (SCREENSHOTS.startsWith(tmpdir())) rmSync(SCREENSHOTS, { recursive: true, force: true });
});

async function newPage(
  options: { width?: number; height?: number; dark?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = patient(
    await browser.newContext({
      viewport: { width: options.width ?? 1280, height: options.height ?? 860 },
      colorScheme: options.dark ? "dark" : "light",
      baseURL: worker.base,
    }),
  );
  const page = await context.newPage();
  page.on("dialog", (dialog) => void dialog.accept());
  return { context, page };
}

async function signIn(page: Page, credential = adminKey): Promise<void> {
  await page.goto("/console/sign-in");
  await page.getByLabel("Project").fill(PROJECT);
  await page.getByLabel("Admin key or token").fill(credential);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForLoadState("domcontentloaded");
}

async function flagsOf(page: Page): Promise<string[]> {
  return page.locator("#results a.flag-key").allTextContents();
}

describe("console in a browser", () => {
  it("refuses a client key at sign-in and sets no cookie", async () => {
    const { context, page } = await newPage();
    await signIn(page, clientKey);
    await expect.poll(() => page.locator("#credential-error").textContent(), POLL).toMatch(/client key/);
    expect(page.url()).toContain("/console/sign-in");
    expect(await context.cookies()).toEqual([]);
    await context.close();
  });

  it("signs in with an admin key: HttpOnly SameSite=Strict cookie, nothing in storage", async () => {
    const { context, page } = await newPage();
    await signIn(page);
    expect(new URL(page.url()).pathname).toBe(`/console/p/${PROJECT}/flags`);
    await expect.poll(() => page.locator("h1").textContent(), POLL).toBe("Flags");
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: "edgeflags_session", httpOnly: true, sameSite: "Strict", path: "/" });
    expect(cookies[0]!.value).not.toContain(adminKey);
    expect(
      await page.evaluate(() => [
        (globalThis as any).localStorage.length,
        (globalThis as any).sessionStorage.length,
        (globalThis as any).document.cookie,
      ]),
    ).toEqual([0, 0, ""]);
    await context.close();
  });

  it("finds one flag among 200 by searching as you type", async () => {
    const { context, page } = await newPage();
    await signIn(page);
    expect(await flagsOf(page)).toHaveLength(50);
    await expect.poll(() => page.locator("#results [role=status]").textContent(), POLL).toContain("204 flags");
    await page.getByLabel("Search").pressSequentially("billing-experiment-138");
    await expect.poll(() => flagsOf(page), POLL).toEqual(["billing-experiment-138"]);
    expect(page.url()).toContain("q=billing-experiment-138");
    await page.getByLabel("Search").fill("");
    await page.getByLabel("Tag", { exact: true }).selectOption("kill-switch");
    await expect.poll(() => flagsOf(page), POLL).toEqual(["checkout-kill-switch"]);
    await context.close();
  });

  it("toggles a flag with a reason: OFREP sees it at once and the audit log shows the reason", async () => {
    const before = await worker.ofrep(clientKey, "checkout-kill-switch");
    expect(before.body).toMatchObject({ value: true });
    const { context, page } = await newPage();
    await signIn(page);
    await page.getByLabel("Search").fill("checkout-kill-switch");
    await expect.poll(() => flagsOf(page), POLL).toEqual(["checkout-kill-switch"]);
    await page.getByRole("link", { name: "checkout-kill-switch is on in production; turn off" }).click();
    const dialog = page.getByRole("dialog");
    await expect.poll(() => dialog.isVisible(), POLL).toBe(true);
    expect(await dialog.textContent()).toContain("Turn off checkout-kill-switch in production?");
    await dialog.getByLabel(/Reason/).fill("checkout errors spiking (INC-42)");
    await dialog.getByRole("button", { name: "Turn off in production" }).click();
    await page.waitForURL(/done=toggled/);
    expect(await page.locator(".notice.ok").textContent()).toContain("Turned off checkout-kill-switch in production");

    const after = await worker.ofrep(clientKey, "checkout-kill-switch");
    expect(after.body.reason).toBe("DISABLED");
    expect(after.body.metadata.configVersion).toBeGreaterThan(before.body.metadata.configVersion);

    await page.getByRole("link", { name: "Audit log" }).click();
    const entry = page.locator(".audit-entry").first();
    expect(await entry.textContent()).toContain("turned off flag:checkout-kill-switch in production");
    expect(await entry.textContent()).toContain("Reason: checkout errors spiking (INC-42)");
    expect(await entry.locator(".diff").textContent()).toContain('state: "ENABLED" → "DISABLED"');
    expect(await page.locator("#chain-status").textContent()).toMatch(/Hash chain verified/);
    await context.close();
  });

  it("shows a bad targeting rule next to the field and saves nothing", async () => {
    const original = await worker.admin("GET", `/projects/${PROJECT}/environments/production/flags/new-checkout`);
    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`/console/p/${PROJECT}/flags/new-checkout?env=production`);
    await page.getByRole("tab", { name: "JSON (advanced)" }).click();
    await page.getByLabel(/^Targeting/).fill(JSON.stringify({ if: [{ sem_ver: [{ var: "appVersion" }, "~=", "2.0.0"] }, "on", "off"] }));
    await page.getByRole("button", { name: "Save to production" }).click();
    const error = page.locator("#targeting-error");
    await expect.poll(() => error.isVisible(), POLL).toBe(true);
    expect(await error.textContent()).toMatch(/sem_ver operator must be one of/);
    expect(await page.getByLabel(/^Targeting/).getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByLabel(/^Targeting/).inputValue()).toContain("~=");
    const now = await worker.admin("GET", `/projects/${PROJECT}/environments/production/flags/new-checkout`);
    expect(now.body).toEqual(original.body);

    await page.getByLabel(/^Targeting/).fill("{ not json");
    await page.getByRole("button", { name: "Save to production" }).click();
    await expect.poll(() => page.locator("#targeting-error").textContent(), POLL).toMatch(/not valid JSON/);
    await context.close();
  });

  it("shows a concurrent change as a conflict, with who changed what, and never overwrites it", async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`/console/p/${PROJECT}/flags/homepage-hero?env=staging`);
    await page.getByRole("tab", { name: "JSON (advanced)" }).click();
    await page.getByLabel(/^Targeting/).fill(JSON.stringify({ if: [{ in: [{ var: "country" }, ["GB"]] }, "spring-sale", null] }));

    const current = await worker.admin("GET", `/projects/${PROJECT}/environments/staging/flags/homepage-hero`);
    const { key: _key, environment: _env, version, updatedAt: _at, updatedBy: _by, ...definition } = current.body;
    const theirs = await worker.admin(
      "PUT",
      `/projects/${PROJECT}/environments/staging/flags/homepage-hero`,
      { ...definition, defaultVariant: "spring-sale", reason: "sale starts early" },
      { "if-match": `"${version}"` },
    );
    expect(theirs.status).toBe(200);

    await page.getByRole("button", { name: "Save to staging" }).click();
    const conflict = page.locator("#conflict-title");
    await expect.poll(() => conflict.isVisible(), POLL).toBe(true);
    const panel = await page.locator("section:has(#conflict-title)").textContent();
    expect(panel).toContain("changed by token:bootstrap");
    expect(panel).toContain("Reason: sale starts early");
    expect(panel).toContain('defaultVariant: "control" → "spring-sale"');
    expect(await page.locator("#your-targeting").inputValue()).toContain("GB");
    const after = await worker.admin("GET", `/projects/${PROJECT}/environments/staging/flags/homepage-hero`);
    expect(after.body.version).toBe(theirs.body.version);
    expect(JSON.stringify(after.body.targeting)).not.toContain("GB");

    await page.getByRole("link", { name: "Reload the latest version" }).click();
    expect(await page.getByLabel("Default variant").inputValue()).toBe("spring-sale");
    await context.close();
  });

  it("evaluates a context in every environment", async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`/console/p/${PROJECT}/flags/homepage-hero?env=production`);
    await page.getByLabel(/Evaluation context/).fill(JSON.stringify({ targetingKey: "user-7", country: "CA" }));
    await page.getByRole("button", { name: "Evaluate in every environment" }).click();
    const rows = page.locator("#try-results tbody tr");
    await expect.poll(() => rows.count(), POLL).toBe(3);
    expect(await rows.filter({ hasText: "production" }).textContent()).toContain("spring-sale");
    expect(await rows.filter({ hasText: "production" }).textContent()).toContain("TARGETING_MATCH");
    await context.close();
  });

  it("shows a description with markup as text and runs none of it", async () => {
    const { context, page } = await newPage();
    const dialogs: string[] = [];
    page.on("dialog", (d) => void dialogs.push(d.message()));
    await signIn(page);
    await page.goto(`/console/p/${PROJECT}/flags?q=xss-probe`);
    expect(await page.locator("#results .desc").first().textContent()).toBe(XSS);
    await page.goto(`/console/p/${PROJECT}/flags/xss-probe`);
    expect(await page.locator(".page-head .desc").textContent()).toBe(XSS);
    expect(await page.evaluate(() => (globalThis as any).__xss)).toBeUndefined();
    expect(await page.locator("img[src=x]").count()).toBe(0);
    expect(dialogs).toEqual([]);
    await context.close();
  });

  it("enforces its CSP: injected inline script does not run", async () => {
    const { context, page } = await newPage();
    await signIn(page);
    const violations: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy/.test(message.text())) violations.push(message.text());
    });
    await page.evaluate(() => {
      const doc = (globalThis as any).document;
      const script = doc.createElement("script");
      script.textContent = "window.__inline = 1";
      doc.body.appendChild(script);
      doc.body.insertAdjacentHTML("beforeend", `<img src="data:," onerror="window.__inline = 2">`);
    });
    await expect.poll(() => violations.length, POLL).toBeGreaterThan(0);
    expect(await page.evaluate(() => (globalThis as any).__inline)).toBeUndefined();
    await context.close();
  });

  it("creates a key shown once with a copy button, and revokes it", async () => {
    const { context, page } = await newPage();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: worker.base });
    await signIn(page);
    await page.getByRole("link", { name: "Keys" }).click();
    await page.getByLabel("Scope").selectOption("server");
    await page.getByLabel(/^Environment/).selectOption("staging");
    await page.getByLabel("Name").fill("billing back end");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = await page.locator("#new-key").inputValue();
    expect(secret).toMatch(/^ef_server_/);
    await page.getByRole("button", { name: "Copy" }).click();
    await expect.poll(() => page.getByRole("button", { name: "Copied" }).count(), POLL).toBe(1);
    expect(await page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(secret);

    await page.goto(`/console/p/${PROJECT}/keys`);
    expect(await page.content()).not.toContain(secret);
    await page.getByRole("button", { name: /^Revoke billing back end/ }).click();
    await page.waitForURL(/done=revoked/);
    expect(await page.locator("section:has(#revoked-title)").textContent()).toContain("billing back end");
    await context.close();
  });

  it("is keyboard operable: skip link, and the kill-switch dialog opens with Enter and closes with Escape", async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => (globalThis as any).document.activeElement.textContent)).toBe("Skip to content");
    await page.getByLabel("Search").fill("checkout-kill-switch");
    await expect.poll(() => flagsOf(page), POLL).toEqual(["checkout-kill-switch"]);
    await page.getByRole("link", { name: /checkout-kill-switch is \w+ in staging/ }).focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => page.getByRole("dialog").isVisible(), POLL).toBe(true);
    expect(await page.evaluate(() => (globalThis as any).document.activeElement.id)).toBe("dialog-reason");
    await page.keyboard.press("Escape");
    await expect.poll(() => page.getByRole("dialog").isVisible(), POLL).toBe(false);
    await context.close();
  });
});

describe("governance and progressive delivery in a browser", () => {
  it("compares two environments and promotes with the dry-run diff first", async () => {
    const flag = "checkout-experiment-000";
    expect((await worker.admin("GET", `/projects/${PROJECT}/environments/production/flags/${flag}`)).body.state).toBe("DISABLED");
    const { context, page } = await newPage();
    await signIn(page);
    await page.getByRole("link", { name: "Environments" }).click();
    await page.getByLabel("From").selectOption("staging");
    await page.getByLabel("To", { exact: true }).selectOption("production");
    await page.getByLabel(/^Flags/).fill(`${flag}, homepage-hero`);
    await page.getByRole("button", { name: "Compare" }).click();
    const compare = page.locator("#compare");
    await compare.waitFor();
    expect(await compare.textContent()).toContain("staging → production");
    expect(await compare.locator(".diff").first().textContent()).toContain('state: "DISABLED" → "ENABLED"');

    await page.getByRole("checkbox", { name: "homepage-hero" }).uncheck();
    await page.getByLabel(/^Reason/).fill("release 2.4 verified in staging");
    await page.getByRole("button", { name: "Preview the promotion" }).click();
    const preview = page.locator("#promote-preview");
    await preview.waitFor();
    expect(await preview.textContent()).toContain("1 flag(s) in production would change. Nothing has been changed yet.");
    expect(await preview.textContent()).not.toContain("homepage-hero");
    expect((await worker.admin("GET", `/projects/${PROJECT}/environments/production/flags/${flag}`)).body.state).toBe("DISABLED");
    await page.screenshot({ path: join(SCREENSHOTS, "promote-desktop.png"), fullPage: true });

    await page.getByRole("button", { name: "Promote 1 flag(s) to production" }).click();
    await page.waitForURL(/done=promoted/);
    expect(await page.locator(".notice.ok").textContent()).toContain("Promoted 1 flag(s) from staging to production");
    expect((await worker.admin("GET", `/projects/${PROJECT}/environments/production/flags/${flag}`)).body.state).toBe("ENABLED");
    const audit = await worker.admin("GET", `/projects/${PROJECT}/audit?limit=1`);
    expect(audit.body.entries[0]).toMatchObject({ action: "flags.promoted", reason: "release 2.4 verified in staging" });
    await context.close();
  });

  it("starts a ramp from the flag page, shows its timeline, and pauses it", async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`/console/p/${PROJECT}/flags/${RAMP_FLAG}?env=production`);
    const panel = page.locator("#ramp");
    await panel.getByLabel("Roll out").selectOption("on");
    await panel.getByLabel("Over (baseline)").selectOption("off");
    await panel.getByLabel("Step 1 percent").fill("5");
    await panel.getByLabel("Step 2 percent").fill("25");
    await panel.getByLabel("Step 2 delay", { exact: true }).fill("2");
    await panel.getByLabel("Step 2 delay unit").selectOption("hours");
    await panel.getByLabel(/^Reason/).fill("new search ranking");
    await panel.getByRole("button", { name: "Start the ramp" }).click();
    await page.waitForURL(/done=ramp/);
    const steps = page.locator("#ramp .timeline li");
    expect(await steps.count()).toBe(4);
    expect(await steps.nth(0).getAttribute("class")).toBe("step current");
    expect(await steps.nth(0).textContent()).toMatch(/5%current/);
    expect(await steps.nth(1).textContent()).toMatch(/25%nextdue in (2 h|120 min)/);
    expect(await page.locator("#ramp-next").textContent()).toMatch(/Next step in/);
    expect(await page.locator("#ramp-status").textContent()).toBe("running");

    await page.getByRole("button", { name: "Pause" }).click();
    await page.waitForURL(/action=pause/);
    expect(await page.locator("#ramp-status").textContent()).toBe("paused");
    expect(await page.locator(".notice.ok").textContent()).toContain("Ramp paused");
    expect(await page.getByRole("button", { name: "Resume" }).isVisible()).toBe(true);
    expect((await worker.admin("GET", `/projects/${PROJECT}/environments/production/flags/${RAMP_FLAG}/ramp`)).body).toMatchObject({
      status: "paused",
      currentPercent: 5,
    });
    await context.close();
  });

  it("starts an experiment and warns clearly when the split is off (SRM)", async () => {
    const created = await worker.admin("POST", `/projects/${PROJECT}/flags`, {
      key: SPLIT_FLAG,
      description: "Checkout button copy, 50/50",
      owner: "growth",
      tags: ["checkout"],
      variants: { a: "Buy now", b: "Complete purchase" },
      defaultVariant: "a",
      targeting: {
        fractional: [
          ["a", 50],
          ["b", 50],
        ],
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`/console/p/${PROJECT}/flags/${SPLIT_FLAG}?env=production`);
    // Intended 75/25, while the flag splits 50/50: a sample-ratio mismatch once enough units arrive.
    await page.getByLabel("a", { exact: true }).fill("3");
    await page.getByLabel("b", { exact: true }).fill("1");
    await page.getByRole("button", { name: "Start an experiment" }).click();
    await page.waitForURL(/\/experiments\/exp_/);
    experimentPath = new URL(page.url()).pathname;
    const id = experimentPath.split("/").at(-1)!;
    expect(await page.locator("#srm-status").textContent()).toContain("Not enough data");

    // Real traffic through OFREP, 40 new units at a time, until the store sees the mismatch: the
    // edge learns of the experiment through the outbox and reports exposures in batches.
    let unit = 0;
    await until(
      "the experiment to detect the sample-ratio mismatch",
      async () => {
        await Promise.all(Array.from({ length: 40 }, () => worker.ofrep(serverKey, SPLIT_FLAG, { targetingKey: `visitor-${unit++}` })));
        const experiment = await worker.admin("GET", `/projects/${PROJECT}/experiments/${id}`);
        return experiment.body.srm.mismatch === true;
      },
      2 * WAIT_MS,
    );
    await page.reload();
    const warning = page.locator("#srm-warning");
    expect(await warning.isVisible()).toBe(true);
    expect(await warning.getAttribute("role")).toBe("alert");
    expect(await warning.textContent()).toMatch(/Sample ratio mismatch.*p = /);
    expect(await page.locator("#arm-bars li").count()).toBe(2);
    expect(await page.locator("#arm-bars .fill.bad").count()).toBe(2);
    await page.goto(`/console/p/${PROJECT}/experiments`);
    expect(await page.locator("#experiments").textContent()).toContain("mismatch");
    await context.close();
  });

  it("undoes a mistake from the audit log: the revert page, a confirmation, and the edge serves the old answer", async () => {
    const flag = "billing-experiment-003";
    const api = `/projects/${PROJECT}/environments/production/flags/${flag}`;
    const current = await worker.admin("GET", api);
    const mistake = await worker.admin(
      "PUT",
      api,
      { state: "ENABLED", variants: current.body.variants, defaultVariant: "on", metadata: current.body.metadata },
      { "if-match": `"${current.body.version}"`, "x-change-reason": "wrong default" },
    );
    expect(mistake.status, JSON.stringify(mistake.body)).toBe(200);
    await expect.poll(async () => (await worker.ofrep(clientKey, flag)).body.value, POLL).toBe(true);

    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`/console/p/${PROJECT}/audit?flag=${flag}`);
    const entry = page.locator(".audit-entry").first();
    expect(await entry.textContent()).toContain("Reason: wrong default");
    await entry.getByRole("link", { name: /Revert change #\d+/ }).click();
    await page.getByRole("heading", { name: `Revert a change to ${flag} in production` }).waitFor();
    revertPath = new URL(page.url()).pathname;
    expect(await page.locator(".diff").textContent()).toContain('defaultVariant: "on" → "off"');
    // The confirmation (accepted by the page's dialog handler) comes before anything is written.
    const confirmed = page.waitForEvent("dialog");
    await page.getByRole("button", { name: `Revert ${flag} in production` }).click();
    expect((await confirmed).message()).toContain(`Revert ${flag} in production to how it was before change #`);
    await page.waitForURL(/done=saved/);
    await expect.poll(() => page.locator("[data-edge-status]").getAttribute("data-edge-state"), POLL).toBe("live");
    await expect.poll(async () => (await worker.ofrep(clientKey, flag)).body.value, POLL).toBe(false);
    const reverted = await worker.admin("GET", `/projects/${PROJECT}/audit?flag=${flag}&limit=1`);
    expect(reverted.body.entries[0].reason).toMatch(/^Revert of change #\d+$/);
    await context.close();
  });

  it("creates a segment, a webhook (secret once) and a trigger (URLs once, copied)", async () => {
    const { context, page } = await newPage();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: worker.base });
    await signIn(page);
    await page.getByRole("link", { name: "Segments" }).click();
    await page.getByLabel(/^Name/).fill("beta-testers");
    await page.getByLabel("Description").fill("Staff and beta programme");
    await page.getByRole("radio", { name: "a list of members" }).check();
    await page.getByLabel(/^Members/).fill("user-1\nuser-2\nuser-3");
    await page.getByRole("button", { name: "Create segment" }).click();
    await page.waitForURL(/done=segment-saved/);
    await page.getByRole("link", { name: "← All segments" }).click();
    expect(await page.locator("section:has(#segments-title)").textContent()).toContain("3 targetingKey values");

    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByLabel("URL").fill("https://hooks.example.com/edgeflags");
    await page.getByLabel("Description").fill("#flags channel");
    await page.getByRole("checkbox", { name: "ramp.paused" }).check();
    await page.getByRole("button", { name: "Create webhook" }).click();
    expect(await page.locator("#new-webhook-secret").inputValue()).toMatch(/.{16,}/);
    await page.getByRole("link", { name: "Open the webhook" }).click();
    await page.getByRole("button", { name: "Send a ping" }).click();
    await page.waitForURL(/done=pinged/);
    expect(await page.locator("#deliveries").textContent()).toContain("ping");

    await page.getByRole("link", { name: "Triggers" }).click();
    await page.getByLabel("Name").fill("checkout-errors");
    await page.getByLabel("Flag").fill("checkout-kill-switch");
    await page.getByLabel("Action").selectOption("disable");
    await page.getByRole("button", { name: "Create trigger" }).click();
    const url = await page.locator("#trigger-url").inputValue();
    expect(url).toMatch(/\/admin\/v1\/hooks\/projects\/shop\/triggers\/eft_/);
    await page.getByRole("button", { name: /Copy trigger url/ }).click();
    expect(await page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(url);
    await page.goto(`/console/p/${PROJECT}/triggers`);
    expect(await page.content()).not.toContain(url);
    await context.close();
  });
});

describe("accessibility and screenshots", () => {
  const screens = [
    { name: "flags", path: `/console/p/${PROJECT}/flags` },
    { name: "flag-detail", path: `/console/p/${PROJECT}/flags/new-checkout?env=production` },
    { name: "keys", path: `/console/p/${PROJECT}/keys` },
    { name: "audit", path: `/console/p/${PROJECT}/audit` },
    {
      name: "environments",
      path: `/console/p/${PROJECT}/environments?from=development&to=production&flag=homepage-hero,new-checkout,checkout-kill-switch`,
    },
    { name: "ramp", path: `/console/p/${PROJECT}/flags/${RAMP_FLAG}?env=production` },
    { name: "new-flag", path: `/console/p/${PROJECT}/new-flag` },
    { name: "segments", path: `/console/p/${PROJECT}/segments` },
    { name: "experiments", path: `/console/p/${PROJECT}/experiments` },
    { name: "experiment", path: () => experimentPath },
    { name: "revert", path: () => revertPath },
    { name: "drafts", path: `/console/p/${PROJECT}/drafts?env=staging` },
    { name: "webhooks", path: `/console/p/${PROJECT}/webhooks` },
    { name: "triggers", path: `/console/p/${PROJECT}/triggers` },
  ];
  const pathOf = (screen: (typeof screens)[number]) => (typeof screen.path === "function" ? screen.path() : screen.path);

  const axe = axeSource();
  // One test per colour scheme, each well inside the test timeout on a slow machine.
  for (const dark of [false, true]) {
    it.skipIf(axe === null)(`has no serious or critical axe-core violations on any main page, ${dark ? "dark" : "light"}`, async () => {
      const { context, page } = await newPage({ dark });
      await page.goto("/console/sign-in");
      const found: string[] = [];
      const check = async (label: string) => {
        const violations = await scanPage(page, axe!);
        for (const v of violations) {
          if (v.impact === "serious" || v.impact === "critical")
            found.push(
              `${label}${dark ? " (dark)" : ""}: ${v.id} (${v.impact}) ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`,
            );
        }
      };
      await check("sign-in");
      await signIn(page);
      for (const screen of screens) {
        if (!pathOf(screen)) continue;
        await page.goto(pathOf(screen));
        await check(screen.name);
      }
      await page.goto(`/console/p/${PROJECT}/flags`);
      await page
        .getByRole("link", { name: "checkout-kill-switch is off in production; turn on" })
        .or(page.locator("a[data-toggle]").first())
        .first()
        .click();
      await check("toggle dialog");
      expect(found).toEqual([]);
      await context.close();
    });
  }
  if (axe === null) it.skip("axe-core is not installed (npm install -D axe-core): the accessibility scan did not run", () => {});

  // One test per device and colour scheme, each well inside the test timeout on a slow machine.
  const devices = [
    { suffix: "desktop", width: 1280, height: 860, dark: false },
    { suffix: "desktop", width: 1280, height: 860, dark: true },
    { suffix: "phone", width: 390, height: 844, dark: false },
  ];
  for (const { dark, ...device } of devices) {
    it(`takes screenshots of the main screens at ${device.suffix} width${dark ? ", dark" : ""} (into docs/screenshots with UPDATE_SCREENSHOTS=1)`, async () => {
      const dir = SCREENSHOTS;
      mkdirSync(dir, { recursive: true });
      const { context, page } = await newPage({ width: device.width, height: device.height, dark });
      const shot = (name: string) =>
        page.screenshot({
          path: join(dir, `${name}-${device.suffix}${dark ? "-dark" : ""}.png`),
          fullPage: device.suffix === "desktop" && (name === "flag-detail" || name === "keys"),
        });
      await page.goto("/console/sign-in");
      await page.getByLabel("Project").fill(PROJECT);
      await shot("sign-in");
      await signIn(page);
      await shot("flags");
      await page.goto(`/console/p/${PROJECT}/flags/new-checkout?env=production`);
      await page.getByLabel(/Evaluation context/).fill(JSON.stringify({ targetingKey: "user-7", email: "ana@example.com" }));
      await page.getByRole("button", { name: "Evaluate in every environment" }).click();
      await page.locator("#try-results").waitFor();
      await shot("flag-detail");
      await page.goto(`/console/p/${PROJECT}/flags?q=profile-experiment-002`);
      await page.locator("a[data-toggle]").nth(2).click();
      await page.getByRole("dialog").waitFor();
      await page
        .getByRole("dialog")
        .getByLabel(/Reason/)
        .fill("Error rate above 5% after deploy 1142");
      await shot("toggle");
      await page.goto(`/console/p/${PROJECT}/keys`);
      await shot("keys");
      await page.goto(`/console/p/${PROJECT}/audit`);
      await shot("audit");
      for (const name of ["environments", "ramp", "segments", "experiment", "webhooks", "triggers", "drafts"]) {
        const screen = screens.find((s) => s.name === name)!;
        if (!pathOf(screen)) continue;
        await page.goto(pathOf(screen));
        if (name === "ramp") await page.locator("#ramp").scrollIntoViewIfNeeded();
        await page.screenshot({
          path: join(dir, `${name}-${device.suffix}${dark ? "-dark" : ""}.png`),
          fullPage: device.suffix === "desktop",
        });
      }
      await context.close();
    });
  }
});
