#!/usr/bin/env node
// `npm start`: runs the Worker locally with `wrangler dev` (local KV and Durable Objects, state kept
// in .wrangler/), seeds the demo project on first start through the admin API, and prints how to
// call it. Local-only credentials live in .dev.vars, which `wrangler deploy` never uploads.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT ?? 8787);
const base = `http://localhost:${port}`;
const devVars = join(root, ".dev.vars");
const keyFile = join(root, ".wrangler", "demo-client-key");

if (!existsSync(devVars)) {
  writeFileSync(devVars, "# Local-only credentials for `npm start`; never deployed.\nADMIN_TOKEN=dev-admin-token\n");
}
const adminToken = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(devVars, "utf8"))?.[1]?.trim();
if (!adminToken) {
  console.error(".dev.vars has no ADMIN_TOKEN line; add one (for example ADMIN_TOKEN=dev-admin-token)");
  process.exit(1);
}

const wrangler = spawn(join(root, "node_modules", ".bin", "wrangler"), ["dev", "--port", String(port), ...process.argv.slice(2)], {
  cwd: root,
  stdio: ["inherit", "inherit", "inherit"],
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => wrangler.kill(signal));
wrangler.on("exit", (code) => process.exit(code ?? 0));

async function admin(method, path, body) {
  const response = await fetch(`${base}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok && response.status !== 404) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function waitForServer() {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`wrangler dev did not answer on ${base} within two minutes`);
}

async function seed() {
  const existing = await admin("GET", "/projects/default");
  if (existing.status === 200 && existsSync(keyFile)) return false;
  if (existing.status === 404) {
    await admin("PUT", "/projects/default", { environments: ["development", "staging", "production"] });
    const flags = JSON.parse(readFileSync(join(root, "scripts", "demo-flags.json"), "utf8"));
    for (const environment of ["development", "staging", "production"]) {
      await admin("PUT", `/projects/default/environments/${environment}/flagd`, flags);
    }
  }
  const key = await admin("POST", "/projects/default/environments/production/keys", { scope: "client", name: "demo web app" });
  mkdirSync(dirname(keyFile), { recursive: true });
  writeFileSync(keyFile, `${key.body.key}\n`);
  return true;
}

try {
  await waitForServer();
  const seeded = await seed();
  const key = readFileSync(keyFile, "utf8").trim();
  console.log(`
edgeflags is running on ${base}${seeded ? " (demo project \"default\" seeded)" : ""}

  client key for default/production (saved in .wrangler/demo-client-key):
    ${key}
  admin token (local only, from .dev.vars):
    ${adminToken}
  console:
    ${base}/console  (project default, the admin token above)

  evaluate every flag:
    curl -s ${base}/ofrep/v1/evaluate/flags -H "authorization: Bearer ${key}" -H "content-type: application/json" -d '{"context":{"targetingKey":"user-1","country":"CA"}}'
  flip the kill switch:
    curl -s -X POST ${base}/admin/v1/projects/default/environments/production/flags/checkout-kill-switch/toggle -H "authorization: Bearer ${adminToken}" -H "x-change-reason: trying it out"
`);
} catch (error) {
  console.error(String(error));
  wrangler.kill("SIGTERM");
  process.exit(1);
}
