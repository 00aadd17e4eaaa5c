/**
 * Everything the edge keeps in isolate memory between requests, in one object (`edgeState`):
 * compiled snapshots, the versions known to be committed, API key identities, key checks of open
 * event streams, event-stream URLs and the telemetry not yet delivered.
 *
 * Every cache that grows with what callers send is a `BoundedMap` (`bounded-map.ts`): at most its
 * capacity below, the entry written least recently evicted first. Unknown keys are held apart from
 * known ones, so a flood of made-up keys evicts only other made-up keys. What is not bounded here
 * empties itself: a load in flight leaves when it settles, a telemetry buffer when it is sent.
 *
 * Tests start from a fresh isolate's memory with `resetEdgeState()`.
 */
import type { CompiledFlagSet } from "../engine/index";
import type { EvaluationResult } from "../engine/types";
import type { KeyIdentity, SnapshotMigration } from "../contracts/snapshot";
import type { TelemetryBatch } from "../contracts/telemetry";
import type { BroadcastMessage, ChangeEvent } from "../contracts/broadcast";
import type { OfrepEventStream } from "../contracts/ofrep-wire";
import { BoundedMap } from "./bounded-map";

export interface CompiledSnapshot {
  project: string;
  environment: string;
  version: number;
  etag: string;
  updatedAt: string;
  compiled: CompiledFlagSet;
  /** Flag key → exposure subjects to record (flags under a ramp or an experiment). */
  tracking: Readonly<Record<string, string[]>> | undefined;
  /**
   * The own rules of flags under a ramp, compiled as flags without variants: a context they
   * match (any answer but `default`) is decided by them, not by the ramp's split.
   */
  rampRules: CompiledFlagSet | undefined;
  /** Which system answers for this environment (audit mode); absent while it has never been cut over. */
  migration?: SnapshotMigration | undefined;
  /** A staged draft, compiled, evaluated beside live for `sampleRate` of evaluations. */
  draft: { id: string; sampleRate: number; compiled: CompiledFlagSet } | undefined;
}

/** Why a served snapshot may not be the newest: a source the edge needed failed or timed out. */
export interface StaleNote {
  /**
   * `newer-version-unavailable`: a newer version was needed (named by the caller, or committed
   * through this isolate) and neither KV nor the FlagStore delivered it; `revalidation-failed`:
   * the periodic check of the snapshot against KV and the FlagStore failed;
   * `beacon-unavailable`: the location's version beacon (the kill switch's fast path,
   * `freshness-beacon.ts`) could not be refreshed, so the snapshot is only as fresh as KV keeps it.
   */
  reason: "newer-version-unavailable" | "revalidation-failed" | "beacon-unavailable";
  detail: string;
}

/**
 * What the edge can serve for an environment: a snapshot (with a note when it is served because a
 * source failed), `missing` when the FlagStore says the environment has no snapshot, or
 * `unavailable` when nothing is in memory and neither KV nor the FlagStore answered.
 */
export type SnapshotLookup =
  | { kind: "snapshot"; snapshot: CompiledSnapshot; stale: StaleNote | null }
  | { kind: "missing" }
  | { kind: "unavailable"; detail: string };

/** Where an isolate got the snapshot it holds: KV, the FlagStore, or the location's cache beside the beacon. */
export type SnapshotSource = "kv" | "store" | "location-cache";

/** A compiled snapshot held for an environment, and what the isolate knows of its freshness. */
export interface SnapshotEntry {
  snapshot: CompiledSnapshot;
  source: SnapshotSource;
  /** When this isolate installed the snapshot. */
  installedAt: number;
  checkedAt: number;
  refreshing: boolean;
  /** Set when the last attempt to confirm or replace this snapshot failed; cleared by a success. */
  stale: StaleNote | null;
  /** When a request last made this isolate look for a version newer than this one (null: never). */
  lookedAt: number | null;
  /** The highest version committed through this isolate (`noteVersion`) that has been looked for. */
  lookedForNoted: number;
  /** The fresh lookup of this snapshot, built once and answered by every request it serves. */
  served?: { readonly kind: "snapshot"; readonly snapshot: CompiledSnapshot; readonly stale: null } | undefined;
}

