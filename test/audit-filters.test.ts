/**
 * Every filter of the audit query, alone and combined, returns exactly the entries of the full log
 * that match it, newest first.
 */
import { describe, expect, it } from "vitest";
import { call, setupProject } from "./helpers";

const PROJECT = "audit-filters";
const AUDIT = `/admin/v1/projects/${PROJECT}/audit`;

interface Entry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  environment: string | null;
  target: string;
}

describe("audit filters", () => {
  it("each filter, and all of them together, select what the full log says they should", async () => {
    await setupProject(PROJECT);
    for (const [environment, state] of [
      ["production", "DISABLED"],
      ["staging", "DISABLED"],
      ["production", "ENABLED"],
    ]) {
      await call("POST", `/admin/v1/projects/${PROJECT}/environments/${environment}/flags/kill-switch/toggle`, { body: { state } });
    }
    const all: Entry[] = (await call("GET", `${AUDIT}?limit=500`)).body.entries;
    const toggles = all.filter((entry) => entry.action !== "flag.created" && entry.target === "flag:kill-switch");
    expect(toggles.length).toBeGreaterThanOrEqual(2);
    const middle = toggles[1]!;
    const actor = all[0]!.actor;

    const cases: [query: string, matches: (entry: Entry) => boolean][] = [
      ["environment=staging", (e) => e.environment === "staging"],
      ["flag=kill-switch", (e) => e.target === "flag:kill-switch"],
      [`actor=${encodeURIComponent(actor)}`, (e) => e.actor === actor],
      ["actor=nobody", () => false],
      [`action=${toggles[0]!.action}`, (e) => e.action === toggles[0]!.action],
      [`since=${middle.at}`, (e) => e.at >= middle.at],
      [`until=${middle.at}`, (e) => e.at < middle.at],
      [`cursor=${middle.seq}`, (e) => e.seq < middle.seq],
      [
        `environment=production&flag=kill-switch&actor=${encodeURIComponent(actor)}&since=${all.at(-1)!.at}&cursor=${all[0]!.seq + 1}`,
        (e) => e.environment === "production" && e.target === "flag:kill-switch" && e.actor === actor,
      ],
    ];
    for (const [query, matches] of cases) {
      const res = await call("GET", `${AUDIT}?limit=500&${query}`);
      expect(res.status, query).toBe(200);
      expect(
        res.body.entries.map((e: Entry) => e.seq),
        query,
      ).toEqual(all.filter(matches).map((e) => e.seq));
    }
  });
});
