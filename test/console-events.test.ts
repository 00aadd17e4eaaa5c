/**
 * The console's tracked-events screen: one event name in one environment, newest first, with each
 * event's value and custom fields, a page at a time by the admin API's cursor; the event names the
 * project's metrics watch offered; a read that fails said on the page.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../worker/index";
import { pendingFlush, unitId } from "../worker/telemetry";
import { consoleRequest, consoleSignIn } from "./console-helpers";
import { call, setupProject } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;

/** Tracks `events` through the edge with `key` and waits until the telemetry shards hold them. */
async function track(key: string, events: object[]): Promise<void> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request("http://edgeflags.test/ofrep/v1/track", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ events }),
    }),
    env,
    ctx,
  );
  expect(response.status, await response.text()).toBeLessThan(300);
  await waitOnExecutionContext(ctx);
  await pendingFlush();
}

/** The rows of the events table: each row's cells as text, tags stripped. */
function rowsOf(html: string): string[][] {
  const table = /<table class="cards" id="events">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? "";
  const body = /<tbody>([\s\S]*)<\/tbody>/.exec(table)?.[1] ?? "";
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((cell) =>
      cell[1]!
        .replace(/<[^>]+>/g, " ")
        .replace(/\s+/g, " ")
        .trim(),
    ),
  );
}

const decode = (href: string) => href.replace(/&amp;/g, "&");

describe("console: tracked events", () => {
  it("lists one event name's events with their value and custom fields, a page at a time by the API's cursor", async () => {
    const project = "ui-events";
    const { key } = await setupProject(project);
    await call("PUT", `${P(project)}/metrics/order-value`, { body: { event: "purchase", kind: "mean", direction: "higher-is-better" } });
    await track(
      key,
      Array.from({ length: 55 }, (_, i) => ({
        id: `buy-${i}`,
        name: "purchase",
        targetingKey: `shopper-${i}`,
        value: i + 0.5,
        details: { currency: i % 2 ? "EUR" : "USD", items: i },
      })),
    );
    // Each row as the shopper it is, by its hashed unit.
    const shopperOf = new Map(Array.from({ length: 55 }, (_, i) => [unitId(`shopper-${i}`).slice(0, 12), i]));
    const expectRow = (row: string[]) => {
      const i = shopperOf.get(row[1]!);
      expect(i, `unit ${row[1]}`).toBeDefined();
      expect(row.slice(2)).toEqual([`${i! + 0.5}`, `currency ${i! % 2 ? "EUR" : "USD"} items ${i}`]);
      return i!;
    };
    await track(key, [{ id: "other", name: "signup", targetingKey: "shopper-1" }]);
    const cookie = await consoleSignIn(project);

    // Before a name is given: the form, with the names the metrics watch offered.
    const blank = (await consoleRequest("GET", `/console/p/${project}/events`, cookie)).text;
    expect(blank).toContain('<a href="/console/p/ui-events/events" aria-current="page">Events</a>');
    expect(blank).toContain('<option value="purchase"></option>');
    expect(blank).toContain("Name an event to see it. Your metrics watch: purchase.");

    const first = await consoleRequest("GET", `/console/p/${project}/events?env=production&name=purchase`, cookie);
    expect(first.status).toBe(200);
    const rows = rowsOf(first.text);
    expect(rows).toHaveLength(50);
    const seen = rows.map(expectRow);
    // The other event name is not listed.
    expect(first.text).not.toContain("signup");

    const older = /<a href="([^"]+)">Older events<\/a>/.exec(first.text)?.[1];
    expect(older).toBeDefined();
    const second = await consoleRequest("GET", decode(older!), cookie);
    const rest = rowsOf(second.text);
    expect(rest).toHaveLength(5);
    // Together, every event once.
    expect(new Set([...seen, ...rest.map(expectRow)]).size).toBe(55);
    expect(second.text).not.toContain("Older events");
    expect(second.text).toMatch(/<a href="[^"]*name=purchase[^"]*">Newest<\/a>/);

    const none = (await consoleRequest("GET", `/console/p/${project}/events?env=production&name=refund`, cookie)).text;
    expect(none).toContain("No refund events in production in the last 48 hours.");
  });

  it("links each metric event on an experiment's page to its events", async () => {
    const project = "ui-events-link";
    await setupProject(project);
    await call("PUT", `${P(project)}/metrics/order-value`, { body: { event: "purchase", kind: "mean", direction: "higher-is-better" } });
    const started = await call("POST", `${P(project)}/environments/production/flags/new-checkout/experiment`, { body: {} });
    const cookie = await consoleSignIn(project);
    const html = (await consoleRequest("GET", `/console/p/${project}/experiments/${started.body.id}`, cookie)).text;
    const link = /<a href="([^"]+)">All of them<\/a>/.exec(html)?.[1];
    expect(decode(link!)).toBe(`/console/p/${project}/events?env=production&name=purchase`);
    expect((await consoleRequest("GET", decode(link!), cookie)).status).toBe(200);
  });

  it("says when the events cannot be read, and keeps the form", async () => {
    const project = "ui-events-down";
    await setupProject(project);
    const cookie = await consoleSignIn(project);
    const shards = {
      idFromName: (name: string) => env.TELEMETRY_SHARD.idFromName(name),
      get: () => ({ readTrackedEvents: () => Promise.reject(new Error("Durable Object reset because its code was updated.")) }),
    };
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request(`http://edgeflags.test/console/p/${project}/events?env=production&name=purchase`, { headers: { cookie } }),
      { ...env, TELEMETRY_SHARD: shards } as unknown as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toMatch(/<p class="notice warn" role="status" id="events-problem">These events could not be read: [^<]*telemetry shards/);
    expect(html).toContain('value="purchase"');
  });
});
