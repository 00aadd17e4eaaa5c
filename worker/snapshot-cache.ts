/**
 * Compiled snapshots in isolate memory, one per project environment.
 *
 * The hot path answers from memory. Once `refreshMs` has passed since the last check, the next
 * request still answers from memory and revalidates against KV in the background
 * (stale-while-revalidate). A request waits on KV only when memory has nothing new enough, and on
 * the FlagStore only when KV has nothing new enough. "New enough" is the highest version this
 * isolate knows was committed (`noteVersion`, from admin writes it performed) or the version the
 * caller names (`minVersion`, e.g. OFREP `flagConfigEtag`): read-your-writes without waiting
 * for KV to propagate.
 */
import { compileFlagSet } from "./engine/index";
import type { CompiledFlagSet } from "./engine/index";
import { snapshotKvKey, SnapshotSchema, type Snapshot } from "../durable-objects/snapshot";

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
  /** A staged draft, compiled, evaluated beside live for `sampleRate` of evaluations. */
  draft: { id: string; sampleRate: number; compiled: CompiledFlagSet } | undefined;
}

interface Entry {
  snapshot: CompiledSnapshot;
  checkedAt: number;
  refreshing: boolean;
}

/** Where a snapshot comes from when memory cannot serve it. */
export interface SnapshotSources {
  kv: KVNamespace;
  /** The FlagStore's current snapshot; the cold fallback. */
  fromStore: (project: string, environment: string) => Promise<Snapshot | null>;
  waitUntil: (promise: Promise<unknown>) => void;
  refreshMs: number;
}

const entries = new Map<string, Entry>();
const knownVersions = new Map<string, number>();

function cacheKey(project: string, environment: string): string {
  return `${project}\u0000${environment}`;
}

/** Records that `version` of an environment was committed, so older snapshots are not served here. */
export function noteVersion(project: string, environment: string, version: number): void {
  const key = cacheKey(project, environment);
  if ((knownVersions.get(key) ?? 0) < version) knownVersions.set(key, version);
}

/**
 * The compiled snapshot of an environment, at least `minVersion` new when one exists; null when
 * neither KV nor the FlagStore has the environment.
 */
export async function getSnapshot(
  sources: SnapshotSources,
  project: string,
  environment: string,
  minVersion = 0,
): Promise<CompiledSnapshot | null> {
  const key = cacheKey(project, environment);
  const needed = Math.max(minVersion, knownVersions.get(key) ?? 0);
  const entry = entries.get(key);
  if (entry && entry.snapshot.version >= needed) {
    if (Date.now() - entry.checkedAt >= sources.refreshMs && !entry.refreshing) {
      entry.refreshing = true;
      sources.waitUntil(
        refreshFromKv(sources.kv, key, project, environment)
          .catch(() => undefined)
          .finally(() => { entry.refreshing = false; }),
      );
    }
    return entry.snapshot;
  }
  const fromKv = await readKv(sources.kv, project, environment, entry?.snapshot.version ?? -1).catch(() => null);
  if (fromKv && fromKv.version >= needed) return install(key, fromKv);
  const fromStore = await sources.fromStore(project, environment);
  if (fromStore) return install(key, fromStore);
  return fromKv ? install(key, fromKv) : (entry?.snapshot ?? null);
}

async function refreshFromKv(kv: KVNamespace, key: string, project: string, environment: string): Promise<void> {
  const current = entries.get(key);
  const snapshot = await readKv(kv, project, environment, current?.snapshot.version ?? -1);
  if (snapshot) install(key, snapshot);
  else if (current) current.checkedAt = Date.now();
}

/** Reads the KV snapshot; returns it only when it is newer than `haveVersion` (parsing nothing otherwise). */
async function readKv(kv: KVNamespace, project: string, environment: string, haveVersion: number): Promise<Installable | null> {
  const { value, metadata } = await kv.getWithMetadata<{ version?: number }>(snapshotKvKey(project, environment), "text");
  if (value === null) return null;
  if (typeof metadata?.version === "number" && metadata.version <= haveVersion) return null;
  const parsed = SnapshotSchema.safeParse(JSON.parse(value));
  if (!parsed.success || parsed.data.version <= haveVersion) return null;
  return parsed.data;
}

/** A snapshot as read from KV (flags checked for shape only) or received from the FlagStore. */
type Installable = Omit<Snapshot, "flagSet" | "draft" | "rampRules"> & {
  flagSet: unknown;
  draft?: { id: string; sampleRate: number; flagSet: unknown } | undefined;
  rampRules?: Record<string, unknown> | undefined;
};

function install(key: string, snapshot: Installable): CompiledSnapshot {
  const current = entries.get(key);
  if (current && current.snapshot.version >= snapshot.version) {
    current.checkedAt = Date.now();
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
    rampRules: snapshot.rampRules ? compileRampRules(snapshot.rampRules, snapshot.flagSet) : undefined,
    draft: snapshot.draft ? { id: snapshot.draft.id, sampleRate: snapshot.draft.sampleRate, compiled: compileFlagSet(snapshot.draft.flagSet) } : undefined,
  };
  entries.set(key, { snapshot: compiled, checkedAt: Date.now(), refreshing: false });
  return compiled;
}

function compileRampRules(rules: Record<string, unknown>, flagSet: unknown): CompiledFlagSet {
  const evaluators = typeof flagSet === "object" && flagSet !== null ? (flagSet as { $evaluators?: unknown }).$evaluators : undefined;
  const flags = Object.fromEntries(Object.entries(rules).map(([key, targeting]) => [key, { state: "ENABLED", variants: {}, targeting }]));
  return compileFlagSet({ flags, $evaluators: evaluators });
}

/** Empties isolate memory, as a fresh isolate would start; for tests of the cold path. */
export function clearSnapshotCache(): void {
  entries.clear();
  knownVersions.clear();
}
