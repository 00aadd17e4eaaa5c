/**
 * Audit mode at the edge. An application that still answers from its old flag system asks
 * edgeflags too and reports the comparisons here, off its request path:
 *
 *   POST /migration/v1/comparisons   (server key) a batch of counts and mismatching samples,
 *                                    counted once per batch id in the project's MigrationLedger
 *   GET  /migration/v1/status        (client or server key) which system answers for the key's
 *                                    environment, from its snapshot
 *
 * A batch is answered 202 only once the ledger has committed it; when the ledger fails or does not
 * answer in time the answer is 503 with Retry-After and the application sends the same batch
 * again (a batch the ledger did commit is then a duplicate, counted once). Targeting keys never
 * reach storage: each sample's `targetingKey` is replaced by its SHA-256 here.
 */
import { Hono } from "hono";
import { ComparisonBatchSchema, MAX_COMPARISON_BODY_BYTES, migrationStatus, type LedgerBatch } from "../contracts/migration";
import type { ComparisonBatch, MigrationStatus } from "../contracts/migration";
import { UNAVAILABLE_RETRY_AFTER_S } from "../contracts/ofrep-wire";
import { problem } from "../contracts/problem";
import { sha256Hex } from "../lib/crypto";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { readJsonBody } from "./bounded-body";
import { logUnavailable } from "./request-log";
import { requireKey, type EnvironmentKey, type KeyEnv } from "./require-key";
import { getSnapshot, storeSources, type SnapshotLookup } from "./snapshot-cache";
import type { Context } from "hono";

export const migration = new Hono<KeyEnv>();

const serverKey = requireKey({
  scopes: ["server"],
  missing: "send a server key as 'Authorization: Bearer <key>'",
  forbidden: (scope) => `a ${scope} key cannot report comparisons; use a server key of the environment`,
});

const anyKey = requireKey({
  scopes: ["client", "server"],
  missing: "send a client or server key as 'Authorization: Bearer <key>'",
  forbidden: (scope) => `a ${scope} key has no environment; use a client or server key`,
});

migration.post("/comparisons", serverKey, async (c) => {
  const identity = c.get("identity");
  const body = await readJsonBody(
    c.req.raw,
    MAX_COMPARISON_BODY_BYTES,
    ComparisonBatchSchema,
    `a comparison batch is at most ${MAX_COMPARISON_BODY_BYTES} bytes; send smaller batches`,
  );
  if (!body.ok) return body.response;
  const comparisons = body.value;
  const batch = await toLedgerBatch(comparisons, Date.now());
  const ledger = c.env.MIGRATION_LEDGER.get(c.env.MIGRATION_LEDGER.idFromName(identity.project));
  // The status is read from the snapshot meanwhile; it never fails (at worst it is unknown).
  const [recorded, lookup] = await Promise.all([
    withDeadline(
      (async () => ledger.record(identity.environment, batch))(),
      DEADLINE_MS.edgeLedgerCall,
      "MigrationLedger record call",
    ).catch((error: unknown) => (error instanceof Error ? error.message : String(error))),
    snapshotOf(c, identity),
  ]);
  if (typeof recorded === "string" || !recorded.ok) {
    const detail = typeof recorded === "string" ? recorded : recorded.error.detail;
    logUnavailable(c.req.raw, identity, `a comparison batch could not be recorded: ${detail}`);
    return problem(
      "unavailable",
      `the comparisons could not be recorded (${detail}); nothing was counted: send the same batch again in ${UNAVAILABLE_RETRY_AFTER_S} s`,
      { headers: { "retry-after": String(UNAVAILABLE_RETRY_AFTER_S) } },
    );
  }
  const { duplicate, counted } = recorded.value;
  const authority = lookup.kind === "snapshot" ? statusOf(identity.environment, lookup) : null;
  return c.json({ batch: batch.batch, duplicate, counted, authority }, duplicate ? 200 : 202);
});

migration.get("/status", anyKey, async (c) => {
  const identity = c.get("identity");
  const lookup = await snapshotOf(c, identity);
  switch (lookup.kind) {
    case "snapshot":
      return c.json(statusOf(identity.environment, lookup), 200, { "cache-control": "private, no-cache" });
    case "missing":
      return problem("not_found", `environment "${identity.environment}" has no snapshot; it may have been removed`);
    case "unavailable":
      logUnavailable(c.req.raw, identity, `the migration status could not be read: ${lookup.detail}`);
      return problem("unavailable", `the migration status could not be read (${lookup.detail}); retry in ${UNAVAILABLE_RETRY_AFTER_S} s`, {
        headers: { "retry-after": String(UNAVAILABLE_RETRY_AFTER_S) },
      });
  }
});

function statusOf(environment: string, lookup: Extract<SnapshotLookup, { kind: "snapshot" }>): MigrationStatus {
  return migrationStatus(environment, lookup.snapshot.migration, Date.now());
}

/** The environment's snapshot through the isolate's cache (KV, the FlagStore only when KV has nothing). */
function snapshotOf(c: Context<KeyEnv>, identity: EnvironmentKey): Promise<SnapshotLookup> {
  const sources = storeSources(c.env, identity.project, (p) => c.executionCtx.waitUntil(p));
  return getSnapshot(sources, identity.project, identity.environment);
}

/** The batch as the ledger stores it: each sample timed and its targeting key hashed. */
async function toLedgerBatch(batch: ComparisonBatch, now: number): Promise<LedgerBatch> {
  const receivedAt = new Date(now).toISOString();
  const entries = await Promise.all(
    batch.entries.map(async (entry) => ({
      flag: entry.flag,
      compared: entry.compared,
      mismatched: entry.mismatched,
      uncompared: entry.uncompared ?? 0,
      samples: await Promise.all(
        (entry.samples ?? []).map(async (sample) => {
          const { targetingKey, ...context } = sample.context;
          const hashed = typeof targetingKey === "string" ? { ...context, targetingKeyHash: await sha256Hex(targetingKey) } : context;
          return { at: sample.at ?? receivedAt, context: hashed, legacy: sample.legacy, edgeflags: sample.edgeflags };
        }),
      ),
    })),
  );
  return { batch: batch.batch, entries };
}
