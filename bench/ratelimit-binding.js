// The client rate limiter for `workerd serve` in the benchmark: a wrapped binding with the shape of
// Workers' `ratelimits` binding (`limit({ key })` → `{ success }`), counting in a fixed window per
// key in this isolate's memory, with the limit and period wrangler.toml declares. On Cloudflare
// the limiter is also answered from the location's memory, not a round trip per call; Miniflare's
// local one calls a Durable Object per request, which would make the benchmark time that object.
export default function makeRateLimiter(env) {
  const limit = Number(env.limit);
  const periodMs = Number(env.period) * 1000;
  const windows = new Map();
  return {
    async limit(options) {
      const key = String(options?.key ?? "");
      const now = Date.now();
      let w = windows.get(key);
      if (!w || now - w.start >= periodMs) {
        if (windows.size > 100_000) windows.clear();
        w = { start: now, count: 0 };
        windows.set(key, w);
      }
      w.count++;
      return { success: w.count <= limit };
    },
  };
}
