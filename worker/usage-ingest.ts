/**
 * Evaluations made outside the edge, reported back: `POST /telemetry/v1/evaluations` with a server
 * key takes a `UsageReport` (`contracts/usage-report.ts`) from an in-process evaluator and records
 * it in the project's telemetry shards through the same `recordTelemetry` the edge's own batches use, so
 * stale-flag detection and experiment exposures count back-end evaluations too.
 *
 * The environment is the key's. Exposures are recorded only for subjects the environment's current
 * snapshot tracks (a key of one environment cannot count exposures of another's experiment); the
 * answer says how many were ignored. Timestamps from the future are taken as now. 202 once the
 * shards have committed the report; 503 with Retry-After when it fails or does not answer in time,
 * and the client sends the report again.
 */
import { Hono } from "hono";
import { UNAVAILABLE_RETRY_AFTER_S } from "../contracts/ofrep-wire";
import { problem } from "../contracts/problem";
import type { TelemetryBatch } from "../contracts/telemetry";
import { MAX_USAGE_REPORT_BYTES, UsageReportSchema, type UsageReport, type UsageReportAnswer } from "../contracts/usage-report";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { readJsonBody } from "./bounded-body";
import { logUnavailable } from "./request-log";
import { requireKey, type KeyEnv } from "./require-key";
import { getSnapshot, storeSources } from "./snapshot-cache";
import { shardTarget, splitByShard } from "./telemetry";

/** Whether a shard answered with a refusal (a `Result` that is not ok). */
function isFailure(answer: unknown): answer is { ok: false; error: { detail: string } } {
  if (typeof answer !== "object" || answer === null || !("ok" in answer) || answer.ok !== false || !("error" in answer)) return false;
  const error = answer.error;
  return typeof error === "object" && error !== null && "detail" in error && typeof error.detail === "string";
}

export const usageIngest = new Hono<KeyEnv>();

const serverKey = requireKey({
  scopes: ["server"],
  missing: "send a server key as 'Authorization: Bearer <key>'",
  forbidden: (scope) => `a ${scope} key cannot report evaluations; use a server key of the environment`,
});

usageIngest.post("/evaluations", serverKey, async (c) => {
  const identity = c.get("identity");
  const body = await readJsonBody(
    c.req.raw,
    MAX_USAGE_REPORT_BYTES,
    UsageReportSchema,
    `a usage report is at most ${MAX_USAGE_REPORT_BYTES} bytes; send smaller reports more often`,
  );
  if (!body.ok) return body.response;
  const report = body.value;
  const now = Date.now();
  const lookup = await getSnapshot(
    storeSources(c.env, identity.project, (p) => c.executionCtx.waitUntil(p)),
    identity.project,
    identity.environment,
  );
  const tracked = new Set(lookup.kind === "snapshot" ? Object.values(lookup.snapshot.tracking ?? {}).flat() : []);
  const batch = toTelemetryBatch(report, identity.environment, identity.id, tracked, now);
  const parts = [...splitByShard(batch)].map(([shard, part]) =>
    withDeadline(shardTarget(c.env, identity.project, shard).recordTelemetry(part), DEADLINE_MS.edgeStoreCall, "telemetry shard call").then(
      (recorded) => (isFailure(recorded) ? recorded.error.detail : null),
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    ),
  );
  const failures = (await Promise.all(parts)).filter((detail) => detail !== null);
  if (failures.length > 0) {
    const detail = failures.join("; ");
    logUnavailable(c.req.raw, identity, `a usage report could not be recorded: ${detail}`);
    return problem(
      "unavailable",
      `the report could not be recorded (${detail}); nothing was counted: send it again in ${UNAVAILABLE_RETRY_AFTER_S} s`,
      {
        headers: { "retry-after": String(UNAVAILABLE_RETRY_AFTER_S) },
      },
    );
  }
  const answer: UsageReportAnswer = {
    usage: batch.usage.length,
    exposures: batch.exposures.length,
    ignoredExposures: report.exposures.length - batch.exposures.length,
  };
  return c.json(answer, 202);
});

/** The report as the store's telemetry batch: the key's environment, tracked subjects only, no future times. */
function toTelemetryBatch(
  report: UsageReport,
  environment: string,
  keyId: string,
  tracked: ReadonlySet<string>,
  now: number,
): TelemetryBatch {
  const past = (at: number) => Math.min(at, now);
  return {
    usage: report.usage.map((row) => ({ environment, ...row, firstAt: past(row.firstAt), lastAt: past(row.lastAt) })),
    exposures: report.exposures.filter((e) => tracked.has(e.subject)).map((e) => ({ ...e, at: past(e.at), environment })),
    shadow: [],
    keys: [{ id: keyId, lastUsedAt: now }],
    tracked: [],
  };
}
