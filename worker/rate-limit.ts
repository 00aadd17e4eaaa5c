/**
 * Rate limiting of what public client keys can do, per key and client address (Cloudflare's
 * `CF-Connecting-IP`), through the `CLIENT_RATE_LIMITER` binding: one abusive page does not
 * throttle an app's other users. A request without an address (never on Cloudflare) is not limited.
 */
import { DEADLINE_MS, withDeadline } from "../lib/deadline";

/**
 * Seconds to wait when `bucket` from `address` is over its limit (the Retry-After), else 0. A
 * limiter that fails or does not answer in time limits nothing: evaluations do not stop with it.
 */
export async function rateLimited(env: Env, bucket: string, address: string | null | undefined): Promise<number> {
  if (!address) return 0;
  const success = await withDeadline(
    env.CLIENT_RATE_LIMITER.limit({ key: `${bucket}:${address}` }),
    DEADLINE_MS.edgeRateLimit,
    "rate limiter",
  ).then(
    (outcome) => outcome.success,
    () => true,
  );
  if (success) return 0;
  const period = Number(env.CLIENT_RATE_LIMIT_PERIOD_SECONDS);
  return Number.isFinite(period) && period > 0 ? period : 60;
}
