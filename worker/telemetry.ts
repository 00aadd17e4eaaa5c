/**
 * Evaluation telemetry at the edge: evaluation counts per flag and variant (stale-flag
 * detection), exposures of flags under a ramp or an experiment (unique units), and shadow
 * comparisons against a staged draft, the API keys that were used (a key's "last used"), and
 * the tracking events callers send (`track.ts`).
 * Nothing here delays an answer: records go into isolate
 * memory and are sent to the project's telemetry shards (never to the FlagStore, which they roll
 * up into) in batches from `waitUntil`, which keeps the
 * isolate alive until the batch is delivered, so a frozen isolate loses nothing.
 */
import { hexEncode, randomToken } from "../lib/crypto";
import { sha256Sync } from "../lib/sha256-sync";
import type { EvaluationContext, EvaluationResult } from "../engine/types";
import { edgeState, MAX_UNDELIVERED_PARTS, type CompiledSnapshot, type TelemetryBuffer as Buffer } from "./edge-state";
import type { TrackDetails } from "../contracts/tracking-details";
import { LAST_USED_RESOLUTION_MS, shardOf, TELEMETRY_SHARDS, type TelemetryBatch } from "../contracts/telemetry";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { log } from "../lib/log";
import { countsAsUsage, exposedSubjects, exposureKey, usageVariant } from "../contracts/usage-rules";

/**
 * How long records gather before a batch is sent: one batch per isolate and second (each costs its
 * shard a batch and, in turn, a roll-up into the FlagStore; sent every 250 ms, they cost a loaded
 * process a tenth of its CPU per bulk answer).
 */
const FLUSH_DELAY_MS = 1_000;
const SEND_ATTEMPTS = 4;
const { telemetry: buffers, sentExposures, keysReportedAt } = edgeState;

function bufferFor(project: string): Buffer {
  let buffer = buffers.get(project);
  if (!buffer) {
    buffer = { usage: new Map(), vectors: new Map(), exposures: new Map(), shadow: new Map(), keys: new Map(), tracked: new Map() };
    buffers.set(project, buffer);
  }
  return buffer;
}

/** A stable, non-reversible id for an assignment unit (the targeting key). */
export function unitId(targetingKey: string): string {
  return hexEncode(sha256Sync(targetingKey)).slice(0, 20);
}

/**
 * Records that the edge accepted key `keyId` of `project` (its "last used"), for the next batch;
 * a key this isolate reported less than `LAST_USED_RESOLUTION_MS` ago is not reported again.
 * Paths that accept a key without evaluating (flagd sync, event streams) call it directly, then
 * pass `flush(...)` to `waitUntil`.
 */
export function recordKeyUse(project: string, keyId: string, now = Date.now()): void {
  if (now - (keysReportedAt.get(keyId) ?? 0) >= LAST_USED_RESOLUTION_MS) bufferFor(project).keys.set(keyId, now);
}

/**
 * Records the evaluations of one request, made with the key `keyId`; the caller then passes
 * `flush(...)` to `waitUntil`. Where nothing but usage is counted (no flag of the snapshot is
 * tracked, no draft is staged), the result vector is counted as a whole and spread into per-flag
 * counts when the batch is sent: a vector answered again (a remembered bulk answer) costs one
 * increment, not one per flag.
 */
