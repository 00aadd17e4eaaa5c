/** OFREP calls through the Worker's own handler that wait for the work they leave behind (telemetry). */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import worker from "../worker/index";
import { pendingFlush } from "../worker/telemetry";

/**
 * OFREP evaluations through the Worker's own handler, as concurrent requests of one isolate,
 * returning once everything left in `waitUntil` has settled (as the runtime guarantees before an
 * isolate is frozen).
 */
export async function evaluateAndSettle(key: string, path: string, contexts: object[]): Promise<any[]> {
  const ctx = createExecutionContext();
  const responses = await Promise.all(
    contexts.map((context) =>
      worker.fetch(
        new Request(`http://edgeflags.test${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify({ context }),
        }),
        env,
        ctx,
      ),
    ),
  );
  await waitOnExecutionContext(ctx);
  // Records join a send another request may already have scheduled (and keeps the isolate alive for).
  await pendingFlush();
  return Promise.all(responses.map((r) => r.json()));
}
