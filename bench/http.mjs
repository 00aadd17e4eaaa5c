// HTTP on loopback: our Worker and the baseline Worker under `workerd serve`, loaded alternately by
// autocannon with a trivial Worker's ceiling measured in the same run; then local propagation.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import autocannon from "autocannon";
import { readWranglerBindings, ROOT, startWorkerd, writeConfig } from "./workerd.mjs";

/** Loopback ports of the Workers; `allocatePorts()` replaces them with ports free right now. */
export const PORTS = { ceiling: 8791, baseline: 8792, ours: 8793, kv: 8794, inspector: 9239, reference: 8795, referenceKv: 8796 };

/**
 * Picks free 127.0.0.1 ports, so a port another process already serves is never mistaken for one
 * of ours by the readiness probe.
 */
export async function allocatePorts() {
  const held = [];
  for (const name of Object.keys(PORTS)) {
    const server = createServer();
    await new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    PORTS[name] = server.address().port;
    held.push(server);
  }
  await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  return PORTS;
}
/** The benchmark's bootstrap token; at least 32 characters, as the Worker requires. */
export const ADMIN_TOKEN = "bench-admin-token-not-a-secret-0001";
export const PROJECT = "bench";
export const SEGMENT_PROJECT = "benchseg";

// The ceilings: a Worker that does no work. `/` answers "ok"; `/big` answers a fixed JSON body the
// size of a bulk OFREP answer for this workload (~30 kB), so the harness's cost of moving that many
// bytes is visible too; `/body-big` reads and parses the request body first, then answers the same
// 30 kB: the floor of any answer that depends on the body; `/body-small` reads and parses the body,
// then answers a single-flag-sized JSON with the headers a single-flag answer carries: the floor
// of a single-flag evaluation, whose context comes in the body.
const TRIVIAL_WORKER = `const big = JSON.stringify({ flags: Array.from({ length: 200 }, (_, i) => ({ key: "flag-" + i, value: "treatment-b", reason: "TARGETING_MATCH", variant: "B", metadata: { owner: "bench", configVersion: 2 } })), metadata: { project: "bench" } });
const small = JSON.stringify({ key: "list-000", value: false, reason: "DEFAULT", variant: "off", metadata: { configVersion: 2 } });
const smallHeaders = { "content-type": "application/json", "x-edgeflags-config-version": "2", "access-control-allow-origin": "*", "access-control-expose-headers": "ETag,Retry-After,X-Edgeflags-Config-Version,X-Edgeflags-Stale" };
export default { async fetch(request) {
  const path = new URL(request.url).pathname;
  if (path === "/big") return new Response(big, { headers: { "content-type": "application/json" } });
  if (path === "/body-big") {
    const body = JSON.parse(await request.text());
    return new Response(body && big, { headers: { "content-type": "application/json" } });
  }
  if (path === "/body-small") {
    const body = JSON.parse(await request.text());
    return new Response(body && small, { headers: smallHeaders });
  }
  return new Response("ok");
} };
`;

