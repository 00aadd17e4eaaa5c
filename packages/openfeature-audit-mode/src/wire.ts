/**
 * The two edgeflags endpoints this package speaks to, as it sends and reads them:
 * `POST /migration/v1/comparisons` (batched comparison counts and samples) and
 * `GET /migration/v1/status` (which system is authoritative for the key's environment).
 * Answers are read with type guards, never cast: a server that answers something else leaves the
 * last known state in place.
 */

/** A JSON value, as a flag answers it and as a sample carries it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Which system answers the application. */
export type Authority = "legacy" | "edgeflags";

/** One side of a sample: what the legacy provider answered. */
export interface LegacyAnswer {
  value: JsonValue;
  variant?: string;
}

/** The edgeflags side of a sample: its answer, or the error it gave instead. */
export interface EdgeflagsAnswer {
  value?: JsonValue;
  variant?: string;
  reason?: string;
  errorCode?: string;
}

/** A mismatching evaluation: when, for which context, and both answers. */
export interface Sample {
  at: string;
  context: { [key: string]: JsonValue };
  legacy: LegacyAnswer;
  edgeflags: EdgeflagsAnswer;
}

/** The counts of one flag in one batch. */
export interface Entry {
  flag: string;
  compared: number;
  mismatched: number;
  /** Evaluations not compared: the legacy side failed, or too many comparisons were waiting. */
  uncompared?: number;
  samples?: Sample[];
}

/** The body of `POST /migration/v1/comparisons`; `batch` is its idempotency key. */
export interface ComparisonBatch {
  batch: string;
  entries: Entry[];
}

/** What `GET /migration/v1/status` says, and what every ingest answer carries as `authority`. */
export interface MigrationStatus {
  authority: Authority;
  /** Epoch milliseconds after which comparisons stop, or null (none set). */
  graceUntil: number | null;
  /** Whether the server wants comparisons at all. */
  report: boolean;
  environment?: string;
}

/** The ingest's limits (the server refuses a batch beyond them). */
export const LIMITS = {
  entries: 1_000,
  samples: 20,
  /** The body limit is 256 KiB; a batch is sealed well below it. */
  batchBytes: 200 * 1024,
  /** The server's bound on one sample's context, serialized. */
  contextBytes: 4 * 1024,
  count: 10_000_000,
  /** Lengths the server bounds a sample's strings to. */
  variant: 256,
  reason: 64,
} as const;

/** The longest flag key edgeflags holds. */
const MAX_FLAG_KEY_LENGTH = 256;
const RESERVED_FLAG_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);
const FLAG_KEY_CHARACTERS = /^[^\s/?#%\u0000-\u001f\u007f]+$/;

/**
 * Whether edgeflags can hold `key` as a flag key (the server's rule, mirrored: this package cannot
 * import the Worker's engine). A batch naming any other key would be refused whole, so such a
 * flag is not reported; it could not have been imported either.
 */
export function reportableFlagKey(key: string): boolean {
  return key.length > 0 && key.length <= MAX_FLAG_KEY_LENGTH && FLAG_KEY_CHARACTERS.test(key) && !RESERVED_FLAG_KEYS.has(key);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isAuthority(value: unknown): value is Authority {
  return value === "legacy" || value === "edgeflags";
}

/** A status object read from the server, or null when `value` is not one. */
export function readStatus(value: unknown): MigrationStatus | null {
  if (!isRecord(value) || !isAuthority(value.authority)) return null;
  const grace = typeof value.graceUntil === "string" ? Date.parse(value.graceUntil) : Number.NaN;
  return {
    authority: value.authority,
    graceUntil: Number.isFinite(grace) ? grace : null,
    report: typeof value.report === "boolean" ? value.report : value.authority === "legacy",
    ...(typeof value.environment === "string" ? { environment: value.environment } : {}),
  };
}

/**
 * The status an ingest answer carries: its `authority` is the status object (the spec's shape);
 * a bare authority string is read too, keeping what it does not say from `previous`.
 */
export function readIngestAuthority(body: unknown, previous: MigrationStatus): MigrationStatus | null {
  if (!isRecord(body)) return null;
  const authority = body.authority;
  if (isAuthority(authority)) {
    return authority === previous.authority ? previous : { ...previous, authority, graceUntil: null, report: authority === "legacy" };
  }
  return readStatus(authority);
}

/**
 * Milliseconds a `Retry-After` header asks to wait (seconds or an HTTP date), or null when absent
 * or unreadable.
 */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}
