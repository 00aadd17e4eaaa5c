/**
 * Ramps and experiments whose flag goes away, and ramps that cannot do what they say: nothing
 * keeps running on a deleted flag, and the alarm never loops on a step it cannot apply.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, drainOutbox, setupProject, store } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;
const flagPath = (project: string, flag: string) => `${P(project)}/environments/production/flags/${flag}`;

async function startRamp(project: string, flag: string, body: Record<string, unknown> = {}) {
  return call("POST", `${flagPath(project, flag)}/ramp`, {
    body: { variant: "on", baseline: "off", steps: [{ percent: 10 }, { percent: 50, afterSeconds: 60 }], ...body },
  });
}

/** Runs the scheduled alarm (if any) and answers when the alarm is next set: null when nothing is left to do. */
async function alarmAfterRun(project: string): Promise<number | null> {
  await runDurableObjectAlarm(store(project));
  return runInDurableObject(store(project), (_i, state) => state.storage.getAlarm());
}

describe("deleting a flag that something runs on", () => {
  it("ends its running ramp in the same transaction; the alarm then has nothing to do", async () => {
    const project = "safety-delete-ramp";
    await setupProject(project);
    expect((await startRamp(project, "new-checkout")).status).toBe(201);
    const deleted = await call("DELETE", flagPath(project, "new-checkout"));
    expect(deleted.status).toBeLessThan(300);
    expect((await call("GET", `${flagPath(project, "new-checkout")}/ramp`)).status).toBe(404);
    const audit = (await call("GET", `${P(project)}/audit?flag=new-checkout&limit=10`)).body.entries.map((e: { action: string }) => e.action);
    expect(audit.slice(0, 2).sort()).toEqual(["flag.deleted", "ramp.deleted"]);
    await drainOutbox(project);
    expect(await alarmAfterRun(project)).toBeNull();
    // The key is free for a new flag and a new ramp.
    expect((await call("POST", `${P(project)}/environments/production/flags`, { body: { key: "new-checkout", state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off" } })).status).toBe(201);
    expect((await startRamp(project, "new-checkout")).status).toBe(201);
  });

  it("stops a running experiment on it", async () => {
    const project = "safety-delete-exp";
    await setupProject(project);
    const started = await call("POST", `${flagPath(project, "new-checkout")}/experiment`, { body: { weights: { on: 50, off: 50 } } });
    expect(started.status).toBe(201);
    expect((await call("DELETE", flagPath(project, "new-checkout"))).status).toBeLessThan(300);
    expect((await call("GET", `${P(project)}/experiments/${started.body.id}`)).body.status).toBe("stopped");
  });

  it("pauses (once) a ramp left on a missing flag by an earlier release, instead of re-arming the alarm for ever", async () => {
    const project = "safety-orphan-ramp";
    await setupProject(project);
    expect((await startRamp(project, "new-checkout")).status).toBe(201);
    await runInDurableObject(store(project), (_i, state) => {
      state.storage.sql.exec("DELETE FROM flags WHERE key = 'new-checkout'");
      state.storage.sql.exec("UPDATE ramps SET next_at = 0");
    });
    await drainOutbox(project);
    const ramp = await call("GET", `${flagPath(project, "new-checkout")}/ramp`);
    expect(ramp.body.status).toBe("paused");
    expect(ramp.body.pauseReason).toContain("could not be applied");
    await drainOutbox(project);
    expect(await alarmAfterRun(project)).toBeNull();
    const pauses = (await call("GET", `${P(project)}/audit?flag=new-checkout&limit=50`)).body.entries.filter((e: { action: string }) => e.action === "ramp.paused");
    expect(pauses).toHaveLength(1);
  });
});
