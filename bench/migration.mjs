#!/usr/bin/env node
// The migration at the seed's scale, against a running Worker (figures, not assertions):
//   1. import a generated homegrown export: 200 flags × 6 environments × 4,000 customers (the
//      override lists of test/fixtures/homegrown-export.ts): a dry run, the import, the re-run;
//   2. per-customer overrides: adding one customer to a flag with no targets and to one with 4,000;
//   3. audit mode: 10⁶ comparisons reported in 1,000 batches (200 flags × 5 comparisons, one
//      mismatch with a sample each), 8 in flight, 50 of them sent twice; then what the ledger
//      counted, which must be exactly 10⁶ and 1,000 (0 lost, duplicates counted once).
// Run by `npm run bench` against the workerd-served Worker (MIGRATION_BASE, MIGRATION_TOKEN), or
// alone against `npm start`:
//   MIGRATION_BASE=http://localhost:8787 MIGRATION_TOKEN=dev-admin-token-for-local-use-only node bench/migration.mjs
// Writes its own section in bench/RESULTS.md.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { customerId, generateHomegrownExport } from "../test/fixtures/homegrown-export.ts";

const ROOT = join(import.meta.dirname, "..");
const BASE = process.env.MIGRATION_BASE;
const TOKEN = process.env.MIGRATION_TOKEN;
const MARK_BEGIN = "<!-- bench/migration.mjs: begin -->";
const MARK_END = "<!-- bench/migration.mjs: end -->";
const ENVIRONMENTS = ["development", "qa", "staging", "production", "production-eu", "production-us"];
const FLAGS = 200;
const CUSTOMERS = 4_000;
const BATCHES = 1_000;
const PER_FLAG = 5;
const IN_FLIGHT = 8;
const DUPLICATES = 50;
const started = Date.now();
const log = (line) => console.error(`[migration ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${line}`);

async function call(method, path, { body, token = TOKEN, timeoutMs = 120_000 } = {}) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, json, text, headers: response.headers };
}

async function timed(fn) {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function until(what, fn, timeoutMs = 60_000) {
  for (const deadline = Date.now() + timeoutMs; ; ) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function importAtScale(project, result) {
  const data = generateHomegrownExport({ flags: FLAGS, environments: ENVIRONMENTS, customers: CUSTOMERS, seed: 6 });
  const overrides = data.flags.reduce(
    (n, f) => n + Object.values(f.environments).reduce((m, e) => m + Object.keys(e.customers).length, 0),
    0,
  );
  const body = JSON.stringify({ source: "homegrown", format: "json", data, reason: "bench" });
  result.import = { flags: FLAGS, environments: ENVIRONMENTS.length, customers: CUSTOMERS, overrides, bodyMB: body.length / 2 ** 20 };
  const created = await call("PUT", `/admin/v1/projects/${project}`, { body: { environments: ["development"] } });
  if (created.status !== 201) throw new Error(`project: ${created.status} ${created.text.slice(0, 200)}`);
  const dry = await timed(() => call("POST", `/admin/v1/projects/${project}/import?dryRun=true`, { body }));
  if (dry.value.status !== 200) throw new Error(`dry run: ${dry.value.status} ${dry.value.text.slice(0, 300)}`);
  const real = await timed(() => call("POST", `/admin/v1/projects/${project}/import`, { body }));
  if (real.value.status !== 200) throw new Error(`import: ${real.value.status} ${real.value.text.slice(0, 300)}`);
  const published = await timed(() =>
    until(
      "the snapshots to be published",
      async () => (await call("GET", `/admin/v1/projects/${project}/replication`)).json?.pending?.length === 0,
      300_000,
    ),
  );
  const again = await timed(() => call("POST", `/admin/v1/projects/${project}/import`, { body }));
  Object.assign(result.import, {
    dryRunMs: dry.ms,
    importMs: real.ms,
    publishedAfterMs: published.ms,
    rerunMs: again.ms,
    rerunChanged: again.value.json?.changed,
    written: Object.values(real.value.json.environments).reduce((n, e) => n + e.created.length + e.updated.length, 0),
  });
  return data;
}

async function overrides(project, data, result) {
  // A flag whose production list holds every customer, and one without a target.
  const full = data.flags.find((f) => Object.keys(f.environments.production.customers).length === CUSTOMERS);
  const none = data.flags.find((f) => Object.keys(f.environments.production.customers).length === 0);
  const samples = { full: [], none: [] };
  for (let i = 0; i < 20; i++) {
    for (const [name, flag] of [
      ["full", full],
      ["none", none],
    ]) {
      const id = `bench-extra-${i}`;
      const path = `/admin/v1/projects/${project}/environments/production/flags/${flag.key}/targets`;
      const added = await timed(() => call("POST", path, { body: { add: { on: [id] } } }));
      if (added.value.status !== 200) throw new Error(`targets: ${added.value.status} ${added.value.text.slice(0, 200)}`);
      samples[name].push(added.ms);
      await call("POST", path, { body: { remove: [id] } });
    }
  }
  result.targets = {
    withAllCustomersMs: median(samples.full),
    withNoneMs: median(samples.none),
    flagWithAll: full.key,
    flagWithNone: none.key,
  };
}

async function auditMode(project, data, result) {
  const key = (await call("POST", `/admin/v1/projects/${project}/environments/qa/keys`, { body: { scope: "server", name: "bench" } })).json
    .key;
  await until("the server key at the edge", async () => (await call("GET", "/migration/v1/status", { token: key })).status === 200);
  const flags = data.flags.map((f) => f.key);
  const batch = (i) =>
    JSON.stringify({
      batch: `bench-${String(i).padStart(6, "0")}`,
      entries: flags.map((flag, f) => ({
        flag,
        compared: PER_FLAG,
        mismatched: f === i % flags.length ? 1 : 0,
        samples:
          f === i % flags.length
            ? [
                {
                  context: { targetingKey: customerId(i % CUSTOMERS), plan: "pro" },
                  legacy: { value: true },
                  edgeflags: { value: false, variant: "off" },
                },
              ]
            : [],
      })),
    });
  let next = 0;
  let retries = 0;
  const statuses = {};
  const send = async (i) => {
    for (let attempt = 0; ; attempt++) {
      const answer = await call("POST", "/migration/v1/comparisons", { body: batch(i), token: key });
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      if (answer.status === 202 || answer.status === 200) return;
      if (attempt > 20) throw new Error(`batch ${i}: ${answer.status} ${answer.text.slice(0, 200)}`);
      retries++;
      await new Promise((resolve) => setTimeout(resolve, Number(answer.headers.get("retry-after") ?? 1) * 1000));
    }
  };
  const run = await timed(() =>
    Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < BATCHES) await send(next++);
      }),
    ),
  );
  for (let i = 0; i < DUPLICATES; i++) await send(i * 7);
  const view = await call("GET", `/admin/v1/projects/${project}/migration`);
  const qa = view.json.environments.find((e) => e.environment === "qa");
  const counted = qa.flags.reduce((n, f) => n + f.compared, 0);
  const mismatched = qa.flags.reduce((n, f) => n + f.mismatched, 0);
  result.audit = {
    comparisons: BATCHES * flags.length * PER_FLAG,
    batches: BATCHES,
    inFlight: IN_FLIGHT,
    ms: run.ms,
    perSecond: (BATCHES * flags.length * PER_FLAG) / (run.ms / 1000),
    batchesPerSecond: BATCHES / (run.ms / 1000),
    counted,
    mismatched,
    lost: BATCHES * flags.length * PER_FLAG - counted,
    duplicatesSent: DUPLICATES,
    statuses,
    retries,
  };
}

