/**
 * The console's guardrails: a metric defined and a guardrail added from the ramp panel's forms,
 * and each guarded metric charted per arm over time (inline SVG with a title and description, and
 * a table of the same numbers) — the numbers the admin API returns. The experiment page charts
 * every metric per arm the same way.
 */
import { runInDurableObject } from "cloudflare:test";
import { unitId } from "../worker/telemetry";
import { describe, expect, it } from "vitest";
import { formatMetric } from "../admin/ui/pages/metric-chart";
import {
  consoleGetWithShardsDown,
  consoleRequest,
  consoleSignIn,
  experimentWatchingPurchases,
  formFieldsOf,
  trackThroughEdge,
} from "./console-helpers";
import { call, setupProject, store } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;

/** The text of the page's done-notice banner (the layout's `role="status"` notice), or null. */
function noticeOf(html: string): string | null {
  return /<div class="notice ok" role="status">([\s\S]*?)<\/div>/.exec(html)?.[1] ?? null;
}

async function setArms(project: string, subject: string, arms: Record<string, [number, number]>): Promise<void> {
  await runInDurableObject(store(project), async (instance, state) => {
    const sql = state.storage.sql;
    for (const [variant, [units, converted]] of Object.entries(arms)) {
      sql.exec("INSERT OR REPLACE INTO exposure_counts (subject, variant, units) VALUES (?, ?, ?)", subject, variant, units);
      sql.exec(
        `INSERT OR REPLACE INTO arm_event_aggregates (subject, name, variant, converted_units, events, events_squared, valued, value_sum, value_sum_squares)
         VALUES (?, 'checkout-error', ?, ?, ?, ?, 0, 0, 0)`,
        subject,
        variant,
        converted,
        converted,
        converted,
      );
    }
    sql.exec("DELETE FROM meta WHERE key = 'metrics_checked_at'");
    await instance.alarm();
  });
}

