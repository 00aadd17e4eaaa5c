/**
 * The kill switch's fast path: a version beacon per location and environment, kept in the Cache
 * API (`caches.default`, which every isolate of a Cloudflare location shares).
 *
 * An isolate reads its location's beacon at most once per `BEACON_CHECK_MS` (a local cache read,
 * which the Cache API does not bill; concurrent requests share it). When the beacon has not been
 * confirmed for `BEACON_INTERVAL_MS` and no other isolate holds the claim to refresh it, this one,
 * after the response (`waitUntil`), waits a random fraction of `CLAIM_JITTER_MS`, reads the beacon
 * again, and only if it is still due and unclaimed writes the claim and asks the FlagStore for the
 * environment's version (`edgeVersion`, with a deadline). So the store sees about one call per
 * location, environment and second, whatever the request rate: the jitter spreads the isolates
 * that found the beacon due at the same moment, and the only excess is two of them re-reading
 * within one cache write of each other. When the version moved, the same call returns the
 * snapshot, which the refresher puts in the location's cache before the beacon names it: the
 * location's other isolates load it from there (KV first, since it may have it), not from the store.
 *
 * The snapshot cache (`snapshot-cache.ts`) treats a beacon's version like one committed through
 * the isolate: it is served as soon as it can be loaded. When the store does not answer, the
 * beacon keeps its last version, the next refresh is tried an interval later, and the edge runs on
 * KV's revalidation alone; answers then say so (`beacon-unavailable`) rather than claim the fast
 * path's bound. A cache that keeps nothing (`*.workers.dev` has no Cache API) turns the beacon off
 * for the isolate for a while instead of sending every isolate to the store; a cache read or
 * write that fails is tried again at the next check, and answers say so if it keeps failing.
 */
import * as z from "zod";
import type { Snapshot } from "../contracts/snapshot";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { log } from "../lib/log";
import { edgeState, type Beacon, type BeaconState, type StaleNote } from "./edge-state";

/** How often a location refreshes its beacon from the store. */
export const BEACON_INTERVAL_MS = 1_000;
/** How often an isolate reads its location's beacon. */
export const BEACON_CHECK_MS = 250;
/** The longest an isolate that found the beacon due waits before it looks again and claims the refresh. */
const CLAIM_JITTER_MS = 100;
/** A failed refresh marks answers once the beacon has gone this long without the store confirming it. */
const DEGRADED_AFTER_MS = 3_000;
/** How long the beacon is off in an isolate whose cache kept nothing. */
const CACHE_OFF_MS = 10_000;
/** Cache lifetime of the beacon and of a snapshot put beside it: many intervals, so a quiet location keeps its version. */
const CACHE_TTL_S = 300;
/** Synthetic URLs the entries are kept under; nothing is ever fetched from them. */
const CACHE_BASE = "https://edge-cache.edgeflags.internal/v1";

/** The FlagStore's answer to a beacon refresh (`FlagStore.edgeVersion`). */
export interface StoreVersion {
  version: number;
  updatedAt: string;
  /** The snapshot, only when its version is newer than the one the refresh said it had. */
  snapshot: Snapshot | null;
}

/** Asks a project's FlagStore for an environment's version; null when there is no such environment. */
export type VersionFromStore = (project: string, environment: string, haveVersion: number) => Promise<StoreVersion | null>;

const BeaconSchema = z.object({
  version: z.number().int().min(0),
  updatedAt: z.string().max(64),
  confirmedAt: z.number(),
  claimUntil: z.number(),
  failure: z.object({ at: z.number(), detail: z.string().max(1_000) }).nullable(),
});

/** The location's cache, or null where the runtime has none. */
function locationCache(): Cache | null {
  return typeof caches === "undefined" ? null : caches.default;
}

function beaconUrl(project: string, environment: string): string {
  return `${CACHE_BASE}/beacon/${encodeURIComponent(project)}/${encodeURIComponent(environment)}`;
}

function snapshotUrl(project: string, environment: string, version: number): string {
  return `${CACHE_BASE}/snapshot/${encodeURIComponent(project)}/${encodeURIComponent(environment)}/${version}`;
}

function cached(body: string): Response {
  return new Response(body, { headers: { "content-type": "application/json", "cache-control": `public, max-age=${CACHE_TTL_S}` } });
}

/** A failure's message. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The location's beacon of an environment as the cache holds it (null when it holds none or
 * something unreadable); throws when the cache fails or does not answer within its deadline.
 */
