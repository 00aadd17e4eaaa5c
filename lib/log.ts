/**
 * Structured logs: one JSON object per line, so Workers Logs (and `wrangler tail`) index every
 * field. Each names its `event` (what happened, in kebab-case) and carries what an operator needs
 * to act on it: the request id (`requestId(request)`), the project, the environment, the error.
 *
 * @example
 * log("warn", "outbox-retry", { project, kind: row.kind, target: row.target, attempts, error });
 */

export type LogLevel = "info" | "warn" | "error";

/** The id a request is logged under: Cloudflare's `cf-ray` when present, else a fresh one. */
export function requestId(request: Request): string {
  return request.headers.get("cf-ray") ?? crypto.randomUUID();
}

/** Writes one log line; an `error` field is reduced to its name and message (and stack for bugs). */
export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  const entry: Record<string, unknown> = { level, event };
  for (const [key, value] of Object.entries(fields)) entry[key] = value instanceof Error ? describeError(value, level) : value;
  const line = JSON.stringify(entry);
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

function describeError(error: Error, level: LogLevel): Record<string, unknown> {
  return { name: error.name, message: error.message, ...(level === "error" && error.stack ? { stack: error.stack } : {}) };
}
