import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { readConformance } from "./test/conformance/provide.ts";

/** The bootstrap admin token the tests sign in with (32+ characters, as the Worker requires); never used outside tests. */
export const TEST_ADMIN_TOKEN = "test-admin-token-for-vitest-runs-only";
/** The signing secret of the tests; never used outside tests. */
export const TEST_SIGNING_SECRET = "Js_mNoL-r6BMQN1zrjVQ40TiWhcV1cVg9vW6LtO5l6_z";

// wrangler checks `secrets.required` against the process environment; the bindings below are what
// the Worker sees.
process.env.ADMIN_TOKEN ??= TEST_ADMIN_TOKEN;
process.env.SIGNING_SECRET ??= TEST_SIGNING_SECRET;

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  test: {
    // Two test files at a time, whatever the machine: vitest's default (one fewer than the cores)
    // runs a 2-core CI machine's files one by one, though a workers file spends most of its time
    // waiting on its workerd process and a browser file on wrangler dev and Chromium.
    maxWorkers: 2,
    projects: [
      {
        // Everything that runs inside workerd against real KV and Durable Object bindings.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: { ADMIN_TOKEN: TEST_ADMIN_TOKEN, SIGNING_SECRET: TEST_SIGNING_SECRET },
              // A low client limit, so a test can reach it; requests without a client address
              // (every other test) are not limited.
              ratelimits: { CLIENT_RATE_LIMITER: { namespace_id: "1001", simple: { limit: 5, period: 60 } } },
            },
          }),
        ],
        // zod as the Worker's bundle resolves it (wrangler.toml [alias]).
        resolve: { alias: [{ find: /^zod$/, replacement: fileURLToPath(new URL("./lib/zod-bundled.ts", import.meta.url)) }] },
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: ["test/browser/**", "test/structure/**", "test/node/**"],
          // The conformance suites in ../shared (or $EDGEFLAGS_CONFORMANCE_DIR), read on the host.
          provide: { conformance: readConformance(root) },
          // Sized for a shared 2-core machine under load: a test that waits out a 1.5–5 s deadline
          // (a hanging KV read, a FlagStore call) must not be cut off by the runner first.
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        // Checks of what the project publishes, run in Node with the tools its consumers use
        // (tools/*: workspace packages with their own dependencies).
        test: {
          name: "tooling",
          include: ["tools/**/*.test.ts", "test/structure/**/*.test.ts", "test/node/**/*.test.ts", "packages/**/*.test.ts"],
          exclude: ["**/node_modules/**"],
          environment: "node",
          testTimeout: 60_000,
        },
      },
      {
        // Real browsers (headless Chromium) against a Worker served by `wrangler dev`.
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          // Sized for a slow, shared CI machine, from the one unit the suites wait by.
          ...(await import("./test/browser/wait.ts")).VITEST_TIMEOUTS,
          fileParallelism: false,
        },
      },
    ],
  },
});
