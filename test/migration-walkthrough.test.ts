/**
 * The migration from a homegrown flag service, end to end, on a generated export: import (a dry run,
 * then for real, then again: nothing to do), audit mode beside the old service with differences
 * injected on its side and reported exactly, the exit criterion met in QA and not in staging, QA
 * cut over (and the audit-mode provider following), the staging difference fixed with a
 * per-customer override, and a flag declared in code synced into QA.
 */
import { env, exports } from "cloudflare:workers";
import {
  ErrorCode,
  OpenFeature,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from "@openfeature/server-sdk";
import { OFREPProvider } from "@openfeature/ofrep-provider";
import { afterAll, describe, expect, it } from "vitest";
import { AuditModeProvider } from "../packages/openfeature-audit-mode/src/index";
import { sha256Hex } from "../lib/crypto";
import { customerId, generateHomegrownExport, legacyAnswer, toHomegrownCsv, type HomegrownExport } from "./fixtures/homegrown-export";
import { call, drainOutbox } from "./helpers";

const PROJECT = "walkthrough";
const P = `/admin/v1/projects/${PROJECT}`;
const ORIGIN = "http://edgeflags.test";
const ENVIRONMENTS = ["qa", "staging", "production"] as const;
const FLAGS = 16;
const CUSTOMERS = 60;
const DAY_MS = 86_400_000;
const quiet = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const workerFetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => exports.default.fetch(new Request(input, init));

/** The homegrown service: what it answers is what its data says (overrides first). */
class HomegrownProvider implements Provider {
  readonly metadata = { name: "homegrown" };
  readonly runsOn = "server" as const;
  constructor(
    private readonly data: HomegrownExport,
    private readonly environment: string,
  ) {}
  async resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    const value = legacyAnswer(this.data, flagKey, this.environment, String(context.targetingKey ?? ""));
    if (value === undefined) return { value: defaultValue, reason: "ERROR", errorCode: ErrorCode.FLAG_NOT_FOUND };
    return { value, reason: "STATIC" };
  }
  async resolveStringEvaluation(_flag: string, defaultValue: string): Promise<ResolutionDetails<string>> {
    return { value: defaultValue, reason: "ERROR", errorCode: ErrorCode.TYPE_MISMATCH };
  }
  async resolveNumberEvaluation(_flag: string, defaultValue: number): Promise<ResolutionDetails<number>> {
    return { value: defaultValue, reason: "ERROR", errorCode: ErrorCode.TYPE_MISMATCH };
  }
  async resolveObjectEvaluation<T extends JsonValue>(_flag: string, defaultValue: T): Promise<ResolutionDetails<T>> {
    return { value: defaultValue, reason: "ERROR", errorCode: ErrorCode.TYPE_MISMATCH };
  }
}

const exported = generateHomegrownExport({ flags: FLAGS, environments: ENVIRONMENTS, customers: CUSTOMERS, seed: 2026 });
const flagKeys = exported.flags.map((flag) => flag.key);
const customers = Array.from({ length: CUSTOMERS }, (_, i) => customerId(i));

/**
 * The old service after the export: someone changed two overrides in staging there. Audit mode
 * must find exactly these two (flag, customer) pairs, and nothing in QA.
 */
const legacy: HomegrownExport = structuredClone(exported);
const drift = [
  { flag: flagKeys[3]!, customer: customers[7]! },
  { flag: flagKeys[9]!, customer: customers[42]! },
];
for (const { flag, customer } of drift) {
  const setting = legacy.flags.find((f) => f.key === flag)!.environments.staging!;
  setting.customers[customer] = !legacyAnswer(exported, flag, "staging", customer);
}

async function serverKey(environment: string): Promise<string> {
  const created = await call("POST", `${P}/environments/${environment}/keys`, { body: { scope: "server", name: `app-${environment}` } });
  expect(created.status).toBe(201);
  return created.body.key;
}

function auditMode(environment: string, key: string): AuditModeProvider {
  return new AuditModeProvider({
    legacy: new HomegrownProvider(legacy, environment),
    edgeflags: new OFREPProvider({ baseUrl: ORIGIN, headers: [["Authorization", `Bearer ${key}`]], fetchImplementation: workerFetch }),
    url: ORIGIN,
    serverKey: key,
    fetch: workerFetch,
    logger: quiet,
  });
}

/** Weeks of identical answers before today, recorded in the ledger at that time (the edge records at "now"). */
async function recordEarlier(environment: string, at: number, compared: number) {
  const ledger = env.MIGRATION_LEDGER.get(env.MIGRATION_LEDGER.idFromName(PROJECT));
  const recorded = await ledger.record(
    environment,
    { batch: `earlier-${environment}-${at}`, entries: [{ flag: flagKeys[0]!, compared, mismatched: 0, uncompared: 0, samples: [] }] },
    at,
  );
  expect(recorded.ok).toBe(true);
}

