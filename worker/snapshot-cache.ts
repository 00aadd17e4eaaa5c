/**
 * Compiled snapshots in isolate memory, one per project environment.
 *
 * The hot path answers from memory. Once `refreshMs` has passed since the last check, the next
 * request still answers from memory and revalidates in the background against KV, or the
 * FlagStore when KV fails (stale-while-revalidate). A request waits on KV only when memory has
 * nothing new enough, and on the FlagStore only when KV has nothing new enough. "New enough" is
 * the highest version this isolate knows was committed (`noteVersion`, from admin writes it
 * performed) or the version the caller names (`minVersion`, e.g. OFREP `flagConfigEtag`):
 * read-your-writes without waiting for KV to propagate. A caller-named version makes the isolate
 * look at most once per version it holds and refresh interval, and concurrent loads share one KV
 * read and one FlagStore call. Every call has a deadline; when KV and the FlagStore fail, the
 * snapshot in memory is served and said to be stale (stale-if-error), and with nothing in memory
 * the lookup is `unavailable`.
 *
 * The kill switch's fast path (`freshness-beacon.ts`): with `versionFromStore` in its sources, an
 * isolate also reads its location's version beacon once a second and treats the version it names
 * like one committed here, so a change is served within about two beacon intervals everywhere,
 * not after KV's propagation. A snapshot the beacon names is looked for in KV, then in the
 * location's cache (where the location's refresher put it), then the FlagStore.
 */
import { compileFlagSet } from "../engine/index";
import { compileRampRules } from "../contracts/usage-rules";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { log } from "../lib/log";
import { readSnapshot, snapshotKvKey, type Snapshot } from "../contracts/snapshot";
import {
  edgeState,
  environmentKey,
  type CompiledSnapshot,
  type SnapshotEntry as Entry,
  type SnapshotLookup,
  type SnapshotSource,
} from "./edge-state";
import { beaconNote, beaconReadDue, checkBeacon, readLocationSnapshot, seenVersion, type VersionFromStore } from "./freshness-beacon";

export type { CompiledSnapshot, SnapshotLookup, StaleNote } from "./edge-state";

/** Milliseconds between background revalidations of an isolate's snapshots and keys against KV. */
export function refreshMs(env: Env): number {
  const seconds = Number(env.SNAPSHOT_REFRESH_SECONDS);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 5_000;
}

/** Where a snapshot comes from when memory cannot serve it. */
export interface SnapshotSources {
  kv: KVNamespace;
  /** The FlagStore's current snapshot; the cold fallback. */
  fromStore: (project: string, environment: string) => Promise<Snapshot | null>;
  waitUntil: (promise: Promise<unknown>) => void;
  refreshMs: number;
  /** The FlagStore's version of an environment, for the location's version beacon; without it the isolate follows KV alone. */
  versionFromStore?: VersionFromStore | undefined;
}

/**
 * The sources of a request's lookups in any project: the Worker's KV, each project's FlagStore
 * (the cold fallback and the version beacon), the request's `waitUntil`, the refresh interval.
 *
 * @example
 * const lookup = await getSnapshot(edgeSources(c.env, (p) => c.executionCtx.waitUntil(p)), project, environment);
 */
export function edgeSources(env: Env, waitUntil: (promise: Promise<unknown>) => void): SnapshotSources {
  return { ...baseSources(env), waitUntil };
}

/** The request-independent part of `edgeSources`, kept per `env` object (one per isolate on Cloudflare). */
function baseSources(env: Env): Omit<SnapshotSources, "waitUntil"> {
  let sources = envSources.get(env);
  if (!sources) {
    const store = (project: string) => env.FLAG_STORE.get(env.FLAG_STORE.idFromName(project));
    sources = {
      kv: env.FLAGS_KV,
      fromStore: (project, environment) => store(project).getSnapshot(environment),
      versionFromStore: (project, environment, haveVersion) => store(project).edgeVersion(environment, haveVersion),
      refreshMs: refreshMs(env),
    };
    envSources.set(env, sources);
  }
  return sources;
}

const envSources = new WeakMap<Env, Omit<SnapshotSources, "waitUntil">>();

/**
 * The sources of a request's lookups in `project`: the Worker's KV, that project's FlagStore as the
 * cold fallback, the request's `waitUntil`, the deployment's refresh interval.
 *
 * @example
 * const lookup = await getSnapshot(storeSources(c.env, project, (p) => c.executionCtx.waitUntil(p)), project, environment);
 */
export function storeSources(env: Env, _project: string, waitUntil: (promise: Promise<unknown>) => void): SnapshotSources {
  return edgeSources(env, waitUntil);
}

