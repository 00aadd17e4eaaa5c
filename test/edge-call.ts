/**
 * Calls the Worker's fetch handler directly, with test doubles in place of some of its bindings
 * (a faulty KV, a hanging FlagStore, a short refresh interval), in its own execution context.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import worker from "../worker/index";

export interface EdgeAnswer {
  status: number;
  headers: Headers;
  body: any;
  /** Waits for the call's `waitUntil` work (a hang leaves it pending, so it is only waited on when asked). */
  settled: () => Promise<void>;
}

export interface EdgeCallOptions {
  key?: string;
  method?: string;
  /** The JSON body of a POST; default an evaluation context. */
  body?: unknown;
  /** Wait for the call's `waitUntil` work before answering. */
  wait?: boolean;
  headers?: Record<string, string>;
}

/** Calls `path` on the Worker with `overrides` in its env. */
export async function callWithBindings(
  overrides: { [K in keyof Env]?: unknown },
  path: string,
  options: EdgeCallOptions = {},
): Promise<EdgeAnswer> {
  const ctx = createExecutionContext();
  const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  const method = options.method ?? "POST";
  const request = new Request(`http://edgeflags.test${path}`, {
    method,
    headers,
    body: method === "GET" ? undefined : JSON.stringify(options.body ?? { context: { targetingKey: "u1" } }),
  });
  // Test doubles stand in for bindings, and the refresh interval for a deployed setting.
  const response = await worker.fetch(request, { ...env, ...overrides } as Env, ctx);
  if (options.wait) await waitOnExecutionContext(ctx);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : null,
    settled: () => waitOnExecutionContext(ctx),
  };
}