export async function readBeacon(project: string, environment: string): Promise<Beacon | null> {
  const cache = locationCache();
  if (!cache) throw new Error("this runtime has no Cache API");
  const response = await withDeadline(cache.match(beaconUrl(project, environment)), DEADLINE_MS.edgeCache, "Cache API beacon read");
  if (!response) return null;
  const text = await withDeadline(response.text(), DEADLINE_MS.edgeCache, "Cache API beacon read");
  try {
    const parsed = BeaconSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

async function writeBeacon(project: string, environment: string, beacon: Beacon): Promise<void> {
  const cache = locationCache();
  if (!cache) throw new Error("this runtime has no Cache API");
  await withDeadline(
    cache.put(beaconUrl(project, environment), cached(JSON.stringify(beacon))),
    DEADLINE_MS.edgeCache,
    "Cache API beacon write",
  );
}

/** The text of a snapshot a refresher of this location put beside the beacon, or null. */
export async function readLocationSnapshot(project: string, environment: string, version: number): Promise<string | null> {
  const cache = locationCache();
  if (!cache) return null;
  const response = await withDeadline(
    cache.match(snapshotUrl(project, environment, version)),
    DEADLINE_MS.edgeCache,
    "Cache API snapshot read",
  );
  // A large snapshot takes longer to read than the small beacon: the KV read's deadline.
  return response ? withDeadline(response.text(), DEADLINE_MS.edgeKvRead, "Cache API snapshot read") : null;
}

/** What this isolate knows of an environment's beacon (created on first use). */
function stateOf(key: string): BeaconState {
  let state = edgeState.beacons.get(key);
  if (!state) {
    state = { checkedAt: 0, checking: null, seen: null, wroteAt: null, off: null, cacheFailure: null };
    edgeState.beacons.set(key, state);
  }
  return state;
}

/** What a beacon check needs: the store call, the request's `waitUntil`, and what to do with a snapshot the store sent. */
export interface BeaconSources {
  versionFromStore: VersionFromStore;
  waitUntil: (promise: Promise<unknown>) => void;
  /** Installs a snapshot a refresh brought from the store, in this isolate. */
  install: (snapshot: Snapshot) => void;
}

/** Whether the beacon is due to be read again: read longer than a check interval ago, and not turned off for now. */
export function beaconReadDue(state: BeaconState, now: number): boolean {
  return now - state.checkedAt >= BEACON_CHECK_MS && !(state.off && now < state.off.until);
}

/**
 * Reads the location's beacon when this isolate's last read is an interval old, starting a
 * refresh from the store (after the response) when the beacon is due and unclaimed. Resolves
 * when the read is done; null when there is nothing to wait for (read recently, or the beacon is
 * off here). The version read is `seenVersion(key)`.
 *
 * @example
 * const reading = checkBeacon(sources, key, "shop", "production", held);
 * if (reading) await reading;
 */
export function checkBeacon(
  sources: BeaconSources,
  key: string,
  project: string,
  environment: string,
  heldVersion: number,
): Promise<void> | null {
  const state = stateOf(key);
  const now = Date.now();
  if (state.checking) return state.checking;
  if (!beaconReadDue(state, now)) return null;
  state.checkedAt = now;
  state.checking = check(sources, key, state, project, environment, heldVersion).finally(() => {
    state.checking = null;
  });
  return state.checking;
}

async function check(
  sources: BeaconSources,
  key: string,
  state: BeaconState,
  project: string,
  environment: string,
  heldVersion: number,
): Promise<void> {
  const now = Date.now();
  let beacon: Beacon | null;
  try {
    beacon = await readBeacon(project, environment);
  } catch (error) {
    cacheFailed(state, project, environment, `the location's cache could not be read (${describe(error)})`);
    return;
  }
  if (!beacon && state.wroteAt !== null && now - state.wroteAt < (CACHE_TTL_S * 1000) / 2) {
    turnOff(state, project, environment, "the location's cache kept nothing this isolate wrote (there is no Cache API on *.workers.dev)");
    return;
  }
  state.off = null;
  state.cacheFailure = null;
  if (beacon) state.seen = beacon;
  if (isDue(beacon, now)) sources.waitUntil(claimAndRefresh(sources, key, state, project, environment, heldVersion));
}

/** Whether a beacon (or its absence) calls for a refresh: unconfirmed and untried for an interval, and unclaimed. */
function isDue(beacon: Beacon | null, now: number): boolean {
  if (!beacon) return true;
  return now - Math.max(beacon.confirmedAt, beacon.failure?.at ?? 0) >= BEACON_INTERVAL_MS && beacon.claimUntil <= now;
}

/** After a random wait, claims the refresh if the beacon is still due and unclaimed, then refreshes. */
async function claimAndRefresh(
  sources: BeaconSources,
  key: string,
  state: BeaconState,
  project: string,
  environment: string,
  heldVersion: number,
): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * CLAIM_JITTER_MS));
  let beacon: Beacon | null;
  try {
    beacon = await readBeacon(project, environment);
    const now = Date.now();
    if (!isDue(beacon, now)) {
      if (beacon) state.seen = beacon;
      return;
    }
    const claim: Beacon = {
      ...(beacon ?? { version: 0, updatedAt: "", confirmedAt: 0, failure: null }),
      claimUntil: now + DEADLINE_MS.edgeBeacon + BEACON_INTERVAL_MS,
    };
    await writeBeacon(project, environment, claim);
    state.wroteAt = now;
    // The snapshot travels only with a change to a beacon the location already had: a location's
    // first beacon names the version, and its isolates load it as they would have (KV, the store).
    const have = beacon ? Math.max(claim.version, heldVersion) : Number.MAX_SAFE_INTEGER;
    await refresh(sources, key, state, project, environment, claim, have);
  } catch (error) {
    cacheFailed(state, project, environment, `the location's cache failed (${describe(error)})`);
  }
}

