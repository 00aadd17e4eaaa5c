/**
 * The console's approvals and schedules pages: an editor's production change waits for an
 * approver and lands when approved; a stale request shows the API's 409 and offers a rebase; a
 * change scheduled from the page applies once at its time and can be cancelled.
 */
import { exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { consoleSignIn } from "./console-helpers";
import { describe, expect, it } from "vitest";
import { call, setupProject, store } from "./helpers";
import { E, keyWithRole, protect } from "./approvals-helpers";

const ORIGIN = "http://edgeflags.test";

const signIn = consoleSignIn;

async function page(path: string, cookie: string, form?: Record<string, string>) {
  const response = await exports.default.fetch(
    new Request(`${ORIGIN}${path}`, {
      method: form ? "POST" : "GET",
      headers: { cookie, origin: ORIGIN, ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
      body: form ? new URLSearchParams(form).toString() : undefined,
      redirect: "manual",
    }),
  );
  return { status: response.status, location: response.headers.get("location"), text: await response.text() };
}

const idsIn = (html: string) => [...html.matchAll(/id="(cr_[^"]+)" data-status="open"/g)].map((m) => m[1]!);

describe("approvals in the console", () => {
  it("an editor's production change waits for an approver and lands when approved; a stale one shows the 409 and a rebase", async () => {
    const project = "console-cr";
    await setupProject(project);
    await protect(project);
    const editor = await signIn(project, (await keyWithRole(project, "editor")).token);
    const approver = await signIn(project, (await keyWithRole(project, "approver")).token);
    const base = `/console/p/${project}/change-requests`;

    const prefilled = await page(`${base}?env=production&flag=kill-switch`, editor);
    expect(prefilled.status).toBe(200);
    expect(prefilled.text).toContain("production requires approval");
    const definition = JSON.stringify({ state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off" });
    const opened = await page(base, editor, { env: "production", flag: "kill-switch", definition, reason: "quiet launch" });
    expect(opened.status).toBe(303);
    expect((await call("GET", `${E(project)}/flags/kill-switch`)).body.defaultVariant).toBe("on");

    const mine = await page(`${base}?env=production`, editor);
    const [id] = idsIn(mine.text);
    expect(id).toBeDefined();
    // The requester is offered no approve button; the approver is.
    expect(mine.text).not.toContain(`${id}/approve`);
    const theirs = await page(`${base}?env=production`, approver);
    expect(theirs.text).toContain(`${id}/approve`);
    expect(theirs.text).toContain("quiet launch");

    // Someone else moves production on: approving now is refused with the API's words.
    expect((await call("POST", `${E(project)}/flags/dark-launch/toggle`)).status).toBe(200);
    const stale = await page(`${base}/${id}/approve`, approver, { env: "production" });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain("rebase it");
    expect(stale.text).toContain(`${id}/rebase`);
    expect((await page(`${base}/${id}/rebase`, editor, { env: "production" })).status).toBe(303);
    expect((await page(`${base}/${id}/approve`, approver, { env: "production" })).status).toBe(303);
    expect((await call("GET", `${E(project)}/flags/kill-switch`)).body.defaultVariant).toBe("off");
  });

  it("schedules a change from the page, which applies once at its time; a cancelled one never does", async () => {
    const project = "console-sched";
    await setupProject(project);
    const cookie = await signIn(project, (await keyWithRole(project, "editor")).token);
    const base = `/console/p/${project}/schedules`;
    const at = new Date(Date.now() + 86_400_000).toISOString().slice(0, 16);
    const form = { env: "production", kind: "state", flag: "dark-launch", value: "on", at, reason: "launch" };
    expect((await page(base, cookie, form)).status).toBe(303);
    expect((await page(base, cookie, { ...form, flag: "kill-switch", value: "off" })).status).toBe(303);
    expect((await page(base, cookie, { ...form, at: "tomorrow" })).status).toBe(400);
    const listed = await page(`${base}?env=production`, cookie);
    expect(listed.text).toContain("turn dark-launch on");
    const cancel = /action="[^"]*\/schedules\/(sched_[^"/]+)\/cancel"[^>]*>(?:(?!<\/form>).)*Cancel: turn kill-switch off/s.exec(
      listed.text,
    );
    expect(cancel).not.toBeNull();
    expect((await page(`${base}/${cancel![1]}/cancel`, cookie, { env: "production" })).status).toBe(303);

    await runInDurableObject(store(project), async (instance, state) => {
      state.storage.sql.exec("UPDATE schedules SET at = 0 WHERE status = 'pending'");
      await instance.alarm();
    });
    expect((await call("GET", `${E(project)}/flags/dark-launch`)).body.state).toBe("ENABLED");
    expect((await call("GET", `${E(project)}/flags/kill-switch`)).body.state).toBe("ENABLED");
    const after = await page(`${base}?env=production`, cookie);
    expect(after.text).toContain('data-status="applied"');
    expect(after.text).toContain('data-status="cancelled"');
  });
});