export function recordEvaluations(
  snapshot: CompiledSnapshot,
  context: EvaluationContext,
  results: readonly EvaluationResult[],
  keyId?: string,
): void {
  const now = Date.now();
  const buffer = bufferFor(snapshot.project);
  if (keyId !== undefined) recordKeyUse(snapshot.project, keyId, now);
  if (countsUsageOnly(snapshot)) {
    const counted = buffer.vectors.get(results);
    if (counted) {
      counted.count++;
      counted.lastAt = now;
    } else {
      // Spread once this many are held, not only when the batch is sent: each vector is spread once
      // either way, and a second's worth of distinct contexts' vectors would outlive the young generation.
      if (buffer.vectors.size >= MAX_HELD_VECTORS) spreadVectors(buffer);
      buffer.vectors.set(results, { environment: snapshot.environment, count: 1, firstAt: now, lastAt: now });
    }
    return;
  }
  const targetingKey = exposureKey(context);
  let unit: string | null = null;
  for (const result of results) {
    if (!countsAsUsage(result)) continue;
    countUsage(buffer, snapshot.environment, result, 1, now, now);
    const subjects = exposedSubjects(result, context, snapshot.tracking?.[result.key], snapshot.compiled, snapshot.rampRules);
    if (subjects.length === 0 || targetingKey === null || result.kind !== "value") continue;
    unit ??= unitId(targetingKey);
    for (const subject of subjects) {
      const key = exposureEntry(subject, unit);
      if (sentExposures.has(key) || buffer.exposures.has(key)) continue;
      buffer.exposures.set(key, { subject, unit, variant: result.variant, at: now, environment: snapshot.environment });
    }
  }
  const draft = snapshot.draft;
  if (draft && targetingKey !== null && Math.random() < draft.sampleRate) {
    unit ??= unitId(targetingKey);
    for (const live of results) {
      if (!draft.compiled.has(live.key) && live.kind === "error") continue;
      const shadow = draft.compiled.evaluate(live.key, context);
      const key = shadowEntry(draft.id, live.key, unit);
      if (!buffer.shadow.has(key)) {
        buffer.shadow.set(key, {
          draftId: draft.id,
          flag: live.key,
          unit,
          liveVariant: usageVariant(live),
          draftVariant: usageVariant(shadow),
        });
      }
    }
  }
}

/** Records one evaluation (a single-flag request), like `recordEvaluations` with one result. */
export function recordEvaluation(snapshot: CompiledSnapshot, context: EvaluationContext, result: EvaluationResult, keyId?: string): void {
  if (!countsUsageOnly(snapshot)) {
    recordEvaluations(snapshot, context, [result], keyId);
    return;
  }
  const now = Date.now();
  const buffer = bufferFor(snapshot.project);
  if (keyId !== undefined) recordKeyUse(snapshot.project, keyId, now);
  if (countsAsUsage(result)) countUsage(buffer, snapshot.environment, result, 1, now, now);
}

/** Whether an evaluation on `snapshot` counts as usage and nothing else: no flag is tracked and no draft is staged. */
function countsUsageOnly(snapshot: CompiledSnapshot): boolean {
  if (snapshot.draft) return false;
  let only = usageOnly.get(snapshot);
  if (only === undefined) {
    only = snapshot.tracking === undefined || Object.values(snapshot.tracking).every((subjects) => subjects.length === 0);
    usageOnly.set(snapshot, only);
  }
  return only;
}
const usageOnly = new WeakMap<CompiledSnapshot, boolean>();

function countUsage(
  buffer: Buffer,
  environment: string,
  result: EvaluationResult,
  evaluations: number,
  firstAt: number,
  lastAt: number,
): void {
  const usage = buffer.usage.get(result);
  if (usage) {
    usage.evaluations += evaluations;
    if (firstAt < usage.firstAt) usage.firstAt = firstAt;
    if (lastAt > usage.lastAt) usage.lastAt = lastAt;
  } else {
    buffer.usage.set(result, { environment, flag: result.key, variant: usageVariant(result), evaluations, firstAt, lastAt });
  }
}

/** Result vectors held counted whole before they are spread into per-flag usage. */
const MAX_HELD_VECTORS = 64;

/** Spreads the result vectors counted whole into per-flag usage. */
function spreadVectors(buffer: Buffer): void {
  for (const [results, counted] of buffer.vectors) {
    for (const result of results) {
      if (countsAsUsage(result)) countUsage(buffer, counted.environment, result, counted.count, counted.firstAt, counted.lastAt);
    }
  }
  buffer.vectors.clear();
}

/** A tracking event as the edge accepted it: its unit's targeting key, and its time clamped to now. */
export interface AcceptedEvent {
  id: string;
  name: string;
  targetingKey: string;
  at: number;
  value?: number;
  details?: TrackDetails;
}