const { snapshots: entries, knownVersions, coldFailures, loads } = edgeState;
/** A cold load that found nothing to serve is not retried for this long, so a flood of requests during an outage costs no more calls. */
const COLD_RETRY_MS = 1_000;
/** A caller-named version is looked for again no sooner than this, even with a shorter refresh interval. */
const MIN_LOOK_INTERVAL_MS = 1_000;

/** Records that `version` of an environment was committed, so older snapshots are not served here. */
export function noteVersion(project: string, environment: string, version: number): void {
  const key = environmentKey(project, environment);
  if ((knownVersions.get(key) ?? 0) < version) knownVersions.set(key, version);
}

/**
 * The compiled snapshot of an environment, at least `minVersion` new when one can be had. Every
 * KV read and FlagStore call has a deadline; when they fail, the snapshot in memory is served with
 * a `StaleNote` (stale-if-error), and only an isolate with nothing in memory answers `unavailable`.
 *
 * @example
 * const lookup = await getSnapshot(sources, "shop", "production", namedVersion);
 * if (lookup.kind === "snapshot") evaluate(lookup.snapshot);
 */
export async function getSnapshot(sources: SnapshotSources, project: string, environment: string, minVersion = 0): Promise<SnapshotLookup> {
  const key = environmentKey(project, environment);
  if (sources.versionFromStore) {
    const reading = checkBeacon(
      {
        versionFromStore: sources.versionFromStore,
        waitUntil: sources.waitUntil,
        install: (snapshot) => {
          noteVersion(project, environment, snapshot.version);
          install(key, snapshot, "store");
        },
      },
      key,
      project,
      environment,
      entries.get(key)?.snapshot.version ?? 0,
    );
    if (reading) await joined(reading);
    noteVersion(project, environment, seenVersion(key));
  }
  const lookup = await lookUp(sources, key, project, environment, minVersion);
  if (lookup.kind !== "snapshot" || lookup.stale || !sources.versionFromStore) return lookup;
  const note = beaconNote(key);
  return note ? { ...lookup, stale: note } : lookup;
}

/**
 * What `getSnapshot(edgeSources(env, waitUntil), project, environment, minVersion)` answers, when
 * memory can answer it at once: the snapshot held is new enough (or may not be looked for again
 * yet) and the location's beacon was read less than a check interval ago. It does what
 * `getSnapshot` does on that path (the background revalidation when due); null when the lookup
 * has to wait for a read, and `getSnapshot` is the call to make. The hot path's lookup without a promise.
 *
 * @example
 * const lookup = snapshotNow(env, waitUntil, "shop", "production") ?? (await getSnapshot(edgeSources(env, waitUntil), "shop", "production"));
 */
export function snapshotNow(
  env: Env,
  waitUntil: (promise: Promise<unknown>) => void,
  project: string,
  environment: string,
  minVersion = 0,
): SnapshotLookup | null {
  const key = environmentKey(project, environment);
  const entry = entries.get(key);
  if (!entry) return null;
  const now = Date.now();
  // What `checkBeacon` does without a read: nothing when the beacon was read recently or is off here.
  const beacon = edgeState.beacons.get(key);
  if (!beacon || beacon.checking || beaconReadDue(beacon, now)) return null;
  const seen = beacon.seen?.version ?? 0;
  let noted = knownVersions.get(key) ?? 0;
  if (noted < seen) {
    knownVersions.set(key, seen);
    noted = seen;
  }
  const base = baseSources(env);
  if (entry.snapshot.version < Math.max(minVersion, noted) && mayLook(entry, noted, base.refreshMs)) return null;
  if (now - entry.checkedAt >= base.refreshMs && !entry.refreshing) {
    revalidateInBackground({ ...base, waitUntil }, key, project, environment, entry);
  }
  const stale = entry.stale ?? beaconNote(key);
  if (stale) return { kind: "snapshot", snapshot: entry.snapshot, stale };
  let served = entry.served;
  if (served?.snapshot !== entry.snapshot) {
    served = { kind: "snapshot", snapshot: entry.snapshot, stale: null };
    entry.served = served;
  }
  return served;
}

async function lookUp(
  sources: SnapshotSources,
  key: string,
  project: string,
  environment: string,
  minVersion: number,
): Promise<SnapshotLookup> {
  const noted = knownVersions.get(key) ?? 0;
  const needed = Math.max(minVersion, noted);
  const entry = entries.get(key);
  if (entry && (entry.snapshot.version >= needed || !mayLook(entry, noted, sources.refreshMs))) {
    revalidateInBackground(sources, key, project, environment, entry);
    return { kind: "snapshot", snapshot: entry.snapshot, stale: entry.stale };
  }
  if (!entry) {
    const failed = coldFailures.get(key);
    if (failed && Date.now() - failed.at < COLD_RETRY_MS) return { kind: "unavailable", detail: failed.detail };
  }
  const running = loads.get(key);
  if (running) return joined(running);
  const loading = look(sources, key, project, environment, needed, noted).finally(() => loads.delete(key));
  loads.set(key, loading);
  return loading;
}