describe("migrating from a homegrown flag service", () => {
  afterAll(() => OpenFeature.close());

  it("imports, audits beside the old service, cuts QA over, and syncs a code-declared flag into QA", async () => {
    expect((await call("PUT", P, { body: { environments: ["qa"] } })).status).toBe(201);

    // 1. Import: a dry run shows the diff and writes nothing.
    const csv = toHomegrownCsv(exported);
    const dry = await call("POST", `${P}/import?dryRun=true`, { body: { source: "homegrown", format: "csv", data: csv } });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, changed: true, unmapped: [] });
    for (const environment of ENVIRONMENTS) expect(dry.body.environments[environment].created).toHaveLength(FLAGS);
    const untouched = await call("GET", P);
    expect(untouched.body.environments.map((e: { name: string }) => e.name)).toEqual(["qa"]);
    expect((await call("GET", `${P}/audit?action=flag.created`)).body.entries ?? []).toHaveLength(0);

    // … then for real (the JSON form of the same export), then again from the CSV: nothing to do.
    const real = await call("POST", `${P}/import`, {
      body: { source: "homegrown", format: "json", data: exported, reason: "leaving the weekend service" },
    });
    expect(real.status).toBe(200);
    expect(real.body.changed).toBe(true);
    for (const environment of ENVIRONMENTS) {
      expect(real.body.environments[environment].created).toEqual(dry.body.environments[environment].created);
    }
    const again = await call("POST", `${P}/import`, { body: { source: "homegrown", format: "csv", data: csv } });
    expect(again.body).toMatchObject({ changed: false });
    for (const environment of ENVIRONMENTS)
      expect(again.body.environments[environment]).toMatchObject({ created: [], updated: [], unchanged: FLAGS });

    // 2. Audit mode in QA and staging: the old service answers, edgeflags is asked beside it.
    const keys = { qa: await serverKey("qa"), staging: await serverKey("staging") };
    await drainOutbox(PROJECT);
    const providers = { qa: auditMode("qa", keys.qa), staging: auditMode("staging", keys.staging) };
    for (const environment of ["qa", "staging"] as const) {
      await OpenFeature.setProviderAndWait(`walk-${environment}`, providers[environment]);
      const client = OpenFeature.getClient(`walk-${environment}`);
      for (const customer of customers) {
        for (const flag of flagKeys) {
          const answer = await client.getBooleanValue(flag, false, { targetingKey: customer });
          // While the old service is authoritative, the application gets its answers.
          expect(answer).toBe(legacyAnswer(legacy, flag, environment, customer));
        }
      }
      await providers[environment].flush();
    }
    const evaluations = FLAGS * CUSTOMERS;
    expect(providers.qa.stats()).toMatchObject({ delivered: { compared: evaluations, mismatched: 0 }, queued: 0 });
    expect(providers.staging.stats()).toMatchObject({ delivered: { compared: evaluations, mismatched: drift.length }, queued: 0 });

    // What edgeflags recorded: every comparison, exactly the injected differences, with samples.
    const overview = (await call("GET", `${P}/migration`)).body;
    const byName = Object.fromEntries(overview.environments.map((e: { environment: string }) => [e.environment, e]));
    expect(byName.qa.status).toMatchObject({ compared: evaluations, mismatched: 0 });
    expect(byName.staging.status).toMatchObject({ compared: evaluations, mismatched: drift.length });
    const mismatching = byName.staging.flags.filter((f: { mismatched: number }) => f.mismatched > 0).map((f: { flag: string }) => f.flag);
    expect(mismatching.sort()).toEqual(drift.map((d) => d.flag).sort());
    const staging = (await call("GET", `${P}/environments/staging/migration`)).body;
    const samples = staging.samples.map(
      (s: { flag: string; context: { targetingKeyHash: string }; legacy: { value: boolean }; edgeflags: { value: boolean } }) => ({
        flag: s.flag,
        key: s.context.targetingKeyHash,
        legacy: s.legacy.value,
        edgeflags: s.edgeflags.value,
      }),
    );
    const expected = await Promise.all(
      drift.map(async ({ flag, customer }) => ({
        flag,
        key: await sha256Hex(customer),
        legacy: legacyAnswer(legacy, flag, "staging", customer),
        edgeflags: legacyAnswer(exported, flag, "staging", customer),
      })),
    );
    expect(samples).toEqual(expect.arrayContaining(expected));
    expect(samples).toHaveLength(drift.length);
    expect(JSON.stringify(staging.samples)).not.toContain(customers[7]);

    // 3. The exit criterion: 1,000 comparisons over at least a day, none differing.
    for (const environment of ["qa", "staging"]) {
      const set = await call("PUT", `${P}/environments/${environment}/migration/criterion`, {
        body: { minComparisons: 1_000, days: 1, maxMismatches: 0 },
      });
      expect(set.status).toBe(200);
      // Audit mode has run for days: the first comparisons three days ago, more half a day ago.
      await recordEarlier(environment, Date.now() - 3 * DAY_MS, 500);
      await recordEarlier(environment, Date.now() - DAY_MS / 2, 500);
    }
    const judged = Object.fromEntries(
      (await call("GET", `${P}/migration`)).body.environments.map((e: { environment: string; status: unknown }) => [
        e.environment,
        e.status,
      ]),
    );
    expect(judged.qa).toMatchObject({ met: true, reasons: [], compared: evaluations + 500, mismatched: 0 });
    expect(judged.staging).toMatchObject({ met: false, mismatched: drift.length });
    expect(judged.staging.reasons.join(" ")).toContain("mismatches");

    // 4. Cut-over: staging is refused with what is unmet; QA goes over, recorded with its evidence.
    const refused = await call("POST", `${P}/environments/staging/migration/cut-over`, { body: { authority: "edgeflags" } });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain("mismatches");
    const cut = await call("POST", `${P}/environments/qa/migration/cut-over`, {
      body: { authority: "edgeflags", reason: "two weeks without a difference" },
    });
    expect(cut.status).toBe(200);
    expect(cut.body).toMatchObject({ changed: true, authority: "edgeflags", overridden: false });
    const decision = (await call("GET", `${P}/audit?action=migration.cut-over`)).body.entries[0];
    expect(decision).toMatchObject({ environment: "qa", after: { authority: "edgeflags", overridden: false, status: { met: true } } });
    await drainOutbox(PROJECT);
    const status = await call("GET", "/migration/v1/status", { token: keys.qa });
    expect(status.body).toMatchObject({ environment: "qa", authority: "edgeflags", report: true });

    // The provider follows: QA answers now come from edgeflags, and are still compared.
    const qa = OpenFeature.getClient("walk-qa");
    await qa.getBooleanValue(flagKeys[0]!, false, { targetingKey: customers[0]! });
    await providers.qa.flush();
    expect(providers.qa.stats()).toMatchObject({ authority: "edgeflags", reporting: true });

    // 5. The staging difference, fixed on the edgeflags side with a per-customer override.
    for (const { flag, customer } of drift) {
      const variant = legacyAnswer(legacy, flag, "staging", customer) ? "on" : "off";
      const changed = await call("POST", `${P}/environments/staging/flags/${flag}/targets`, {
        body: { add: { [variant]: [customer] }, reason: "match the old service" },
      });
      expect(changed.status).toBe(200);
      expect(changed.body.changed).toBe(true);
    }
    await drainOutbox(PROJECT);
    const stagingClient = OpenFeature.getClient("walk-staging");
    for (const { flag, customer } of drift) {
      expect(await stagingClient.getBooleanValue(flag, false, { targetingKey: customer })).toBe(
        legacyAnswer(legacy, flag, "staging", customer),
      );
    }
    await providers.staging.flush();
    expect(providers.staging.stats()).toMatchObject({ delivered: { compared: evaluations + drift.length, mismatched: drift.length } });

    // The fix is safe from re-imports: the stale export would undo it and is refused, naming both
    // flags; the old service's export today agrees with the fix, so importing it changes nothing.
    const stale = await call("POST", `${P}/import`, { body: { source: "homegrown", format: "csv", data: csv } });
    expect(stale.status).toBe(409);
    for (const { flag } of drift) expect(stale.body.detail).toContain(`staging/${flag} (flag.targets-changed`);
    const current = await call("POST", `${P}/import`, { body: { source: "homegrown", format: "json", data: legacy } });
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ changed: false, edited: [] });
    for (const environment of ENVIRONMENTS) expect(current.body.environments[environment]).toMatchObject({ updated: [], absent: [] });

    // 6. A flag declared in code, synced into QA: created once, existing flags untouched.
    const manifest = {
      flags: {
        "new-search": { flagType: "boolean", defaultValue: false, description: "search v2, declared in code" },
        [flagKeys[0]!]: { flagType: "boolean", defaultValue: false },
      },
    };
    const before = (await call("GET", `${P}/environments/qa/flags/${flagKeys[0]}`)).body;
    const synced = await call("POST", `${P}/environments/qa/manifest`, { body: manifest });
    expect(synced.status).toBe(200);
    expect(synced.body).toMatchObject({ changed: true, created: ["new-search"] });
    expect((await call("GET", `${P}/environments/qa/flags/${flagKeys[0]}`)).body).toEqual(before);
    const resync = await call("POST", `${P}/environments/qa/manifest`, { body: manifest });
    expect(resync.body).toMatchObject({ changed: false, created: [] });
    await drainOutbox(PROJECT);
    const fresh = await call("POST", "/ofrep/v1/evaluate/flags/new-search", {
      token: keys.qa,
      body: { context: { targetingKey: customers[0] } },
    });
    expect(fresh.body).toMatchObject({ key: "new-search", value: false });
  }, 180_000);
});
