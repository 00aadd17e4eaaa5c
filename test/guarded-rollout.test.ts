/**
 * A guarded rollout end to end, in workerd: an app evaluates a ramped flag through the OpenFeature
 * server SDK with the in-process provider and tracks its checkout errors with `client.track()`
 * (the provider sends exposures and events back in batches, the events to `POST /ofrep/v1/track`);
 * the ramp has a guardrail on the error rate. When the new variant's error rate is raised, the
 * alarm's check rolls the ramp back by itself; when it is not, the ramp keeps running. The app's traffic is drawn from a seeded
 * generator, so each run sees the same units.
 */
import { exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { OpenFeature } from "@openfeature/server-sdk";
import { afterAll, describe, expect, it } from "vitest";
import { prng } from "../bench/workload.mjs";
import { EdgeflagsProvider } from "../packages/openfeature-provider/src/index";
import { pendingFlush } from "../worker/telemetry";
import type { FlagSet } from "../engine/types";
import { call, drainOutbox, setupProject, store } from "./helpers";

const ORIGIN = "http://edgeflags.test";
const quiet = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const workerFetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => exports.default.fetch(new Request(input, init));
const USERS = 1_000;
const BASELINE_ERROR_RATE = 0.02;

const flags: FlagSet = {
  flags: { "checkout-flow": { state: "ENABLED", variants: { new: true, old: false }, defaultVariant: "old" } },
};

const providers: EdgeflagsProvider[] = [];
afterAll(async () => {
  await Promise.all(providers.map((p) => p.onClose()));
});

/** Ramps `checkout-flow` to 50% under an error-rate guardrail; the app's users check out; the alarm checks. */
async function rollout(project: string, newErrorRate: number) {
  const { key } = await setupProject(project, flags, "server");
  const admin = `/admin/v1/projects/${project}`;
  expect(
    (
      await call("PUT", `${admin}/metrics/checkout-errors`, {
        body: { event: "checkout-error", kind: "rate", direction: "higher-is-worse" },
      })
    ).status,
  ).toBe(200);
  const ramp = `${admin}/environments/production/flags/checkout-flow/ramp`;
  const started = await call("POST", ramp, {
    body: {
      variant: "new",
      baseline: "old",
      steps: [{ percent: 50 }, { percent: 100, afterSeconds: 86_400 }],
      guardrails: [{ metric: "checkout-errors", action: "rollback", minSample: 200 }],
    },
  });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  await drainOutbox(project);

  const provider = new EdgeflagsProvider({ url: ORIGIN, serverKey: key, fetch: workerFetch, stream: false, logger: quiet });
  providers.push(provider);
  await OpenFeature.setProviderAndWait(project, provider);
  const client = OpenFeature.getClient(project);
  const random = prng(18);
  let errors = 0;
  const served = { new: 0, old: 0 };
  for (let i = 0; i < USERS; i++) {
    const targetingKey = `shopper-${i}`;
    const useNew = await client.getBooleanValue("checkout-flow", false, { targetingKey });
    served[useNew ? "new" : "old"]++;
    if (random() < (useNew ? newErrorRate : BASELINE_ERROR_RATE)) {
      client.track("checkout-error", { targetingKey }, {});
      errors++;
    }
  }
  // The provider sends its exposures and tracking events in batches; the edge hands them to the store.
  await provider.flush();
  await pendingFlush();
  expect(provider.stats().tracking).toEqual({ sent: errors, dropped: 0, pending: 0 });

  // A minute later: the alarm's metric check.
  await runInDurableObject(store(project), async (instance, state) => {
    state.storage.sql.exec("DELETE FROM meta WHERE key = 'metrics_checked_at'");
    await instance.alarm();
  });
  const metrics = (await call("GET", `${ramp}/metrics`)).body;
  return { ramp: (await call("GET", ramp)).body, check: metrics.metrics[0].latest[0], served, errors };
}

describe("a guarded rollout, end to end", () => {
  it("rolls itself back when the new variant's error rate is raised (2% → 15%)", { timeout: 60_000 }, async () => {
    const { ramp, check, served } = await rollout("guarded-bad", 0.15);
    expect(check.variant.units).toBe(served.new);
    expect(check.baseline.units).toBe(served.old);
    expect(check.decision).toBe("degraded");
    expect(ramp.status).toBe("rolled-back");
    expect(ramp.currentPercent).toBe(0);
    const audit = await call("GET", "/admin/v1/projects/guarded-bad/audit?action=guardrail.tripped");
    expect(audit.body.entries[0].after.check.decision).toBe("degraded");
  });

  it("stays running when it is not (2% on both)", { timeout: 60_000 }, async () => {
    const { ramp, check, served, errors } = await rollout("guarded-good", BASELINE_ERROR_RATE);
    expect(errors).toBeGreaterThan(0);
    expect(check.variant.units).toBe(served.new);
    expect(check.variant.events + check.baseline.events).toBe(errors);
    expect(check.decision).toBe("continue");
    expect(ramp.status).toBe("running");
    expect(ramp.currentPercent).toBe(50);
  });
});
