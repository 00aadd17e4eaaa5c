/**
 * Approvals in Chromium against `wrangler dev`: production requires approval; an editor's change
 * there from the console waits as a change request (OFREP still answers the old value), and lands
 * when an approver approves it from the console. The approvals page passes an axe-core scan.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeSource, launchBrowser, scanPage, startWorker, type RunningWorker } from "./harness";
import { patient, POLL, until } from "./wait";

const PROJECT = "approvals";

let worker: RunningWorker;
let browser: Browser;
let clientKey: string;
let editorKey: string;
let approverKey: string;

beforeAll(async () => {
  worker = await startWorker();
  expect((await worker.admin("PUT", `/projects/${PROJECT}`, { environments: ["staging", "production"] })).status).toBe(201);
  const flags = { flags: { checkout: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off" } } };
  expect((await worker.admin("PUT", `/projects/${PROJECT}/environments/production/flagd`, flags)).status).toBe(200);
  expect((await worker.admin("PUT", `/projects/${PROJECT}/environments/production/protection`, { requireApproval: true })).status).toBe(
    200,
  );
  clientKey = (await worker.admin("POST", `/projects/${PROJECT}/environments/production/keys`, { scope: "client" })).body.key;
  editorKey = (await worker.admin("POST", `/projects/${PROJECT}/keys`, { scope: "admin", role: "editor" })).body.key;
  approverKey = (await worker.admin("POST", `/projects/${PROJECT}/keys`, { scope: "admin", role: "approver" })).body.key;
  await until("the client key to reach the edge", async () => (await worker.ofrep(clientKey, "checkout")).status === 200);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
});

async function signedIn(key: string) {
  const context = patient(await browser.newContext({ baseURL: worker.base, viewport: { width: 1280, height: 900 } }));
  const page = await context.newPage();
  page.on("dialog", (dialog) => void dialog.accept());
  await page.goto("/console/sign-in");
  await page.getByLabel("Project").fill(PROJECT);
  await page.getByLabel("Admin key or token").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForLoadState("domcontentloaded");
  return page;
}

describe("a production change that needs approval", () => {
  it("waits for an approver and lands when approved", async () => {
    const editor = await signedIn(editorKey);
    await editor.goto(`/console/p/${PROJECT}/change-requests?env=production&flag=checkout`);
    const definition = editor.getByLabel(/New definition/);
    await definition.fill((await definition.inputValue()).replace('"defaultVariant": "off"', '"defaultVariant": "on"'));
    await editor
      .getByLabel(/Reason/)
      .first()
      .fill("launch checkout");
    await editor.getByRole("button", { name: "Request the change" }).click();
    await expect.poll(() => editor.getByText("it waits for an approver").count(), POLL).toBe(1);
    expect(await editor.getByRole("button", { name: "Approve and apply" }).count()).toBe(0);
    expect((await worker.ofrep(clientKey, "checkout")).body.value).toBe(false);

    const approver = await signedIn(approverKey);
    await approver.getByRole("link", { name: "Approvals" }).click();
    await expect.poll(() => approver.getByText("launch checkout").count(), POLL).toBeGreaterThan(0);
    const source = axeSource();
    if (source) expect((await scanPage(approver, source)).filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);
    await approver.getByRole("button", { name: "Approve and apply" }).click();
    await expect.poll(() => approver.getByText("Approved.").count(), POLL).toBe(1);
    await until("the approved change to reach the edge", async () => (await worker.ofrep(clientKey, "checkout")).body.value === true);
  });
});
