/**
 * The whole snapshot of an environment for `GET /sync/v1/flagd?format=edgeflags` (`sync.ts`): the
 * one the edge evaluates, read from KV like the edge reads it, and from the FlagStore only when
 * KV has nothing as new as the edge serves (so back ends syncing do not all wake the project's
 * Durable Object). Both reads have their deadline.
 */
import { snapshotKvKey, SnapshotSchema, type Snapshot } from "../contracts/snapshot";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";

/** What the edgeflags sync format carries of a snapshot. */
export interface SyncSnapshot {
  version: number;
  updatedAt: string;
  flagSet: unknown;
  tracking?: Record<string, string[]> | undefined;
  rampRules?: Record<string, unknown> | undefined;
}

/**
 * The snapshot at `atLeast` or newer; null when the FlagStore has none; a string saying why when
 * neither source answered.
 */
export async function readSyncSnapshot(
  kv: KVNamespace,
  fromStore: () => Promise<Snapshot | null>,
  project: string,
  environment: string,
  atLeast: number,
): Promise<SyncSnapshot | null | string> {
  const text = await withDeadline(kv.get(snapshotKvKey(project, environment), "text"), DEADLINE_MS.edgeKvRead, "KV snapshot read").catch(
    () => null,
  );
  const parsed = text === null ? null : SnapshotSchema.safeParse(parseJson(text));
  if (parsed?.success && parsed.data.version >= atLeast) return parsed.data;
  return withDeadline(fromStore(), DEADLINE_MS.edgeStoreCall, "FlagStore snapshot call").catch((error: unknown) =>
    error instanceof Error ? error.message : String(error),
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
