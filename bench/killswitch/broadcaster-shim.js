// A process holding some of the broadcaster shards (bench/live.mjs's largest runs): the hub's
// FlagStore announces a change here (`/__bench/notify/<name>`, one call per shard, as its RPC
// would travel to the shard's location) and the edge processes open their streams' WebSockets
// here (`/__bench/broadcaster/<name>/connect?key=…`). Every stream is a real hibernatable
// WebSocket on a Broadcaster object; only the transport between processes is loopback HTTP.
export { Broadcaster } from "./index.js";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/health") return new Response("ok");
    if (url.pathname.startsWith("/__bench/notify/")) {
      const name = decodeURIComponent(url.pathname.slice("/__bench/notify/".length));
      try {
        return Response.json({ result: await env.BROADCASTER.getByName(name).notify(await request.json()) });
      } catch (error) {
        return Response.json({ error: String(error?.message ?? error) }, { status: 500 });
      }
    }
    if (url.pathname.startsWith("/__bench/broadcaster/")) {
      const [name, ...rest] = url.pathname.slice("/__bench/broadcaster/".length).split("/");
      return env.BROADCASTER.getByName(decodeURIComponent(name)).fetch(`https://broadcaster/${rest.join("/")}${url.search}`, {
        headers: request.headers,
      });
    }
    return new Response("not found", { status: 404 });
  },
};
