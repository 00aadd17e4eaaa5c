// Process harness for the HTTP benchmark: bundle a Worker with `wrangler deploy --dry-run`, write a
// workerd capnp config, run `workerd serve` on a 127.0.0.1 port, and kill every child we started.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";

export const ROOT = join(import.meta.dirname, "..");
export const WORKERD = join(ROOT, "node_modules", "workerd", "bin", "workerd");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
/** The module of the benchmark's rate-limiter binding (`ratelimits` in wrangler.toml). */
const RATE_LIMIT_MODULE = join(import.meta.dirname, "ratelimit-binding.js");
/**
 * The in-memory Cache API service (`caches.default`, a location's cache on Cloudflare). Without a
 * `cacheApiOutbound`, `workerd serve` throws "No Cache was configured" on every cache call, so the
 * kill switch's version beacon fails and every answer is served as degraded (`beacon-unavailable`).
 */
const CACHE_MODULE = join(import.meta.dirname, "killswitch", "cache-service.js");
/** The project's compatibility date (wrangler.toml), used for every Worker the benchmark serves. */
export const COMPATIBILITY_DATE =
  /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(join(ROOT, "wrangler.toml"), "utf8"))?.[1] ?? "2026-11-01";

const children = new Set();

/** Kills every child process this module started; safe to call more than once. */
export function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

/**
 * The bindings a wrangler.toml declares, read with a small parser for the subset this project uses
 * (`[[kv_namespaces]]`, `[[durable_objects.bindings]]`, `[[migrations]]`, `[[ratelimits]]`,
 * `[vars]`, `[secrets] required`), so the workerd config follows the Worker as it grows.
 */
export function readWranglerBindings(configPath) {
  const doc = {};
  let current = doc;
  for (const raw of readFileSync(configPath, "utf8").split("\n")) {
    const line = raw.replace(/\s+#.*$/, "").trim();
    if (!line || line.startsWith("#")) continue;
    let m;
    if ((m = /^\[\[([\w.]+)\]\]$/.exec(line))) {
      (doc[m[1]] ??= []).push((current = {}));
    } else if ((m = /^\[([\w.]+)\]$/.exec(line))) {
      current = doc[m[1]] ??= {};
    } else if ((m = /^([\w-]+)\s*=\s*(.+)$/.exec(line))) {
      try {
        current[m[1]] = JSON.parse(m[2]);
      } catch {
        current[m[1]] = m[2];
      }
    }
  }
  const sqlite = new Set((doc.migrations ?? []).flatMap((mig) => mig.new_sqlite_classes ?? []));
  return {
    kv: (doc.kv_namespaces ?? []).map((k) => k.binding).filter(Boolean),
    durableObjects: (doc["durable_objects.bindings"] ?? [])
      .filter((d) => d.name && d.class_name && !d.script_name)
      .map((d) => ({ name: d.name, className: d.class_name, sql: sqlite.has(d.class_name) })),
    ratelimits: (doc.ratelimits ?? [])
      .filter((r) => r.name)
      .map((r) => {
        const simple = String(r.simple ?? "");
        return {
          name: r.name,
          limit: Number(/limit\s*=\s*(\d+)/.exec(simple)?.[1] ?? 1000),
          period: Number(/period\s*=\s*(\d+)/.exec(simple)?.[1] ?? 60),
        };
      }),
    vars: Object.fromEntries(Object.entries(doc.vars ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
    secrets: doc.secrets?.required ?? [],
  };
}

/** Stops every child: SIGTERM, then SIGKILL for any still running after `graceMs`. */
export async function stopAll(graceMs = 2_000) {
  const running = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  children.clear();
  await Promise.all(
    running.map(
      (child) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => {
            try {
              child.kill("SIGKILL");
            } catch {
              // already gone
            }
            resolve();
          }, graceMs);
          child.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          try {
            child.kill("SIGTERM");
          } catch {
            clearTimeout(timer);
            resolve();
          }
        }),
    ),
  );
}