/**
 * `shared` (work another request may have started: a beacon read, a load), awaited through a
 * promise this request creates. The runtime runs a promise's continuations in the request context
 * that created it, so a request that awaited another request's promise directly went on in that
 * context and built its answer there, and the runtime refused to send it ("Cannot perform I/O on
 * behalf of a different request", a 500), whenever two requests shared a read.
 */
function joined<T>(shared: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    shared.then(resolve, reject);
  });
}

/**
 * Whether a request may make this isolate look for a version newer than the one it holds. A
 * version committed through this isolate is looked for once; a version a caller names
 * (`flagConfigEtag`, `flagConfigLastModified`, which anyone with a public client key can make up)
 * once per version held and refresh interval, so a made-up version costs KV and the FlagStore
 * nothing after the first request.
 */
function mayLook(entry: Entry, noted: number, refreshMs: number): boolean {
  if (noted > entry.snapshot.version && noted > entry.lookedForNoted) return true;
  return entry.lookedAt === null || Date.now() - entry.lookedAt >= Math.max(refreshMs, MIN_LOOK_INTERVAL_MS);
}

/** Loads, then spends the look on whatever the isolate now holds when it is still older than needed. */
async function look(
  sources: SnapshotSources,
  key: string,
  project: string,
  environment: string,
  needed: number,
  noted: number,
): Promise<SnapshotLookup> {
  const result = await load(sources, key, project, environment, needed);
  const entry = entries.get(key);
  if (entry && entry.snapshot.version < needed) {
    entry.lookedAt = Date.now();
    entry.lookedForNoted = Math.max(entry.lookedForNoted, noted);
  }
  return result;
}

/** KV first, then the FlagStore, each bounded; the best snapshot in memory when both fail. */
async function load(sources: SnapshotSources, key: string, project: string, environment: string, needed: number): Promise<SnapshotLookup> {
  let fromKv: Installable | null = null;
  let kvFailure: string | null = null;
  try {
    fromKv = await withDeadline(
      readKv(sources.kv, project, environment, entries.get(key)?.snapshot.version ?? -1),
      DEADLINE_MS.edgeKvRead,
      "KV snapshot read",
    );
  } catch (error) {
    kvFailure = describe(error);
  }
  if (fromKv && fromKv.version >= needed) return served(install(key, fromKv, "kv"));
  const nearby = await fromLocationCache(project, environment, needed, entries.get(key)?.snapshot.version ?? -1);
  if (nearby) return served(install(key, nearby, "location-cache"));
  let fromStore: Snapshot | null;
  try {
    fromStore = await withDeadline(sources.fromStore(project, environment), DEADLINE_MS.edgeStoreCall, "FlagStore snapshot call");
  } catch (error) {
    const detail = `version ${needed} or later could not be loaded (${kvFailure ? `KV: ${kvFailure}; ` : ""}FlagStore: ${describe(error)})`;
    const best = fromKv ? install(key, fromKv, "kv") : entries.get(key)?.snapshot;
    const entry = entries.get(key);
    if (!best || !entry) {
      coldFailures.set(key, { at: Date.now(), detail });
      return { kind: "unavailable", detail };
    }
    entry.stale = { reason: "newer-version-unavailable", detail };
    return { kind: "snapshot", snapshot: best, stale: entry.stale };
  }
  coldFailures.delete(key);
  if (fromStore) return served(install(key, fromStore, "store"));
  if (fromKv) return served(install(key, fromKv, "kv"));
  const entry = entries.get(key);
  return entry ? { kind: "snapshot", snapshot: entry.snapshot, stale: entry.stale } : { kind: "missing" };
}

function served(snapshot: CompiledSnapshot): SnapshotLookup {
  return { kind: "snapshot", snapshot, stale: null };
}

/** Once `refreshMs` has passed, checks the snapshot against KV (the FlagStore when KV fails) after the response. */
function revalidateInBackground(sources: SnapshotSources, key: string, project: string, environment: string, entry: Entry): void {
  if (Date.now() - entry.checkedAt < sources.refreshMs || entry.refreshing) return;
  entry.refreshing = true;
  sources.waitUntil(
    revalidate(sources, key, project, environment, entry).finally(() => {
      entry.refreshing = false;
    }),
  );
}

