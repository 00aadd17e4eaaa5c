// An in-memory Workers KV namespace for `workerd serve`, used only by the benchmark.
//
// workerd turns a `kvNamespace` binding's calls into HTTP requests to the service it names:
//   GET /<key>?urlencoded=true      → value, metadata in the CF-KV-Metadata header; 404 when absent
//   PUT /<key>?urlencoded=true      ← value, CF-KV-Metadata header
//   DELETE /<key>?urlencoded=true
//   GET /?prefix=&key_count_limit=&cursor=   → { keys, list_complete }
// (the same protocol Miniflare's KV simulator implements). State lives in this isolate's memory,
// which workerd keeps for the life of the process. The benchmark also reads snapshots through a
// loopback socket bound to this service, to time the cold path on what the Durable Object published.
const store = new Map();

function keyOf(url) {
  const raw = url.pathname.slice(1);
  return url.searchParams.get("urlencoded")?.toLowerCase() === "true" ? decodeURIComponent(raw) : raw;
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/") {
      const prefix = url.searchParams.get("prefix") ?? "";
      const limit = Number(url.searchParams.get("key_count_limit") ?? 1000);
      const keys = [...store.keys()]
        .filter((k) => k.startsWith(prefix))
        .sort()
        .slice(0, limit);
      return Response.json({
        keys: keys.map((name) => ({ name, metadata: store.get(name).metadata ?? undefined })),
        list_complete: true,
        cacheStatus: null,
      });
    }
    const key = keyOf(url);
    switch (request.method) {
      case "GET": {
        const entry = store.get(key);
        if (!entry) return new Response("Not Found", { status: 404 });
        const headers = new Headers();
        if (entry.metadata !== undefined) headers.set("CF-KV-Metadata", entry.metadata);
        return new Response(entry.value, { headers });
      }
      case "PUT": {
        const value = await request.arrayBuffer();
        store.set(key, { value, metadata: request.headers.get("CF-KV-Metadata") ?? undefined });
        return new Response(null);
      }
      case "DELETE":
        store.delete(key);
        return new Response(null);
      default:
        return new Response("method not allowed", { status: 405 });
    }
  },
};
