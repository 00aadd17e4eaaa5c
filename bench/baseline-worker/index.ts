/**
 * Baseline Worker for `npm run bench`: OFREP over `@openfeature/flagd-core` in its Workers-safe
 * (interpreted) mode, the way the OpenFeature reference Worker `open-feature/flagd-ofrep-cf-worker`
 * serves it: flags bundled with the script and loaded once per isolate, then every request
 * evaluated by flagd-core and mapped to OFREP JSON. Hono routes it, as in the description.
 *
 * The flag set is the bench workload's inline encoding, written by `bench/workload.mjs` before
 * bundling.
 */
import { Hono } from "hono";
import { FlagdCore } from "@openfeature/flagd-core";
import type { EvaluationContext } from "@openfeature/core";
import flags from "../.out/workload/flags-inline.json";

const quiet = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const core = new FlagdCore(undefined, quiet, { disableDynamicCodeGeneration: true });
core.setConfigurations(JSON.stringify(flags));

type Resolution = {
  value?: unknown;
  variant?: string;
  reason?: string;
  errorCode?: string;
  errorMessage?: string;
  flagMetadata?: Record<string, unknown>;
};

function ofrep(key: string, r: Resolution): Record<string, unknown> {
  if (r.errorCode) return { key, errorCode: r.errorCode, errorDetails: r.errorMessage, metadata: r.flagMetadata };
  return { key, value: r.value, reason: r.reason, variant: r.variant, metadata: r.flagMetadata };
}

async function readContext(request: Request): Promise<EvaluationContext | null> {
  const text = await request.text();
  if (!text) return {};
  try {
    const body = JSON.parse(text) as { context?: EvaluationContext };
    return body.context ?? {};
  } catch {
    return null;
  }
}

const app = new Hono();
app.get("/health", (c) => c.text("ok"));

app.post("/ofrep/v1/evaluate/flags", async (c) => {
  const context = await readContext(c.req.raw);
  if (!context) return c.json({ errorCode: "PARSE_ERROR", errorDetails: "Invalid JSON in request body" }, 400);
  const flagsOut = core.resolveAll(context).map((r) => ofrep(r.flagKey, r));
  return c.json({ flags: flagsOut, metadata: core.getFlagSetMetadata() });
});

app.post("/ofrep/v1/evaluate/flags/:key", async (c) => {
  const key = c.req.param("key");
  const context = await readContext(c.req.raw);
  if (!context) return c.json({ key, errorCode: "PARSE_ERROR", errorDetails: "Invalid JSON in request body" }, 400);
  const flag = core.getFlag(key);
  if (!flag || flag.state === "DISABLED") return c.json({ key, errorCode: "FLAG_NOT_FOUND", errorDetails: `flag '${key}' not found` }, 404);
  const r = flag.evaluate(context);
  return c.json(ofrep(key, r), r.errorCode ? 400 : 200);
});

export default app;
