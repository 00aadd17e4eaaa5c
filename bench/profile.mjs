#!/usr/bin/env node
// CPU profile of a Worker under load in workerd, for the closing note when an HTTP target is missed.
//
//   node bench/profile.mjs [ours|baseline] [bulk|single] [seconds] [plain]
//
// `plain` profiles our Worker bundled without minifying (bench/.out/worker-dist-plain, built here):
// the same code, one statement per line, so the self time per source line it prints is readable.
// Needs the bundles from a previous `npm run bench` (bench/.out/worker-dist, bench/.out/baseline-dist).
// Starts the Worker with `workerd serve --inspector-addr`, provisions it like the benchmark, warms
// it, then records a V8 CPU profile over the Chrome DevTools protocol while autocannon loads it with
// a context that changes every request. Writes bench/.out/<worker>-<route>.cpuprofile (open it in
// Chrome DevTools) and prints the functions with the most self time.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { join } from "node:path";
import { ADMIN_TOKEN, allocatePorts, load, oursConfig, PORTS, PROJECT } from "./http.mjs";
import { OUT } from "./engines.mjs";
import { bundleWorker, killAll, ROOT, startWorkerd, stopAll, writeConfig } from "./workerd.mjs";

const [which = "ours", route = "bulk", secondsArg = "5", plainArg = ""] = process.argv.slice(2);
const plain = plainArg === "plain" && which === "ours";
const seconds = Math.min(Number(secondsArg) || 5, 30);
const workloadDir = join(OUT, "workload");

for (const signal of ["SIGINT", "SIGTERM"])
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
process.on("exit", killAll);

