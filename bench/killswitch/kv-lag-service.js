// An in-memory Workers KV namespace for `workerd serve` whose replicas lag: a write becomes
// visible to reads only `LAG_MS` (a text binding) after it was made, as a Cloudflare location
// serves a cached value until its cacheTtl runs out; only keys starting with `LAG_PREFIX` lag (the
// benchmark lags snapshots, not the key index). The protocol is bench/kv-service.js's.
const history = new Map(); // key → [{ at, value, metadata, deleted }], oldest first

function keyOf(url) {
  const raw = url.pathname.slice(1);
  return url.searchParams.get("urlencoded")?.toLowerCase() === "true" ? decodeURIComponent(raw) : raw;
}

/** The newest write of `key` at least `lag` ms old. */
function visible(key, lag) {
  const writes = history.get(key) ?? [];
  const cutoff = Date.now() - lag;
  for (let i = writes.length - 1; i >= 0; i--) if (writes[i].at <= cutoff) return writes[i].deleted ? null : writes[i];
  return null;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const lagOf = (key) => (key.startsWith(env.LAG_PREFIX ?? "") ? Number(env.LAG_MS ?? 0) : 0);
    if (request.method === "GET" && url.pathname === "/") {
      const prefix = url.searchParams.get("prefix") ?? "";
      const names = [...history.keys()].filter((k) => k.startsWith(prefix) && visible(k, lagOf(k))).sort();
      return Response.json({ keys: names.map((name) => ({ name })), list_complete: true, cacheStatus: null });
    }
    const key = keyOf(url);
    if (request.method === "GET") {
      const entry = visible(key, lagOf(key));
      if (!entry) return new Response("Not Found", { status: 404 });
      const headers = new Headers();
      if (entry.metadata !== undefined) headers.set("CF-KV-Metadata", entry.metadata);
      return new Response(entry.value, { headers });
    }
    if (request.method === "PUT" || request.method === "DELETE") {
      const writes = history.get(key) ?? [];
      const value = request.method === "PUT" ? await request.arrayBuffer() : null;
      writes.push({
        at: Date.now(),
        value,
        metadata: request.headers.get("CF-KV-Metadata") ?? undefined,
        deleted: request.method === "DELETE",
      });
      // Only what a read within the lag can still see is kept.
      while (writes.length > 2 && writes[1].at <= Date.now() - lagOf(key)) writes.shift();
      history.set(key, writes);
      return new Response(null);
    }
    return new Response("method not allowed", { status: 405 });
  },
};