function render(r) {
  const f = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "–");
  if (r.error) return `${MARK_BEGIN}\n## Migration at the seed's scale\n\nskipped: ${r.error}\n${MARK_END}`;
  return `${MARK_BEGIN}
## Migration at the seed's scale (bench/migration.mjs)

Measured ${r.date} on ${r.machine} (load ${r.load}), against ${r.harness}. One run; figures, not assertions.

| step | figure |
| --- | --- |
| import body | ${f(r.import.flags)} flags × ${r.import.environments} environments × ${f(r.import.customers)} customers: ${f(r.import.overrides)} overrides, ${f(r.import.bodyMB, 1)} MiB of JSON |
| dry run (diff, nothing written) | ${f(r.import.dryRunMs)} ms |
| import (one transaction, ${f(r.import.written)} flags written) | ${f(r.import.importMs)} ms; every snapshot published ${f(r.import.publishedAfterMs)} ms later |
| the same import again | ${f(r.import.rerunMs)} ms, changed: ${r.import.rerunChanged} |
| add one customer to a flag's targets (median of 20) | ${f(r.targets.withNoneMs, 1)} ms with no targets, ${f(r.targets.withAllCustomersMs, 1)} ms beside ${f(r.import.customers)} |
| audit mode: ${f(r.audit.comparisons)} comparisons in ${f(r.audit.batches)} batches, ${r.audit.inFlight} in flight | ${f(r.audit.ms / 1000, 1)} s: ${f(r.audit.perSecond)} comparisons/s, ${f(r.audit.batchesPerSecond)} batches/s (HTTP statuses ${JSON.stringify(r.audit.statuses)}, ${r.audit.retries} retries) |
| counted by the ledger | ${f(r.audit.counted)} comparisons, ${f(r.audit.mismatched)} mismatches, **${f(r.audit.lost)} lost**, ${r.audit.duplicatesSent} batches sent twice counted once |
${MARK_END}`;
}

async function main() {
  const result = {
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? "?"} × ${cpus().length}`,
    load: loadavg()
      .map((x) => x.toFixed(2))
      .join(" "),
    harness: process.env.MIGRATION_HARNESS ?? BASE,
  };
  try {
    if (!BASE || !TOKEN) throw new Error("set MIGRATION_BASE and MIGRATION_TOKEN (see the top of bench/migration.mjs)");
    const project = `migration-${Date.now().toString(36)}`;
    log(`importing ${FLAGS} flags × ${ENVIRONMENTS.length} environments × ${CUSTOMERS} customers`);
    const data = await importAtScale(project, result);
    log("per-customer overrides");
    await overrides(project, data, result);
    log(`audit mode: ${BATCHES} batches`);
    await auditMode(project, data, result);
  } catch (error) {
    result.error = String(error.message ?? error).slice(0, 400);
    log(`failed: ${result.error}`);
  }
  const section = render(result);
  console.log(section);
  console.log(JSON.stringify(result));
  const file = join(ROOT, "bench", "RESULTS.md");
  const current = existsSync(file) ? readFileSync(file, "utf8") : "# edgeflags benchmark results\n";
  const begin = current.indexOf(MARK_BEGIN);
  const end = current.indexOf(MARK_END);
  writeFileSync(
    file,
    begin >= 0 && end > begin
      ? `${current.slice(0, begin)}${section}${current.slice(end + MARK_END.length)}`
      : `${current.trimEnd()}\n\n${section}\n`,
  );
  if (result.error) process.exitCode = 1;
}

await main();
