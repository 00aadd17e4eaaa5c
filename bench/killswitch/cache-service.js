// An in-memory Cache API for `workerd serve` (the benchmark's "location cache"), shared by every
// workerd process that names this service as its `cacheApiOutbound`.
//
// workerd turns `cache.put(url, response)` into `PUT <url>` whose body is the response serialized
// as an HTTP/1.1 message, and `cache.match(url)` into `GET <url>`, answered with the stored
// response and `CF-Cache-Status: HIT`, or 504 with `CF-Cache-Status: MISS` (the protocol
// Miniflare's cache simulator implements). Expiry follows the stored `max-age`.
const entries = new Map();

function parseMessage(bytes) {
  const text = new TextDecoder().decode(bytes);
  const split = text.indexOf("\r\n\r\n");
  const [statusLine, ...headerLines] = text.slice(0, split).split("\r\n");
  const status = Number(/^HTTP\/\d(?:\.\d)? (\d+)/.exec(statusLine)?.[1] ?? 200);
  const headers = new Headers();
  for (const line of headerLines) {
    const at = line.indexOf(":");
    if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return { status, headers, body: text.slice(split + 4) };
}

export default {
  async fetch(request) {
    const key = request.url;
    if (request.method === "PUT") {
      const { status, headers, body } = parseMessage(new Uint8Array(await request.arrayBuffer()));
      const maxAge = Number(/max-age=(\d+)/.exec(headers.get("cache-control") ?? "")?.[1] ?? 0);
      if (maxAge <= 0) return new Response(null, { status: 413 });
      entries.set(key, { status, headers: [...headers], body, expires: Date.now() + maxAge * 1000 });
      return new Response(null, { status: 204 });
    }
    if (request.method === "PURGE" || request.method === "DELETE") {
      return new Response(null, { status: entries.delete(key) ? 200 : 404 });
    }
    const entry = entries.get(key);
    if (!entry || entry.expires <= Date.now()) {
      entries.delete(key);
      return new Response(null, { status: 504, headers: { "cf-cache-status": "MISS" } });
    }
    const headers = new Headers(entry.headers);
    headers.set("cf-cache-status", "HIT");
    return new Response(entry.body, { status: entry.status, headers });
  },
};