describe("console: guardrails and metric charts", () => {
  it("defines a metric and adds a guardrail from the ramp panel, then charts the checks with the API's numbers", async () => {
    const project = "ui-guardrails";
    await setupProject(project);
    const flagApi = `${P(project)}/environments/production/flags/kill-switch`;
    const started = await call("POST", `${flagApi}/ramp`, {
      body: { variant: "off", baseline: "on", steps: [{ percent: 50 }, { percent: 100, afterSeconds: 3600 }] },
    });
    expect(started.status).toBe(201);
    const cookie = await consoleSignIn(project);
    const flagPage = `/console/p/${project}/flags/kill-switch?env=production`;
    let html = (await consoleRequest("GET", flagPage, cookie)).text;
    expect(html).toContain("No guardrails");
    const define = await formFieldsOf(html, "#ramp-metric-def-form");
    const defined = await consoleRequest("POST", `/console/p/${project}/metrics`, cookie, {
      ...define,
      name: "checkout-errors",
      event: "checkout-error",
    });
    expect(defined.status).toBe(303);
    const back = defined.headers.get("location")!;
    expect(back).toBe(`${flagPage}&done=metric-saved&name=checkout-errors&event=checkout-error&kind=rate&changed=1`);
    expect((await call("GET", `${P(project)}/metrics/checkout-errors`)).body).toMatchObject({ kind: "rate", direction: "higher-is-worse" });
    // The page it returns to says what was saved, as every other console form does.
    html = (await consoleRequest("GET", back, cookie)).text;
    expect(noticeOf(html)).toBe(
      "Saved metric <code>checkout-errors</code> (the rate of units with <code>checkout-error</code> events). Guardrails and experiment readouts can use it now.",
    );
    // The same definition again writes nothing, and the notice says so.
    const again = await consoleRequest("POST", `/console/p/${project}/metrics`, cookie, {
      ...define,
      name: "checkout-errors",
      event: "checkout-error",
    });
    expect(again.headers.get("location")).toContain("done=metric-saved&name=checkout-errors&event=checkout-error&kind=rate&changed=0");
    html = (await consoleRequest("GET", again.headers.get("location")!, cookie)).text;
    expect(noticeOf(html)).toBe("Metric <code>checkout-errors</code> is as it was: nothing was written.");

    html = (await consoleRequest("GET", flagPage, cookie)).text;
    expect(noticeOf(html)).toBeNull();
    const guard = await formFieldsOf(html, "#guardrail-form");
    expect(guard.metric).toBe("checkout-errors");
    const added = await consoleRequest("POST", `/console/p/${project}/flags/kill-switch/ramp/guardrails`, cookie, {
      ...guard,
      tolerance: "10",
      action: "rollback",
    });
    expect(added.status).toBe(303);
    html = (await consoleRequest("GET", added.headers.get("location")!, cookie)).text;
    expect(noticeOf(html)).toBe("Guardrail added to the ramp for <code>kill-switch</code> in production.");
    expect((await call("GET", `${flagApi}/ramp/metrics`)).body.guardrails).toEqual([
      { metric: "checkout-errors", tolerance: { kind: "relative", value: 0.1 }, action: "rollback", minSample: 500, alpha: 0.05 },
    ]);

    await setArms(project, `ramp:${started.body.id}:0`, { on: [5_000, 100], off: [5_000, 110] });
    await setArms(project, `ramp:${started.body.id}:0`, { on: [10_000, 200], off: [10_000, 600] });
    const api = (await call("GET", `${flagApi}/ramp/metrics`)).body;
    expect(api.metrics[0].history.map((c: { decision: string }) => c.decision)).toEqual(["continue", "degraded"]);
    html = (await consoleRequest("GET", flagPage, cookie)).text;
    expect(html).toMatch(
      /<svg[^>]*role="img"[^>]*aria-labelledby="ramp-metric-checkout-errors-off-title ramp-metric-checkout-errors-off-desc"/,
    );
    expect(html).toContain('<title id="ramp-metric-checkout-errors-off-title">');
    expect(html).toContain('<desc id="ramp-metric-checkout-errors-off-desc">');
    const latest = api.metrics[0].latest[0];
    for (const n of [latest.variant.estimate, latest.variant.lower, latest.variant.upper, latest.baseline.estimate, latest.threshold])
      expect(html).toContain(formatMetric(n, "rate"));
    expect(html).toContain("degraded");
    expect((await call("GET", `${flagApi}/ramp`)).body.status).toBe("rolled-back");
  });

  it("lists the newest events of each metric's tracked event on the experiment page, with their value and custom fields", async () => {
    const project = "ui-exp-events";
    const { id, key } = await experimentWatchingPurchases(project);
    await call("PUT", `${P(project)}/metrics/refunds`, { body: { event: "refund", kind: "rate", direction: "higher-is-worse" } });
    await trackThroughEdge(key, [
      { id: "buy-1", name: "purchase", targetingKey: "shopper-7", value: 42.5, details: { currency: "EUR", coupon: "WINTER<b>" } },
    ]);
    const cookie = await consoleSignIn(project);
    const html = (await consoleRequest("GET", `/console/p/${project}/experiments/${id}`, cookie)).text;
    const section = /<div id="recent-events">([\s\S]*?)<details>/.exec(html)?.[1] ?? "";
    expect(section).toContain('aria-label="Recent purchase events"');
    expect(section).toContain(`<code>${unitId("shopper-7").slice(0, 12)}</code>`);
    expect(section).toContain("42.5");
    expect(section).toContain("<dt>currency</dt><dd>EUR</dd>");
    // A custom field is text, escaped like everything else on the page.
    expect(section).toContain("<dd>WINTER&lt;b&gt;</dd>");
    // A watched event with none kept says so.
    expect(section).toContain('aria-label="Recent refund events"');
    expect(section).toContain("None in the last 48 hours.");
  });

  it("says on the experiment page when the recent events cannot be read, and still shows the rest", async () => {
    const project = "ui-exp-events-down";
    const { id } = await experimentWatchingPurchases(project);
    const page = await consoleGetWithShardsDown(`/console/p/${project}/experiments/${id}`, await consoleSignIn(project));
    expect(page.status).toBe(200);
    const section = /<div id="recent-events">([\s\S]*?)<details>/.exec(page.text)?.[1] ?? "";
    expect(section).toContain('aria-label="Recent purchase events"');
    expect(section).toMatch(/These events could not be read: [^<]*telemetry shards[^<]*\. Reload the page to try again\./);
    expect(page.text).toContain('id="arm-bars"');
  });

  it("charts every metric per arm on the experiment page", async () => {
    const project = "ui-exp-metrics";
    await setupProject(project);
    await call("PUT", `${P(project)}/metrics/checkout-errors`, {
      body: { event: "checkout-error", kind: "rate", direction: "higher-is-worse" },
    });
    const started = await call("POST", `${P(project)}/environments/production/flags/new-checkout/experiment`, { body: {} });
    expect(started.status).toBe(201);
    await setArms(project, `exp:${started.body.id}`, { on: [4_000, 40], off: [4_000, 41] });
    const cookie = await consoleSignIn(project);
    const html = (await consoleRequest("GET", `/console/p/${project}/experiments/${started.body.id}`, cookie)).text;
    const api = (await call("GET", `${P(project)}/experiments/${started.body.id}/metrics`)).body;
    const latest = api.metrics[0].latest[0];
    expect(html).toContain(`against ${api.baseline}`);
    expect(html).toContain("<svg");
    expect(html).toContain(formatMetric(latest.variant.estimate, "rate"));
    expect(html).toContain("no degradation shown");
  });
});
