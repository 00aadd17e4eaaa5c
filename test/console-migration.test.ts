/**
 * The console's migration page, over comparisons ingested by the audit-mode provider itself
 * running inside workerd with the Worker's own fetch: per-flag rates worst first, the exit
 * criterion's unmet reasons, the hourly series, samples with the targeting key hashed and both
 * answers, and the cut-over form: refused (409) without the override, then done with it, and
 * followed by the provider.
 */
import { exports } from "cloudflare:workers";
import { InMemoryProvider, OpenFeature } from "@openfeature/server-sdk";
import { consoleSignIn } from "./console-helpers";
import { describe, expect, it } from "vitest";
import { AuditModeProvider } from "../packages/openfeature-audit-mode/src/index";
import { sha256Hex } from "../lib/crypto";
import { percent, readiness, worstFirst } from "../admin/ui/pages/migration";
import { call, setupProject } from "./helpers";

const ORIGIN = "http://edgeflags.test";
const PROJECT = "console-migration";
const PAGE = `/console/p/${PROJECT}/migration`;

const bool = (on: boolean) => ({ variants: { on: true, off: false }, defaultVariant: on ? "on" : "off", disabled: false });

/** The Worker's own fetch, as the provider calls it. */
const workerFetch = (input: string, init: RequestInit) => exports.default.fetch(new Request(input, init));

const signIn = () => consoleSignIn(PROJECT);

async function page(path: string, cookie: string) {
  const response = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { headers: { cookie }, redirect: "manual" }));
  return { status: response.status, location: response.headers.get("location"), text: await response.text() };
}

function post(path: string, cookie: string, form: Record<string, string>) {
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, {
      method: "POST",
      headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
      redirect: "manual",
    }),
  );
}

describe("console migration page", () => {
  it("shows what audit mode reported, and cuts over with an explicit override when the criterion is unmet", async () => {
    const { key } = await setupProject(PROJECT, undefined, "server");
    const provider = new AuditModeProvider({
      legacy: new InMemoryProvider({ checkout: bool(true), banner: bool(true), search: bool(false) }),
      edgeflags: new InMemoryProvider({
        checkout: { ...bool(true), contextEvaluator: (context) => (context.targetingKey === "acme" ? "off" : "on") },
        banner: bool(true),
        search: { ...bool(false), contextEvaluator: (context) => (context.targetingKey === "initech" ? "on" : "off") },
      }),
      url: ORIGIN,
      serverKey: key,
      fetch: workerFetch,
      logger: { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} },
    });
    await OpenFeature.setProviderAndWait("console-migration", provider);
    const client = OpenFeature.getClient("console-migration");
    // checkout: 2 of 4 differ (50%); search: 1 of 4 (25%); banner: 0 of 4.
    for (const customer of ["acme", "globex", "acme", "initech"]) {
      expect(await client.getBooleanValue("checkout", false, { targetingKey: customer, plan: "pro" })).toBe(true);
      expect(await client.getBooleanValue("search", true, { targetingKey: customer })).toBe(false);
      await client.getBooleanValue("banner", false, { targetingKey: customer });
    }
    await provider.flush();
    expect(provider.stats()).toMatchObject({ delivered: { batches: 1, compared: 12, mismatched: 3 }, queued: 0 });

    const cookie = await signIn();
    const view = await page(`${PAGE}?env=production`, cookie);
    expect(view.status).toBe(200);
    expect(view.text).toContain(`href="/console/p/${PROJECT}/migration" aria-current="page"`);
    // Per flag, worst first, with the rate.
    const rows = [...view.text.matchAll(/<tr data-flag="([^"]+)">/g)].map((m) => m[1]);
    expect(rows).toEqual(["checkout", "search", "banner"]);
    expect(view.text).toMatch(/data-label="Rate"><strong>50\.0%<\/strong>/);
    expect(view.text).toMatch(/data-label="Rate"><strong>25\.0%<\/strong>/);
    // The criterion and why it is unmet.
    expect(view.text).toContain("exit criterion not met");
    expect(view.text).toContain("12 comparisons in the last 7 days, fewer than the 10000 required");
    expect(view.text).toContain("3 mismatches in the last 7 days, more than the 0 allowed");
    // The series: one hour with 3 of 12.
    expect(view.text).toContain("<svg");
    expect(view.text).toMatch(/: 3 of 12 \(25\.0%\)<\/title>/);
    // Samples: the hashed targeting key (never the key itself) and both answers.
    const acme = await sha256Hex("acme");
    expect(view.text).toContain(`title="${acme}"`);
    expect(view.text).not.toContain('"targetingKey"');
    expect(view.text).toContain("{&quot;plan&quot;:&quot;pro&quot;}");
    expect(view.text).toMatch(/data-label="Legacy answered"><code>true<\/code><span class="meta"> \(on\)<\/span>/);
    expect(view.text).toMatch(
      /data-label="edgeflags answered"><code>false<\/code><span class="meta"> \(off\)<\/span><span class="meta"> TARGETING_MATCH<\/span>/,
    );
    // Readiness per environment: the window's differences and how many of the environment's flags they cover.
    expect(view.text).toContain("3 differences over 12 comparisons in the last 7 days; 0 of 5 flags compared");
    expect(view.text).toContain("0 differences over 0 comparisons in the last 7 days; 0 of 0 flags compared");
    expect(view.text).toContain('id="uncompared"');
    expect(view.text).toContain("3 compared flags are not in edgeflags");
    expect(view.text).toContain("<code>banner, checkout, search</code>");
    expect(view.text).toMatch(/data-label="Last 7 days"><strong>2 of 4 differ<\/strong>/);
    expect(view.text).toContain("production has never been cut over: the legacy system answers.");
    // The override is offered because the criterion is unmet.
    expect(view.text).toContain('name="override" value="yes"');

    // A cut-over without a reason changes nothing.
    const noReason = await post(`${PAGE}/cut-over`, cookie, { env: "production", authority: "edgeflags", graceDays: "14", reason: "" });
    expect(noReason.status).toBe(400);
    expect(await noReason.text()).toContain("Say why");

    // Without the override the API refuses (409) and the page shows its detail.
    const refused = await post(`${PAGE}/cut-over`, cookie, {
      env: "production",
      authority: "edgeflags",
      graceDays: "14",
      reason: "QA signed off",
    });
    expect(refused.status).toBe(409);
    const refusedText = await refused.text();
    expect(refusedText).toContain('id="cutover-error"');
    expect(refusedText).toContain("Not cut over:");
    expect(refusedText).toContain("12 comparisons in the last 7 days, fewer than the 10000 required");
    expect((await call("GET", "/migration/v1/status", { token: key })).body.authority).toBe("legacy");

    // With it, the cut-over is made and recorded as overridden.
    const done = await post(`${PAGE}/cut-over`, cookie, {
      env: "production",
      authority: "edgeflags",
      graceDays: "3",
      reason: "QA signed off",
      override: "yes",
    });
    expect(done.status).toBe(303);
    const after = await page(done.headers.get("location")!, cookie);
    expect(after.text).toContain("production is now answered by edgeflags.");
    expect(after.text).toContain("The exit criterion was overridden");
    expect(after.text).toContain("Answered by edgeflags");
    expect(after.text).toMatch(/<tr data-cut-over="edgeflags">[\s\S]*?legacy → edgeflags[\s\S]*?criterion overridden[\s\S]*?QA signed off/);
    const entry = (await call("GET", `/admin/v1/projects/${PROJECT}/audit?limit=500`)).body.entries.find(
      (e: { action: string }) => e.action === "migration.cut-over",
    );
    expect(entry).toMatchObject({ reason: "QA signed off", after: { authority: "edgeflags", overridden: true } });

    // The provider follows: its next delivery's answer carries the new authority.
    expect(await client.getBooleanValue("checkout", true, { targetingKey: "acme" })).toBe(true);
    await provider.flush();
    expect(provider.authority).toBe("edgeflags");
    expect(await client.getBooleanValue("checkout", true, { targetingKey: "acme" })).toBe(false);
    await OpenFeature.close();
    expect(provider.stats()).toMatchObject({ delivered: { compared: 14, mismatched: 5 }, queued: 0, pending: 0 });
  });
});

