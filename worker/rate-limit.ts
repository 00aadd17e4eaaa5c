/**
 * Rate limiting of what public client keys can do, per key and client address (Cloudflare's
 * `CF-Connecting-IP`), through the `CLIENT_RATE_LIMITER` binding: one abusive page does not
 * throttle an app's other users. A request without an address (never on Cloudflare) is not limited.
 */
import { DEADLINE_MS } from "../lib/deadline";

/**
 * Seconds to wait when `bucket` from `address` is over its limit (the Retry-After), else 0. A
 * limiter that fails or does not answer within `DEADLINE_MS.edgeRateLimit` limits nothing:
 * evaluations do not stop with it; only a binding that throws rejects.
 */
export function rateLimited(env: Env, bucket: string, address: string | null | undefined): Promise<number> {
  if (!address) return Promise.resolve(0);
  // The deadline and the verdict in one promise: this runs on every limited evaluation.
  return new Promise<number>((resolve) => {
    const timer = setTimeout(() => resolve(0), DEADLINE_MS.edgeRateLimit);
    let call: Promise<RateLimitOutcome>;
    try {
      call = env.CLIENT_RATE_LIMITER.limit({ key: `${bucket}:${address}` });
    } catch (error) {
      clearTimeout(timer);
      throw error;
    }
    call.then(
      (outcome) => {
        clearTimeout(timer);
        resolve(outcome.success ? 0 : retryAfter(env));
      },
      () => {
        clearTimeout(timer);
        resolve(0);
      },
    );
  });
}

function retryAfter(env: Env): number {
  const period = Number(env.CLIENT_RATE_LIMIT_PERIOD_SECONDS);
  return Number.isFinite(period) && period > 0 ? period : 60;
}
