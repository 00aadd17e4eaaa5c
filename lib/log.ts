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

/** A line a `LogThrottle` holds back: what it was about and how many like it were not written. */
interface Held {
  level: LogLevel;
  event: string;
  fields: Record<string, unknown>;
  /** When the last line of this key was written (ms). */
  writtenAt: number;
  /** Lines of this key not written since then. */
  suppressed: number;
}

/**
 * One line per key and interval, for what can happen on every request (an answer served degraded):
 * the first occurrence of a key is written at once with `suppressed: 0`; later ones within
 * `intervalMs` are counted; the first after it is written with `suppressed`, the number held back
 * since the previous line. A count no later occurrence carries is written by `sweep` (called from
 * the request path, a clock comparison when nothing is held) once its interval has passed, as a
 * line without the request's fields. So every occurrence is counted, and a storm of them costs
 * one line per key and interval. At most `capacity` keys are held; the oldest goes first, its
 * count written.
 *
 * @example
 * const staleLines = new LogThrottle(60_000, 1_000);
 * staleLines.log("warn", "stale-snapshot-served", `${project}\u0000${version}`, { project, version });
 * staleLines.sweep(); // on a later request: counts whose interval passed are written
 */
export class LogThrottle {
  readonly #held = new Map<string, Held>();
  /** Held keys with a count not yet written. */
  #counting = 0;
  /** No held count is due before then (ms). */
  #nextDue = Number.POSITIVE_INFINITY;

  constructor(
    readonly intervalMs: number,
    readonly capacity: number,
    /** The clock (ms); tests pass their own. */
    readonly now: () => number = Date.now,
  ) {}

  /**
   * Writes `event` for `key` unless a line of that key was written within the interval, in which
   * case it is counted. `fields` are the line's; `requestFields` only describe this occurrence
   * (the request id), so a count written later by `sweep` leaves them out.
   */
  log(level: LogLevel, event: string, key: string, fields: Record<string, unknown>, requestFields?: () => Record<string, unknown>): void {
    const now = this.now();
    const held = this.#held.get(key);
    if (held && now - held.writtenAt < this.intervalMs) {
      if (held.suppressed === 0) {
        this.#counting++;
        this.#nextDue = Math.min(this.#nextDue, held.writtenAt + this.intervalMs);
      }
      held.suppressed++;
      held.fields = fields;
      return;
    }
    const suppressed = held?.suppressed ?? 0;
    if (held) {
      this.#held.delete(key);
      if (suppressed > 0) this.#counting--;
    } else if (this.#held.size >= this.capacity) this.#evictOldest();
    log(level, event, { ...requestFields?.(), ...fields, suppressed });
    this.#held.set(key, { level, event, fields, writtenAt: now, suppressed: 0 });
  }

  /** Writes the counts whose interval has passed with no occurrence to carry them. */
  sweep(): void {
    if (this.#counting === 0) return;
    const now = this.now();
    if (now < this.#nextDue) return;
    this.#nextDue = Number.POSITIVE_INFINITY;
    for (const held of this.#held.values()) {
      if (held.suppressed === 0) continue;
      if (now - held.writtenAt >= this.intervalMs) this.#write(held, now);
      else this.#nextDue = Math.min(this.#nextDue, held.writtenAt + this.intervalMs);
    }
  }

  #write(held: Held, now: number): void {
    log(held.level, held.event, { ...held.fields, suppressed: held.suppressed });
    held.suppressed = 0;
    held.writtenAt = now;
    this.#counting--;
  }

  #evictOldest(): void {
    const oldest = this.#held.entries().next();
    if (oldest.done) return;
    const [key, held] = oldest.value;
    if (held.suppressed > 0) this.#write(held, this.now());
    this.#held.delete(key);
  }
}
