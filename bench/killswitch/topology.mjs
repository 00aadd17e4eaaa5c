// The kill-switch bench's topology, shared with bench/live.mjs's runs across processes: one hub
// `workerd serve` holding the Durable Objects, edge processes reaching it over loopback.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { COMPATIBILITY_DATE } from "../workerd.mjs";

const HERE = import.meta.dirname;

/** The Worker's [vars] and secrets as text bindings (the refresh interval as deployed: 5 s); `extra` overrides. */
function textBindings({ adminToken, signingSecret, extra }) {
  const vars = {
    CLIENT_RATE_LIMIT_PERIOD_SECONDS: "60",
    SNAPSHOT_REFRESH_SECONDS: "5",
    STREAM_SHARDS: "1",
    STREAM_INACTIVITY_SECONDS: "120",
    ALLOW_HTTP_WEBHOOKS_TO_LOCALHOST: "false",
    ...extra,
    ADMIN_TOKEN: adminToken,
    SIGNING_SECRET: signingSecret,
  };
  return Object.entries(vars).map(([name, text]) => `(name = "${name}", text = ${JSON.stringify(text)})`);
}

/**
 * Writes the capnp configs of one location: `hub.capnp` (the edgeflags Worker with its Durable
 * Objects, a KV service whose `snapshot:` keys lag `kvLagMs`, and the location's Cache API
 * service) and one `edge-<i>.capnp` per port of `ports.edges` (the same bundle, FlagStore calls
 * and broadcaster connections forwarded to the hub) and, with `ports.broadcasters`, one
 * `broadcasters-<k>.capnp` per port holding the broadcaster shards k, k + n, … (the hub's
 * FlagStore announces changes to them, the edges connect to them). Returns their paths.
 */
export function writeTopology({ out: OUT, bundle, ports, kvLagMs: KV_LAG_MS, adminToken, signingSecret, vars = {}, uniquePrefix = "ks" }) {
  const broadcasterPorts = ports.broadcasters ?? [];
  const bindings = textBindings({
    adminToken,
    signingSecret,
    extra: { ...vars, ...(broadcasterPorts.length ? { BENCH_BROADCASTER_PROCESSES: String(broadcasterPorts.length) } : {}) },
  }).join(", ");
  // Processes holding the broadcaster shards, when there are any: reached by the hub and the edges.
  const bcastServices = broadcasterPorts
    .map((port, k) => `, (name = "bcast-${k}", external = (address = "127.0.0.1:${port}", http = ()))`)
    .join("");
  const bcastBindings = broadcasterPorts.map((_, k) => `, (name = "BCAST_${k}", service = "bcast-${k}")`).join("");
  mkdirSync(OUT, { recursive: true });
  const rel = (p) => relative(OUT, p);
  const storage = join(OUT, "do-storage");
  // A fresh FlagStore every run.
  rmSync(storage, { recursive: true, force: true });
  mkdirSync(storage, { recursive: true });
  const modules = (shim) =>
    `[ (name = "shim.js", esModule = embed "${rel(join(HERE, shim))}"), (name = "index.js", esModule = embed "${rel(bundle)}") ]`;
  const hub = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "hub", worker = .hub), (name = "kv", worker = .kv), (name = "cache", worker = .cache),
    (name = "do-storage", disk = (path = ${JSON.stringify(storage)}, writable = true))${bcastServices} ],
  sockets = [ (name = "hub", address = "127.0.0.1:${ports.hub}", http = (), service = "hub"),
    (name = "kv", address = "127.0.0.1:${ports.kv}", http = (), service = "kv"),
    (name = "cache", address = "127.0.0.1:${ports.cache}", http = (), service = "cache") ],
);
const hub :Workerd.Worker = (
  modules = ${modules("hub-shim.js")},
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [ (name = "FLAGS_KV", kvNamespace = "kv"), (name = "FLAG_STORE", durableObjectNamespace = "FlagStore"),
    (name = "BROADCASTER", durableObjectNamespace = "Broadcaster"), (name = "MIGRATION_LEDGER", durableObjectNamespace = "MigrationLedger"),
    ${bindings}${bcastBindings} ],
  durableObjectNamespaces = [ (className = "FlagStore", uniqueKey = "${uniquePrefix}-FlagStore", enableSql = true),
    (className = "Broadcaster", uniqueKey = "${uniquePrefix}-Broadcaster", enableSql = true), (className = "MigrationLedger", uniqueKey = "${uniquePrefix}-MigrationLedger", enableSql = true) ],
  durableObjectStorage = (localDisk = "do-storage"),
  cacheApiOutbound = "cache",
);
const kv :Workerd.Worker = (
  modules = [ (name = "kv.js", esModule = embed "${rel(join(HERE, "kv-lag-service.js"))}") ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [ (name = "LAG_MS", text = "${KV_LAG_MS}"), (name = "LAG_PREFIX", text = "snapshot:") ],
);
const cache :Workerd.Worker = (
  modules = [ (name = "cache.js", esModule = embed "${rel(join(HERE, "cache-service.js"))}") ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
);
`;
  writeFileSync(join(OUT, "hub.capnp"), hub);
  const edges = ports.edges.map((port, i) => {
    const text = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "edge", worker = .edge),
    (name = "kv", external = (address = "127.0.0.1:${ports.kv}", http = ())),
    (name = "cache", external = (address = "127.0.0.1:${ports.cache}", http = ())),
    (name = "hub", external = (address = "127.0.0.1:${ports.hub}", http = ()))${bcastServices} ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "edge") ],
);
const edge :Workerd.Worker = (
  modules = ${modules("edge-shim.js")},
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [ (name = "FLAGS_KV", kvNamespace = "kv"), (name = "HUB", service = "hub"), ${bindings}${bcastBindings} ],
  cacheApiOutbound = "cache",
);
`;
    const path = join(OUT, `edge-${i}.capnp`);
    writeFileSync(path, text);
    return path;
  });
  const broadcasters = broadcasterPorts.map((port, k) => {
    const dir = join(OUT, `do-storage-b${k}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const text = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "b", worker = .b), (name = "do-storage", disk = (path = ${JSON.stringify(dir)}, writable = true)) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "b") ],
);
const b :Workerd.Worker = (
  modules = ${modules("broadcaster-shim.js")},
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [ (name = "BROADCASTER", durableObjectNamespace = "Broadcaster"), ${bindings} ],
  durableObjectNamespaces = [ (className = "Broadcaster", uniqueKey = "${uniquePrefix}-Broadcaster", enableSql = true) ],
  durableObjectStorage = (localDisk = "do-storage"),
);
`;
    const path = join(OUT, `broadcasters-${k}.capnp`);
    writeFileSync(path, text);
    return path;
  });
  return { hub: join(OUT, "hub.capnp"), edges, broadcasters };
}
