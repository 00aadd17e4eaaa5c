#!/usr/bin/env node
// `npm start`: runs both Workers locally with `wrangler dev` (local KV and Durable Objects, state
// kept in .wrangler/): the request-path Worker (wrangler.edge.toml) answers on the port and forwards
// the admin API and the console to the full Worker (wrangler.toml), as deployed. It seeds the demo
// project on first start through the admin API, and prints how to call it. Local-only credentials
// live in .dev.vars, which `wrangler deploy` never uploads.
//
//   npm start                    # http://localhost:8787
//   npm start -- --port 9000     # or --port=9000, or PORT=9000 npm start
//
// Other arguments are passed to `wrangler dev`.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const devVars = join(root, ".dev.vars");
const clientKeyFile = join(root, ".wrangler", "demo-client-key");
const serverKeyFile = join(root, ".wrangler", "demo-server-key");
/** The local admin token; the service refuses admin tokens shorter than 32 characters. */
const DEV_ADMIN_TOKEN = "dev-admin-token-for-local-use-only";
const MIN_ADMIN_TOKEN_LENGTH = 32;

/** `--port N` / `--port=N` (taken out of the arguments wrangler gets), else $PORT, else 8787. */
function portAndRest(argv, fallback) {
  let value = fallback;
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--port") value = argv[++i];
    else if (arg.startsWith("--port=")) value = arg.slice("--port=".length);
    else rest.push(arg);
  }
  const port = Number(value ?? 8787);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`--port (or PORT) must be a port number from 1 to 65535, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return { port, rest };
}

/**
 * Makes sure .dev.vars holds a long enough ADMIN_TOKEN and a SIGNING_SECRET (32 random bytes), and
 * upgrades an older file in place, keeping every other line. Returns the admin token.
 */
function ensureDevVars() {
  const lines = existsSync(devVars)
    ? readFileSync(devVars, "utf8").split(/\r?\n/)
    : ["# Local-only credentials for `npm start`; never deployed."];
  if (lines.at(-1) === "") lines.pop();
  const find = (name) => lines.findIndex((line) => new RegExp(`^\\s*${name}\\s*=`).test(line));
  const valueAt = (index) =>
    index < 0
      ? ""
      : lines[index]
          .slice(lines[index].indexOf("=") + 1)
          .trim()
          .replace(/^(["'])(.*)\1$/, "$2");
  const created = !existsSync(devVars);
  const notices = [];
  const tokenAt = find("ADMIN_TOKEN");
  let adminToken = valueAt(tokenAt);
  if (adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    const line = `ADMIN_TOKEN=${DEV_ADMIN_TOKEN}`;
    if (tokenAt < 0) lines.push(line);
    else lines[tokenAt] = line;
    if (!created)
      notices.push(
        tokenAt < 0
          ? "added ADMIN_TOKEN"
          : `replaced ADMIN_TOKEN: it had ${adminToken.length} characters, and the service refuses admin tokens shorter than ${MIN_ADMIN_TOKEN_LENGTH}`,
      );
    adminToken = DEV_ADMIN_TOKEN;
  }
  if (valueAt(find("SIGNING_SECRET")) === "") {
    const line = `SIGNING_SECRET=${randomBytes(32).toString("base64url")}`;
    const at = find("SIGNING_SECRET");
    if (at < 0) lines.push(line);
    else lines[at] = line;
    if (!created) notices.push("added SIGNING_SECRET (32 random bytes; it signs stream tokens, console sessions and the audit chain)");
  }
  if (created || notices.length) writeFileSync(devVars, `${lines.join("\n")}\n`);
  for (const notice of notices) console.log(`.dev.vars upgraded: ${notice}`);
  return adminToken;
}

const { port, rest } = portAndRest(process.argv.slice(2), process.env.PORT);
const base = `http://localhost:${port}`;
const adminToken = ensureDevVars();

// Offline, wrangler's telemetry and miniflare's download of the `request.cf` placeholder fail
// with stack traces; neither is needed to run locally. Either can still be turned back on.
const childEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false",
  CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? "false",
};
const wrangler = spawn(
  join(root, "node_modules", ".bin", "wrangler"),
  ["dev", "-c", "wrangler.edge.toml", "-c", "wrangler.toml", "--port", String(port), ...rest],
  {
    cwd: root,
    env: childEnv,
    stdio: ["inherit", "inherit", "inherit"],
  },
);
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

/** Creates the demo project on first start, and whichever demo key is not saved yet. */
async function seed() {
  const existing = await admin("GET", "/projects/default");
  let seeded = false;
  if (existing.status === 404) {
    await admin("PUT", "/projects/default", { environments: ["development", "staging", "production"] });
    const flags = JSON.parse(readFileSync(join(root, "scripts", "demo-flags.json"), "utf8"));
    for (const environment of ["development", "staging", "production"]) {
      await admin("PUT", `/projects/default/environments/${environment}/flagd`, flags);
    }
    seeded = true;
  }
  for (const [scope, file, name] of [
    ["client", clientKeyFile, "demo web app"],
    ["server", serverKeyFile, "demo back end"],
  ]) {
    if (existsSync(file) && !seeded) continue;
    const key = await admin("POST", "/projects/default/environments/production/keys", { scope, name });
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${key.body.key}\n`);
  }
  return seeded;
}

try {
  await waitForServer();
  const seeded = await seed();
  const clientKey = readFileSync(clientKeyFile, "utf8").trim();
  const serverKey = readFileSync(serverKeyFile, "utf8").trim();
  console.log(`
edgeflags is running on ${base}${seeded ? ' (demo project "default" seeded)' : ""}

  client key for default/production (browsers, mobile; saved in .wrangler/demo-client-key):
    ${clientKey}
  server key for default/production (back ends; saved in .wrangler/demo-server-key):
    ${serverKey}
  admin token (local only, from .dev.vars):
    ${adminToken}
  console:
    ${base}/console  (project default, the admin token above)

  evaluate every flag:
    curl -s ${base}/ofrep/v1/evaluate/flags -H "authorization: Bearer ${clientKey}" -H "content-type: application/json" -d '{"context":{"targetingKey":"user-1","country":"CA"}}'
  turn the kill switch off (run it again: it stays off):
    curl -s -X POST ${base}/admin/v1/projects/default/environments/production/flags/checkout-kill-switch/toggle -H "authorization: Bearer ${adminToken}" -H "content-type: application/json" -H "x-change-reason: trying it out" -d '{"state": "DISABLED"}'
`);
} catch (error) {
  console.error(String(error));
  wrangler.kill("SIGTERM");
  process.exit(1);
}
