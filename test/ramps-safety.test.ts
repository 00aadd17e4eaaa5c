/**
 * Ramps and experiments whose flag goes away, and ramps that cannot do what they say: nothing
 * keeps running on a deleted flag, and the alarm never loops on a step it cannot apply.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { compileFlagSet } from "../engine/index";
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
    expect((await startRamp(project, "kill-switch")).status).toBe(201);
    const deleted = await call("DELETE", flagPath(project, "kill-switch"));
    expect(deleted.status).toBeLessThan(300);
    expect((await call("GET", `${flagPath(project, "kill-switch")}/ramp`)).status).toBe(404);
    const audit = (await call("GET", `${P(project)}/audit?flag=kill-switch&limit=10`)).body.entries.map(
      (e: { action: string }) => e.action,
    );
    expect(audit.slice(0, 2).sort()).toEqual(["flag.deleted", "ramp.deleted"]);
    await drainOutbox(project);
    expect(await alarmAfterRun(project)).toBeNull();
    // The key is free for a new flag and a new ramp.
    expect(
      (
        await call("POST", `${P(project)}/environments/production/flags`, {
          body: { key: "kill-switch", state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off" },
        })
      ).status,
    ).toBe(201);
    expect((await startRamp(project, "kill-switch")).status).toBe(201);
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
    expect((await startRamp(project, "kill-switch")).status).toBe(201);
    await runInDurableObject(store(project), (_i, state) => {
      state.storage.sql.exec("DELETE FROM flags WHERE key = 'kill-switch'");
      state.storage.sql.exec("UPDATE ramps SET next_at = 0");
    });
    await drainOutbox(project);
    const ramp = await call("GET", `${flagPath(project, "kill-switch")}/ramp`);
    expect(ramp.body.status).toBe("paused");
    expect(ramp.body.pauseReason).toContain("could not be applied");
    await drainOutbox(project);
    expect(await alarmAfterRun(project)).toBeNull();
    const pauses = (await call("GET", `${P(project)}/audit?flag=kill-switch&limit=50`)).body.entries.filter(
      (e: { action: string }) => e.action === "ramp.paused",
    );
    expect(pauses).toHaveLength(1);
  });
});

describe("ramps that would not do what they say", () => {
  it("roll back → delete → new ramp: the old 0% split is not left in front, so the new ramp exposes its share", async () => {
    const project = "safety-ramp-again";
    const { key } = await setupProject(project);
    expect((await startRamp(project, "kill-switch")).status).toBe(201);
    expect((await call("POST", `${flagPath(project, "kill-switch")}/ramp/rollback`, { body: {} })).body.status).toBe("rolled-back");
    expect((await call("DELETE", `${flagPath(project, "kill-switch")}/ramp`)).status).toBe(204);
    const again = await startRamp(project, "kill-switch", { steps: [{ percent: 30 }, { percent: 60, afterSeconds: 3600 }] });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ currentPercent: 30, effectivePercent: 30 });
    const set = compileFlagSet((await call("GET", `${P(project)}/environments/production/flagd`)).body);
    const on = Array.from({ length: 400 }, (_, i) => set.evaluate("kill-switch", { targetingKey: `u${i}` })).filter(
      (r) => r.kind === "value" && r.variant === "on",
    ).length;
    expect(on).toBeGreaterThan(60);
    expect(key).toBeTruthy();
  });

  it("replaces a rolled-back ramp with a new one instead of refusing with a wrong message", async () => {
    const project = "safety-ramp-replace";
    await setupProject(project);
    await startRamp(project, "kill-switch");
    await call("POST", `${flagPath(project, "kill-switch")}/ramp/rollback`, { body: {} });
    const again = await startRamp(project, "kill-switch", { steps: [{ percent: 25 }, { percent: 50, afterSeconds: 3600 }] });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ status: "running", currentPercent: 25 });
    const flag = (await call("GET", flagPath(project, "kill-switch"))).body;
    expect(flag.targeting).toEqual({
      fractional: [
        ["on", 2500],
        ["off", 7500],
      ],
    });
  });

  it("refuses a ramp on a flag whose own rules already answer everyone, naming the rule", async () => {
    const project = "safety-ramp-shadowed";
    await setupProject(project);
    const refused = await startRamp(project, "new-checkout", { steps: [{ percent: 25 }] });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain("fractional split answers every context");
    expect((await call("GET", `${flagPath(project, "new-checkout")}/ramp`)).status).toBe(404);
  });

  it("a ramp on a flag turned off says it reaches nobody (effective share 0 and why) until the flag is turned on", async () => {
    const project = "safety-ramp-killed";
    await setupProject(project);
    const off = await call("POST", `${flagPath(project, "kill-switch")}/toggle`, { body: { state: "DISABLED" } });
    expect(off.status).toBe(200);
    const started = await startRamp(project, "kill-switch", { steps: [{ percent: 25 }, { percent: 50, afterSeconds: 60 }] });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ currentPercent: 25, effectivePercent: 0 });
    expect(started.body.effectiveNote).toContain('"kill-switch" is turned off in "production"');
    expect(started.body.effectiveNote).toContain("reaches nobody until the flag is turned on");
    expect((await call("GET", `${flagPath(project, "kill-switch")}/ramp`)).body).toMatchObject({ effectivePercent: 0 });

    // Turning the flag on pauses the ramp (a change made outside it); its share is real again.
    const on = await call("POST", `${flagPath(project, "kill-switch")}/toggle`, { body: { state: "ENABLED" } });
    expect(on.status).toBe(200);
    const after = (await call("GET", `${flagPath(project, "kill-switch")}/ramp`)).body;
    expect(after.effectivePercent).toBe(after.currentPercent);
    expect(after.effectiveNote ?? "").not.toContain("turned off");
  });

  it("a rollback trigger fired at a rolled-back ramp writes no new version", async () => {
    const project = "safety-ramp-rollback-twice";
    await setupProject(project);
    await startRamp(project, "kill-switch");
    const trigger = (
      await call("POST", `${P(project)}/triggers`, {
        body: { name: "alert", environment: "production", flag: "kill-switch", action: "rollback-ramp" },
      })
    ).body;
    const first = await call("POST", new URL(trigger.url).pathname, { token: null });
    const second = await call("POST", new URL(trigger.url).pathname, { token: null });
    expect(first.body).toMatchObject({ changed: true });
    expect(second.body).toMatchObject({ changed: false, version: first.body.version });
  });
});
