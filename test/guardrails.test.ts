/**
 * Metrics and guardrails in the store: metrics defined per project (audited, refused when bad or
 * in use), a ramp that names guardrails, and the alarm's check, which records each check, never
 * acts on too little data, and pauses or rolls back a ramp whose new variant is significantly
 * worse, audited as the guardrail with its evidence and announced by a webhook. Per-arm totals
 * are written into the store's telemetry tables directly here (the tracking path has its own
 * tests; the end-to-end test drives it through the OpenFeature SDK).
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, setupProject, store } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;
const ERRORS = { event: "checkout-error", kind: "rate", direction: "higher-is-worse" } as const;

interface Arm {
  units: number;
  converted: number;
}

/** Sets a subject's exposed units and the event's per-arm totals, as tracking would have left them. */
async function setArms(project: string, subject: string, event: string, arms: Record<string, Arm>): Promise<void> {
  await runInDurableObject(store(project), async (_instance, state) => {
    const sql = state.storage.sql;
    for (const [variant, a] of Object.entries(arms)) {
      sql.exec("INSERT OR REPLACE INTO exposure_counts (subject, variant, units) VALUES (?, ?, ?)", subject, variant, a.units);
      sql.exec(
        `INSERT OR REPLACE INTO arm_event_aggregates (subject, name, variant, converted_units, events, events_squared, valued, value_sum, value_sum_squares)
         VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0)`,
        subject,
        event,
        variant,
        a.converted,
        a.converted,
        a.converted,
      );
    }
  });
}

/** Runs the alarm with the metric checks due (a minute has passed). */
async function checkNow(project: string): Promise<void> {
  await runInDurableObject(store(project), async (instance, state) => {
    state.storage.sql.exec("DELETE FROM meta WHERE key = 'metrics_checked_at'");
    await instance.alarm();
  });
}

async function guardedRamp(project: string, action: "pause" | "rollback", minSample = 500) {
  await setupProject(project);
  expect((await call("PUT", `${P(project)}/metrics/checkout-errors`, { body: ERRORS })).status).toBe(200);
  const flag = `${P(project)}/environments/production/flags/kill-switch`;
  const started = await call("POST", `${flag}/ramp`, {
    body: {
      variant: "off",
      baseline: "on",
      steps: [{ percent: 50 }, { percent: 100, afterSeconds: 3600 }],
      guardrails: [{ metric: "checkout-errors", tolerance: { kind: "relative", value: 0.1 }, action, minSample }],
    },
  });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  return { flag, id: started.body.id as string };
}

describe("metrics", () => {
  it("are created, read, listed and deleted, audited; the same definition again writes nothing", async () => {
    await setupProject("metrics-crud");
    const created = await call("PUT", `${P("metrics-crud")}/metrics/checkout-errors`, { body: ERRORS });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ name: "checkout-errors", event: "checkout-error", kind: "rate", changed: true });
    const again = await call("PUT", `${P("metrics-crud")}/metrics/checkout-errors`, { body: ERRORS });
    expect(again.body.changed).toBe(false);
    const audit = await call("GET", `${P("metrics-crud")}/audit?action=metric.changed`);
    expect(audit.body.entries).toHaveLength(1);
    expect((await call("GET", `${P("metrics-crud")}/metrics`)).body.map((m: { name: string }) => m.name)).toEqual(["checkout-errors"]);
    expect((await call("DELETE", `${P("metrics-crud")}/metrics/checkout-errors`)).status).toBe(204);
    expect((await call("GET", `${P("metrics-crud")}/metrics/checkout-errors`)).status).toBe(404);
  });

  it.each([
    [{ ...ERRORS, kind: "median" }, "kind"],
    [{ ...ERRORS, event: "" }, "event"],
    [{ ...ERRORS, extra: 1 }, "extra"],
  ])("refuses a bad definition %j with a 400 naming the field, and stores nothing", async (body, field) => {
    await setupProject(`metrics-bad-${field}`);
    const res = await call("PUT", `${P(`metrics-bad-${field}`)}/metrics/m`, { body });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body.detail).toContain(field);
    expect((await call("GET", `${P(`metrics-bad-${field}`)}/metrics`)).body).toEqual([]);
  });

  it("refuses a guardrail on an undefined metric (no ramp starts), and deleting a metric a running ramp guards with", async () => {
    const { flag } = await guardedRamp("metrics-in-use", "pause");
    const refused = await call("PUT", `${flag}/ramp/guardrails`, { body: { guardrails: [{ metric: "nope" }] } });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toContain('no metric "nope"');
    const inUse = await call("DELETE", `${P("metrics-in-use")}/metrics/checkout-errors`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.detail).toContain("kill-switch");
    await setupProject("metrics-no-start");
    const noStart = await call("POST", `${P("metrics-no-start")}/environments/production/flags/kill-switch/ramp`, {
      body: { variant: "off", baseline: "on", steps: [{ percent: 50 }], guardrails: [{ metric: "nope" }] },
    });
    expect(noStart.status).toBe(400);
    expect((await call("GET", `${P("metrics-no-start")}/environments/production/flags/kill-switch/ramp`)).status).toBe(404);
  });
});

