/**
 * The drafts aggregate: a staged configuration of an environment that the edge shadow-evaluates
 * beside live, then publishes as the environment's flag set or discards.
 */
import { validateFlagSet } from "../../engine/index";
import type { FlagSet } from "../../engine/types";
import { fail, ok, type Result } from "../../contracts/result";
import * as webhooks from "../webhooks";
import { shadowReport } from "../telemetry";
import { iso, rejected } from "../store-records";
import { replaceFlagSet } from "./flags";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta, DraftInfo, DraftRow } from "../store-types";

/**
 * Stages a draft configuration of an environment. The edge evaluates it beside live for
 * `sampleRate` of evaluations (answers still come from live) and reports which units would flip.
 */
export async function putDraft(
  w: UnitOfWork,
  environment: string,
  input: unknown,
  sampleRate: number,
  meta: ChangeMeta,
): Promise<Result<DraftInfo>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const validated = validateFlagSet(input);
  if (!validated.ok) return fail(rejected(validated.problems));
  const id = webhooks.newId("draft");
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec(
      `INSERT INTO drafts (environment, id, flagset, sample_rate, base_version, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (environment) DO UPDATE SET id = excluded.id, flagset = excluded.flagset, sample_rate = excluded.sample_rate,
         base_version = excluded.base_version, created_at = excluded.created_at, created_by = excluded.created_by`,
      environment,
      id,
      JSON.stringify(validated.flagSet),
      sampleRate,
      env.value.version,
      now,
      meta.actor,
    );
    w.commit(environment, meta, () => ({ action: "draft.staged", target: "draft", before: null, after: { id, sampleRate } }), now);
  });
  await w.scheduleDrain();
  return ok(draftInfo(w, environment)!);
}

/** The environment's staged draft, with what shadow evaluation found. */
export async function getDraft(w: UnitOfWork, environment: string): Promise<Result<DraftInfo>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const draft = draftInfo(w, environment);
  return draft ? ok(draft) : fail({ kind: "not_found", detail: `environment "${environment}" has no draft; stage one with PUT .../draft` });
}

/** Publishes the draft as the environment's flag set, in one call (audited with `meta.reason`); the draft is then gone. */
export async function publishDraft(
  w: UnitOfWork,
  environment: string,
  meta: ChangeMeta & { ifMatch: number | null },
): Promise<Result<{ version: number }>> {
  const draft = w.sql
    .exec<{ id: string; flagset: string }>("SELECT id, flagset FROM drafts WHERE environment = ?", environment)
    .toArray()[0];
  if (!draft) return fail({ kind: "not_found", detail: `environment "${environment}" has no draft to publish` });
  const result = await replaceFlagSet(w, environment, JSON.parse(draft.flagset), meta);
  if (!result.ok) return result;
  w.sql.exec("DELETE FROM drafts WHERE environment = ? AND id = ?", environment, draft.id);
  return result;
}

/** Discards the environment's draft. */
export async function deleteDraft(w: UnitOfWork, environment: string, meta: ChangeMeta): Promise<Result<{ deleted: string }>> {
  const draft = draftInfo(w, environment);
  if (!draft) return fail({ kind: "not_found", detail: `environment "${environment}" has no draft` });
  const now = Date.now();
  w.transaction(() => {
    w.sql.exec("DELETE FROM drafts WHERE environment = ?", environment);
    w.commit(environment, meta, () => ({ action: "draft.discarded", target: "draft", before: { id: draft.id }, after: null }), now);
  });
  await w.scheduleDrain();
  return ok({ deleted: draft.id });
}

function draftInfo(w: UnitOfWork, environment: string): DraftInfo | null {
  const row = w.sql.exec<DraftRow>("SELECT * FROM drafts WHERE environment = ?", environment).toArray()[0];
  if (!row) return null;
  return {
    id: row.id,
    environment,
    sampleRate: row.sample_rate,
    baseVersion: row.base_version,
    createdAt: iso(row.created_at),
    createdBy: row.created_by,
    flagSet: JSON.parse(row.flagset) as FlagSet,
    shadow: shadowReport(w.sql, row.id),
  };
}
