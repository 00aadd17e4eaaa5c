import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { rampTargeting } from "../durable-objects/ramps";
import { sampleRatioTest } from "../durable-objects/stats";
import { compileFlagSet } from "../engine/index";
import type { FlagDefinition } from "../engine/types";
import { resetEdgeState } from "../worker/edge-state";
import { unitId } from "../worker/telemetry";
import { advanceRamps, call, drainOutbox, evaluate, setupProject, store } from "./helpers";
import { evaluateAndSettle } from "./edge-settle";
import { telemetryShard } from "./telemetry-shards";

const P = (project: string) => `/admin/v1/projects/${project}`;
const STEPS = [1, 5, 25, 50, 100];

/** Share of `users` getting `true` from a flag at the edge, and the config version it used. */
async function exposure(key: string, flag: string, users: number): Promise<{ share: number; version: number }> {
  const answers = await Promise.all(Array.from({ length: users }, (_, i) => evaluate(key, flag, { targetingKey: `user-${i}` })));
  const versions = new Set(answers.map((res) => res.body.metadata.configVersion));
  expect(versions.size).toBe(1);
  return { share: answers.filter((res) => res.body.value === true).length / users, version: [...versions][0] };
}

describe("ramps are monotone", () => {
  it("keeps every unit exposed at one step exposed at every later step (100,000 ids)", () => {
    const exposedAt = STEPS.map((percent) => {
      const set = compileFlagSet({
        flags: {
          f: {
            state: "ENABLED",
            variants: { on: true, off: false },
            defaultVariant: "off",
            targeting: rampTargeting(null, "on", "off", percent),
          },
        },
      });
      const exposed = new Uint8Array(100_000);
      for (let i = 0; i < 100_000; i++) {
        const result = set.evaluate("f", { targetingKey: `id-${i}` });
        exposed[i] = result.kind === "value" && result.variant === "on" ? 1 : 0;
      }
      return exposed;
    });
    for (let step = 1; step < STEPS.length; step++) {
      let left = 0;
      for (let i = 0; i < 100_000; i++) if (exposedAt[step - 1]![i] && !exposedAt[step]![i]) left++;
      expect(left, `units that left the rollout between ${STEPS[step - 1]}% and ${STEPS[step]}%`).toBe(0);
    }
    const shares = exposedAt.map((exposed) => exposed.reduce((a, b) => a + b, 0) / 100_000);
    shares.forEach((share, i) => {
      expect(Math.abs(share - STEPS[i]! / 100)).toBeLessThan(0.01);
    });
  });
});