/** Records tracking events tracked with a key of `environment`, for the next batch. */
export function recordTrackedEvents(project: string, environment: string, events: readonly AcceptedEvent[]): void {
  const buffer = bufferFor(project);
  for (const event of events) {
    const unit = unitId(event.targetingKey);
    buffer.tracked.set(trackedEntry(unit, event.id), {
      id: event.id,
      unit,
      environment,
      name: event.name,
      at: event.at,
      ...(event.value === undefined ? {} : { value: event.value }),
      ...(event.details === undefined ? {} : { details: event.details }),
    });
  }
}

/** Where a batch goes: a telemetry shard of the project (or a stand-in in tests). */
export interface TelemetryTarget {
  recordTelemetry(batch: unknown): Promise<unknown>;
}

/** Shard `shard` of `project`'s telemetry (`durable-objects/telemetry-shard.ts`). */
export function shardTarget(env: Env, project: string, shard: number): TelemetryTarget {
  const stub = env.TELEMETRY_SHARD.get(env.TELEMETRY_SHARD.idFromName(`${project}:${shard}`));
  return { recordTelemetry: (batch) => stub.recordTelemetry(project, shard, batch) };
}

/** Sends what this request recorded, after the response, to each project's telemetry shards. */
export function flushAfter(env: Env, waitUntil: (promise: Promise<unknown>) => void): void {
  if (edgeState.flushing) return;
  const sending = flush((project, shard) => shardTarget(env, project, shard));
  if (sending) waitUntil(sending);
}

/**
 * A batch split by shard: what is per unit goes to its unit's shard, so each unit's state lives in
 * one place; usage and key use (additive, of no unit) ride with any one part.
 */
export function splitByShard(batch: TelemetryBatch): Map<number, TelemetryBatch> {
  const parts = new Map<number, TelemetryBatch>();
  const part = (shard: number): TelemetryBatch => {
    let found = parts.get(shard);
    if (!found) {
      found = { usage: [], exposures: [], shadow: [], keys: [], tracked: [] };
      parts.set(shard, found);
    }
    return found;
  };
  for (const e of batch.exposures) part(shardOf(e.unit)).exposures.push(e);
  for (const s of batch.shadow) part(shardOf(s.unit)).shadow.push(s);
  for (const t of batch.tracked) part(shardOf(t.unit)).tracked.push(t);
  if (batch.usage.length > 0 || batch.keys.length > 0) {
    const any = part(parts.keys().next().value ?? Math.floor(Math.random() * TELEMETRY_SHARDS));
    any.usage.push(...batch.usage);
    any.keys.push(...batch.keys);
  }
  return parts;
}

/**
 * Schedules sending everything recorded so far, after a short gathering delay, and returns the
 * promise to pass to `waitUntil` — or null when a send is already scheduled: records made before
 * it fires ride on it, and the request that scheduled it keeps the isolate alive until it is
 * delivered. A batch the store cannot take is retried, then kept for the next flush.
 */
export function flush(target: (project: string, shard: number) => TelemetryTarget): Promise<void> | null {
  if (edgeState.flushing) return null;
  edgeState.flushing = (async () => {
    await new Promise((resolve) => setTimeout(resolve, FLUSH_DELAY_MS));
    edgeState.flushing = null;
    const taken = [...buffers.entries()];
    buffers.clear();
    const owed = edgeState.undeliveredParts.splice(0);
    await Promise.all([
      ...owed.map(({ project, shard, part }) => sendPart(target(project, shard), project, shard, part)),
      ...taken.map(([project, buffer]) => send(target, project, buffer)),
    ]);
  })();
  return edgeState.flushing;
}