async function cdp(wsUrl) {
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`cannot open ${wsUrl}`));
  });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.id && pending.has(message.id)) {
      pending.get(message.id)(message);
      pending.delete(message.id);
    }
  };
  return {
    send(method, params = {}) {
      const messageId = ++id;
      ws.send(JSON.stringify({ id: messageId, method, params }));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${method} timed out`)), 30_000);
        pending.set(messageId, (m) => {
          clearTimeout(timer);
          m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result);
        });
      });
    },
    close: () => ws.close(),
  };
}

/**
 * Self time per function and per original source file, mapped through the bundle's source map
 * (the deployed bundle is minified). Shares are of all sampled time, idle included.
 */
export function topSelf(profile, sourceMap, limit = 20, bundleLines = null) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const fns = new Map();
  const files = new Map();
  const deltas = profile.timeDeltas ?? [];
  let total = 0;
  const add = (map, key, dt) => map.set(key, (map.get(key) ?? 0) + dt);
  profile.samples.forEach((nodeId, i) => {
    const dt = deltas[i] ?? 0;
    total += dt;
    const f = byId.get(nodeId).callFrame;
    let name = f.functionName || "(anonymous)";
    let file = (f.url || "").split("/").pop();
    let line = f.lineNumber + 1;
    if (sourceMap && file === "index.js") {
      const entry = sourceMap.findEntry(f.lineNumber, f.columnNumber);
      if (entry?.originalSource) {
        file = entry.originalSource.replace(/^.*?node_modules\//, "").replace(/^(\.\.\/)+/, "");
        line = entry.originalLine + 1;
        if (entry.name && name.length <= 2) name = entry.name;
      }
    }
    add(fns, file ? `${name} @ ${file}:${line}` : name, dt);
    const group = !file
      ? name
      : file.startsWith("hono/")
        ? "hono"
        : file.startsWith("zod/")
          ? "zod"
          : file.startsWith("node-internal")
            ? "node-internal (workerd's node:* polyfills)"
            : file;
    add(files, group, dt);
  });
  // Ticks per source line (V8's positionTicks): readable in an unminified bundle, where a line of
  // the bundle is a statement of the source; a share is of all ticks, idle included.
  const lines = new Map();
  const ticks = profile.samples.length || 1;
  if (sourceMap)
    for (const node of profile.nodes) {
      if (!node.positionTicks || !(node.callFrame.url || "").endsWith("index.js")) continue;
      for (const { line: at, ticks: n } of node.positionTicks) {
        const text = bundleLines?.[at - 1] ?? "";
        const entry = sourceMap.findEntry(at - 1, text.length - text.trimStart().length);
        if (!entry?.originalSource) continue;
        const source = entry.originalSource.replace(/^.*?node_modules\//, "").replace(/^(\.\.\/)+/, "");
        add(lines, `${source}:${entry.originalLine + 1}`, n);
      }
    }
  const top = (map, of = total, unit = 1000) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, share: us / of, ms: us / unit }));
  return { functions: top(fns), files: top(files), lines: top(lines, ticks, 1).map(({ name, share }) => ({ name, share })) };
}

async function main() {
  await allocatePorts();
  const INSPECTOR_PORT = PORTS.inspector;
  const ours = which === "ours";
  const port = ours ? PORTS.ours : PORTS.baseline;
  const modulePath = join(OUT, plain ? "worker-dist-plain" : ours ? "worker-dist" : "baseline-dist", "index.js");
  if (plain) {
    const bundle = bundleWorker({
      config: join(ROOT, "wrangler.toml"),
      outdir: join(OUT, "worker-dist-plain"),
      extraArgs: ["--no-minify"],
    });
    if (!bundle.ok) throw new Error(`our Worker did not bundle unminified: ${bundle.reason}`);
  }
  const config = ours
    ? oursConfig({ out: OUT, name: "profile-ours", modulePath, port, kvPort: PORTS.kv, doStorageDir: join(OUT, "do-storage-profile") })
    : writeConfig({ dir: OUT, name: "profile-baseline", modulePath, port });
  const server = await startWorkerd({ name: which, config, port, extraArgs: [`--inspector-addr=127.0.0.1:${INSPECTOR_PORT}`] });
  const headers = {};
  if (ours) {
    const call = async (method, path, body) => {
      const r = await fetch(server.url + path, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${await r.text()}`);
      return r.json();
    };
    await call("PUT", `/admin/v1/projects/${PROJECT}`, { environments: ["production"] });
    await call(
      "PUT",
      `/admin/v1/projects/${PROJECT}/environments/production/flagd`,
      // The segment encoding: under the inspector, workerd dies (SIGTRAP) reading the 2.27 MB inline
      // text; the Durable Object publishes the same snapshot from either (identical lists stored once).
      readFileSync(join(workloadDir, "flags-segment.json"), "utf8"),
    );
    headers.authorization = `Bearer ${(await call("POST", `/admin/v1/projects/${PROJECT}/environments/production/keys`, { scope: "client" })).key}`;
  }
  const contexts = JSON.parse(readFileSync(join(workloadDir, "contexts.json"), "utf8"));
  const bodies = contexts.map((context) => JSON.stringify({ context }));
  const path = route === "single" ? "/ofrep/v1/evaluate/flags/list-000" : "/ofrep/v1/evaluate/flags";
  await load({ url: server.url + path, method: "POST", headers, bodies, seconds: 2, maxRequests: 50_000 });

  const targets = await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json`)).json();
  const target = targets.find((t) => t.id === "main" || t.webSocketDebuggerUrl?.endsWith("/main")) ?? targets[0];
  if (!target) throw new Error("workerd's inspector lists no targets");
  const session = await cdp(target.webSocketDebuggerUrl);
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: 100 });
  await session.send("Profiler.start");
  const result = await load({ url: server.url + path, method: "POST", headers, bodies, seconds, maxRequests: 200_000 });
  const { profile } = await session.send("Profiler.stop");
  session.close();
  const file = join(OUT, `${which}-${route}.cpuprofile`);
  rmSync(join(OUT, `${which}-${route}.top.json`), { force: true });
  writeFileSync(file, JSON.stringify(profile));
  const mapFile = `${modulePath}.map`;
  const sourceMap = existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, "utf8"))) : null;
  const top = topSelf(profile, sourceMap, plain ? 40 : 20, readFileSync(modulePath, "utf8").split("\n"));
  console.log(
    `${which} ${route}: ${Math.round(result.rps)} req/s under the profiler (p50 ${result.p50} ms, p99 ${result.p99} ms); profile: ${file}`,
  );
  console.log("self time by source file (idle = waiting for requests):");
  for (const t of top.files) console.log(`  ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.name}`);
  console.log("self time, top functions:");
  for (const t of top.functions) console.log(`  ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.name}`);
  if (plain) {
    console.log("self time, top source lines (unminified bundle):");
    for (const t of top.lines) console.log(`  ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.name}`);
  }
  writeFileSync(join(OUT, `${which}-${route}.top.json`), JSON.stringify({ rps: result.rps, top }, null, 2));
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await stopAll();
}