describe("scheduled ramps", () => {
  it("runs 1% → 100% in five steps, each a new version visible at the OFREP endpoint, and a trigger rolls it back", {
    timeout: 60_000,
  }, async () => {
    const { key } = await setupProject("ramp-e2e");
    const flag = `${P("ramp-e2e")}/environments/production/flags/kill-switch`;
    await call("PUT", flag, {
      headers: { "if-match": `"${(await call("GET", flag)).body.version}"` },
      body: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off" },
    });
    const started = await call("POST", `${flag}/ramp`, {
      body: { variant: "on", baseline: "off", steps: STEPS.map((percent, i) => ({ percent, afterSeconds: i === 0 ? 0 : 3600 })) },
    });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ status: "running", currentStep: 0, currentPercent: 1 });
    expect(started.body.steps.map((s: { state: string }) => s.state)).toEqual(["current", "next", "pending", "pending", "pending"]);
    const versions: number[] = [];
    for (let step = 0; step < STEPS.length; step++) {
      if (step > 0) {
        // The alarm applies the step; the outbox publishes it to KV; an isolate past its refresh
        // interval (here: a fresh one) reads it from there.
        await advanceRamps("ramp-e2e");
        await drainOutbox("ramp-e2e");
        resetEdgeState(["snapshots"]);
      }
      const ramp = (await call("GET", `${flag}/ramp`)).body;
      expect(ramp.currentStep).toBe(step);
      const { share, version } = await exposure(key, "kill-switch", 300);
      versions.push(version);
      expect(version).toBe(ramp.history[step].version);
      expect(Math.abs(share - STEPS[step]! / 100)).toBeLessThan(0.08);
    }
    expect(new Set(versions).size).toBe(5);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    const done = (await call("GET", `${flag}/ramp`)).body;
    expect(done.status).toBe("completed");
    expect(done.history.map((h: { percent: number }) => h.percent)).toEqual(STEPS);

    const trigger = (
      await call("POST", `${P("ramp-e2e")}/triggers`, {
        body: { name: "latency", environment: "production", flag: "kill-switch", action: "rollback-ramp" },
      })
    ).body;
    const fired = await call("POST", new URL(trigger.url).pathname, { token: null, headers: { "x-change-reason": "p99 latency alert" } });
    expect(fired.status).toBe(200);
    expect(fired.body.ramp).toMatchObject({ status: "rolled-back", currentPercent: 0 });
    expect((await exposure(key, "kill-switch", 200)).share).toBe(0);
    const audit = (await call("GET", `${P("ramp-e2e")}/audit?flag=kill-switch&limit=1`)).body.entries[0];
    expect(audit).toMatchObject({ actor: "trigger:latency", action: "ramp.rolled-back", reason: "p99 latency alert" });
  });

  it("advances each step exactly once, across repeated alarms and an evicted object", async () => {
    await setupProject("ramp-once");
    const flag = `${P("ramp-once")}/environments/production/flags/kill-switch`;
    await call("POST", `${flag}/ramp`, {
      body: {
        variant: "on",
        baseline: "off",
        steps: [{ percent: 10 }, { percent: 20, afterSeconds: 60 }, { percent: 30, afterSeconds: 60 }],
      },
    });
    await drainOutbox("ramp-once");
    await drainOutbox("ramp-once");
    expect((await call("GET", `${flag}/ramp`)).body.history).toHaveLength(1);
    await advanceRamps("ramp-once");
    await runInDurableObject(store("ramp-once"), async (instance) => {
      await instance.alarm();
    });
    const ramp = (await call("GET", `${flag}/ramp`)).body;
    expect(ramp.history.map((h: { step: number }) => h.step)).toEqual([0, 1]);
    expect(ramp.currentPercent).toBe(20);
  });

  it("applies a running ramp's next step now on request, and refuses (changing nothing) when there is no next step or the ramp is stopped", async () => {
    const { key } = await setupProject("ramp-advance");
    const flag = `${P("ramp-advance")}/environments/production/flags/kill-switch`;
    const hour = 3600;
    await call("POST", `${flag}/ramp`, {
      body: {
        variant: "on",
        baseline: "off",
        steps: [{ percent: 10 }, { percent: 50, afterSeconds: hour }, { percent: 100, afterSeconds: hour }],
      },
    });
    expect((await call("GET", `${flag}/ramp`)).body.currentPercent).toBe(10);

    const before = Date.now();
    const advanced = await call("POST", `${flag}/ramp/advance`, { headers: { "x-change-reason": "metrics look fine" } });
    expect(advanced.status).toBe(200);
    expect(advanced.body).toMatchObject({ status: "running", currentStep: 1, currentPercent: 50 });
    // The step after it is due after its own delay from now, not from when the skipped wait began.
    const nextAt = Date.parse(advanced.body.nextAt);
    expect(nextAt).toBeGreaterThanOrEqual(before + hour * 1000);
    expect(nextAt).toBeLessThan(Date.now() + hour * 1000 + 1000);
    const halfway = await exposure(key, "kill-switch", 200);
    expect(halfway.share).toBeGreaterThan(0.35);
    expect(halfway.share).toBeLessThan(0.65);
    const audit = (await call("GET", `${P("ramp-advance")}/audit?limit=1`)).body;
    expect(audit.entries[0]).toMatchObject({ action: "ramp.step", reason: "metrics look fine" });

    // The last step completes the ramp; asking for another step is refused and writes nothing.
    expect((await call("POST", `${flag}/ramp/advance`)).body).toMatchObject({ status: "completed", currentPercent: 100 });
    const done = (await call("GET", flag)).body.version;
    const refused = await call("POST", `${flag}/ramp/advance`);
    expect(refused.status).toBe(409);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    expect(refused.body.detail).toContain("completed");
    expect((await call("GET", flag)).body.version).toBe(done);

    // A paused ramp is resumed first: advancing it is refused, and it stays paused at its step.
    await call("DELETE", `${flag}/ramp`);
    await call("POST", `${flag}/ramp`, {
      body: { variant: "on", baseline: "off", steps: [{ percent: 5 }, { percent: 50, afterSeconds: hour }] },
    });
    await call("POST", `${flag}/ramp/pause`);
    const paused = await call("POST", `${flag}/ramp/advance`);
    expect(paused.status).toBe(409);
    expect(paused.body.detail).toContain("resume it first");
    expect((await call("GET", `${flag}/ramp`)).body).toMatchObject({ status: "paused", currentPercent: 5 });
  });

  it("pauses, resumes, jumps to 100%, and pauses itself when the flag is edited outside the ramp", async () => {
    const { key } = await setupProject("ramp-control");
    // The ramp decides for contexts the flag's own rules leave unmatched; this flag has none.
    const flag = `${P("ramp-control")}/environments/production/flags/kill-switch`;
    await call("POST", `${flag}/ramp`, {
      body: { variant: "on", baseline: "off", steps: [{ percent: 10 }, { percent: 50, afterSeconds: 60 }] },
    });
    expect((await call("POST", `${flag}/ramp/pause`, { headers: { "x-change-reason": "watch metrics" } })).body).toMatchObject({
      status: "paused",
      nextAt: null,
    });
    await advanceRamps("ramp-control");
    expect((await call("GET", `${flag}/ramp`)).body.currentStep).toBe(0);
    expect((await call("POST", `${flag}/ramp/resume`)).body.status).toBe("running");
    expect((await call("POST", `${flag}/ramp/complete`)).body).toMatchObject({ status: "completed", currentPercent: 100 });
    expect((await exposure(key, "kill-switch", 50)).share).toBe(1);

    await call("DELETE", `${flag}/ramp`);
    await call("POST", `${flag}/ramp`, {
      body: { variant: "on", baseline: "off", steps: [{ percent: 5 }, { percent: 50, afterSeconds: 60 }] },
    });
    const current = (await call("GET", flag)).body;
    await call("PUT", flag, {
      headers: { "if-match": `"${current.version}"` },
      body: {
        state: "ENABLED",
        variants: current.variants,
        defaultVariant: "off",
        targeting: { if: [{ "==": [{ var: "plan" }, "beta"] }, "on", null] },
      },
    });
    await advanceRamps("ramp-control");
    const paused = (await call("GET", `${flag}/ramp`)).body;
    expect(paused).toMatchObject({ status: "paused", currentStep: 0 });
    expect(paused.pauseReason).toMatch(/changed outside the ramp/);
  });

  it.each([
    { id: "order", body: { variant: "on", baseline: "off", steps: [{ percent: 50 }, { percent: 10 }] }, path: "steps.1.percent" },
    { id: "variant", body: { variant: "blue", baseline: "off", steps: [{ percent: 5 }] }, path: "variant" },
    { id: "range", body: { variant: "on", baseline: "off", steps: [{ percent: 0 }] }, path: "steps.0.percent" },
    { id: "same", body: { variant: "on", baseline: "on", steps: [{ percent: 5 }] }, path: "baseline" },
  ])("rejects a malformed ramp ($id) and changes nothing", async ({ id, body, path }) => {
    await setupProject(`ramp-bad-${id}`);
    const flag = `${P(`ramp-bad-${id}`)}/environments/production/flags/new-checkout`;
    const before = (await call("GET", flag)).body.version;
    const res = await call("POST", `${flag}/ramp`, { body });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect((await call("GET", flag)).body.version).toBe(before);
    expect((await call("GET", `${flag}/ramp`)).status).toBe(404);
  });
});