/**
 * A location's version beacon for one environment, as kept in the Cache API: the version the
 * FlagStore last confirmed, when, and the refresh in flight or the last one that failed.
 */
export interface Beacon {
  version: number;
  updatedAt: string;
  /** When the FlagStore last answered a refresh (ms); 0 before it ever has. */
  confirmedAt: number;
  /** A refresh is in flight until then (ms); 0: none. Other isolates of the location leave it to that one. */
  claimUntil: number;
  /** The last refresh, when it failed after `confirmedAt`. */
  failure: { at: number; detail: string } | null;
}

/** What one isolate knows of an environment's beacon. */
export interface BeaconState {
  /** When this isolate last read the location's beacon (ms). */
  checkedAt: number;
  /** The read in flight: concurrent requests share it. */
  checking: Promise<void> | null;
  /** The beacon as last read or written by this isolate; null while the location has none. */
  seen: Beacon | null;
  /** When this isolate last wrote the beacon; a read soon after that finds nothing means the cache keeps nothing. */
  wroteAt: number | null;
  /** Set while the Cache API keeps nothing here (e.g. `*.workers.dev`): the beacon is off until `until`. */
  off: { until: number; detail: string } | null;
  /** Set while reads or writes of the location's cache fail (since the first of them); cleared by a read that works. */
  cacheFailure: { since: number; detail: string } | null;
}

/** A key known to the KV key index, as last read. */
export interface KnownKey {
  identity: KeyIdentity;
  /** What `resolveKey` answers for it (one object per key, not one per request). */
  lookup: { readonly kind: "known"; readonly identity: KeyIdentity };
  checkedAt: number;
  refreshing: boolean;
}

/** An event stream's key as last read from the KV key index: its identity while valid, else null. */
export interface StreamKeyCheck {
  identity: KeyIdentity | null;
  checkedAt: number;
}

/** One project's telemetry not yet sent to its FlagStore. */
export interface TelemetryBuffer {
  /**
   * Keyed by the result object itself: the engine shares one frozen result per flag and variant
   * of a compiled snapshot, so counting a bulk evaluation builds no strings.
   */
  usage: Map<EvaluationResult | string, TelemetryBatch["usage"][number]>;
  /**
   * Result vectors of a snapshot that counts usage only, each counted as a whole (a remembered
   * bulk answer is the same vector every time) and spread into `usage` when the batch is sent, or
   * sooner once `MAX_HELD_VECTORS` (telemetry.ts) are held.
   */
  vectors: Map<readonly EvaluationResult[], { environment: string; count: number; firstAt: number; lastAt: number }>;
  exposures: Map<string, TelemetryBatch["exposures"][number]>;
  shadow: Map<string, TelemetryBatch["shadow"][number]>;
  /** Key id → when it was last used. */
  keys: Map<string, number>;
  /** Tracked events by unit and event id. */
  tracked: Map<string, TelemetryBatch["tracked"][number]>;
}

/** Environments (project and environment) whose snapshot and versions an isolate holds. */
const MAX_ENVIRONMENTS = 1_000;
/** Keys, key checks and stream URLs an isolate holds. */
const MAX_KEYS = 10_000;
/** Telemetry facts remembered as sent, so they are not sent again. */
const MAX_SENT = 50_000;

