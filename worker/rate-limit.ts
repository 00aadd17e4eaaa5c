/**
 * Rate limiting of what public client keys can do, per key and client address (Cloudflare's
 * `CF-Connecting-IP`), through the `CLIENT_RATE_LIMITER` binding: one abusive page does not
 * throttle an app's other users. A request without an address (never on Cloudflare) is not limited.
 */
import { DEADLINE_MS } from "../lib/deadline";

/**
 * The limiter's verdict on one request, asked for as the request starts and read when the handler
 * needs it: seconds to wait when the key is over its limit from the address (the Retry-After),
 * else 0. A limiter that fails, or has not answered `DEADLINE_MS.edgeRateLimit` after it was
 * asked, limits nothing: evaluations do not stop with it.
 */
export interface LimitVerdict {
  /** The verdict, without a promise when the limiter has already answered (the common case). */
  read(): number | Promise<number>;
}

const NOT_LIMITED: LimitVerdict = { read: () => 0 };

/**
 * Asks the limiter about `bucket` from `address` and answers its verdict to come. Only a binding
 * that throws as it is called throws here.
 *
 * The deadline's timer is armed only if the verdict is read before the limiter has answered: by
 * then the handler has read the body, so the limiter has usually answered and no timer is set.
 * (A timer set and cleared on every evaluation costs a request more than the limiter does.)
 */
export function rateLimited(env: Env, bucket: string, address: string | null | undefined): LimitVerdict {
  if (!address) return NOT_LIMITED;
  const askedAt = Date.now();
  let verdict: number | undefined;
  const answered = env.CLIENT_RATE_LIMITER.limit({ key: `${bucket}:${address}` }).then(
    (outcome) => (verdict = outcome.success ? 0 : retryAfter(env)),
    () => (verdict = 0),
  );
  return {
    read() {
      if (verdict !== undefined) return verdict;
      const left = Math.max(0, DEADLINE_MS.edgeRateLimit - (Date.now() - askedAt));
      return new Promise<number>((resolve) => {
        const timer = setTimeout(() => resolve(0), left);
        void answered.then((seconds) => {
          clearTimeout(timer);
          resolve(seconds);
        });
      });
    },
  };
}

function retryAfter(env: Env): number {
  const period = Number(env.CLIENT_RATE_LIMIT_PERIOD_SECONDS);
  return Number.isFinite(period) && period > 0 ? period : 60;
}
