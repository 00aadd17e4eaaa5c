// The benchmark's "region": the edgeflags Worker with its Durable Objects, plus a loopback RPC
// route through which the edge processes reach the FlagStore (workerd binds Durable Objects only
// within one process). It counts the FlagStore calls it forwards, by method, with their durations.
import worker from "./index.js";

export { Broadcaster, FlagStore, MigrationLedger } from "./index.js";

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
