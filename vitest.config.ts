import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** The bootstrap admin token the tests sign in with; never used outside tests. */
export const TEST_ADMIN_TOKEN = "test-admin-token";

// wrangler checks `secrets.required` against the process environment; the binding below is what
// the Worker sees.
process.env.ADMIN_TOKEN ??= TEST_ADMIN_TOKEN;

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: { bindings: { ADMIN_TOKEN: TEST_ADMIN_TOKEN } },
    }),
  ],
});