/** The edge's isolate memory. */
export const edgeState = {
  /** Compiled snapshots by `environmentKey(project, environment)`. */
  snapshots: new BoundedMap<string, SnapshotEntry>(MAX_ENVIRONMENTS),
  /** The highest version known to be committed per environment (admin writes made through this isolate). */
  knownVersions: new BoundedMap<string, number>(MAX_ENVIRONMENTS),
  /** Environments whose cold load found nothing to serve, and when. */
  coldFailures: new BoundedMap<string, { at: number; detail: string }>(MAX_ENVIRONMENTS),
  /** What this isolate knows of each environment's location beacon. */
  beacons: new BoundedMap<string, BeaconState>(MAX_ENVIRONMENTS),
  /** The load in flight per environment: concurrent requests that need one share it. */
  loads: new Map<string, Promise<SnapshotLookup>>(),
  /** Known keys, by the key itself, so a cached key costs no hashing. */
  knownKeys: new BoundedMap<string, KnownKey>(MAX_KEYS),
  /** Keys the index does not hold (or holds unreadable), by the key, with when that was read. */
  unknownKeys: new BoundedMap<string, number>(MAX_KEYS),
  /** Event-stream key checks by key hash. */
  streamKeyChecks: new BoundedMap<string, StreamKeyCheck>(MAX_KEYS),
  /** Finished `eventStreams` by key, token window, version and origin: a warm bulk request builds none. */
  streamUrls: new BoundedMap<string, OfrepEventStream[]>(MAX_KEYS),
  /** The last change formatted as an SSE event: every stream of the isolate sends the same one. */
  lastEvent: null as { change: ChangeEvent; text: string } | null,
  /** The last broadcaster message as read: every stream of the isolate receives the same text. */
  lastMessage: null as { raw: string; message: BroadcastMessage | null } | null,
  /** Telemetry recorded and not yet sent, per project. */
  telemetry: new Map<string, TelemetryBuffer>(),
  /** Exposures sent from this isolate (the store ignores repeats anyway), with when. */
  sentExposures: new BoundedMap<string, number>(MAX_SENT),
  /** Key id → the use this isolate last reported. */
  keysReportedAt: new BoundedMap<string, number>(MAX_SENT),
  /**
   * Parts the shards did not acknowledge after every attempt, kept whole with their ids and sent
   * again with the next flush (a part may have committed with its answer lost: the shard applies
   * an id once, so the counts are neither lost nor doubled). At most `MAX_UNDELIVERED_PARTS`.
   */
  undeliveredParts: [] as Array<{ project: string; shard: number; part: TelemetryBatch }>,
  /** The telemetry send scheduled or in progress. */
  flushing: null as Promise<void> | null,
};

/** Undelivered telemetry parts an isolate keeps whole; past it, a part's counts merge into the buffer. */
export const MAX_UNDELIVERED_PARTS = 64;

/** The key of an environment in the per-environment caches. */
export function environmentKey(project: string, environment: string): string {
  return `${project}\u0000${environment}`;
}

/** What `resetEdgeState` can forget, by the caches each part names. */
const PARTS = {
  /** Snapshots, the versions known to be committed, beacons read, cold failures, loads in flight. */
  snapshots: () => {
    edgeState.snapshots.clear();
    edgeState.beacons.clear();
    edgeState.knownVersions.clear();
    edgeState.coldFailures.clear();
    edgeState.loads.clear();
  },
  /** Known and unknown API keys. */
  keys: () => {
    edgeState.knownKeys.clear();
    edgeState.unknownKeys.clear();
  },
  /** Event-stream key checks, URLs and the last formatted event and message read. */
  streams: () => {
    edgeState.streamKeyChecks.clear();
    edgeState.streamUrls.clear();
    edgeState.lastEvent = null;
    edgeState.lastMessage = null;
  },
};

/** A part of the edge's memory that `resetEdgeState` can forget on its own. */
export type EdgeStatePart = keyof typeof PARTS;

/**
 * Forgets what the edge has cached from KV and the FlagStore, as a fresh isolate starts: all of
 * it, or only the `parts` named (a test of a cold snapshot load with a key already known here);
 * for tests. Telemetry (recorded, sent, scheduled) is kept: it is work owed to the store, and a
 * test that awaits a send still sees it delivered.
 *
 * @example
 * resetEdgeState(["snapshots"]); // the next evaluation loads its snapshot from KV
 */
export function resetEdgeState(parts: readonly EdgeStatePart[] = ["snapshots", "keys", "streams"]): void {
  for (const part of parts) PARTS[part]();
}
