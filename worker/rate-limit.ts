/**
 * Rate limiting of what public client keys can do, per key and client address (Cloudflare's
 * `CF-Connecting-IP`), through the `CLIENT_RATE_LIMITER` binding: one abusive page does not
 * throttle an app's other users. A request without an address (never on Cloudflare) is not limited.
 */

/** Seconds to wait when `bucket` from `address` is over its limit (the Retry-After), else 0. */
export async function rateLimited(env: Env, bucket: string, address: string | null | undefined): Promise<number> {
  if (!address) return 0;
  const { success } = await env.CLIENT_RATE_LIMITER.limit({ key: `${bucket}:${address}` });
  if (success) return 0;
  const period = Number(env.CLIENT_RATE_LIMIT_PERIOD_SECONDS);
  return Number.isFinite(period) && period > 0 ? period : 60;
}
