// A process holding some of a project's TelemetryShard objects (bench/telemetry-load.mjs): the
// simulated isolates send their telemetry here (`POST /__bench/telemetry/<project>:<n>`, one call
// per shard part, as the edge's RPC travels to the shard's location), and each shard's roll-up
// into the FlagStore travels to the hub process (`/__bench/rpc`, bench/killswitch/hub-shim.js,
// which counts and times it), as it would travel to the store's location. `/__bench/stats` gives
// how long this process took to acknowledge a batch (the shard commits it, then waits for its
// roll-up to be attempted) and each roll-up's round trip to the hub, since the last read. Every shard is the real
// TelemetryShard with its own SQLite; only the transport between processes is loopback HTTP.
import { remoteStore } from "./edge-shim.js";
import { TelemetryShard as ShardOfBundle } from "./index.js";

/** Durations (ms) by what they time, since the last `/__bench/stats`. */
const timings = { ack: [], rollup: [] };
let calls = 0;

/** The hub's FlagStore, each call's round trip from this process timed (`rollup`). */
function timedStore(hub) {
  const store = remoteStore(hub);
  const timed = (stub) => ({
    recordTelemetry: async (...args) => {
      const t0 = Date.now();
      try {
        return await stub.recordTelemetry(...args);
      } finally {
        timings.rollup.push(Date.now() - t0);
      }
    },
  });
  return { idFromName: store.idFromName, get: (id) => timed(store.get(id)) };
}

export class TelemetryShard extends ShardOfBundle {
  constructor(ctx, env) {
    super(ctx, { ...env, FLAG_STORE: timedStore(env.HUB) });
  }
}

function summary(list) {
  const sorted = [...list].sort((a, b) => a - b);
  list.length = 0;
  return { n: sorted.length, p50: sorted[Math.floor(sorted.length / 2)] ?? null, p99: sorted[Math.floor(sorted.length * 0.99)] ?? null };
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/health") return new Response("ok");
    if (url.pathname === "/__bench/stats") return Response.json({ calls, ack: summary(timings.ack), rollup: summary(timings.rollup) });
    if (url.pathname.startsWith("/__bench/telemetry/") && request.method === "POST") {
      const name = decodeURIComponent(url.pathname.slice("/__bench/telemetry/".length));
      const { project, shard, batch } = await request.json();
      calls++;
      const t0 = Date.now();
      try {
        const result = await env.TELEMETRY_SHARD.getByName(name).recordTelemetry(project, shard, batch);
        timings.ack.push(Date.now() - t0);
        return Response.json({ result }, { status: result?.ok === false ? 422 : 200 });
      } catch (error) {
        return Response.json({ error: String(error?.message ?? error) }, { status: 500 });
      }
    }
    return new Response("not found", { status: 404 });
  },
};