/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** CPU time (user + system, all threads) a process has used so far, in µs; NaN when unreadable. */
export function cpuMicros(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces: state is field 3,
    // utime field 14, stime field 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/**
 * Client addresses sent as `CF-Connecting-IP`, one per request in turn: a population of browsers,
 * so the rate limiter is called on every request (as on Cloudflare) without any one address
 * reaching its limit (300 a minute) in a round.
 */
const ADDRESSES = Array.from({ length: 20_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

/**
 * One bounded autocannon run (duration and request count) against 127.0.0.1. With `pid`, also the
 * CPU that process spent per completed request (µs), read from /proc before and after the run.
 * With `addresses`, every request carries the next `CF-Connecting-IP`.
 */
export async function load({
  url,
  method = "GET",
  headers = {},
  bodies = null,
  seconds,
  connections = 10,
  maxRequests = 200_000,
  pid = null,
  addresses = false,
}) {
  let i = 0;
  let a = 0;
  const varies = (bodies && bodies.length > 1) || addresses;
  const requests = [
    varies
      ? {
          method,
          setupRequest: (req) => ({
            ...req,
            ...(bodies ? { body: bodies[i++ % bodies.length] } : {}),
            ...(addresses ? { headers: { ...req.headers, "cf-connecting-ip": ADDRESSES[a++ % ADDRESSES.length] } } : {}),
          }),
        }
      : { method, ...(bodies ? { body: bodies[0] } : {}) },
  ];
  const cpuBefore = pid ? cpuMicros(pid) : NaN;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    maxOverallRequests: maxRequests,
    headers: { "content-type": "application/json", ...headers },
    requests,
    timeout: 10,
  });
  const cpu = pid ? cpuMicros(pid) - cpuBefore : NaN;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    cpuUs: result.requests.total > 0 ? cpu / result.requests.total : NaN,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function call(base, method, path, { token, body } = {}) {
  const response = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, json, text };
}

/** Creates a project with the flag set and a client key through the admin API; returns the key. */
async function provision(base, project, flagSetText, versions = {}) {
  const steps = [
    ["PUT", `/admin/v1/projects/${project}`, { environments: ["production"] }],
    ["PUT", `/admin/v1/projects/${project}/environments/production/flagd`, flagSetText],
    ["POST", `/admin/v1/projects/${project}/environments/production/keys`, { scope: "client", name: "bench" }],
  ];
  let last;
  for (const [method, path, body] of steps) {
    last = await call(base, method, path, { token: ADMIN_TOKEN, body });
    if (last.status >= 300) throw new Error(`${method} ${path} → ${last.status} ${last.text.slice(0, 200)}`);
    if (path.endsWith("/flagd")) versions.flagSet = last.json?.version;
  }
  if (!last.json?.key) throw new Error(`key creation answered no key: ${last.text.slice(0, 200)}`);
  return last.json.key;
}

/**
 * The workerd config of our Worker with the bindings wrangler.toml declares: every KV namespace
 * an in-memory KV service (the snapshot namespace, FLAGS_KV, readable on `kvPort`), every Durable
 * Object namespace local (SQLite-backed ones on disk under `doStorageDir`), `[vars]` and required
 * secrets as text bindings (ADMIN_TOKEN is the benchmark's bootstrap token), every rate limiter
 * the in-memory binding of bench/ratelimit-binding.js with the declared limit and period, and an
 * in-memory Cache API (the location's cache, where the kill switch's version beacon lives: without
 * one every answer is served as degraded, `beacon-unavailable`).
 */
export function oursConfig({
  out,
  modulePath,
  port,
  kvPort,
  doStorageDir,
  name = "ours",
  vars = {},
  wranglerPath = join(ROOT, "wrangler.toml"),
}) {
  const declared = readWranglerBindings(wranglerPath);
  const kvModule = join(import.meta.dirname, "kv-service.js");
  const kvServices = declared.kv.map((binding) => ({
    service: `kv-${binding.toLowerCase().replace(/_/g, "-")}`,
    modulePath: kvModule,
    port: binding === "FLAGS_KV" ? kvPort : undefined,
  }));
  const bindings = [
    ...declared.kv.map((binding, i) => ({ name: binding, kv: kvServices[i].service })),
    ...declared.durableObjects.map((d) => ({ name: d.name, durableObject: d.className })),
    ...(declared.ratelimits ?? []).map((r) => ({ name: r.name, ratelimit: { limit: r.limit, period: r.period } })),
    ...Object.entries({ ...declared.vars, ...vars }).map(([k, v]) => ({ name: k, text: v })),
    // Every secret at least 32 characters (the Worker refuses shorter admin tokens and signing
    // secrets); SIGNING_SECRET bound even where wrangler.toml does not require it yet.
    ...[...new Set([...declared.secrets, "SIGNING_SECRET"])].map((k) => ({
      name: k,
      text: k === "ADMIN_TOKEN" ? ADMIN_TOKEN : `bench-${k.toLowerCase()}-not-a-secret-0001`,
    })),
  ];
  return writeConfig({
    dir: out,
    name,
    modulePath,
    port,
    bindings,
    durableObjects: declared.durableObjects,
    kvServices,
    doStorageDir,
    cache: true,
  });
}

/**
 * Starts the three Workers. Our Worker gets its real bindings: an in-memory KV service, the
 * FlagStore Durable Object namespace (SQLite, in memory), ADMIN_TOKEN as a text binding. Returns
 * what started and, for our Worker, a reason when it could not.
 */
export async function startAll({ out, baselineBundle, oursBundle, referenceBundle = null, workloadDir }) {
  await allocatePorts();
  const servers = {};
  const ceilingPath = join(out, "trivial-worker.js");
  writeFileSync(ceilingPath, TRIVIAL_WORKER);
  servers.ceiling = await startWorkerd({
    name: "ceiling",
    config: writeConfig({ dir: out, name: "ceiling", modulePath: ceilingPath, port: PORTS.ceiling }),
    port: PORTS.ceiling,
  });
  servers.baseline = await startWorkerd({
    name: "baseline",
    config: writeConfig({ dir: out, name: "baseline", modulePath: baselineBundle, port: PORTS.baseline }),
    port: PORTS.baseline,
  });
  let oursSkipped = null;
  if (!oursBundle.ok) oursSkipped = `our Worker did not bundle: ${oursBundle.reason}`;
  else {
    try {
      Object.assign(
        servers,
        await startEdgeflags({ out, name: "ours", bundle: oursBundle, port: PORTS.ours, kvPort: PORTS.kv, workloadDir }),
      );
    } catch (error) {
      oursSkipped = String(error.message ?? error);
    }
  }
  let referenceSkipped = null;
  if (referenceBundle && !referenceBundle.ok) referenceSkipped = `the reference Worker did not bundle: ${referenceBundle.reason}`;
  else if (referenceBundle) {
    try {
      const started = await startEdgeflags({
        out,
        name: "reference",
        bundle: referenceBundle,
        port: PORTS.reference,
        kvPort: PORTS.referenceKv,
        workloadDir,
      });
      servers.reference = started.ours;
      servers.referenceKey = started.oursKey;
    } catch (error) {
      referenceSkipped = String(error.message ?? error);
    }
  }
  return { servers, oursSkipped, referenceSkipped };
}

/**
 * Starts one edgeflags Worker bundle with its real bindings, provisions the workload's flag set and
 * a client key through the admin API, and waits (bounded) until the key evaluates.
 */
async function startEdgeflags({ out, name, bundle, port, kvPort, workloadDir }) {
  let server;
  try {
    server = await startWorkerd({
      name,
      config: oursConfig({
        out,
        name,
        modulePath: bundle.file,
        port,
        kvPort,
        doStorageDir: join(out, `do-storage-${name}`),
        wranglerPath: bundle.wranglerPath ?? join(ROOT, "wrangler.toml"),
      }),
      port,
    });
    const inline = readFileSync(join(workloadDir, "flags-inline.json"), "utf8");
    const key = await provision(server.url, PROJECT, inline);
    // A new key reaches the edge through the KV key index, published asynchronously (outbox):
    // wait for it, bounded, before loading.
    let probe;
    for (const deadline = Date.now() + 15_000; ; ) {
      probe = await call(server.url, "POST", "/ofrep/v1/evaluate/flags", { token: key, body: { context: { targetingKey: "probe" } } });
      if (probe.status === 200 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (probe.status !== 200 || !Array.isArray(probe.json?.flags)) {
      throw new Error(`OFREP bulk probe answered ${probe.status}: ${probe.text.slice(0, 200)}`);
    }
    return { ours: server, oursKey: key, oursFlagsServed: probe.json.flags.length };
  } catch (error) {
    let why = `${name === "ours" ? "our" : `the ${name}`} Worker could not serve: ${String(error.message ?? error).slice(0, 300)}`;
    const log = server?.log?.().trim().split("\n").slice(-3).join(" | ");
    if (log) why += ` (workerd: ${log.slice(0, 300)})`;
    server?.stop();
    throw new Error(why);
  }
}

/** Saves the snapshots the Durable Object published to KV (both encodings) for the cold-path measurement. */
export async function savePublishedSnapshots({ servers, out, workloadDir }) {
  const saved = {};
  try {
    const segment = readFileSync(join(workloadDir, "flags-segment.json"), "utf8");
    const versions = {};
    await provision(servers.ours.url, SEGMENT_PROJECT, segment, versions);
    for (const [encoding, project] of [
      ["inline", PROJECT],
      ["segment", SEGMENT_PROJECT],
    ]) {
      const key = encodeURIComponent(`snapshot:${project}:production`);
      // Wait (bounded) until KV holds a snapshot with the whole flag set, not the empty first version.
      let text = null;
      for (let attempt = 0; attempt < 100 && text === null; attempt++) {
        const response = await fetch(`http://127.0.0.1:${PORTS.kv}/${key}?urlencoded=true`, { signal: AbortSignal.timeout(5_000) });
        const body = response.ok ? await response.text() : null;
        let flags = 0;
        try {
          flags = Object.keys(JSON.parse(body ?? "{}").flagSet?.flags ?? {}).length;
        } catch {
          // not a snapshot
        }
        if (flags >= 200) text = body;
        else await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (text === null) {
        saved[encoding] = { skipped: `KV held no snapshot of ${project} with the flag set after 10 s` };
        continue;
      }
      const file = join(out, `published-snapshot-${encoding}.json`);
      writeFileSync(file, text);
      saved[encoding] = { file, bytes: Buffer.byteLength(text) };
    }
  } catch (error) {
    saved.error = String(error.message ?? error);
  }
  return saved;
}

/**
 * The load scenarios, run alternately: each round measures the four ceilings, then every
 * scenario against every Worker (baseline, ours and, when given, the reference build of ours),
 * in an order that reverses every round (A B A B …), after one warm-up each. Every run records
 * req/s, latency and the serving workerd process's CPU µs per request. Returns per-scenario
 * medians over rounds with their spread (min–max).
 */
export async function runLoad({ servers, workloadDir, rounds, seconds, warmupSeconds, log }) {
  const contexts = JSON.parse(readFileSync(join(workloadDir, "contexts.json"), "utf8"));
  const meta = JSON.parse(readFileSync(join(workloadDir, "meta.json"), "utf8"));
  const listKey = meta.groupKeys.list[0];
  const varying = contexts.map((context) => JSON.stringify({ context }));
  // A context whose customerId is not in the list: the common case, and a full scan for flagd-core.
  const fixed = [
    JSON.stringify({
      context: { targetingKey: "user-fixed", customerId: "cust-notinlist", country: "DE", plan: "pro", email: "x@example.com" },
    }),
  ];
  const scenarios = [
    { id: "bulk-fixed", label: "bulk, same context repeated", path: "/ofrep/v1/evaluate/flags", bodies: fixed },
    { id: "bulk-varying", label: "bulk, context changes every request", path: "/ofrep/v1/evaluate/flags", bodies: varying },
    {
      id: "single-varying",
      label: `single (${listKey}), context changes every request`,
      path: `/ofrep/v1/evaluate/flags/${listKey}`,
      bodies: varying,
    },
  ];
  const targets = [["baseline", servers.baseline, {}, false]];
  if (servers.ours) targets.push(["ours", servers.ours, { authorization: `Bearer ${servers.oursKey}` }, true]);
  if (servers.reference) targets.push(["reference", servers.reference, { authorization: `Bearer ${servers.referenceKey}` }, true]);
  const ceilings = [
    { id: "ceiling", path: "/", method: "GET", bodies: null },
    { id: "ceilingBig", path: "/big", method: "POST", bodies: fixed },
    { id: "ceilingBody", path: "/body-big", method: "POST", bodies: varying },
    { id: "ceilingSmall", path: "/body-small", method: "POST", bodies: varying },
  ];
  const samples = {};
  const run = (server, path, method, bodies, headers, addresses, secs, maxRequests) =>
    load({ url: server.url + path, method, headers, bodies, seconds: secs, maxRequests, pid: server.child.pid, addresses });

  for (const scenario of scenarios) {
    for (const [, server, headers, addresses] of targets)
      await run(server, scenario.path, "POST", scenario.bodies, headers, addresses, warmupSeconds, 50_000);
  }
  for (const c of ceilings) await run(servers.ceiling, c.path, c.method, c.bodies, {}, false, warmupSeconds, 50_000);

  const us = (x) => (Number.isFinite(x) ? Math.round(x) : "?");
  for (let round = 0; round < rounds; round++) {
    const parts = [];
    for (const c of round % 2 === 0 ? ceilings : [...ceilings].reverse()) {
      const r = await run(servers.ceiling, c.path, c.method, c.bodies, {}, false, seconds, 400_000);
      (samples[c.id] ??= []).push(r);
      parts.push(`${c.id} ${Math.round(r.rps)} req/s ${us(r.cpuUs)} µs`);
    }
    log(`  round ${round + 1}/${rounds}: ${parts.join(", ")}`);
    for (const scenario of scenarios) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const [name, server, headers, addresses] of order) {
        const r = await run(server, scenario.path, "POST", scenario.bodies, headers, addresses, seconds, 400_000);
        (samples[`${scenario.id}:${name}`] ??= []).push(r);
        log(
          `  round ${round + 1}/${rounds}: ${scenario.id} ${name} ${Math.round(r.rps)} req/s ${us(r.cpuUs)} µs/req p50 ${r.p50} ms p99 ${r.p99} ms${r.non2xx ? ` non2xx ${r.non2xx}` : ""}${r.errors ? ` errors ${r.errors}` : ""}`,
        );
      }
    }
  }
  // An answer served as degraded (X-Edgeflags-Stale) after the rounds means the rounds timed a
  // degraded edge (a binding the harness lacks), not the normal path: the report says so.
  const degraded = {};
  for (const [name, server, headers] of targets.filter(([, , , ours]) => ours)) {
    const probe = await fetch(server.url + scenarios[2].path, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: varying[0],
      signal: AbortSignal.timeout(5_000),
    });
    await probe.arrayBuffer();
    const stale = probe.headers.get("x-edgeflags-stale");
    if (stale) {
      degraded[name] = stale;
      log(`  ${name} answered as degraded after the rounds: X-Edgeflags-Stale: ${stale}`);
    }
  }
  const median = (xs) => {
    const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
    if (!s.length) return NaN;
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const spread = (xs) => {
    const s = xs.filter(Number.isFinite);
    return s.length ? [Math.min(...s), Math.max(...s)] : [NaN, NaN];
  };
  const summarize = (list) =>
    list && {
      rps: median(list.map((r) => r.rps)),
      rpsSpread: spread(list.map((r) => r.rps)),
      p50: median(list.map((r) => r.p50)),
      p99: median(list.map((r) => r.p99)),
      cpuUs: median(list.map((r) => r.cpuUs)),
      cpuSpread: spread(list.map((r) => r.cpuUs)),
      // Per round, in round order: ratios are taken within a round (same machine load), then the median.
      cpuRounds: list.map((r) => r.cpuUs),
      rpsRounds: list.map((r) => r.rps),
      rounds: list.length,
      non2xx: list.reduce((a, r) => a + r.non2xx, 0),
      errors: list.reduce((a, r) => a + r.errors, 0),
      requests: list.reduce((a, r) => a + r.requests, 0),
    };
  return {
    rounds,
    seconds,
    degraded,
    ceiling: summarize(samples.ceiling),
    ceilingBig: summarize(samples.ceilingBig),
    ceilingBody: summarize(samples.ceilingBody),
    ceilingSmall: summarize(samples.ceilingSmall),
    scenarios: scenarios.map((s) => ({
      id: s.id,
      label: s.label,
      baseline: summarize(samples[`${s.id}:baseline`]),
      ours: summarize(samples[`${s.id}:ours`]),
      reference: summarize(samples[`${s.id}:reference`]),
    })),
  };
}

/**
 * Local propagation: time from sending an admin write (a flag toggle) to the first OFREP answer
 * that carries the new version in X-Edgeflags-Config-Version. Bounded: `writes` writes, at most
 * `perWriteMs` of polling each.
 */
export async function propagation({ servers, writes = 50, perWriteMs = 5_000 }) {
  const base = servers.ours.url;
  const key = servers.oursKey;
  const ofrep = () =>
    fetch(`${base}/ofrep/v1/evaluate/flags/plain-000`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: '{"context":{"targetingKey":"propagation"}}',
      signal: AbortSignal.timeout(5_000),
    }).then(async (r) => {
      await r.arrayBuffer();
      return Number(r.headers.get("x-edgeflags-config-version") ?? NaN);
    });
  const times = [];
  let failures = 0;
  let polls = 0;
  for (let i = 0; i < writes; i++) {
    const before = await ofrep();
    const t0 = performance.now();
    const write = await call(base, "POST", `/admin/v1/projects/${PROJECT}/environments/production/flags/plain-000/toggle`, {
      token: ADMIN_TOKEN,
      body: { state: i % 2 === 0 ? "DISABLED" : "ENABLED", reason: "bench propagation" },
    });
    if (write.status >= 300) {
      failures++;
      continue;
    }
    let seen = false;
    while (performance.now() - t0 < perWriteMs) {
      polls++;
      if ((await ofrep()) > before) {
        seen = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    if (seen) times.push(performance.now() - t0);
    else failures++;
  }
  const s = times.sort((a, b) => a - b);
  const at = (q) => (s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : NaN);
  return { writes, seen: s.length, failures, p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? NaN, polls };
}
