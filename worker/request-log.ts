/**
 * Log lines about one request (`lib/log.ts`): each names the request id, method and path, so an
 * operator can find the answer a caller got. Written only when an answer degrades or fails, never
 * on the path of a normal answer (the request id of a request without `cf-ray` costs a UUID).
 *
 * A degraded answer (a stale snapshot, a 503) can be every answer of an isolate for as long as a
 * source is down, so its line is written once per project, environment, version (or detail) and
 * reason per `DEGRADED_LOG_INTERVAL_MS`, with `suppressed`: the answers like it not logged since
 * the previous line (`LogThrottle`). Each answer still says what it is (`X-Edgeflags-Stale` and the
 * metadata's `stale`, the 503's body).
 *
 * @example
 * logRequest("error", "unhandled-error", request, { error });
 */
import { log, LogThrottle, requestId, type LogLevel } from "../lib/log";
import type { StaleNote } from "./edge-state";

/** Writes one log line about `request`, with its id, method and path before `fields`. */
export function logRequest(level: LogLevel, event: string, request: Request, fields: Record<string, unknown> = {}): void {
  log(level, event, { ...requestFields(request), ...fields });
}

function requestFields(request: Request): Record<string, unknown> {
  return { requestId: requestId(request), method: request.method, path: new URL(request.url).pathname };
}

/** The environment an answer was for, as its log lines name it. */
export interface Answered {
  project: string;
  environment: string;
}

/** How often one kind of degraded answer is logged per isolate (the rest are counted). */
export const DEGRADED_LOG_INTERVAL_MS = 60_000;
/** Kinds of degraded answer an isolate counts at once; the oldest is written and dropped first. */
const DEGRADED_LOG_KEYS = 1_000;
const degradedLines = new LogThrottle(DEGRADED_LOG_INTERVAL_MS, DEGRADED_LOG_KEYS);

/**
 * Logs an answer served from a snapshot the edge could not confirm or replace (stale-if-error),
 * once per project, environment, version and reason per interval.
 */
export function logStale(request: Request, answered: Answered, version: number, stale: StaleNote): void {
  const { project, environment } = answered;
  degradedLines.log(
    "warn",
    "stale-snapshot-served",
    `stale\u0000${project}\u0000${environment}\u0000${version}\u0000${stale.reason}`,
    { project, environment, version, reason: stale.reason, detail: stale.detail },
    () => requestFields(request),
  );
}

/** Logs a 503 (the edge had nothing it could serve), once per project, environment and detail per interval. */
export function logUnavailable(request: Request, answered: Partial<Answered>, detail: string): void {
  const { project, environment } = answered;
  degradedLines.log(
    "error",
    "edge-unavailable",
    `unavailable\u0000${project ?? ""}\u0000${environment ?? ""}\u0000${detail}`,
    { project, environment, detail },
    () => requestFields(request),
  );
}

/**
 * Writes the counts of degraded answers whose interval has passed with no answer like them since:
 * called on the path of every evaluation, it costs a comparison while nothing is counted.
 */
export function sweepDegradedLogs(): void {
  degradedLines.sweep();
}
