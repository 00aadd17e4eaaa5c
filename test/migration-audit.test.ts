/**
 * Audit mode and cut-over, end to end in workerd: comparison batches counted exactly once in the
 * MigrationLedger (duplicates, bad bodies, a ledger that throws or hangs), samples stored with
 * hashed targeting keys, the exit criterion judged at a controlled time, and the cut-over:
 * refused when unmet, overridden on record, followed by the edge's status, reverted, announced.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { createExecutionContext, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import worker from "../worker/index";
import { judgeCriterion, DEFAULT_CRITERION, type LedgerBatch } from "../contracts/migration";
import { sha256Hex } from "../lib/crypto";
import { resetEdgeState } from "../worker/edge-state";
import { ADMIN_TOKEN, call, drainOutbox, setupProject, store } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;
const E = (project: string) => `${P(project)}/environments/production`;
const DAY_MS = 86_400_000;
const HANG_TIMEOUT_MS = 20_000;

function ledger(project: string) {
  return env.MIGRATION_LEDGER.get(env.MIGRATION_LEDGER.idFromName(project));
}

function batch(id: string, entries: { flag: string; compared: number; mismatched: number; samples?: unknown[] }[]) {
  return { batch: id, entries };
}

function ingest(key: string, body: unknown) {
  return call("POST", "/migration/v1/comparisons", { token: key, body });
}

async function detail(project: string, query = "") {
  const answer = await call("GET", `${E(project)}/migration${query}`);
  expect(answer.status).toBe(200);
  return answer.body;
}

/** Comparisons recorded straight in the ledger at a chosen time (the edge always records at "now"). */
async function recordAt(project: string, at: number, id: string, compared: number, mismatched = 0) {
  const recorded: LedgerBatch = { batch: id, entries: [{ flag: "kill-switch", compared, mismatched, uncompared: 0, samples: [] }] };
  const result = await ledger(project).record("production", recorded, at);
  expect(result.ok).toBe(true);
}

function faultyLedger(fault: "throws" | "hangs"): Env["MIGRATION_LEDGER"] {
  const failing = () => (fault === "throws" ? Promise.reject(new Error("injected fault")) : new Promise<never>(() => {}));
  const stub = new Proxy({}, { get: (_target, prop) => (prop === "then" ? undefined : failing) });
  return {
    idFromName: env.MIGRATION_LEDGER.idFromName.bind(env.MIGRATION_LEDGER),
    get: () => stub,
  } as unknown as Env["MIGRATION_LEDGER"];
}

