/**
 * Deciding a cut-over from the migration view: the environment's status is the environment's
 * whichever flag is looked at, each flag says what it contributed to the criterion's window (not
 * only its all-time totals), and the coverage names the flags audit mode has not seen, and the
 * flags it compared that edgeflags does not hold.
 */
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import type { LedgerBatch } from "../contracts/migration";
import { call, setupProject } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;
const E = (project: string) => `${P(project)}/environments/production`;
const DAY_MS = 86_400_000;

/** Comparisons recorded straight in the ledger at a chosen time (the edge always records at "now"). */
async function recordAt(
  project: string,
  at: number,
  id: string,
  entries: { flag: string; compared: number; mismatched: number; uncompared?: number }[],
) {
  const ledger = env.MIGRATION_LEDGER.get(env.MIGRATION_LEDGER.idFromName(project));
  const batch: LedgerBatch = { batch: id, entries: entries.map((entry) => ({ uncompared: 0, ...entry, samples: [] })) };
  expect((await ledger.record("production", batch, at)).ok).toBe(true);
}

async function get(path: string) {
  const answer = await call("GET", path);
  expect(answer.status).toBe(200);
  return answer.body;
}

describe("the migration view, for deciding a cut-over", () => {
  it("keeps the environment's status and flag list when one flag is looked at; ?flag= narrows only the series and samples", async () => {
    const project = "ready-filter";
    await setupProject(project, undefined, "server");
    await recordAt(project, Date.now() - 8 * DAY_MS, "batch-old-1", [{ flag: "new-checkout", compared: 20_000, mismatched: 0 }]);
    await recordAt(project, Date.now(), "batch-now-1", [
      { flag: "new-checkout", compared: 20_000, mismatched: 0 },
      { flag: "kill-switch", compared: 500, mismatched: 4 },
    ]);
    const whole = await get(`${E(project)}/migration`);
    expect(whole.status).toMatchObject({ met: false, compared: 20_500, mismatched: 4 });

    const one = await get(`${E(project)}/migration?flag=new-checkout`);
    expect(one.status).toEqual(whole.status);
    expect(one.flags.map((f: { flag: string }) => f.flag)).toEqual(["kill-switch", "new-checkout"]);
    expect(one.series.reduce((sum: number, h: { compared: number }) => sum + h.compared, 0)).toBe(20_000);
  });

  it("says per flag what came in over the criterion's window, beside the all-time totals", async () => {
    const project = "ready-window";
    await setupProject(project, undefined, "server");
    await recordAt(project, Date.now() - 10 * DAY_MS, "batch-old-2", [{ flag: "kill-switch", compared: 300, mismatched: 30 }]);
    await recordAt(project, Date.now(), "batch-now-2", [
      { flag: "kill-switch", compared: 700, mismatched: 0 },
      { flag: "new-checkout", compared: 50, mismatched: 2 },
    ]);
    const view = await get(`${E(project)}/migration`);
    const byFlag = Object.fromEntries(view.flags.map((f: { flag: string }) => [f.flag, f]));
    expect(byFlag["kill-switch"]).toMatchObject({ compared: 1_000, mismatched: 30, recent: { compared: 700, mismatched: 0 } });
    expect(byFlag["new-checkout"]).toMatchObject({ compared: 50, mismatched: 2, recent: { compared: 50, mismatched: 2 } });
    const overview = await get(`${P(project)}/migration`);
    const production = overview.environments.find((e: { environment: string }) => e.environment === "production");
    expect(production.flags).toEqual(view.flags);
  });

  it("says how many evaluations audit mode could not compare, through the ingest, without counting them as comparisons or days seen", async () => {
    const project = "ready-uncompared";
    const { key } = await setupProject(project, undefined, "server");
    const sent = await call("POST", "/migration/v1/comparisons", {
      token: key,
      body: {
        batch: "uncompared-batch-1",
        entries: [
          { flag: "kill-switch", compared: 40, mismatched: 0, uncompared: 7 },
          // The legacy side failed on every evaluation of this flag: nothing compared, all said.
          { flag: "new-checkout", compared: 0, mismatched: 0, uncompared: 300 },
        ],
      },
    });
    expect(sent.status).toBe(202);
    const view = await get(`${E(project)}/migration`);
    expect(view.status).toMatchObject({ met: false, compared: 40, mismatched: 0, uncompared: 307 });
    const byFlag = Object.fromEntries(view.flags.map((f: { flag: string }) => [f.flag, f]));
    expect(byFlag["kill-switch"]).toMatchObject({ compared: 40, recent: { compared: 40, uncompared: 7 } });
    // A flag never compared is not among the compared ones: coverage names it as not compared.
    expect(byFlag["new-checkout"]).toBeUndefined();
    expect(view.coverage.uncompared.keys).toContain("new-checkout");
    const refused = await call("POST", "/migration/v1/comparisons", {
      token: key,
      body: { batch: "uncompared-batch-2", entries: [{ flag: "kill-switch", compared: 1, mismatched: 0, uncompared: -1 }] },
    });
    expect(refused.status).toBe(400);
  });

  it("names the environment's flags no comparison covered in the window, and compared flags edgeflags does not hold", async () => {
    const project = "ready-coverage";
    await setupProject(project, undefined, "server");
    const held = Object.keys((await get(`${E(project)}/flagd`)).flags).sort();
    expect(held.length).toBeGreaterThan(2);
    await recordAt(project, Date.now() - 9 * DAY_MS, "batch-old-3", [{ flag: held[1]!, compared: 10, mismatched: 0 }]);
    await recordAt(project, Date.now(), "batch-now-3", [
      { flag: held[0]!, compared: 10, mismatched: 0 },
      { flag: "never-imported", compared: 5, mismatched: 5 },
    ]);
    const expected = {
      flags: held.length,
      compared: 1,
      uncompared: { count: held.length - 1, keys: held.slice(1) },
      missing: { count: 1, keys: ["never-imported"] },
    };
    expect((await get(`${E(project)}/migration`)).coverage).toEqual(expected);
    const overview = await get(`${P(project)}/migration`);
    const byEnv = Object.fromEntries(overview.environments.map((e: { environment: string }) => [e.environment, e]));
    expect(byEnv["production"].coverage).toEqual(expected);
    expect(byEnv["staging"].coverage).toEqual({
      flags: 0,
      compared: 0,
      uncompared: { count: 0, keys: [] },
      missing: { count: 0, keys: [] },
    });
  });

  it("records the coverage with a cut-over's evidence in the audit log", async () => {
    const project = "ready-record";
    await setupProject(project, undefined, "server");
    const held = Object.keys((await get(`${E(project)}/flagd`)).flags).sort();
    await recordAt(project, Date.now(), "batch-now-4", [{ flag: held[0]!, compared: 10, mismatched: 0 }]);
    const cut = await call("POST", `${E(project)}/migration/cut-over`, { body: { authority: "edgeflags", override: true, reason: "QA" } });
    expect(cut.status).toBe(200);
    const entry = (await get(`${P(project)}/audit?action=migration.cut-over`)).entries[0];
    expect(entry.after.coverage).toEqual({
      flags: held.length,
      compared: 1,
      uncompared: { count: held.length - 1, keys: held.slice(1) },
      missing: { count: 0, keys: [] },
    });
  });
});
