// The telemetry bench's processes beside the hub of topology.mjs: `shards-<k>.capnp` per port of
// `ports`, each a `workerd serve` holding the TelemetryShard objects its simulated isolates name
// (shard n of a project lives in process n mod the number of processes), whose roll-ups reach the
// hub's FlagStore over loopback (shard-shim.js).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { COMPATIBILITY_DATE } from "../workerd.mjs";

const HERE = import.meta.dirname;

/** Writes one capnp config per shard process; returns their paths. */
export function writeShardProcesses({ out, bundle, hubPort, ports, uniquePrefix = "tl" }) {
  mkdirSync(out, { recursive: true });
  const rel = (p) => relative(out, p);
  return ports.map((port, k) => {
    const dir = join(out, `do-storage-s${k}`);
    // Fresh shards every run.
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const text = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "s", worker = .s), (name = "do-storage", disk = (path = ${JSON.stringify(dir)}, writable = true)),
    (name = "hub", external = (address = "127.0.0.1:${hubPort}", http = ())) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "s") ],
);
const s :Workerd.Worker = (
  modules = [ (name = "shim.js", esModule = embed "${rel(join(HERE, "shard-shim.js"))}"),
    (name = "edge-shim.js", esModule = embed "${rel(join(HERE, "edge-shim.js"))}"),
    (name = "index.js", esModule = embed "${rel(bundle)}") ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [ (name = "TELEMETRY_SHARD", durableObjectNamespace = "TelemetryShard"), (name = "HUB", service = "hub") ],
  durableObjectNamespaces = [ (className = "TelemetryShard", uniqueKey = "${uniquePrefix}-TelemetryShard", enableSql = true) ],
  durableObjectStorage = (localDisk = "do-storage"),
);
`;
    const path = join(out, `shards-${k}.capnp`);
    writeFileSync(path, text);
    return path;
  });
}