describe("sample-ratio mismatch", () => {
  it.each([
    { split: [50_000, 50_000], flagged: false },
    { split: [51_000, 49_000], flagged: true },
  ])("100,000 units split $split against 50/50 → flagged: $flagged", { timeout: 60_000 }, async ({ split, flagged }) => {
    const project = `srm-${split[0]}`;
    await setupProject(project);
    const started = await call("POST", `${P(project)}/environments/production/flags/new-checkout/experiment`, {
      body: { weights: { on: 50, off: 50 } },
    });
    expect(started.status).toBe(201);
    const subject = `exp:${started.body.id}`;
    const exposures = [];
    for (let i = 0; i < split[0]! + split[1]!; i++)
      exposures.push({ subject, unit: `u${i}`, variant: i < split[0]! ? "on" : "off", at: 1 });
    for (let i = 0; i < exposures.length; i += 50_000) {
      const result = await store(project).recordTelemetry({ usage: [], exposures: exposures.slice(i, i + 50_000), shadow: [] });
      expect(result.ok).toBe(true);
    }
    // A repeated batch counts nothing twice.
    await store(project).recordTelemetry({ usage: [], exposures: exposures.slice(0, 1000), shadow: [] });
    const experiment = (await call("GET", `${P(project)}/experiments/${started.body.id}`)).body;
    expect(experiment.units).toEqual({ on: split[0], off: split[1] });
    expect(experiment.srm.mismatch).toBe(flagged);
    expect(experiment.srmFlaggedAt !== null).toBe(flagged);
    if (flagged) expect(experiment.srm.pValue).toBeLessThan(0.001);
    else expect(experiment.srm.pValue).toBeGreaterThan(0.5);
  });

  it("lists experiments by environment and flag", async () => {
    await setupProject("exp-list");
    const a = (
      await call("POST", `${P("exp-list")}/environments/production/flags/new-checkout/experiment`, { body: { weights: { on: 1, off: 1 } } })
    ).body;
    const b = await call("POST", `${P("exp-list")}/environments/staging/flags/new-checkout/experiment`, {
      body: { weights: { on: 1, off: 1 } },
    });
    expect(b.status).toBe(404); // staging has no flags in this project
    const ids = async (query: string) => (await call("GET", `${P("exp-list")}/experiments${query}`)).body.map((e: { id: string }) => e.id);
    expect(await ids("")).toEqual([a.id]);
    expect(await ids("?environment=production&flag=new-checkout")).toEqual([a.id]);
    expect(await ids("?flag=banner-color")).toEqual([]);
    expect((await call("GET", `${P("exp-list")}/experiments?environment=Bad!`)).status).toBe(400);
  });

  it("matches known χ² p-values", () => {
    // χ²(1) = 3.841 → p = 0.05; χ²(2) = 9.21 → p = 0.01; χ²(1) = 10.828 → p = 0.001.
    expect(sampleRatioTest({ a: 5098, b: 4902 }, { a: 1, b: 1 }).pValue).toBeCloseTo(0.0502, 3);
    expect(sampleRatioTest({ a: 100, b: 100 }, { a: 1, b: 1 }).pValue).toBe(1);
    const three = sampleRatioTest({ a: 1000, b: 1000, c: 1000 }, { a: 1, b: 1, c: 1 });
    expect(three.degreesOfFreedom).toBe(2);
    expect(sampleRatioTest({ a: 150, b: 50 }, { a: 1, b: 1 }).enoughData).toBe(false);
  });

  it("pauses a ramp step whose split is off, audited and sent as an event", async () => {
    await setupProject("srm-ramp");
    const flag = `${P("srm-ramp")}/environments/production/flags/kill-switch`;
    const ramp = (
      await call("POST", `${flag}/ramp`, {
        body: { variant: "on", baseline: "off", steps: [{ percent: 50 }, { percent: 100, afterSeconds: 3600 }] },
      })
    ).body;
    const subject = `ramp:${ramp.id}:0`;
    const exposures = Array.from({ length: 20_000 }, (_, i) => ({ subject, unit: `u${i}`, variant: i < 11_000 ? "on" : "off", at: 1 }));
    await store("srm-ramp").recordTelemetry({ usage: [], exposures, shadow: [] });
    const paused = (await call("GET", `${flag}/ramp`)).body;
    expect(paused.status).toBe("paused");
    expect(paused.pauseReason).toMatch(/sample ratio mismatch/);
    const report = (await call("GET", `${flag}/ramp/exposures`)).body;
    expect(report.steps[0].srm).toMatchObject({ mismatch: true, observed: { on: 11_000, off: 9_000 } });
    const audit = (await call("GET", `${P("srm-ramp")}/audit?flag=kill-switch&limit=1`)).body.entries[0];
    expect(audit).toMatchObject({ actor: "system:srm", action: "ramp.paused" });
  });
});

