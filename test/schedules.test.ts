/**
 * Scheduled changes: applied by the FlagStore's alarm exactly once at their time, audited as the
 * scheduler on behalf of the person; cancelled ones never apply; one that cannot apply at its
 * time is marked failed with the reason and announced. Time passes by moving the due time.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, setupProject, store } from "./helpers";
import { restartObject } from "./object-restart";
import { E, P, keyWithRole, protect, queuedEvents, subscribe } from "./approvals-helpers";

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

/** Makes every pending schedule due, then runs the alarm's handler as it fires (the platform retries one that threw). */
async function timePasses(project: string): Promise<void> {
  await runInDurableObject(store(project), async (instance, state) => {
    state.storage.sql.exec("UPDATE schedules SET at = 0 WHERE status = 'pending'");
    await instance.alarm();
  });
}

async function schedule(project: string, change: unknown, token?: string, env = "production") {
  return call("POST", `${E(project, env)}/schedules`, { token, body: { at: inAnHour(), change, reason: "monday launch" } });
}

describe("scheduled changes", () => {
  it("apply once at their time, audited as scheduler:<person>, with the alarm armed for the earliest", async () => {
    const project = "sched-once";
    await setupProject(project);
    await subscribe(project, ["schedule.applied", "flag.toggled"]);
    const created = await schedule(project, { kind: "state", flag: "dark-launch", state: "ENABLED" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "pending", createdBy: "token:bootstrap" });
    const alarm = await runInDurableObject(store(project), (_i, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(Date.parse(created.body.at));
    // Before its time, the alarm leaves it alone, and arms itself for that time.
    expect(await runDurableObjectAlarm(store(project))).toBe(true);
    expect((await call("GET", `${E(project)}/flags/dark-launch`)).body.state).toBe("DISABLED");
    // With the rest of the queue done, the alarm is armed for the schedule's time and no earlier.
    const armed = await runInDurableObject(store(project), async (instance, state) => {
      state.storage.sql.exec("DELETE FROM outbox");
      await state.storage.deleteAlarm();
      await instance.alarm();
      return state.storage.getAlarm();
    });
    expect(armed).toBe(Date.parse(created.body.at));

    const version = (await call("GET", `${E(project)}/flagd`)).headers.get("etag");
    await timePasses(project);
    await timePasses(project);
    expect((await call("GET", `${E(project)}/flags/dark-launch`)).body.state).toBe("ENABLED");
    expect((await call("GET", `${E(project)}/flagd`)).headers.get("etag")).toBe(`"${Number(version!.replaceAll('"', "")) + 1}"`);
    const [applied] = (await call("GET", `${E(project)}/schedules`)).body;
    expect(applied).toMatchObject({ status: "applied", finishedBy: "scheduler:token:bootstrap" });
    const audit = (await call("GET", `${P(project)}/audit?flag=dark-launch&limit=10`)).body.entries;
    expect(audit.filter((e: { action: string }) => e.action === "flag.enabled")).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "flag.enabled", actor: "scheduler:token:bootstrap" });
    expect((await queuedEvents(project)).map((e) => e.type)).toEqual(["flag.toggled", "schedule.applied"]);
  });

  it("neither loses nor doubles a change when the object fails mid-apply: the mark and the change commit together", async () => {
    const project = "sched-reset";
    await setupProject(project);
    await schedule(project, { kind: "default-variant", flag: "kill-switch", variant: "off" });
    const version = (await call("GET", `${E(project)}/flagd`)).headers.get("etag");
    // A fault between the change and its mark: the mark's write fails, so the transaction aborts.
    await runInDurableObject(store(project), (_i, state) => {
      state.storage.sql.exec(
        "CREATE TRIGGER fail_mark BEFORE UPDATE OF status ON schedules WHEN NEW.status = 'applied' BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
      );
    });
    await expect(timePasses(project)).rejects.toThrow();
    expect((await call("GET", `${E(project)}/flags/kill-switch`)).body.defaultVariant).toBe("on");
    expect((await call("GET", `${E(project)}/flagd`)).headers.get("etag")).toBe(version);
    await runInDurableObject(store(project), (_i, state) => state.storage.sql.exec("DROP TRIGGER fail_mark"));
    await restartObject(project);
    await timePasses(project);
    await restartObject(project);
    await timePasses(project);
    expect((await call("GET", `${E(project)}/flags/kill-switch`)).body.defaultVariant).toBe("off");
    expect((await call("GET", `${E(project)}/flagd`)).headers.get("etag")).toBe(`"${Number(version!.replaceAll('"', "")) + 1}"`);
    const audit = (await call("GET", `${P(project)}/audit?flag=kill-switch&limit=10`)).body.entries;
    expect(audit.filter((e: { action: string }) => e.action === "flag.updated")).toHaveLength(1);
  });

  it("never applies once cancelled, and records a failure with its reason and an event", async () => {
    const project = "sched-cancel";
    await setupProject(project);
    await subscribe(project, ["schedule.failed"]);
    const cancelled = await schedule(project, { kind: "state", flag: "dark-launch", state: "ENABLED" });
    const gone = await schedule(project, { kind: "targeting", flag: "new-checkout", targeting: { if: [true, "on", "off"] } });
    expect((await call("DELETE", `${E(project)}/schedules/${cancelled.body.id}`)).body.status).toBe("cancelled");
    expect((await call("DELETE", `${E(project)}/schedules/${cancelled.body.id}`)).status).toBe(409);
    expect((await call("DELETE", `${E(project)}/flags/new-checkout`)).status).toBe(204);
    await timePasses(project);
    expect((await call("GET", `${E(project)}/flags/dark-launch`)).body.state).toBe("DISABLED");
    const list = (await call("GET", `${E(project)}/schedules`)).body;
    expect(list.find((s: { id: string }) => s.id === cancelled.body.id).status).toBe("cancelled");
    const failed = list.find((s: { id: string }) => s.id === gone.body.id);
    expect(failed.status).toBe("failed");
    expect(failed.failure).toContain('no flag "new-checkout"');
    const events = await queuedEvents(project);
    expect(events.map((e) => e.type)).toEqual(["schedule.failed"]);
    expect(events[0]!.data).toMatchObject({ schedule: gone.body.id });
    // Nothing is left for the alarm to retry.
    await timePasses(project);
    expect((await queuedEvents(project)).length).toBe(1);
  });

  it("refuse bad input: a time past, a flag or variant that does not exist, a targeting that is not valid", async () => {
    const project = "sched-bad";
    await setupProject(project);
    const past = await call("POST", `${E(project)}/schedules`, {
      body: { at: "2020-01-01T00:00:00Z", change: { kind: "state", flag: "dark-launch", state: "ENABLED" }, reason: "r" },
    });
    expect(past.status).toBe(400);
    expect((await schedule(project, { kind: "state", flag: "nope", state: "ENABLED" })).status).toBe(404);
    expect((await schedule(project, { kind: "default-variant", flag: "kill-switch", variant: "nope" })).status).toBe(400);
    expect((await schedule(project, { kind: "targeting", flag: "kill-switch", targeting: { if: [true, "nope", "off"] } })).status).toBe(
      400,
    );
    expect((await schedule(project, { kind: "sometime" })).status).toBe(400);
    expect((await call("GET", `${E(project)}/schedules`)).body).toEqual([]);
  });

  it("apply a whole change request once approved, in a protected environment where an editor cannot schedule a direct change", async () => {
    const project = "sched-cr";
    await setupProject(project);
    await protect(project);
    const editor = await keyWithRole(project, "editor");
    const approver = await keyWithRole(project, "approver");
    const direct = await schedule(project, { kind: "state", flag: "dark-launch", state: "ENABLED" }, editor.token);
    expect(direct.status).toBe(403);
    expect(direct.body.detail).toContain("open a change request");
    const request = await call("POST", `${E(project)}/change-requests`, {
      token: editor.token,
      body: { flags: { "dark-launch": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" } }, reason: "launch" },
    });
    const scheduled = await schedule(project, { kind: "change-request", id: request.body.id }, editor.token);
    expect(scheduled.status).toBe(201);
    // Not approved by its time: failed, not skipped. A second schedule waits for approval.
    const unapproved = scheduled.body.id;
    await timePasses(project);
    const failed = (await call("GET", `${E(project)}/schedules`)).body.find((s: { id: string }) => s.id === unapproved);
    expect(failed).toMatchObject({ status: "failed" });
    expect(failed.failure).toContain("not approved");

    await schedule(project, { kind: "change-request", id: request.body.id }, editor.token);
    const approved = await call("POST", `${E(project)}/change-requests/${request.body.id}/approve`, { token: approver.token });
    expect(approved.body).toMatchObject({ status: "approved", appliedVersion: null });
    expect((await call("GET", `${E(project)}/flags/dark-launch`)).body.state).toBe("DISABLED");
    await timePasses(project);
    expect((await call("GET", `${E(project)}/flags/dark-launch`)).body.state).toBe("ENABLED");
    expect((await call("GET", `${E(project)}/change-requests/${request.body.id}`)).body.status).toBe("applied");
    const audit = (await call("GET", `${P(project)}/audit?flag=dark-launch&limit=5`)).body.entries;
    expect(audit[0]).toMatchObject({ action: "flag.updated", actor: `scheduler:${editor.name}` });
  });
});