describe("migration page helpers", () => {
  const row = (flag: string, compared: number, mismatched: number) => ({
    flag,
    compared,
    mismatched,
    rate: compared ? mismatched / compared : 0,
    firstSeen: "2026-12-01T00:00:00Z",
    lastSeen: "2026-12-01T00:00:00Z",
    lastMismatchAt: null,
    recent: { compared, mismatched, uncompared: 0 },
  });

  it("orders flags worst first: rate, then mismatches, then comparisons, then key", () => {
    const flags = [row("a", 100, 0), row("b", 10, 1), row("c", 100, 10), row("d", 1000, 0), row("e", 4, 2), row("f", 1000, 0)];
    expect(worstFirst(flags).map((f) => f.flag)).toEqual(["e", "c", "b", "d", "f", "a"]);
  });

  it("orders by the criterion's window before the all-time counts", () => {
    const old = { ...row("old", 100, 50), recent: { compared: 10, mismatched: 0, uncompared: 0 } };
    const now = { ...row("now", 1000, 1), recent: { compared: 100, mismatched: 1, uncompared: 0 } };
    expect(worstFirst([old, now]).map((f) => f.flag)).toEqual(["now", "old"]);
  });

  it("says readiness in one line", () => {
    const env = {
      environment: "qa",
      authority: "legacy" as const,
      since: null,
      graceUntil: null,
      criterion: { minComparisons: 10_000, days: 7, maxMismatches: 0 },
      status: { met: true, reasons: [], compared: 48_211, mismatched: 0, uncompared: 0, firstSeen: null, lastSeen: null },
      flags: [],
      coverage: { flags: 200, compared: 180, uncompared: { count: 20, keys: [] }, missing: { count: 0, keys: [] } },
    };
    expect(readiness(env)).toBe("0 differences over 48211 comparisons in the last 7 days; 180 of 200 flags compared");
    expect(readiness({ ...env, status: { ...env.status, mismatched: 1 } })).toContain("1 difference over");
    // Evaluations audit mode could not compare are said, never folded silently into fewer comparisons.
    expect(readiness({ ...env, status: { ...env.status, uncompared: 312 } })).toBe(
      "0 differences over 48211 comparisons in the last 7 days; 180 of 200 flags compared; 312 evaluations not compared (the legacy system failed to answer, or the application had too many comparisons waiting)",
    );
  });

  it.each([
    [0, "0%"],
    [0.5, "50.0%"],
    [0.0123, "1.2%"],
    [0.000_42, "0.04%"],
    [0.000_001_5, "0.00015%"],
    [1, "100.0%"],
  ])("shows the rate %s as %s", (rate, text) => {
    expect(percent(rate)).toBe(text);
  });
});