/** Bundles a Worker as `wrangler deploy` would upload it; returns the main module and its sizes. */
export function bundleWorker({ config, outdir, output = "index.js", extraArgs = [] }) {
  mkdirSync(outdir, { recursive: true });
  const run = spawnSync(process.execPath, [WRANGLER, "deploy", "--dry-run", "--outdir", outdir, "-c", config, ...extraArgs], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  // eslint-disable-next-line no-control-regex
  const log = `${run.stdout ?? ""}${run.stderr ?? ""}`.replace(/\u001b\[[0-9;]*m/g, "");
  const file = join(outdir, output);
  if (run.status !== 0 || !existsSync(file)) {
    const reason = log
      .split("\n")
      .map((l) => l.replace(/^[\s✘]*\[ERROR\]\s*/, "").trim())
      .filter((l) => /error|could not|failed/i.test(l))
      .slice(0, 3)
      .join("; ")
      .replace(/:;/g, ":");
    return { ok: false, reason: reason || `wrangler exited ${run.status}`, log };
  }
  const bytes = readFileSync(file);
  const upload = /Total Upload: ([\d.]+ KiB) \/ gzip: ([\d.]+ KiB)/.exec(log);
  return {
    ok: true,
    file,
    bytes: bytes.length,
    gzipBytes: gzipSync(bytes, { level: 9 }).length,
    wranglerUpload: upload ? { total: upload[1], gzip: upload[2] } : null,
    log,
  };
}

/**
 * Writes a capnp config for one Worker (plus an optional in-memory KV service with its own socket
 * so the benchmark can read what was published, and with `cache` an in-memory Cache API as the
 * Worker's `caches.default`) and returns its path.
 */
export function writeConfig({
  dir,
  name,
  modulePath,
  port,
  bindings = [],
  durableObjects = [],
  kvServices = [],
  doStorageDir = null,
  cache = false,
}) {
  const rel = (p) => relative(dir, p);
  const services = [`(name = "main", worker = .w)`];
  const sockets = [`(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")`];
  let extra = "";
  // Each KV namespace is its own in-memory KV service (a separate isolate, so separate data); one
  // may also get a loopback socket so the benchmark can read what was written.
  kvServices.forEach((kv, i) => {
    services.push(`(name = "${kv.service}", worker = .kv${i})`);
    if (kv.port) sockets.push(`(name = "${kv.service}-read", address = "127.0.0.1:${kv.port}", http = (), service = "${kv.service}")`);
    extra += `
const kv${i} :Workerd.Worker = (
  modules = [ (name = "kv.js", esModule = embed "${rel(kv.modulePath)}") ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
);`;
  });
  const bindingText = bindings
    .map((b) => {
      if (b.text !== undefined) return `(name = "${b.name}", text = ${JSON.stringify(b.text)})`;
      if (b.kv) return `(name = "${b.name}", kvNamespace = "${b.kv}")`;
      if (b.durableObject) return `(name = "${b.name}", durableObjectNamespace = "${b.durableObject}")`;
      if (b.ratelimit)
        return `(name = "${b.name}", wrapped = (moduleName = "edgeflags-bench:ratelimit", innerBindings = [ (name = "limit", json = "${b.ratelimit.limit}"), (name = "period", json = "${b.ratelimit.period}") ]))`;
      throw new Error(`unknown binding ${JSON.stringify(b)}`);
    })
    .join(",\n    ");
  const doText = durableObjects.length
    ? `
  durableObjectNamespaces = [ ${durableObjects.map((d) => `(className = "${d.className}", uniqueKey = "edgeflags-bench-${d.className}", enableSql = ${d.sql ? "true" : "false"})`).join(", ")} ],
  durableObjectStorage = ${doStorageDir ? `(localDisk = "do-storage")` : "(inMemory = void)"},`
    : "";
  if (doStorageDir) {
    // SQLite-backed Durable Objects need disk storage: a disk service over a scratch directory.
    rmSync(doStorageDir, { recursive: true, force: true });
    mkdirSync(doStorageDir, { recursive: true });
    services.push(`(name = "do-storage", disk = (path = ${JSON.stringify(doStorageDir)}, writable = true))`);
  }
  if (cache) {
    services.push(`(name = "cache", worker = .cache)`);
    extra += `
const cache :Workerd.Worker = (
  modules = [ (name = "cache.js", esModule = embed "${rel(CACHE_MODULE)}") ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
);`;
  }
  // A rate-limiter binding is a wrapped binding over a module of the config's extensions.
  const extensions = bindings.some((b) => b.ratelimit)
    ? `
  extensions = [ (modules = [ (name = "edgeflags-bench:ratelimit", esModule = embed "${rel(RATE_LIMIT_MODULE)}", internal = true) ]) ],`
    : "";
  const text = `# Generated by bench/workerd.mjs for ${name}.
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ ${services.join(", ")} ],
  sockets = [ ${sockets.join(", ")} ],${extensions}
);
const w :Workerd.Worker = (
  modules = [ (name = "index.js", esModule = embed "${rel(modulePath)}") ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [
    ${bindingText}
  ],${doText}${cache ? `\n  cacheApiOutbound = "cache",` : ""}
);${extra}
`;
  const path = join(dir, `${name}.capnp`);
  writeFileSync(path, text);
  return path;
}

/** Starts `workerd serve` and waits (bounded) until `readyPath` answers; throws with its log if not. */
export async function startWorkerd({ name, config, port, readyPath = "/health", timeoutMs = 30_000, extraArgs = [] }) {
  const child = spawn(WORKERD, ["serve", "--experimental", ...extraArgs, config], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let log = "";
  const keep = (chunk) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      const response = await fetch(url + readyPath, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status < 500) {
        return {
          name,
          url,
          child,
          log: () => log,
          stop() {
            if (child.exitCode === null) child.kill("SIGTERM");
          },
        };
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (child.exitCode === null) child.kill("SIGTERM");
  children.delete(child);
  const lines = log.trim().split("\n").filter(Boolean);
  throw new Error(
    `workerd (${name}) did not answer ${readyPath} within ${timeoutMs} ms${lines.length ? `: ${lines.slice(-3).join(" | ")}` : ""}`,
  );
}