describe("exposures from the edge", () => {
  it("counts unique units per variant from real evaluations, delivered before the request's work ends", async () => {
    const { key } = await setupProject("exposures-edge");
    const started = (
      await call("POST", `${P("exposures-edge")}/environments/production/flags/new-checkout/experiment`, {
        body: { weights: { on: 50, off: 50 } },
      })
    ).body;
    const expected: Record<string, number> = {};
    const answers = await evaluateAndSettle(
      key,
      "/ofrep/v1/evaluate/flags/new-checkout",
      Array.from({ length: 60 }, (_, i) => ({ targetingKey: `visitor-${i}` })),
    );
    for (const body of answers) expected[body.variant] = (expected[body.variant] ?? 0) + 1;
    // A heavy user evaluating again, in bulk and single, counts once.
    for (let i = 0; i < 5; i++) await evaluateAndSettle(key, "/ofrep/v1/evaluate/flags", [{ targetingKey: "visitor-0" }]);
    const experiment = (await call("GET", `${P("exposures-edge")}/experiments/${started.id}`)).body;
    expect(experiment.units).toEqual(expected);
    const usage = (await call("GET", `${P("exposures-edge")}/environments/production/usage`)).body;
    expect(usage["new-checkout"].evaluations).toBe(65);
    expect(usage["kill-switch"].evaluations).toBe(5);
  });

  it("counts for a ramp only the contexts its split decides, not those the flag's own rules match", async () => {
    const { key } = await setupProject("exposures-ramp-rules");
    const flag = `${P("exposures-ramp-rules")}/environments/production/flags/kill-switch`;
    const current = (await call("GET", flag)).body;
    // Staff first (the flag's own rule), then the ramp decides for everyone else.
    await call("PUT", flag, {
      headers: { "if-match": `"${current.version}"` },
      body: {
        state: "ENABLED",
        variants: current.variants,
        defaultVariant: "off",
        targeting: { if: [{ ends_with: [{ var: "email" }, "@staff.example"] }, "on", null] },
      },
    });
    const ramp = (
      await call("POST", `${flag}/ramp`, {
        body: { variant: "on", baseline: "off", steps: [{ percent: 50 }, { percent: 100, afterSeconds: 3600 }] },
      })
    ).body;
    const staff = Array.from({ length: 20 }, (_, i) => ({ targetingKey: `staff-${i}`, email: `s${i}@staff.example` }));
    const customers = Array.from({ length: 40 }, (_, i) => ({ targetingKey: `customer-${i}`, email: `c${i}@mail.example` }));
    const answers = await evaluateAndSettle(key, "/ofrep/v1/evaluate/flags/kill-switch", [...staff, ...customers]);
    expect(answers.slice(0, 20).every((a) => a.variant === "on")).toBe(true);
    const report = (await call("GET", `${flag}/ramp/exposures`)).body;
    const counted = Object.values(report.steps[0].srm.observed as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(counted).toBe(40);
    expect(report.ramp).toBe(ramp.id);
  });

  it("hashes the targeting key: the store never sees it", async () => {
    const { key } = await setupProject("exposures-private");
    await call("POST", `${P("exposures-private")}/environments/production/flags/new-checkout/experiment`, {
      body: { weights: { on: 1, off: 1 } },
    });
    await evaluateAndSettle(key, "/ofrep/v1/evaluate/flags/new-checkout", [{ targetingKey: "alice@example.com" }]);
    // Exposures live in the unit's telemetry shard; the FlagStore holds only their counts.
    const rows = await runInDurableObject(telemetryShard("exposures-private", unitId("alice@example.com")).stub, (_i, state) =>
      state.storage.sql.exec("SELECT unit FROM exposure_units").toArray(),
    );
    expect(rows).toEqual([{ unit: unitId("alice@example.com") }]);
  });
});

describe("stale flags", () => {
  it("lists flags never evaluated, serving one variant to everyone, and temporary flags past their date", async () => {
    await setupProject("stale");
    const old = Date.now() - 40 * 86_400_000;
    await runInDurableObject(store("stale"), (_i, state) => {
      state.storage.sql.exec("UPDATE flags SET updated_at = ?", old);
    });
    await store("stale").recordTelemetry({
      usage: [
        { environment: "production", flag: "kill-switch", variant: "on", evaluations: 5000, firstAt: old, lastAt: Date.now() },
        { environment: "production", flag: "new-checkout", variant: "on", evaluations: 10, firstAt: old, lastAt: Date.now() },
        { environment: "production", flag: "new-checkout", variant: "off", evaluations: 10, firstAt: old, lastAt: Date.now() },
      ],
      exposures: [],
      shadow: [],
    });
    await call("POST", `${P("stale")}/flags`, {
      body: {
        key: "holiday-banner",
        lifetime: "temporary",
        expectedRemovalAt: "2020-01-01T00:00:00Z",
        owner: "growth",
        variants: { on: true },
        defaultVariant: "on",
      },
    });
    const report = (await call("GET", `${P("stale")}/stale?days=30`)).body;
    expect(report.singleVariant).toEqual([expect.objectContaining({ environment: "production", flag: "kill-switch", variant: "on" })]);
    const notEvaluated = report.notEvaluated
      .filter((f: { environment: string }) => f.environment === "production")
      .map((f: { flag: string }) => f.flag);
    expect(notEvaluated).toEqual(["banner-color", "dark-launch", "no-default"]);
    expect(report.pastRemovalDate).toEqual([{ flag: "holiday-banner", owner: "growth", expectedRemovalAt: "2020-01-01T00:00:00.000Z" }]);
  });
});

describe("shadow evaluation of a draft", () => {
  it("counts exactly which units a draft would flip, on live traffic answered from live, then publishes it", async () => {
    const { key } = await setupProject("shadow");
    const live = (await call("GET", `${P("shadow")}/environments/production/flagd`)).body;
    const draft = structuredClone(live);
    draft.flags["banner-color"].targeting = { if: [{ in: [{ var: "country" }, ["CA"]] }, "green", null] };
    const staged = await call("PUT", `${P("shadow")}/environments/production/draft`, { body: { sampleRate: 1, flagSet: draft } });
    expect(staged.status).toBe(200);
    const countries = ["CA", "US", "US", "FR", "US", "CA"];
    const answers = await evaluateAndSettle(
      key,
      "/ofrep/v1/evaluate/flags/banner-color",
      countries.map((country, i) => ({ targetingKey: `u${i}`, country })),
    );
    expect(answers.map((a) => a.variant)).toEqual(countries.map((country) => (country === "FR" ? "red" : "green")));
    const report = (await call("GET", `${P("shadow")}/environments/production/draft`)).body;
    expect(report.shadow.sampledUnits["banner-color"]).toBe(6);
    expect(report.shadow.flips).toEqual([{ flag: "banner-color", from: "green", to: "red", units: 3 }]);
    const published = await call("POST", `${P("shadow")}/environments/production/draft/publish`);
    expect(published.status).toBe(200);
    expect((await evaluate(key, "banner-color", { targetingKey: "x", country: "US" })).body.variant).toBe("red");
    expect((await call("GET", `${P("shadow")}/environments/production/draft`)).status).toBe(404);
  });

  it("rejects a draft that is not a valid flag set", async () => {
    await setupProject("shadow-bad");
    const res = await call("PUT", `${P("shadow-bad")}/environments/production/draft`, {
      body: { sampleRate: 0.5, flagSet: { flags: { x: { state: "ON" } } } },
    });
    expect(res.status).toBe(400);
    expect((await call("GET", `${P("shadow-bad")}/environments/production/draft`)).status).toBe(404);
  });
});

describe("prerequisites through the admin API", () => {
  it("rejects a cycle with 409 naming it, and exports plain flagd on request", async () => {
    await setupProject("prereq");
    const base = `${P("prereq")}/environments/production/flags`;
    const created = await call("POST", base, {
      body: {
        key: "express-pay",
        state: "ENABLED",
        variants: { on: true, off: false },
        defaultVariant: "off",
        prerequisites: [{ flag: "new-checkout", variant: "on" }],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.prerequisites).toEqual([{ flag: "new-checkout", variant: "on" }]);
    const current = (await call("GET", `${base}/new-checkout`)).body;
    const cycle = await call("PUT", `${base}/new-checkout`, {
      headers: { "if-match": `"${current.version}"` },
      body: {
        state: "ENABLED",
        variants: current.variants,
        defaultVariant: "off",
        targeting: current.targeting,
        prerequisites: [{ flag: "express-pay", variant: "on" }],
      },
    });
    expect(cycle.status).toBe(409);
    expect(cycle.body.detail).toMatch(
      /prerequisite cycle: (new-checkout → express-pay → new-checkout|express-pay → new-checkout → express-pay)/,
    );
    expect((await call("GET", `${base}/new-checkout`)).body.version).toBe(current.version);
    const plain = (await call("GET", `${P("prereq")}/environments/production/flagd?format=plain`)).body;
    expect(plain.flags["express-pay"].prerequisites).toBeUndefined();
    expect(plain.flags["express-pay"].targeting.if).toHaveLength(3);
    const extended = (await call("GET", `${P("prereq")}/environments/production/flagd`)).body;
    expect(extended.flags["express-pay"].prerequisites).toHaveLength(1);
  });
});

describe("experiment weights default to what the flag serves", () => {
  const split: FlagDefinition = {
    state: "ENABLED",
    variants: { a: "A", b: "B" },
    defaultVariant: "a",
    targeting: {
      fractional: [
        ["a", 20],
        ["b", 80],
      ],
    },
  };

  it("a 20/80 flag with weights omitted: 100,000 units assigned by the engine raise no mismatch and no srm.detected", async () => {
    const project = "exp-default-weights";
    await setupProject(project, { flags: { split } });
    const hook = await call("POST", `${P(project)}/webhooks`, { body: { url: "https://receiver.example/hook", events: ["srm.detected"] } });
    const started = await call("POST", `${P(project)}/environments/production/flags/split/experiment`, { body: {} });
    expect(started.status).toBe(201);
    expect(started.body.weights).toEqual({ a: 20, b: 80 });
    const set = compileFlagSet({ flags: { split } });
    const exposures = Array.from({ length: 100_000 }, (_, i) => {
      const result = set.evaluate("split", { targetingKey: `user-${i}` });
      return { subject: `exp:${started.body.id}`, unit: `u${i}`, variant: result.kind === "value" ? result.variant : "?", at: 1 };
    });
    await store(project).recordTelemetry({ usage: [], exposures, shadow: [] });
    const experiment = (await call("GET", `${P(project)}/experiments/${started.body.id}`)).body;
    expect(experiment.srm.mismatch).toBe(false);
    expect(experiment.srmFlaggedAt).toBeNull();
    expect((await call("GET", `${P(project)}/webhooks/${hook.body.id}/deliveries`)).body).toEqual([]);
  }, 60_000);

  it("asks for weights when the flag's rules are not one split", async () => {
    const project = "exp-weights-required";
    await setupProject(project);
    const refused = await call("POST", `${P(project)}/environments/production/flags/banner-color/experiment`, { body: {} });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toContain("give the intended weights");
  });
});
