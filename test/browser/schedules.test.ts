/**
 * A scheduled change in Chromium against `wrangler dev`: an editor schedules "turn launch on in
 * production" from the schedules page a few seconds ahead; the FlagStore's own alarm applies it at
 * its time and the OFREP answer follows; it applied exactly once (one `schedule.applied` in the
 * audit log, audited as the scheduler; the page shows it applied), and a later alarm pass (the one
 * that applies a second schedule) changes nothing more. The page passes an axe-core scan. Every
 * wait is on a condition.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeSource, launchBrowser, scanPage, signInWithKey, startWorker, type RunningWorker } from "./harness";
import { POLL, until, WAIT, WAIT_MS } from "./wait";

const PROJECT = "scheduled";
const ENV = "production";
/** How far ahead the change is scheduled: past the time the form takes to fill and post on a slow machine. */
const AHEAD_MS = 15_000;

let worker: RunningWorker;
let browser: Browser;
let clientKey: string;
let editorKey: string;

const flagPath = (flag: string) => `/projects/${PROJECT}/environments/${ENV}/flags/${flag}`;
const schedules = async () => (await worker.admin("GET", `/projects/${PROJECT}/environments/${ENV}/schedules`)).body as any[];
const applied = async (id: string) =>
  ((await worker.admin("GET", `/projects/${PROJECT}/audit?action=schedule.applied&limit=500`)).body.entries as any[]).filter(
    (e) => e.target === `schedule:${id}`,
  );

beforeAll(async () => {
  worker = await startWorker();
  expect((await worker.admin("PUT", `/projects/${PROJECT}`, { environments: [ENV] })).status).toBe(201);
  const flags = {
    flags: {
      launch: { state: "DISABLED", variants: { on: true, off: false }, defaultVariant: "on" },
      other: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
    },
  };
  expect((await worker.admin("PUT", `/projects/${PROJECT}/environments/${ENV}/flagd`, flags)).status).toBe(200);
  clientKey = (await worker.admin("POST", `/projects/${PROJECT}/environments/${ENV}/keys`, { scope: "client" })).body.key;
  editorKey = (await worker.admin("POST", `/projects/${PROJECT}/keys`, { scope: "admin", role: "editor", name: "release manager" })).body
    .key;
  await until("the client key to reach the edge", async () => (await worker.ofrep(clientKey, "other")).status === 200);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
});

const signedIn = () => signInWithKey(browser, worker.base, PROJECT, editorKey);

/** `YYYY-MM-DDTHH:MM:SS` in UTC, as the page's datetime-local field takes it. */
const utcField = (ms: number) => new Date(ms).toISOString().slice(0, 19);

describe("a scheduled change", () => {
  it("applies once at its time, and the OFREP answer follows", async () => {
    const page = await signedIn();
    await page.goto(`/console/p/${PROJECT}/schedules?env=${ENV}`);
    await page.getByLabel("What").selectOption("state");
    await page.getByLabel(/^Flag key/).fill("launch");
    await page.getByLabel("Value").fill("on");
    const at = Date.now() + AHEAD_MS;
    await page.getByLabel(/^At/).fill(utcField(at));
    await page.getByLabel(/^Reason/).fill("launch at the announcement");
    await page.getByRole("button", { name: "Schedule", exact: true }).click();
    await page.waitForURL(/done=scheduled/, WAIT);
    await expect.poll(() => page.locator("#schedules tr[data-status=pending]").count(), POLL).toBe(1);
    const source = axeSource();
    if (source) expect((await scanPage(page, source)).filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);

    const [first] = await schedules();
    expect(first).toMatchObject({ status: "pending", change: { kind: "state", flag: "launch", state: "ENABLED" } });
    // Not before its time: the edge still answers the flag as off.
    expect((await worker.ofrep(clientKey, "launch")).body.value).not.toBe(true);
    expect(await applied(first.id)).toEqual([]);

    // The alarm applies it at its time; the edge follows.
    await until(
      "the scheduled change to reach the edge",
      async () => (await worker.ofrep(clientKey, "launch")).body.value === true,
      AHEAD_MS + 2 * WAIT_MS,
    );
    const entries = await applied(first.id);
    expect(entries).toHaveLength(1);
    expect(entries[0].actor).toMatch(/^scheduler:/);
    expect(Date.parse(entries[0].at)).toBeGreaterThanOrEqual(Math.floor(at / 1000) * 1000);
    const after = (await worker.admin("GET", flagPath("launch"))).body;
    expect(after.state).toBe("ENABLED");
    await page.reload();
    await expect.poll(() => page.locator(`#schedules tr[id="${first.id}"]`).getAttribute("data-status"), POLL).toBe("applied");

    // A later alarm pass (it applies a second schedule) changes nothing more.
    const second = await worker.admin("POST", `/projects/${PROJECT}/environments/${ENV}/schedules`, {
      at: new Date(Date.now() + 2_000).toISOString(),
      change: { kind: "state", flag: "other", state: "DISABLED" },
      reason: "second pass",
    });
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    await until("the second schedule to apply", async () => (await schedules()).find((s) => s.id === second.body.id)?.status === "applied");
    expect(await applied(first.id)).toHaveLength(1);
    expect((await worker.admin("GET", flagPath("launch"))).body.version).toBe(after.version);
    expect((await schedules()).find((s) => s.id === first.id)?.status).toBe("applied");
  });
});
