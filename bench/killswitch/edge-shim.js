// The benchmark's edge: the edgeflags Worker whose FLAG_STORE calls travel to the hub process's
// FlagStore over loopback HTTP (bench/killswitch/hub-shim.js), as a Worker's RPC travels to the
// object's location. KV and the Cache API are the hub's services, shared by every edge process.
import worker from "./index.js";

function remoteStore(hub) {
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

const wrapped = new WeakMap();

export default {
  fetch(request, env, ctx) {
    let edgeEnv = wrapped.get(env);
    if (!edgeEnv) {
      edgeEnv = { ...env, FLAG_STORE: remoteStore(env.HUB) };
      wrapped.set(env, edgeEnv);
    }
    return worker.fetch(request, edgeEnv, ctx);
  },
};
