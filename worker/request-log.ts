/**
 * Log lines about one request (`lib/log.ts`): each names the request id, method and path, so an
 * operator can find the answer a caller got. Written only when an answer degrades or fails, never
 * on the path of a normal answer (the request id of a request without `cf-ray` costs a UUID).
 *
 * @example
 * logRequest("warn", "stale-snapshot-served", c.req.raw, { project, environment, version, reason });
 */
import { log, requestId, type LogLevel } from "../lib/log";
import type { StaleNote } from "./edge-state";

/** Writes one log line about `request`, with its id, method and path before `fields`. */
export function logRequest(level: LogLevel, event: string, request: Request, fields: Record<string, unknown> = {}): void {
  log(level, event, { requestId: requestId(request), method: request.method, path: new URL(request.url).pathname, ...fields });
}

/** The environment an answer was for, as its log lines name it. */
export interface Answered {
  project: string;
  environment: string;
}

/** Logs an answer served from a snapshot the edge could not confirm or replace (stale-if-error). */
export function logStale(request: Request, answered: Answered, version: number, stale: StaleNote): void {
  const { project, environment } = answered;
  logRequest("warn", "stale-snapshot-served", request, { project, environment, version, reason: stale.reason, detail: stale.detail });
}

/** Logs a 503: the edge had nothing it could serve. */
export function logUnavailable(request: Request, answered: Partial<Answered>, detail: string): void {
  logRequest("error", "edge-unavailable", request, { project: answered.project, environment: answered.environment, detail });
}
