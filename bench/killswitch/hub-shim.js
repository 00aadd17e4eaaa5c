// The benchmark's "region": the edgeflags Worker with its Durable Objects, plus a loopback RPC
// route through which the edge processes reach the FlagStore (workerd binds Durable Objects only
// within one process). It counts the FlagStore calls it forwards, by method.
import worker from "./index.js";

export { Broadcaster, FlagStore, MigrationLedger } from "./index.js";

const calls = {};

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__bench/rpc") {
      const { project, method, args } = await request.json();
      calls[method] = (calls[method] ?? 0) + 1;
      const stub = env.FLAG_STORE.get(env.FLAG_STORE.idFromName(project));
      try {
        return Response.json({ result: (await stub[method](...args)) ?? null });
      } catch (error) {
        return Response.json({ error: String(error?.message ?? error) }, { status: 500 });
      }
    }
    if (url.pathname === "/__bench/calls") return Response.json(calls);
    return worker.fetch(request, env, ctx);
  },
};
