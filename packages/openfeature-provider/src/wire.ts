/**
 * What this provider reads from edgeflags, checked by hand at the boundary (the package carries no
 * schema library): the environment's snapshot as `GET /sync/v1/flagd?format=edgeflags` answers it,
 * and the events of its stream.
 */

/** The environment's flags as the edge evaluates them. */
export interface SyncedSet {
  version: number;
  updatedAt: string;
  /** The flag set, edgeflags extensions intact (targets, prerequisites, off variants); compiled by the engine, which checks each flag. */
  flagSet: unknown;
  /** Flag key → exposure subjects (`ramp:<id>:<step>`, `exp:<id>`). */
  tracking: Record<string, string[]>;
  rampRules: Record<string, unknown> | undefined;
  /** The SSE stream URL to follow (with its token), when the edge streams. */
  streamUrl: string | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The synced set in a sync answer, or a description of what is wrong with it. */
export function readSyncedSet(body: unknown): SyncedSet | string {
  if (!isRecord(body)) return "the answer is not a JSON object";
  if (body.format !== "edgeflags")
    return `the answer's format is ${JSON.stringify(body.format)}, not "edgeflags" (is the service older than this provider?)`;
  const { version, updatedAt, flagSet, tracking, rampRules, eventStreams } = body;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 0) return "version is not a non-negative integer";
  if (typeof updatedAt !== "string") return "updatedAt is not a string";
  if (!isRecord(flagSet) || !isRecord(flagSet.flags)) return "flagSet has no flags object";
  const subjects: Record<string, string[]> = {};
  if (tracking !== undefined) {
    if (!isRecord(tracking)) return "tracking is not an object";
    for (const [flag, list] of Object.entries(tracking)) {
      if (!Array.isArray(list) || !list.every((s) => typeof s === "string"))
        return `tracking of ${JSON.stringify(flag)} is not a list of strings`;
      subjects[flag] = list;
    }
  }
  if (rampRules !== undefined && !isRecord(rampRules)) return "rampRules is not an object";
  return { version, updatedAt, flagSet, tracking: subjects, rampRules, streamUrl: sseUrl(eventStreams) };
}

/** The URL of the first `sse` entry of `eventStreams`, if any. */
function sseUrl(eventStreams: unknown): string | null {
  if (!Array.isArray(eventStreams)) return null;
  for (const entry of eventStreams) {
    if (isRecord(entry) && entry.type === "sse" && typeof entry.url === "string" && /^https?:\/\//.test(entry.url)) return entry.url;
  }
  return null;
}

/** The version a stream event announces (its `id`, else its data's etag), or null when it announces none. */
export function announcedVersion(id: string | undefined, data: string | undefined): number | null {
  if (id && /^\d{1,15}$/.test(id)) return Number(id);
  if (!data) return null;
  try {
    const parsed: unknown = JSON.parse(data);
    if (!isRecord(parsed) || parsed.type !== "refetchEvaluation") return null;
    const etag = typeof parsed.etag === "string" ? /^"?(\d{1,15})"?$/.exec(parsed.etag) : null;
    return etag ? Number(etag[1]) : 0;
  } catch {
    return null;
  }
}
