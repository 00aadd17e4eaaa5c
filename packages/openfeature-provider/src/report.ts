/**
 * Delivery of the reports this package sends the service (usage, tracking events): one POST
 * with the key and a deadline, its outcome classified, and the backoff that follows a failure.
 * A report the service could not take (network, deadline, 408, 429, 5xx) is to be sent again;
 * one it refuses (any other 4xx) would be refused again and is dropped by the caller.
 */
import { withDeadline, type Fetch } from "../../openfeature-audit-mode/src/deadline.ts";
import { retryAfterMs } from "../../openfeature-audit-mode/src/wire.ts";

const MIN_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 300_000;

/** Where reports go, and how. */
export interface ReportTarget {
  endpoint: string;
  key: string;
  fetch: Fetch;
  requestTimeoutMs: number;
}

export type Delivery =
  | { outcome: "ok" }
  | { outcome: "refused"; status: number; detail: string }
  | { outcome: "retry"; why: string; retryAfter: string | null };

/**
 * POSTs `body` (JSON text) to the target; never rejects. `keepalive` lets the request outlive a
 * page that is being hidden or unloaded (a browser sends it after the page is gone).
 */
export async function postReport(target: ReportTarget, body: string, keepalive = false): Promise<Delivery> {
  try {
    const response = await withDeadline(target.requestTimeoutMs, (signal) =>
      target.fetch(target.endpoint, {
        method: "POST",
        headers: { authorization: `Bearer ${target.key}`, "content-type": "application/json" },
        body,
        signal,
        ...(keepalive ? { keepalive: true } : {}),
      }),
    );
    const detail = await withDeadline(target.requestTimeoutMs, () => response.text()).catch(() => "");
    if (response.ok) return { outcome: "ok" };
    if (response.status !== 408 && response.status !== 429 && response.status < 500) {
      return { outcome: "refused", status: response.status, detail: detail.slice(0, 500) };
    }
    return { outcome: "retry", why: `${response.status}`, retryAfter: response.headers.get("retry-after") };
  } catch (error) {
    return { outcome: "retry", why: String(error), retryAfter: null };
  }
}

/** Exponential backoff after failed deliveries, or the service's `Retry-After`. */
export class Backoff {
  #failures = 0;
  /** No report is sent before this time (ms since epoch). */
  notBefore = 0;

  succeeded(): void {
    this.#failures = 0;
  }

  failed(now: number, retryAfter: string | null): void {
    this.#failures++;
    const backoff = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** (this.#failures - 1));
    this.notBefore = now + (retryAfterMs(retryAfter, now) ?? backoff);
  }
}