async function send(target: (project: string, shard: number) => TelemetryTarget, project: string, buffer: Buffer): Promise<void> {
  spreadVectors(buffer);
  const usage = new Map<string, TelemetryBatch["usage"][number]>();
  for (const entry of buffer.usage.values()) {
    const key = usageKey(entry);
    const existing = usage.get(key);
    if (existing) {
      existing.evaluations += entry.evaluations;
      existing.firstAt = Math.min(existing.firstAt, entry.firstAt);
      existing.lastAt = Math.max(existing.lastAt, entry.lastAt);
    } else usage.set(key, { ...entry });
  }
  const batch: TelemetryBatch = {
    usage: [...usage.values()],
    exposures: [...buffer.exposures.values()],
    shadow: [...buffer.shadow.values()],
    keys: [...buffer.keys].map(([id, lastUsedAt]) => ({ id, lastUsedAt })),
    tracked: [...buffer.tracked.values()],
  };
  // Each part's id stays with it through every retry, so a shard applies it once.
  await Promise.all(
    [...splitByShard(batch)].map(([shard, part]) => sendPart(target(project, shard), project, shard, { ...part, id: randomToken(12) })),
  );
}

/** Sends one shard's part, retrying with its id; what cannot be delivered is logged and kept for the next flush. */
async function sendPart(target: TelemetryTarget, project: string, shard: number, part: TelemetryBatch): Promise<void> {
  for (let attempt = 1; attempt <= SEND_ATTEMPTS; attempt++) {
    try {
      await withDeadline(target.recordTelemetry(part), DEADLINE_MS.edgeStoreCall, "telemetry shard call");
      for (const e of part.exposures) sentExposures.set(exposureEntry(e.subject, e.unit), e.at);
      for (const k of part.keys) keysReportedAt.set(k.id, k.lastUsedAt);
      return;
    } catch (error) {
      if (attempt === SEND_ATTEMPTS) {
        const whole = edgeState.undeliveredParts.length < MAX_UNDELIVERED_PARTS;
        log("error", "telemetry-not-delivered", {
          project,
          shard,
          attempts: attempt,
          kept: whole ? "whole" : "merged",
          usage: part.usage.length,
          exposures: part.exposures.length,
          shadow: part.shadow.length,
          keys: part.keys.length,
          tracked: part.tracked.length,
          error,
        });
        // Kept whole, it is sent again with its id; merged (past the bound), its counts ride on
        // a new part, and would count twice if this one had committed with its answer lost.
        if (whole) edgeState.undeliveredParts.push({ project, shard, part });
        else mergeBack(project, part);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}

function mergeBack(project: string, part: TelemetryBatch): void {
  const target = bufferFor(project);
  for (const usage of part.usage) {
    const key = usageKey(usage);
    const existing = target.usage.get(key);
    if (existing) {
      existing.evaluations += usage.evaluations;
      existing.firstAt = Math.min(existing.firstAt, usage.firstAt);
    } else target.usage.set(key, { ...usage });
  }
  for (const e of part.exposures) {
    const key = exposureEntry(e.subject, e.unit);
    if (!target.exposures.has(key)) target.exposures.set(key, e);
  }
  for (const s of part.shadow) {
    const key = shadowEntry(s.draftId, s.flag, s.unit);
    if (!target.shadow.has(key)) target.shadow.set(key, s);
  }
  for (const k of part.keys) target.keys.set(k.id, Math.max(k.lastUsedAt, target.keys.get(k.id) ?? 0));
  for (const t of part.tracked) {
    const key = trackedEntry(t.unit, t.id);
    if (!target.tracked.has(key)) target.tracked.set(key, t);
  }
}

/** The buffers' keys: one entry per exposure (subject, unit), shadow comparison and tracked event. */
function exposureEntry(subject: string, unit: string): string {
  return `${subject}\u0000${unit}`;
}
function shadowEntry(draftId: string, flag: string, unit: string): string {
  return `${draftId}\u0000${flag}\u0000${unit}`;
}
function trackedEntry(unit: string, id: string): string {
  return `${unit}\u0000${id}`;
}

function usageKey(entry: TelemetryBatch["usage"][number]): string {
  return `${entry.environment}\u0000${entry.flag}\u0000${entry.variant}`;
}

/** The send in progress or scheduled, if any; tests await it where another request scheduled it. */
export function pendingFlush(): Promise<void> {
  return edgeState.flushing ?? Promise.resolve();
}
