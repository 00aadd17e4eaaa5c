/**
 * The console's tracked-events screen: one event name in one environment, newest first, with each
 * event's value and custom fields, a page at a time by the admin API's cursor; the event names the
 * project's metrics watch offered; a read that fails said on the page.
 */
import { describe, expect, it } from "vitest";
import { unitId } from "../worker/telemetry";
import { consoleGetWithShardsDown, consoleRequest, consoleSignIn, experimentWatchingPurchases, trackThroughEdge } from "./console-helpers";
import { call, setupProject } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;

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
    await trackThroughEdge(
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
    await trackThroughEdge(key, [{ id: "other", name: "signup", targetingKey: "shopper-1" }]);
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

  it.each([
    [
      "a name longer than an event's",
      `name=${"x".repeat(129)}`,
      /These events cannot be shown: the tracked-events query is not valid; name: [^<]*128/,
    ],
    [
      "a cursor this API did not give",
      "name=purchase&cursor=not-a-cursor",
      /These events cannot be shown: the cursor is not one this API gave/,
    ],
  ])("answers 400 for %s, saying what the admin API refused, with the form kept", async (label, query, detail) => {
    const project = `ui-events-bad-${label.includes("cursor") ? "cursor" : "name"}`;
    await setupProject(project);
    const page = await consoleRequest("GET", `/console/p/${project}/events?env=production&${query}`, await consoleSignIn(project));
    expect(page.status).toBe(400);
    expect(page.text).toMatch(detail);
    expect(page.text).toContain(`<form method="get" action="/console/p/${project}/events"`);
  });

  it("links each metric event on an experiment's page to its events", async () => {
    const project = "ui-events-link";
    const { id } = await experimentWatchingPurchases(project);
    const cookie = await consoleSignIn(project);
    const html = (await consoleRequest("GET", `/console/p/${project}/experiments/${id}`, cookie)).text;
    const link = /<a href="([^"]+)">All of them<\/a>/.exec(html)?.[1];
    expect(decode(link!)).toBe(`/console/p/${project}/events?env=production&name=purchase`);
    expect((await consoleRequest("GET", decode(link!), cookie)).status).toBe(200);
  });

  it("says when the events cannot be read, and keeps the form", async () => {
    const project = "ui-events-down";
    await setupProject(project);
    const page = await consoleGetWithShardsDown(`/console/p/${project}/events?env=production&name=purchase`, await consoleSignIn(project));
    expect(page.status).toBe(200);
    expect(page.text).toMatch(
      /<p class="notice warn" role="status" id="events-problem">These events could not be read: [^<]*telemetry shards/,
    );
    expect(page.text).toContain('value="purchase"');
  });
});