/** Calls the Worker with test doubles standing in for some bindings. */
function sendWith(overrides: Partial<Record<keyof Env, unknown>>, method: string, path: string, token: string, body?: unknown) {
  const request = new Request(`http://edgeflags.test${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return worker.fetch(request, { ...env, ...overrides } as Env, createExecutionContext());
}

let badBodies = 0;
afterEach(() => vi.unstubAllGlobals());

describe("comparison ingest", () => {
  it("counts many batches exactly, and a repeated batch once", async () => {
    const { key } = await setupProject("audit-ingest", undefined, "server");
    let compared = 0;
    let mismatched = 0;
    for (let i = 0; i < 25; i++) {
      const answer = await ingest(
        key,
        batch(`batch-${String(i).padStart(4, "0")}`, [
          { flag: "kill-switch", compared: 100 + i, mismatched: i % 3 },
          { flag: "new-checkout", compared: 7, mismatched: 0 },
        ]),
      );
      expect(answer.status).toBe(202);
      expect(answer.body).toMatchObject({ duplicate: false, counted: { compared: 107 + i, mismatched: i % 3 } });
      compared += 107 + i;
      mismatched += i % 3;
    }
    const again = await ingest(key, batch("batch-0003", [{ flag: "kill-switch", compared: 103, mismatched: 0 }]));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ batch: "batch-0003", duplicate: true, counted: { compared: 110, mismatched: 0 } });
    const view = await detail("audit-ingest");
    expect(view.status).toMatchObject({ compared, mismatched });
    const flags = Object.fromEntries(view.flags.map((f: any) => [f.flag, f]));
    expect(flags["kill-switch"]).toMatchObject({ compared: compared - 25 * 7, mismatched });
    expect(flags["new-checkout"]).toMatchObject({ compared: 25 * 7, mismatched: 0, rate: 0, lastMismatchAt: null });
    expect(view.series.reduce((sum: number, h: any) => sum + h.compared, 0)).toBe(compared);
    expect(again.body.authority).toMatchObject({ environment: "production", authority: "legacy", report: true });
  });

  it.each([
    ["not JSON", "{", 400, /not valid JSON/],
    ["no batch id", { entries: [] }, 400, /batch/],
    ["a short batch id", { batch: "abc", entries: [] }, 400, /batch/],
    ["more mismatches than comparisons", batch("batch-bad-1", [{ flag: "f", compared: 1, mismatched: 2 }]), 400, /mismatched/],
    [
      "more samples than mismatches",
      batch("batch-bad-2", [{ flag: "f", compared: 5, mismatched: 0, samples: [sample("u")] }]),
      400,
      /samples/,
    ],
    ["a count past 10^7", batch("batch-bad-3", [{ flag: "f", compared: 10_000_001, mismatched: 0 }]), 400, /compared/],
    ["a bad flag key", batch("batch-bad-4", [{ flag: "a b", compared: 1, mismatched: 0 }]), 400, /flag/],
    [
      "a sample context over 4 KiB",
      batch("batch-bad-5", [{ flag: "f", compared: 1, mismatched: 1, samples: [sample("u", "x".repeat(5000))] }]),
      400,
      /4096 bytes/,
    ],
    ["deep nesting", `{"batch":"batch-deep","entries":[],"x":${"[".repeat(500)}${"]".repeat(500)}}`, 400, /levels deep/],
    [
      "a body over 256 KiB",
      batch("batch-bad-6", [{ flag: "f", compared: 1, mismatched: 0, pad: "x".repeat(300_000) } as never]),
      413,
      /262144 bytes/,
    ],
  ])("refuses %s and counts nothing", async (_what, body, status, detail) => {
    const project = `audit-bad-${++badBodies}`;
    const { key } = await setupProject(project, undefined, "server");
    const answer = await ingest(key, body);
    expect(answer.status).toBe(status);
    expect(answer.headers.get("content-type")).toBe("application/problem+json");
    expect(answer.body.detail).toMatch(detail);
    const view = await call("GET", `${E(project)}/migration`);
    expect(view.body.status).toMatchObject({ compared: 0, mismatched: 0, firstSeen: null });
  });

  it("refuses a client key (403) and no key (401)", async () => {
    await setupProject("audit-keys", undefined, "server");
    const client = (await call("POST", `${E("audit-keys")}/keys`, { body: { scope: "client" } })).body.key;
    await drainOutbox("audit-keys");
    expect((await ingest(client, batch("batch-client", []))).status).toBe(403);
    expect((await call("POST", "/migration/v1/comparisons", { token: null, body: batch("batch-none", []) })).status).toBe(401);
    // A client key reads the status.
    const status = await call("GET", "/migration/v1/status", { token: client });
    expect(status.status).toBe(200);
    expect(status.body).toEqual({ environment: "production", authority: "legacy", since: null, graceUntil: null, report: true });
  });

  it("stores samples with the targeting key hashed, the latest 20 per flag", async () => {
    const { key } = await setupProject("audit-samples", undefined, "server");
    const samples = Array.from({ length: 15 }, (_, i) => sample(`user-${i}`));
    expect((await ingest(key, batch("batch-s-1", [{ flag: "kill-switch", compared: 15, mismatched: 15, samples }]))).status).toBe(202);
    expect((await ingest(key, batch("batch-s-2", [{ flag: "kill-switch", compared: 15, mismatched: 15, samples }]))).status).toBe(202);
    const view = await detail("audit-samples", "?flag=kill-switch");
    expect(view.samples).toHaveLength(20);
    const newest = view.samples[0];
    expect(newest.context).toEqual({ plan: "pro", targetingKeyHash: await sha256Hex("user-14") });
    expect(newest).toMatchObject({ flag: "kill-switch", legacy: { value: true }, edgeflags: { value: false, reason: "STATIC" } });
    expect(JSON.stringify(view.samples)).not.toContain("user-");
  });
});

describe("comparison ingest when the ledger fails", () => {
  it.each(["throws", "hangs"] as const)(
    "answers 503 with Retry-After when the ledger %s, counts nothing, then counts the retry once",
    async (fault) => {
      const project = `audit-fault-${fault}`;
      const { key } = await setupProject(project, undefined, "server");
      const body = batch(`batch-fault-${fault}`, [{ flag: "kill-switch", compared: 40, mismatched: 1 }]);
      const answer = await sendWith({ MIGRATION_LEDGER: faultyLedger(fault) }, "POST", "/migration/v1/comparisons", key, body);
      expect(answer.status).toBe(503);
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(((await answer.json()) as { detail: string }).detail).toMatch(/nothing was counted: send the same batch again/);
      expect((await detail(project)).status).toMatchObject({ compared: 0, mismatched: 0 });
      expect((await ingest(key, body)).status).toBe(202);
      expect((await ingest(key, body)).status).toBe(200);
      expect((await detail(project)).status).toMatchObject({ compared: 40, mismatched: 1 });
    },
    HANG_TIMEOUT_MS,
  );
});

describe("environment names that are also property names", () => {
  it("reads an environment called __proto__ as its own entry, across RPC, and the route answers 404 for it", async () => {
    const project = "audit-proto";
    await setupProject(project);
    const read = await ledger(project).comparisons([
      { environment: "__proto__", days: 7 },
      { environment: "production", days: 7 },
    ]);
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(Object.hasOwn(read.value, "__proto__")).toBe(true);
    expect(Object.keys(read.value)).toEqual(["__proto__", "production"]);
    const put = await call("PUT", `${P(project)}/environments/__proto__/migration/criterion`, { body: { days: 7 } });
    expect(put.status).toBe(404);
  });
});

describe("the exit criterion", () => {
  const NOW = Date.parse("2026-12-01T12:00:00Z");
  it.each([
    [
      "nothing seen",
      { compared: 0, mismatched: 0, uncompared: 0, firstSeen: null, lastSeen: null },
      ["no comparisons have been reported yet", "0 comparisons"],
    ],
    [
      "seen too briefly",
      { compared: 20_000, mismatched: 0, uncompared: 0, firstSeen: new Date(NOW - 3 * DAY_MS).toISOString(), lastSeen: null },
      ["seen for 3 of the 7 days"],
    ],
    [
      "too few",
      { compared: 9_999, mismatched: 0, uncompared: 0, firstSeen: new Date(NOW - 8 * DAY_MS).toISOString(), lastSeen: null },
      ["9999 comparisons in the last 7 days, fewer than the 10000 required"],
    ],
    [
      "a mismatch",
      { compared: 10_000, mismatched: 1, uncompared: 0, firstSeen: new Date(NOW - 8 * DAY_MS).toISOString(), lastSeen: null },
      ["1 mismatches in the last 7 days, more than the 0 allowed"],
    ],
    ["met", { compared: 10_000, mismatched: 0, uncompared: 0, firstSeen: new Date(NOW - 7 * DAY_MS).toISOString(), lastSeen: null }, []],
  ])("%s", (_what, evidence, reasons) => {
    const status = judgeCriterion(DEFAULT_CRITERION, evidence, NOW);
    expect(status.met).toBe(reasons.length === 0);
    expect(status.reasons).toHaveLength(reasons.length);
    for (const [i, reason] of reasons.entries()) expect(status.reasons[i]).toContain(reason);
  });

  it("counts only the last `days` days from the ledger, and is set per environment (audited, no-op says so)", async () => {
    const project = "audit-criterion";
    await setupProject(project, undefined, "server");
    const now = Date.now();
    await recordAt(project, now - 20 * DAY_MS, "batch-old-1", 5_000, 3); // outside a 7-day window
    await recordAt(project, now - 6 * DAY_MS, "batch-recent", 600, 0);
    let view = await detail(project);
    expect(view.status).toMatchObject({ met: false, compared: 600, mismatched: 0 });
    expect(view.status.reasons).toEqual(["600 comparisons in the last 7 days, fewer than the 10000 required"]);
    const put = await call("PUT", `${E(project)}/migration/criterion`, {
      body: { minComparisons: 500, days: 7, maxMismatches: 0, reason: "QA traffic is small" },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ changed: true, criterion: { minComparisons: 500, days: 7, maxMismatches: 0 }, status: { met: true } });
    view = await detail(project);
    expect(view.status).toMatchObject({ met: true, reasons: [] });
    const same = await call("PUT", `${E(project)}/migration/criterion`, { body: { minComparisons: 500, days: 7, maxMismatches: 0 } });
    expect(same.body.changed).toBe(false);
    const audit = (await call("GET", `${P(project)}/audit?limit=500`)).body.entries.filter(
      (e: any) => e.action === "migration.criterion-changed",
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ reason: "QA traffic is small", after: { criterion: { minComparisons: 500 }, status: { met: true } } });
    const wide = await call("PUT", `${E(project)}/migration/criterion`, { body: { minComparisons: 500, days: 30, maxMismatches: 0 } });
    expect(wide.body.status).toMatchObject({ met: false, compared: 5_600, mismatched: 3 });
    expect((await call("PUT", `${E(project)}/migration/criterion`, { body: { days: 0 } })).status).toBe(400);
  });

  it("forgets batch ids after 7 days (the alarm), keeping recent ones", async () => {
    const project = "audit-prune";
    await setupProject(project, undefined, "server");
    await recordAt(project, Date.now() - 8 * DAY_MS, "batch-aged", 10);
    await recordAt(project, Date.now(), "batch-fresh", 10);
    expect(await runDurableObjectAlarm(ledger(project))).toBe(true);
    const ids = await runInDurableObject(ledger(project), (_instance, state) =>
      state.storage.sql
        .exec<{ batch: string }>("SELECT batch FROM comparison_batches ORDER BY batch")
        .toArray()
        .map((r) => r.batch),
    );
    expect(ids).toEqual(["batch-fresh"]);
    expect((await detail(project)).flags[0]).toMatchObject({ compared: 20 });
  });
});

describe("cut-over", () => {
  it("is refused while unmet, allowed with override and recorded with its evidence; the status follows; reverting works; webhooks hear of it", async () => {
    const project = "audit-cutover";
    // The store's alarm may deliver the webhook meanwhile; the receiver is not on the network.
    vi.stubGlobal("fetch", async () => new Response("ok"));
    const { key } = await setupProject(project, undefined, "server");
    const hook = await call("POST", `${P(project)}/webhooks`, {
      body: { url: "https://receiver.example/hook", events: ["migration.cut-over"] },
    });
    expect(hook.status).toBe(201);
    expect((await ingest(key, batch("batch-cut-1", [{ flag: "kill-switch", compared: 50, mismatched: 2 }]))).status).toBe(202);

    const refused = await call("POST", `${E(project)}/migration/cut-over`, { body: { authority: "edgeflags" } });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain("not met");
    expect(refused.body.detail).toContain("50 comparisons in the last 7 days, fewer than the 10000 required");
    expect(refused.body.detail).toContain("2 mismatches in the last 7 days, more than the 0 allowed");
    expect((await call("GET", "/migration/v1/status", { token: key })).body.authority).toBe("legacy");

    const before = (await call("GET", `${P(project)}`)).body.environments.find((e: any) => e.name === "production").version;
    const cut = await call("POST", `${E(project)}/migration/cut-over`, {
      body: { authority: "edgeflags", override: true, graceDays: 3, reason: "QA signed off" },
    });
    expect(cut.status).toBe(200);
    expect(cut.body).toMatchObject({
      changed: true,
      authority: "edgeflags",
      overridden: true,
      version: before + 1,
      status: { met: false },
    });
    expect(Date.parse(cut.body.graceUntil) - Date.parse(cut.body.since)).toBe(3 * DAY_MS);

    const entry = (await call("GET", `${P(project)}/audit?limit=500`)).body.entries.find((e: any) => e.action === "migration.cut-over");
    expect(entry).toMatchObject({
      environment: "production",
      reason: "QA signed off",
      before: { authority: "legacy" },
      after: {
        authority: "edgeflags",
        overridden: true,
        criterion: DEFAULT_CRITERION,
        status: { met: false, compared: 50, mismatched: 2 },
      },
    });
    expect(entry.after.decidedBy).toBe(entry.actor);

    const status = await call("GET", "/migration/v1/status", { token: key });
    expect(status.body).toEqual({
      environment: "production",
      authority: "edgeflags",
      since: cut.body.since,
      graceUntil: cut.body.graceUntil,
      report: true,
    });
    const snapshot = await store(project).getSnapshot("production");
    expect(snapshot?.migration).toEqual({ authority: "edgeflags", since: cut.body.since, graceUntil: cut.body.graceUntil });

    const again = await call("POST", `${E(project)}/migration/cut-over`, { body: { authority: "edgeflags", override: true } });
    expect(again.body).toMatchObject({ changed: false, version: before + 1 });

    const events = await runInDurableObject(store(project), (_instance, state) =>
      state.storage.sql.exec<{ event_type: string; payload: string }>("SELECT event_type, payload FROM webhook_deliveries").toArray(),
    );
    expect(events.map((e) => e.event_type)).toEqual(["migration.cut-over"]);
    expect(JSON.parse(events[0]!.payload)).toMatchObject({
      type: "migration.cut-over",
      environment: "production",
      data: { after: { authority: "edgeflags" } },
    });

    const back = await call("POST", `${E(project)}/migration/cut-over`, { body: { authority: "legacy", reason: "rollback" } });
    expect(back.body).toMatchObject({ changed: true, authority: "legacy", graceUntil: null, overridden: false });
    expect((await call("GET", "/migration/v1/status", { token: key })).body).toMatchObject({
      authority: "legacy",
      graceUntil: null,
      report: true,
    });
    const overview = await call("GET", `${P(project)}/migration`);
    expect(overview.status).toBe(200);
    expect(overview.body.environments.map((e: any) => [e.environment, e.authority])).toEqual([
      ["development", "legacy"],
      ["staging", "legacy"],
      ["production", "legacy"],
    ]);
    const types = await runInDurableObject(store(project), (_instance, state) =>
      state.storage.sql.exec<{ event_type: string }>("SELECT event_type FROM webhook_deliveries").toArray(),
    );
    expect(types.map((e) => e.event_type)).toEqual(["migration.cut-over", "migration.cut-over"]);
    // The revert's delivery would otherwise be attempted after this test, without the stub.
    expect((await call("DELETE", `${P(project)}/webhooks/${hook.body.id}`)).status).toBe(204);
  });

  it("cuts over without override once the criterion is met, and stops asking for reports after the grace period", async () => {
    const project = "audit-cutover-met";
    const { key } = await setupProject(project, undefined, "server");
    await recordAt(project, Date.now() - 8 * DAY_MS, "batch-early", 10);
    await recordAt(project, Date.now() - 1 * DAY_MS, "batch-late", 12_000);
    const cut = await call("POST", `${E(project)}/migration/cut-over`, { body: { authority: "edgeflags", graceDays: 0 } });
    expect(cut.status).toBe(200);
    expect(cut.body).toMatchObject({ changed: true, overridden: false, status: { met: true, compared: 12_000 } });
    expect((await call("GET", "/migration/v1/status", { token: key })).body).toMatchObject({ authority: "edgeflags", report: false });
  });
});

describe("when the ledger or the FlagStore fail", () => {
  it("refuses a cut-over with 503 and Retry-After when the ledger throws, changing nothing", async () => {
    const project = "audit-admin-fault";
    await setupProject(project, undefined, "server");
    const answer = await sendWith({ MIGRATION_LEDGER: faultyLedger("throws") }, "POST", `${E(project)}/migration/cut-over`, ADMIN_TOKEN, {
      authority: "edgeflags",
      override: true,
    });
    expect(answer.status).toBe(503);
    expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(answer.headers.get("content-type")).toBe("application/problem+json");
    const overview = await sendWith({ MIGRATION_LEDGER: faultyLedger("throws") }, "GET", `${P(project)}/migration`, ADMIN_TOKEN);
    expect(overview.status).toBe(503);
    expect((await detail(project)).authority).toBe("legacy");
    expect((await call("GET", `${P(project)}/audit?limit=500`)).body.entries.some((e: any) => e.action === "migration.cut-over")).toBe(
      false,
    );
  });

  it("serves the status from the replicated snapshot while the FlagStore fails", async () => {
    const project = "audit-status-kv";
    const { key } = await setupProject(project, undefined, "server");
    const cut = await call("POST", `${E(project)}/migration/cut-over`, { body: { authority: "edgeflags", override: true } });
    expect(cut.status).toBe(200);
    await drainOutbox(project);
    resetEdgeState(["snapshots"]);
    const failing = new Proxy(
      {},
      { get: (_target, prop) => (prop === "then" ? undefined : () => Promise.reject(new Error("injected fault"))) },
    );
    const failingStore = { idFromName: env.FLAG_STORE.idFromName.bind(env.FLAG_STORE), get: () => failing };
    const status = await sendWith({ FLAG_STORE: failingStore }, "GET", "/migration/v1/status", key);
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ authority: "edgeflags", since: cut.body.since, report: true });
  });
});

function sample(targetingKey: string, pad?: string) {
  return {
    context: { targetingKey, plan: "pro", ...(pad ? { pad } : {}) },
    legacy: { value: true },
    edgeflags: { value: false, variant: "off", reason: "STATIC" },
  };
}
