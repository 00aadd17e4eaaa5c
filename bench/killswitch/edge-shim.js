// The benchmark's edge: the edgeflags Worker whose FLAG_STORE calls travel to the hub process's
// FlagStore over loopback HTTP (bench/killswitch/hub-shim.js), as a Worker's RPC travels to the
// object's location. KV and the Cache API are the hub's services, shared by every edge process.
// The broadcaster's WebSocket upgrades travel the same way (bench/live.mjs across processes).
import worker from "./index.js";

/** A FLAG_STORE binding whose calls travel to the hub's FlagStore (`/__bench/rpc`); the telemetry shards' processes use it too. */
export function remoteStore(hub) {
  const stubFor = (project) =>
    new Proxy(
      {},
      {
        get: (_target, method) =>
          method === "then"
            ? undefined
            : async (...args) => {
                const response = await hub.fetch("http://hub/__bench/rpc", {
                  method: "POST",
                  body: JSON.stringify({ project, method, args }),
                });
                const body = await response.json();
                if (!response.ok) throw new Error(body.error ?? `FlagStore ${String(method)}: ${response.status}`);
                return body.result;
              },
      },
    );
  return { idFromName: (name) => ({ name }), get: (id) => stubFor(id.name), getByName: (name) => stubFor(name) };
}

/** The hub's broadcaster shards: an edge's `fetch` (the stream's WebSocket upgrade) forwarded to the hub. */
function remoteBroadcaster(hub, env) {
  const processes = Number(env.BENCH_BROADCASTER_PROCESSES ?? 0);
  const stubFor = (name) => ({
    fetch: (input, init) => {
      const url = new URL(typeof input === "string" ? input : input.url);
      // Straight to the process holding the shard, when the shards are not the hub's.
      const holder = processes > 0 ? env[`BCAST_${Number(name.split("/").pop()) % processes}`] : hub;
      return holder.fetch(`http://hub/__bench/broadcaster/${encodeURIComponent(name)}${url.pathname}${url.search}`, init);
    },
  });
  return { getByName: stubFor };
}

const wrapped = new WeakMap();

export default {
  fetch(request, env, ctx) {
    let edgeEnv = wrapped.get(env);
    if (!edgeEnv) {
      edgeEnv = { ...env, FLAG_STORE: remoteStore(env.HUB), BROADCASTER: remoteBroadcaster(env.HUB, env) };
      wrapped.set(env, edgeEnv);
    }
    return worker.fetch(request, edgeEnv, ctx);
  },
};
