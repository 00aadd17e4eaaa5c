/**
 * Audit mode and cut-over: what the MigrationLedger counted per environment and flag, judged by
 * each environment's exit criterion (held by the FlagStore), and the cut-over decision, taken on
 * that evidence and recorded with it.
 */
import {
  CriterionBodySchema,
  CriterionChangedSchema,
  CutOverBodySchema,
  CutOverSchema,
  judgeCriterion,
  migrationCoverage,
  MigrationDetailQuerySchema,
  MigrationDetailSchema,
  MigrationOverviewSchema,
  MigrationSampleSchema,
  type MigrationState,
} from "../../contracts/migration";
import { DEADLINE_MS, withDeadline } from "../../lib/deadline";
import { problem, storeProblem } from "../problem";
import { adminApp, adminRoute, defineRoute, E, meta, noteWritten, P, param, readBody, readQuery, call, type AdminContext } from "./kit";

export const migration = adminApp();

/** Seconds a caller waits before retrying when the ledger did not answer. */
const LEDGER_RETRY_AFTER_S = 5;

function ledger(c: AdminContext) {
  return c.env.MIGRATION_LEDGER.get(c.env.MIGRATION_LEDGER.idFromName(c.get("project")));
}

/** A ledger call within the admin deadline; a failure or a timeout becomes the 503 to answer. */
async function fromLedger<T>(ask: () => Promise<{ ok: true; value: T } | { ok: false; error: { detail: string } }>): Promise<T | Response> {
  try {
    const result = await withDeadline(ask(), DEADLINE_MS.adminStoreCall, "MigrationLedger call");
    if (result.ok) return result.value;
    return ledgerUnavailable(result.error.detail);
  } catch (error) {
    return ledgerUnavailable(error instanceof Error ? error.message : String(error));
  }
}

function ledgerUnavailable(detail: string): Response {
  return problem("unavailable", `the comparisons could not be read (${detail}); nothing changed, retry in ${LEDGER_RETRY_AFTER_S} s`, {
    headers: { "retry-after": String(LEDGER_RETRY_AFTER_S) },
  });
}

/** One environment's state from the FlagStore, or the problem. */
async function stateOf(c: AdminContext): Promise<MigrationState | Response> {
  const result = await call(c, (s) => s.migration().get(param(c, "env")));
  if (!result.ok) return storeProblem(result.error);
  return result.value[0]!;
}

const overview = adminRoute({
  method: "get",
  path: `${P}/migration`,
  summary: "Audit mode: every environment's authority, exit criterion and its status, per-flag mismatch rates",
  response: MigrationOverviewSchema,
});
/** Every environment's (or one environment's) flag keys, for the coverage of audit mode. */
async function flagKeysOf(c: AdminContext, environment: string | null): Promise<Record<string, string[]> | Response> {
  const keys = await call(c, (s) => s.migration().flagKeys(environment));
  return keys.ok ? keys.value : storeProblem(keys.error);
}

defineRoute(migration, overview, async (c) => {
  const states = await call(c, (s) => s.migration().get(null));
  if (!states.ok) return storeProblem(states.error);
  const keys = await flagKeysOf(c, null);
  if (keys instanceof Response) return keys;
  const windows = states.value.map((state) => ({ environment: state.environment, days: state.criterion.days }));
  const counted = await fromLedger(() => ledger(c).comparisons(windows));
  if (counted instanceof Response) return counted;
  const now = Date.now();
  const environments = states.value.map((state) => {
    const { evidence, flags } = counted[state.environment]!;
    const coverage = migrationCoverage(keys[state.environment] ?? [], flags);
    return { ...state, status: judgeCriterion(state.criterion, evidence, now), flags, coverage };
  });
  return c.json({ environments });
});

const detail = adminRoute({
  method: "get",
  path: `${E}/migration`,
  summary: "Audit mode in one environment: status, per-flag rates, hourly series and samples (?flag=)",
  query: MigrationDetailQuerySchema,
  response: MigrationDetailSchema,
});
defineRoute(migration, detail, async (c) => {
  const query = readQuery(c, detail, "the migration view takes ?flag=<flag key>");
  if (query instanceof Response) return query;
  const state = await stateOf(c);
  if (state instanceof Response) return state;
  const keys = await flagKeysOf(c, state.environment);
  if (keys instanceof Response) return keys;
  const found = await fromLedger(() => ledger(c).detail(state.environment, state.criterion.days, query.flag ?? null));
  if (found instanceof Response) return found;
  const { evidence, flags, series } = found;
  const samples = found.samples.flatMap(({ flag, sample }) => {
    const parsed = MigrationSampleSchema.safeParse({ flag, ...JSON.parse(sample) });
    return parsed.success ? [parsed.data] : [];
  });
  const coverage = migrationCoverage(keys[state.environment] ?? [], flags);
  return c.json({ ...state, status: judgeCriterion(state.criterion, evidence, Date.now()), flags, coverage, series, samples });
});

const criterion = adminRoute({
  method: "put",
  permission: "admin",
  path: `${E}/migration/criterion`,
  summary: "Set the exit criterion: minimum comparisons, days observed, mismatches allowed",
  body: CriterionBodySchema,
  response: CriterionChangedSchema,
});
defineRoute(migration, criterion, async (c) => {
  const body = await readBody(c, criterion);
  if (body instanceof Response) return body;
  const { reason, ...wanted } = body;
  const environment = param(c, "env");
  // The status under the new criterion is recorded with the change; a ledger that cannot tell does
  // not block it (the record then says null).
  const counted = await fromLedger(() => ledger(c).comparisons([{ environment, days: wanted.days }]));
  const status = counted instanceof Response ? null : judgeCriterion(wanted, counted[environment]!.evidence, Date.now());
  const result = await call(c, (s) => s.migration().setCriterion(environment, wanted, status, meta(c, reason)));
  if (!result.ok) return storeProblem(result.error);
  return c.json(result.value);
});

const cutOver = adminRoute({
  method: "post",
  permission: "admin",
  path: `${E}/migration/cut-over`,
  summary: "Make edgeflags (or the legacy system) answer for the environment; 409 naming what is unmet unless override",
  body: CutOverBodySchema,
  response: CutOverSchema,
});
defineRoute(migration, cutOver, async (c) => {
  const body = await readBody(c, cutOver);
  if (body instanceof Response) return body;
  const state = await stateOf(c);
  if (state instanceof Response) return state;
  const keys = await flagKeysOf(c, state.environment);
  if (keys instanceof Response) return keys;
  const counted = await fromLedger(() => ledger(c).comparisons([{ environment: state.environment, days: state.criterion.days }]));
  if (counted instanceof Response) return counted;
  const { evidence, flags } = counted[state.environment]!;
  const status = judgeCriterion(state.criterion, evidence, Date.now());
  const coverage = migrationCoverage(keys[state.environment] ?? [], flags);
  const decision = {
    authority: body.authority,
    override: body.override,
    graceDays: body.graceDays,
    criterion: state.criterion,
    status,
    coverage,
  };
  const result = await call(c, (s) => s.migration().cutOver(state.environment, decision, meta(c, body.reason)));
  if (!result.ok) return storeProblem(result.error);
  if (result.value.changed) noteWritten(c, c.get("project"), state.environment, result.value.version);
  return c.json(result.value);
});