async function revalidate(sources: SnapshotSources, key: string, project: string, environment: string, entry: Entry): Promise<void> {
  let kvFailure: string;
  try {
    const snapshot = await withDeadline(
      readKv(sources.kv, project, environment, entry.snapshot.version),
      DEADLINE_MS.edgeKvRead,
      "KV snapshot read",
    );
    if (snapshot) install(key, snapshot, "kv");
    else confirm(key, entry);
    return;
  } catch (error) {
    kvFailure = describe(error);
  }
  try {
    const snapshot = await withDeadline(sources.fromStore(project, environment), DEADLINE_MS.edgeStoreCall, "FlagStore snapshot call");
    if (snapshot) install(key, snapshot, "store");
    else confirm(key, entry);
  } catch (error) {
    // Checked again after another `refreshMs`, not on every request.
    entry.checkedAt = Date.now();
    entry.stale = {
      reason: "revalidation-failed",
      detail: `version ${entry.snapshot.version} could not be revalidated (KV: ${kvFailure}; FlagStore: ${describe(error)})`,
    };
  }
}

/** Marks `entry` checked now; rewriting it keeps a snapshot in use from being the one evicted. */
function confirm(key: string, entry: Entry): void {
  entry.checkedAt = Date.now();
  entry.stale = null;
  if (entries.get(key) === entry) entries.set(key, entry);
}

/** A failure's message, for the detail of a stale or unavailable answer. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads the KV snapshot; returns it only when it is newer than `haveVersion` (parsing nothing otherwise). */
async function readKv(kv: KVNamespace, project: string, environment: string, haveVersion: number): Promise<Installable | null> {
  const { value, metadata } = await kv.getWithMetadata<{ version?: number }>(snapshotKvKey(project, environment), "text");
  if (value === null) return null;
  if (typeof metadata?.version === "number" && metadata.version <= haveVersion) return null;
  // Text that is not JSON is a failure of KV (the FlagStore is asked), not "nothing newer".
  return checkSnapshot(value, haveVersion);
}

/**
 * A snapshot read from its text with the edge's envelope checks (`readSnapshot`); null when it is
 * not one or not newer than `haveVersion`. Text that is not JSON throws.
 */
function checkSnapshot(text: string, haveVersion: number): Installable | null {
  const snapshot = readSnapshot(text);
  if (!snapshot || snapshot.version <= haveVersion) return null;
  return snapshot;
}

/**
 * The snapshot the location's beacon names, from the location's cache, when it is at least
 * `needed` and newer than `haveVersion`; null on a miss, a failure or a timeout (the store is next).
 */
async function fromLocationCache(project: string, environment: string, needed: number, haveVersion: number): Promise<Installable | null> {
  const named = seenVersion(environmentKey(project, environment));
  if (named < needed || named <= haveVersion) return null;
  try {
    const text = await readLocationSnapshot(project, environment, named);
    return text === null ? null : checkSnapshot(text, haveVersion);
  } catch {
    return null;
  }
}

/** A snapshot as read from KV (flags checked for shape only) or received from the FlagStore. */
type Installable = Omit<Snapshot, "flagSet" | "draft" | "rampRules"> & {
  flagSet: unknown;
  draft?: { id: string; sampleRate: number; flagSet: unknown } | undefined;
  rampRules?: Record<string, unknown> | undefined;
};

function install(key: string, snapshot: Installable, source: SnapshotSource): CompiledSnapshot {
  const current = entries.get(key);
  if (current && current.snapshot.version >= snapshot.version) {
    confirm(key, current);
    return current.snapshot;
  }
  const compiled: CompiledSnapshot = {
    project: snapshot.project,
    environment: snapshot.environment,
    version: snapshot.version,
    etag: snapshot.etag,
    updatedAt: snapshot.updatedAt,
    compiled: compileFlagSet(snapshot.flagSet),
    tracking: snapshot.tracking,
    migration: snapshot.migration,
    rampRules: snapshot.rampRules ? compileRampRules(snapshot.rampRules, snapshot.flagSet) : undefined,
    draft: snapshot.draft
      ? { id: snapshot.draft.id, sampleRate: snapshot.draft.sampleRate, compiled: compileFlagSet(snapshot.draft.flagSet) }
      : undefined,
  };
  const now = Date.now();
  entries.set(key, {
    snapshot: compiled,
    source,
    installedAt: now,
    checkedAt: now,
    refreshing: false,
    stale: null,
    lookedAt: null,
    lookedForNoted: 0,
  });
  // Once per version and isolate, not per evaluation: each of these flags answers PARSE_ERROR.
  const { errors } = compiled.compiled;
  if (errors.size > 0) {
    log("error", "flags-not-compiled", {
      project: compiled.project,
      environment: compiled.environment,
      version: compiled.version,
      flags: Object.fromEntries(errors),
    });
  }
  return compiled;
}