describe("guardrails on a ramp", () => {
  it("keep the alarm armed within a minute while the ramp runs, though its next step is an hour away", async () => {
    await guardedRamp("guard-alarm", "pause");
    await runInDurableObject(store("guard-alarm"), async (instance, state) => {
      await instance.alarm();
      const alarm = await state.storage.getAlarm();
      expect(alarm).not.toBeNull();
      expect(alarm! - Date.now()).toBeLessThanOrEqual(60_000);
    });
  });

  it("roll a ramp back when the new variant's error rate is significantly worse: audited with the evidence, announced, recorded", async () => {
    const { flag, id } = await guardedRamp("guard-rollback", "rollback");
    const hook = await call("POST", `${P("guard-rollback")}/webhooks`, {
      body: { url: "https://hooks.example.com/x", events: ["guardrail.tripped"] },
    });
    expect(hook.status).toBe(201);
    await setArms("guard-rollback", `ramp:${id}:0`, "checkout-error", {
      on: { units: 5_000, converted: 100 },
      off: { units: 5_000, converted: 300 },
    });
    await checkNow("guard-rollback");
    const ramp = await call("GET", `${flag}/ramp`);
    expect(ramp.body.status).toBe("rolled-back");
    expect(ramp.body.currentPercent).toBe(0);
    const tripped = await call("GET", `${P("guard-rollback")}/audit?action=guardrail.tripped`);
    expect(tripped.body.entries).toHaveLength(1);
    const entry = tripped.body.entries[0];
    expect(entry.actor).toBe("system:guardrail:checkout-errors");
    expect(entry.after.check).toMatchObject({ decision: "degraded", variant: { variant: "off", units: 5_000, events: 300 } });
    expect(entry.after.check.difference.lower).toBeGreaterThan(entry.after.check.threshold);
    const deliveries = await runInDurableObject(store("guard-rollback"), (_i, state) =>
      state.storage.sql.exec<{ payload: string }>("SELECT payload FROM webhook_deliveries").toArray(),
    );
    expect(deliveries.map((d) => JSON.parse(d.payload).type)).toContain("guardrail.tripped");
    const metrics = await call("GET", `${flag}/ramp/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body.subject).toBe(`ramp:${id}:0`);
    expect(metrics.body.metrics[0].latest[0]).toEqual(entry.after.check);

    // A person resumes it: the step's cumulative totals do not stop it again at once; the check says why.
    expect((await call("POST", `${flag}/ramp/resume`)).status).toBe(200);
    expect((await call("GET", `${flag}/ramp`)).body.currentStep).toBe(0);
    await checkNow("guard-rollback");
    expect((await call("GET", `${flag}/ramp`)).body.status).toBe("running");
    const latest = (await call("GET", `${flag}/ramp/metrics`)).body.metrics[0].latest[0];
    expect(latest.decision).toBe("degraded");
    expect(latest.reason).toContain("not acted on");
    expect((await call("GET", `${P("guard-rollback")}/audit?action=guardrail.tripped`)).body.entries).toHaveLength(1);
  });

  it("pause a ramp (action pause) and leave it alone when the variant is no worse", async () => {
    const { flag, id } = await guardedRamp("guard-pause", "pause");
    await setArms("guard-pause", `ramp:${id}:0`, "checkout-error", {
      on: { units: 5_000, converted: 100 },
      off: { units: 5_000, converted: 101 },
    });
    await checkNow("guard-pause");
    expect((await call("GET", `${flag}/ramp`)).body.status).toBe("running");
    await setArms("guard-pause", `ramp:${id}:0`, "checkout-error", {
      on: { units: 5_000, converted: 100 },
      off: { units: 5_000, converted: 400 },
    });
    await checkNow("guard-pause");
    const ramp = await call("GET", `${flag}/ramp`);
    expect(ramp.body.status).toBe("paused");
    expect(ramp.body.pauseReason).toContain('guardrail "checkout-errors"');
    const metrics = await call("GET", `${flag}/ramp/metrics`);
    expect(metrics.body.metrics[0].history.map((c: { decision: string }) => c.decision)).toEqual(["continue", "degraded"]);
  });

  it("never act on too little data: below the minimum sample per arm the check says so and the ramp runs on", async () => {
    const { flag, id } = await guardedRamp("guard-few", "rollback", 1_000);
    await setArms("guard-few", `ramp:${id}:0`, "checkout-error", {
      on: { units: 900, converted: 0 },
      off: { units: 5_000, converted: 5_000 },
    });
    await checkNow("guard-few");
    expect((await call("GET", `${flag}/ramp`)).body.status).toBe("running");
    const latest = (await call("GET", `${flag}/ramp/metrics`)).body.metrics[0].latest[0];
    expect(latest.decision).toBe("insufficient-data");
    expect(latest.reason).toContain("1000 observations");
  });
});

describe("metrics of an experiment", () => {
  it("are checked per arm against the baseline each minute and recorded, without any action", async () => {
    await setupProject("exp-metrics");
    await call("PUT", `${P("exp-metrics")}/metrics/checkout-errors`, { body: ERRORS });
    const started = await call("POST", `${P("exp-metrics")}/environments/production/flags/new-checkout/experiment`, {
      body: { weights: { off: 50, on: 50 } },
    });
    expect(started.status).toBe(201);
    const id = started.body.id as string;
    await setArms("exp-metrics", `exp:${id}`, "checkout-error", {
      off: { units: 5_000, converted: 100 },
      on: { units: 5_000, converted: 300 },
    });
    await checkNow("exp-metrics");
    const res = await call("GET", `${P("exp-metrics")}/experiments/${id}/metrics`);
    expect(res.status).toBe(200);
    expect(res.body.baseline).toBe("off");
    expect(res.body.metrics[0].latest[0]).toMatchObject({ decision: "degraded", baseline: { variant: "off" }, variant: { variant: "on" } });
    expect((await call("GET", `${P("exp-metrics")}/experiments/${id}`)).body.status).toBe("running");
  });
});
