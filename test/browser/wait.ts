/**
 * How the browser suites wait. They run `wrangler dev`, workerd, Chromium and vitest side by side,
 * often on a slow 2-core CI machine shared with other jobs, where a condition that holds within a
 * second on an idle machine can take ten times that. So every wait is on a condition (an
 * auto-waiting locator, `expect.poll`, `waitForFunction`, `waitForResponse`, `until`), never a
 * fixed sleep, and every bound below derives from one unit, generous enough that only a real
 * failure reaches it.
 */
import type { BrowserContext } from "playwright-core";

/** The longest any one condition may take to come true: a page update, a stream event, a publish. */
export const WAIT_MS = 30_000;
/** Starting a Worker under `wrangler dev` (first `GET /health` answered) or launching Chromium. */
export const STARTUP_MS = 4 * WAIT_MS;
/** One test: a few dozen conditions, each normally met in a small fraction of WAIT_MS. */
export const TEST_TIMEOUT_MS = 6 * WAIT_MS;
/** One hook: a `beforeAll` builds and starts a Worker, seeds a project and launches a browser. */
export const HOOK_TIMEOUT_MS = 3 * STARTUP_MS;

/** The browser project's vitest limits (vitest.config.ts). */
export const VITEST_TIMEOUTS = { testTimeout: TEST_TIMEOUT_MS, hookTimeout: HOOK_TIMEOUT_MS };

/** Options for `expect.poll` (whose own default gives up after one second). */
export const POLL = { timeout: WAIT_MS, interval: 100 };

/** Options for playwright's waits (`waitForFunction`, `waitForResponse`, `waitForURL`, …). */
export const WAIT = { timeout: WAIT_MS };

/**
 * Calls `probe` until it returns a truthy value, and returns that; throws naming `what` after
 * `timeoutMs`. A probe that throws ends the wait with its error (e.g. "the server exited").
 */
export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Gives a browser context's actions, locators and navigations the suites' bound. */
export function patient<C extends BrowserContext>(context: C): C {
  context.setDefaultTimeout(WAIT_MS);
  context.setDefaultNavigationTimeout(WAIT_MS);
  return context;
}
