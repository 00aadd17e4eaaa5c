#!/usr/bin/env node
// Refreshes the console screenshots in docs/screenshots/: a fresh Worker under `wrangler dev`
// (the browser suite's harness: its own state folder, admin token and signing secret), the demo
// project seeded from scripts/demo-flags.json plus a little history, and headless Chromium
// (@sparticuz/chromium driven by playwright-core) at desktop (1280×800, light and dark) and phone
// (390×844) sizes.
//
//   node scripts/screenshots.mjs            # writes docs/screenshots/*.png, then stops everything
//   node scripts/screenshots.mjs --serve    # seeds, prints the URL and token, and keeps serving
//
// A screen whose console page does not exist in this build (404) is skipped and named.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

// wrangler needs Node 22: under an older system Node, run again under the project's own (the
// `node` devDependency), as `npm run` would.
const projectNode = join(ROOT, "node_modules", ".bin", "node");
if (Number(process.versions.node.split(".")[0]) < 22 && existsSync(projectNode)) {
  const again = spawnSync(projectNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(again.status ?? 1);
}
const { build } = await import("esbuild");
const OUT = join(ROOT, "docs", "screenshots");
const PROJECT = "default";
const ENVIRONMENTS = ["development", "staging", "production"];
const SIZES = [
  { suffix: "desktop", width: 1280, height: 800, dark: false },
  { suffix: "desktop-dark", width: 1280, height: 800, dark: true },
  { suffix: "phone", width: 390, height: 844, dark: false },
];

/**
 * The browser suite's harness, compiled for Node (it is TypeScript with extensionless imports).
 * Its `import.meta.url` stays its own, so it finds the project root as it does under vitest.
 */
async function loadHarness() {
  const source = join(ROOT, "test", "browser", "harness.ts");
  const outfile = join(ROOT, "node_modules", ".cache", "edgeflags-screenshots", "harness.mjs");
  await build({
    entryPoints: [source],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    define: { "import.meta.url": JSON.stringify(pathToFileURL(source).href) },
    logLevel: "warning",
  });
  return import(pathToFileURL(outfile).href);
}

/** The admin API with the bootstrap token; throws on anything but success. */
function adminOf(base, token) {
  return async (method, path, body, reason = "demo") => {
    const response = await fetch(`${base}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "x-change-reason": reason, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

/** The demo project with the history the screens show: keys, changes, a segment, a ramp, a draft. */
async function seed(admin) {
  await admin("PUT", `/projects/${PROJECT}`, { environments: ENVIRONMENTS });
  await admin("PUT", "/projects/mobile-app", { environments: ["production"] });
  const flags = JSON.parse(readFileSync(join(ROOT, "scripts", "demo-flags.json"), "utf8"));
  for (const env of ENVIRONMENTS) await admin("PUT", `/projects/${PROJECT}/environments/${env}/flagd`, flags, "initial import");
  await admin("POST", `/projects/${PROJECT}/keys`, { scope: "admin", name: "on-call" });
  await admin("POST", `/projects/${PROJECT}/environments/production/keys`, { scope: "client", name: "web app" });
  const server = await admin("POST", `/projects/${PROJECT}/environments/production/keys`, { scope: "server", name: "back end" });
  const P = `/projects/${PROJECT}/environments/production/flags`;
  await admin("POST", `${P}/maintenance-banner/toggle`, { state: "DISABLED" }, "banner no longer needed");
  await admin("POST", `${P}/maintenance-banner/toggle`, { state: "ENABLED" }, "maintenance window tonight");
  await admin("PUT", `/projects/${PROJECT}/segments/staff`, {
    description: "Everyone with a company address",
    rule: { ends_with: [{ var: "email" }, "@example.com"] },
  });
  await admin("POST", `/projects/${PROJECT}/webhooks`, {
    url: "https://hooks.example.com/edgeflags",
    events: ["flag.toggled", "flag.updated"],
    description: "Team chat",
  });
  await admin("POST", `/projects/${PROJECT}/triggers`, {
    name: "checkout-errors",
    environment: "production",
    flag: "checkout-kill-switch",
    action: "disable",
  });
  await admin("POST", `${P}/maintenance-banner/ramp`, {
    variant: "on",
    baseline: "off",
    steps: [
      { percent: 5 },
      { percent: 25, afterSeconds: 7200 },
      { percent: 50, afterSeconds: 86400 },
      { percent: 100, afterSeconds: 86400 },
    ],
    reason: "banner for everyone, step by step",
  });
  flags.flags["homepage-hero"].defaultVariant = Object.keys(flags.flags["homepage-hero"].variants).at(-1);
  await admin("PUT", `/projects/${PROJECT}/environments/staging/draft`, { sampleRate: 0.1, flagSet: flags, reason: "new hero" });
  return { serverKey: server.key };
}

/** How long the demo's server key may take to reach the edge (KV) before the migration report gives up. */
const EDGE_WAIT_MS = 60_000;

/**
 * Audit mode's comparisons, as an application's provider reports them: the old system and
 * edgeflags agreed, but for one customer on one flag. Sent again until the key has reached the edge.
 */
async function reportComparisons(base, serverKey) {
  const batch = {
    batch: "demo-batch-0001",
    entries: [
      { flag: "premium-support", compared: 4210, mismatched: 0 },
      {
        flag: "new-checkout",
        compared: 3890,
        mismatched: 2,
        samples: [
          {
            context: { targetingKey: "acme", email: "buyer@acme.test" },
            legacy: { value: true, variant: "on" },
            edgeflags: { value: false, variant: "off", reason: "SPLIT" },
          },
        ],
      },
    ],
  };
  const deadline = Date.now() + EDGE_WAIT_MS;
  for (;;) {
    const response = await fetch(`${base}/migration/v1/comparisons`, {
      method: "POST",
      headers: { authorization: `Bearer ${serverKey}`, "content-type": "application/json" },
      body: JSON.stringify(batch),
    });
    if (response.status === 202) return;
    if (Date.now() > deadline) throw new Error(`reporting comparisons: ${response.status} ${await response.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * The screens, in the order the console guide shows them; `act` prepares the page before the shot,
 * `element` shoots that part of the page only.
 */
const SCREENS = [
  { name: "flags", path: `/console/p/${PROJECT}/flags?env=production` },
  {
    name: "toggle",
    path: `/console/p/${PROJECT}/flags?env=production`,
    act: async (page) => {
      await page.locator('a[data-toggle][data-flag="checkout-kill-switch"][data-env="production"]').click();
      await page
        .getByRole("dialog")
        .getByLabel(/Reason/)
        .fill("Error rate above 5% after deploy 1142");
    },
  },
  {
    name: "feedback",
    path: `/console/p/${PROJECT}/flags?env=production`,
    act: async (page) => {
      await page.locator('a[data-toggle][data-flag="premium-support"][data-env="production"]').click();
      const dialog = page.getByRole("dialog");
      await dialog.getByLabel(/Reason/).fill("support hours extended");
      await dialog.locator("[data-submit]").click();
      await page.locator("[data-edge-status][data-edge-state=live]").waitFor();
    },
  },
  {
    name: "flag-detail",
    path: `/console/p/${PROJECT}/flags/new-checkout?env=production`,
    full: true,
    act: async (page) => {
      // As support fills it: the customer's id and the attributes the rules read, no JSON.
      await page.getByLabel(/User or customer id/).fill("user-7");
      await page.getByLabel("email", { exact: true }).fill("ana@example.com");
      await page.getByRole("button", { name: "Evaluate in every environment" }).click();
      await page.locator("#try-results").waitFor();
    },
  },
  {
    name: "ramp",
    path: `/console/p/${PROJECT}/flags/maintenance-banner?env=production`,
    act: (page) => page.locator("#ramp").scrollIntoViewIfNeeded(),
  },
  {
    name: "rule-builder",
    path: `/console/p/${PROJECT}/flags/premium-support?env=production`,
    element: "#rule-builder",
    act: async (page) => {
      // A group inside the rule, and a split for everyone else: re-rendered by the builder's buttons, nothing saved.
      await page.getByRole("button", { name: "Add an AND/OR group" }).click();
      const group = page.locator("fieldset.group").first();
      await group.getByLabel("Attribute", { exact: true }).fill("email");
      await group.getByLabel("Operator", { exact: true }).selectOption({ label: "ends with" });
      await group.getByLabel(/^Value/).fill("@example.com");
      const rest = page.locator("fieldset.rule").filter({ has: page.locator("legend", { hasText: "Everyone else" }) });
      await rest.getByLabel("Everyone else gets", { exact: true }).selectOption("split");
      await rest.getByLabel("Share of on", { exact: true }).fill("20");
    },
  },
  { name: "projects", path: `/console/p/${PROJECT}/projects` },
  { name: "environments", path: `/console/p/${PROJECT}/environments?from=staging&to=production` },
  { name: "segments", path: `/console/p/${PROJECT}/segments` },
  { name: "drafts", path: `/console/p/${PROJECT}/drafts?env=staging` },
  { name: "change-requests", path: `/console/p/${PROJECT}/change-requests` },
  { name: "schedules", path: `/console/p/${PROJECT}/schedules` },
  { name: "migration", path: `/console/p/${PROJECT}/migration?env=production` },
  { name: "webhooks", path: `/console/p/${PROJECT}/webhooks` },
  { name: "triggers", path: `/console/p/${PROJECT}/triggers` },
  { name: "keys", path: `/console/p/${PROJECT}/keys`, full: true },
  { name: "audit", path: `/console/p/${PROJECT}/audit` },
];

async function shoot(browser, base, token, size, skipped) {
  const context = await browser.newContext({
    viewport: { width: size.width, height: size.height },
    colorScheme: size.dark ? "dark" : "light",
    baseURL: base,
  });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const file = (name) => join(OUT, `${name}-${size.suffix}.png`);
  await page.goto("/console/sign-in");
  await page.getByLabel("Project").fill(PROJECT);
  await page.screenshot({ path: file("sign-in") });
  await page.getByLabel("Admin key or token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/flags/);
  for (const screen of SCREENS) {
    const response = await page.goto(screen.path);
    if (response?.status() === 404) {
      skipped.add(screen.name);
      continue;
    }
    if (screen.act) await screen.act(page);
    if (screen.element) await page.locator(screen.element).screenshot({ path: file(screen.name) });
    else await page.screenshot({ path: file(screen.name), fullPage: Boolean(screen.full) && size.suffix !== "phone" });
  }
  await context.close();
}

const serve = process.argv.includes("--serve");
const harness = await loadHarness();
const worker = await harness.startWranglerDev({ name: "screenshots" });
let browser;
try {
  const { serverKey } = await seed(adminOf(worker.base, worker.token));
  await reportComparisons(worker.base, serverKey);
  if (serve) {
    console.log(`serving ${worker.base}/console (project ${PROJECT}), admin token ${worker.token}; Ctrl+C stops`);
    await new Promise((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
  } else {
    mkdirSync(OUT, { recursive: true });
    browser = await harness.launchBrowser();
    const skipped = new Set();
    for (const size of SIZES) await shoot(browser, worker.base, worker.token, size, skipped);
    console.log(`screenshots written to ${OUT}${skipped.size ? `; skipped (no such page in this build): ${[...skipped].join(", ")}` : ""}`);
  }
} finally {
  await browser?.close();
  await worker.stop();
}