/** Asks the store (bounded), puts a newer snapshot beside the beacon, then the beacon; a failure is recorded in it. */
async function refresh(
  sources: BeaconSources,
  key: string,
  state: BeaconState,
  project: string,
  environment: string,
  claim: Beacon,
  haveVersion: number,
): Promise<void> {
  let next: Beacon;
  try {
    const answer = await withDeadline(
      sources.versionFromStore(project, environment, haveVersion),
      DEADLINE_MS.edgeBeacon,
      "FlagStore version beacon",
    );
    if (answer?.snapshot) {
      // Not into an isolate memory that was forgotten since the refresh began (it starts cold).
      if (edgeState.beacons.get(key) === state) sources.install(answer.snapshot);
      // Before the beacon names the version, so the location's isolates find it here.
      await writeSnapshot(project, environment, answer.snapshot);
    }
    next = answer
      ? { version: answer.version, updatedAt: answer.updatedAt, confirmedAt: Date.now(), claimUntil: 0, failure: null }
      : { ...claim, confirmedAt: Date.now(), claimUntil: 0, failure: null };
  } catch (error) {
    const detail = describe(error);
    log("warn", "beacon-refresh-failed", { project, environment, version: claim.version, error: detail });
    next = { ...claim, claimUntil: 0, failure: { at: Date.now(), detail } };
  }
  state.seen = next;
  await writeBeacon(project, environment, next);
  state.wroteAt = Date.now();
}

async function writeSnapshot(project: string, environment: string, snapshot: Snapshot): Promise<void> {
  const cache = locationCache();
  if (!cache) return;
  try {
    await withDeadline(
      cache.put(snapshotUrl(project, environment, snapshot.version), cached(JSON.stringify(snapshot))),
      DEADLINE_MS.edgeKvRead,
      "Cache API snapshot write",
    );
  } catch (error) {
    // The location's isolates load it from KV or the store instead.
    log("warn", "beacon-snapshot-not-cached", { project, environment, version: snapshot.version, error: describe(error) });
  }
}

/**
 * A read or write of the cache failed or timed out: the next check tries again (the store is not
 * asked in its place); answers say so once the cache has been failing for `DEGRADED_AFTER_MS`.
 */
function cacheFailed(state: BeaconState, project: string, environment: string, detail: string): void {
  if (!state.cacheFailure) log("warn", "beacon-cache-failed", { project, environment, detail });
  state.cacheFailure = { since: state.cacheFailure?.since ?? Date.now(), detail };
}

function turnOff(state: BeaconState, project: string, environment: string, detail: string): void {
  if (!state.off) log("warn", "beacon-off", { project, environment, detail });
  state.off = { until: Date.now() + CACHE_OFF_MS, detail };
}

/** The version the location's beacon named when this isolate last read it (0: none). */
export function seenVersion(key: string): number {
  return edgeState.beacons.get(key)?.seen?.version ?? 0;
}

/**
 * Why an answer cannot promise the fast path's bound, or null while it can: the beacon is off in
 * this isolate, or its refresh failed and the store has not confirmed it for `DEGRADED_AFTER_MS`.
 */
export function beaconNote(key: string): StaleNote | null {
  const state = edgeState.beacons.get(key);
  if (!state) return null;
  const kvOnly = "changes reach this isolate through KV alone, which can lag a change by up to 60 s";
  if (state.off && Date.now() < state.off.until) return { reason: "beacon-unavailable", detail: `${state.off.detail}; ${kvOnly}` };
  if (state.cacheFailure && Date.now() - state.cacheFailure.since >= DEGRADED_AFTER_MS) {
    return { reason: "beacon-unavailable", detail: `${state.cacheFailure.detail}; ${kvOnly}` };
  }
  const seen = state.seen;
  if (!seen?.failure || seen.failure.at < seen.confirmedAt || Date.now() - seen.confirmedAt < DEGRADED_AFTER_MS) return null;
  const since =
    seen.confirmedAt === 0 ? "has never confirmed" : `has not confirmed for ${Math.round((Date.now() - seen.confirmedAt) / 1000)} s`;
  return {
    reason: "beacon-unavailable",
    detail: `the FlagStore ${since} the location's version beacon (${seen.failure.detail}); ${kvOnly}`,
  };
}
