/**
 * Evaluation telemetry at the edge: evaluation counts per flag and variant (stale-flag
 * detection), exposures of flags under a ramp or an experiment (unique units), and shadow
 * comparisons against a staged draft, the API keys that were used (a key's "last used"), and
 * the tracking events callers send (`track.ts`).
 * Nothing here delays an answer: records go into isolate
 * memory and are sent to the project's FlagStore in batches from `waitUntil`, which keeps the
 * isolate alive until the batch is delivered, so a frozen isolate loses nothing.
 */
import { createHash } from "node:crypto";
import type { EvaluationContext, EvaluationResult } from "../engine/types";
import { edgeState, type CompiledSnapshot, type TelemetryBuffer as Buffer } from "./edge-state";
import { LAST_USED_RESOLUTION_MS, type TelemetryBatch } from "../contracts/telemetry";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { log } from "../lib/log";
import { countsAsUsage, exposedSubjects, exposureKey, usageVariant } from "../contracts/usage-rules";

/** How long records gather before a batch is sent. */
const FLUSH_DELAY_MS = 250;
const SEND_ATTEMPTS = 4;
const { telemetry: buffers, sentExposures, keysReportedAt } = edgeState;

function bufferFor(project: string): Buffer {
  let buffer = buffers.get(project);
  if (!buffer) {
    buffer = { usage: new Map(), exposures: new Map(), shadow: new Map(), keys: new Map(), tracked: new Map() };
    buffers.set(project, buffer);
  }
  return buffer;
}

/** A stable, non-reversible id for an assignment unit (the targeting key). */
export function unitId(targetingKey: string): string {
  return createHash("sha256").update(targetingKey).digest("hex").slice(0, 20);
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
 * `flush(...)` to `waitUntil`.
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
  const targetingKey = exposureKey(context);
  let unit: string | null = null;
  for (const result of results) {
    if (!countsAsUsage(result)) continue;
    const usage = buffer.usage.get(result);
    if (usage) {
      usage.evaluations++;
      usage.lastAt = now;
    } else {
      buffer.usage.set(result, {
        environment: snapshot.environment,
        flag: result.key,
        variant: usageVariant(result),
        evaluations: 1,
        firstAt: now,
        lastAt: now,
      });
    }
    const subjects = exposedSubjects(result, context, snapshot.tracking?.[result.key], snapshot.compiled, snapshot.rampRules);
    if (subjects.length === 0 || targetingKey === null || result.kind !== "value") continue;
    unit ??= unitId(targetingKey);
    for (const subject of subjects) {
      const key = `${subject}\u0000${unit}`;
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
      const key = `${draft.id}\u0000${live.key}\u0000${unit}`;
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

/** A tracking event as the edge accepted it: its unit's targeting key, and its time clamped to now. */
export interface AcceptedEvent {
  id: string;
  name: string;
  targetingKey: string;
  at: number;
  value?: number;
}

/** Records tracking events tracked with a key of `environment`, for the next batch. */
export function recordTrackedEvents(project: string, environment: string, events: readonly AcceptedEvent[]): void {
  const buffer = bufferFor(project);
  for (const event of events) {
    const unit = unitId(event.targetingKey);
    buffer.tracked.set(`${unit}\u0000${event.id}`, {
      id: event.id,
      unit,
      environment,
      name: event.name,
      at: event.at,
      ...(event.value === undefined ? {} : { value: event.value }),
    });
  }
}

/** Sends what this request recorded, after the response, to each project's FlagStore. */
export function flushAfter(env: Env, waitUntil: (promise: Promise<unknown>) => void): void {
  const sending = flush((project) => env.FLAG_STORE.get(env.FLAG_STORE.idFromName(project)));
  if (sending) waitUntil(sending);
}

/**
 * Schedules sending everything recorded so far, after a short gathering delay, and returns the
 * promise to pass to `waitUntil` — or null when a send is already scheduled: records made before
 * it fires ride on it, and the request that scheduled it keeps the isolate alive until it is
 * delivered. A batch the store cannot take is retried, then kept for the next flush.
 */
export function flush(store: (project: string) => { recordTelemetry(batch: unknown): Promise<unknown> }): Promise<void> | null {
  if (edgeState.flushing) return null;
  edgeState.flushing = (async () => {
    await new Promise((resolve) => setTimeout(resolve, FLUSH_DELAY_MS));
    edgeState.flushing = null;
    const taken = [...buffers.entries()];
    buffers.clear();
    await Promise.all(taken.map(([project, buffer]) => send(store(project), project, buffer)));
  })();
  return edgeState.flushing;
}

async function send(store: { recordTelemetry(batch: unknown): Promise<unknown> }, project: string, buffer: Buffer): Promise<void> {
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
  for (let attempt = 1; attempt <= SEND_ATTEMPTS; attempt++) {
    try {
      await withDeadline(store.recordTelemetry(batch), DEADLINE_MS.edgeStoreCall, "FlagStore telemetry call");
      for (const [key, exposure] of buffer.exposures) sentExposures.set(key, exposure.at);
      for (const [id, at] of buffer.keys) keysReportedAt.set(id, at);
      return;
    } catch (error) {
      if (attempt === SEND_ATTEMPTS) {
        log("error", "telemetry-not-delivered", {
          project,
          attempts: attempt,
          kept: true,
          usage: batch.usage.length,
          exposures: batch.exposures.length,
          shadow: batch.shadow.length,
          keys: batch.keys.length,
          tracked: batch.tracked.length,
          error,
        });
        mergeBack(project, buffer);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}

function mergeBack(project: string, buffer: Buffer): void {
  const target = bufferFor(project);
  for (const usage of buffer.usage.values()) {
    const key = usageKey(usage);
    const existing = target.usage.get(key);
    if (existing) {
      existing.evaluations += usage.evaluations;
      existing.firstAt = Math.min(existing.firstAt, usage.firstAt);
    } else target.usage.set(key, { ...usage });
  }
  for (const [key, exposure] of buffer.exposures) if (!target.exposures.has(key)) target.exposures.set(key, exposure);
  for (const [key, shadow] of buffer.shadow) if (!target.shadow.has(key)) target.shadow.set(key, shadow);
  for (const [id, at] of buffer.keys) target.keys.set(id, Math.max(at, target.keys.get(id) ?? 0));
  for (const [key, event] of buffer.tracked) if (!target.tracked.has(key)) target.tracked.set(key, event);
}

function usageKey(entry: TelemetryBatch["usage"][number]): string {
  return `${entry.environment}\u0000${entry.flag}\u0000${entry.variant}`;
}

/** The send in progress or scheduled, if any; tests await it where another request scheduled it. */
export function pendingFlush(): Promise<void> {
  return edgeState.flushing ?? Promise.resolve();
}
