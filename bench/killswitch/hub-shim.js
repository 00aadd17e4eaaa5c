// The benchmark's "region": the edgeflags Worker with its Durable Objects, plus a loopback RPC
// route through which the edge processes reach the FlagStore (workerd binds Durable Objects only
// within one process). It counts the FlagStore calls it forwards, by method, with their durations.
// With BENCH_BROADCASTER_PROCESSES set, the broadcaster shards live in other processes
// (broadcaster-shim.js) and the FlagStore's announcements travel there.
import worker, { FlagStore as StoreOfBundle } from "./index.js";

export { Broadcaster, MigrationLedger } from "./index.js";

/** The process holding broadcaster `name` (`<project>/<environment>/<shard>`), or null when the hub holds them all. */
export function broadcasterProcess(env, name) {
  const processes = Number(env.BENCH_BROADCASTER_PROCESSES ?? 0);
  return processes > 0 ? env[`BCAST_${Number(name.split("/").pop()) % processes}`] : null;
}

/** `env` with its BROADCASTER reaching the shards in their processes, when they are elsewhere. */
function withRemoteBroadcasters(env) {
  if (!Number(env.BENCH_BROADCASTER_PROCESSES ?? 0)) return env;
  const stubFor = (name) => ({
    notify: async (event) => {
      const response = await broadcasterProcess(env, name).fetch(`http://b/__bench/notify/${encodeURIComponent(name)}`, {
        method: "POST",
        body: JSON.stringify(event),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error ?? `broadcaster notify: ${response.status}`);
      return body.result;
    },
  });
  return { ...env, BROADCASTER: { getByName: stubFor } };
}

export class FlagStore extends StoreOfBundle {
  constructor(ctx, env) {
    super(ctx, withRemoteBroadcasters(env));
  }
}

const calls = {};
const durations = {};

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__bench/rpc") {
      const { project, method, args } = await request.json();
      calls[method] = (calls[method] ?? 0) + 1;
      const stub = env.FLAG_STORE.get(env.FLAG_STORE.idFromName(project));
      const t0 = Date.now();
      try {
        return Response.json({ result: (await stub[method](...args)) ?? null });
      } catch (error) {
        return Response.json({ error: String(error?.message ?? error) }, { status: 500 });
      } finally {
        (durations[method] ??= []).push(Date.now() - t0);
      }
    }
    if (url.pathname.startsWith("/__bench/broadcaster/")) {
      // An edge process's stream connecting to a broadcaster shard: /__bench/broadcaster/<name>/connect?key=…
      const [name, ...rest] = url.pathname.slice("/__bench/broadcaster/".length).split("/");
      const elsewhere = broadcasterProcess(env, decodeURIComponent(name));
      if (elsewhere) return elsewhere.fetch(request);
      const stub = env.BROADCASTER.getByName(decodeURIComponent(name));
      return stub.fetch(`https://broadcaster/${rest.join("/")}${url.search}`, { headers: request.headers });
    }
    if (url.pathname === "/__bench/listeners") {
      const names = url.searchParams.getAll("name");
      const counts = await Promise.all(names.map((name) => env.BROADCASTER.getByName(name).listeners()));
      return Response.json(Object.fromEntries(names.map((name, i) => [name, counts[i]])));
    }
    if (url.pathname === "/__bench/calls") return Response.json(calls);
    if (url.pathname === "/__bench/durations") {
      const out = {};
      for (const [method, list] of Object.entries(durations)) {
        const sorted = [...list].sort((a, b) => a - b);
        out[method] = { n: sorted.length, p50: sorted[Math.floor(sorted.length / 2)], p99: sorted[Math.floor(sorted.length * 0.99)] };
        list.length = 0;
      }
      return Response.json(out);
    }
    return worker.fetch(request, env, ctx);
  },
};
