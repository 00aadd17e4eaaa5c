/**
 * Helpers shared by the Worker-level tests: admin and OFREP calls through the Worker's own fetch
 * handler, and the Durable Object helpers that drive the outbox without waiting on timers.
 */
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import type { FlagSet } from "../engine/types";

export const ADMIN_TOKEN = env.ADMIN_TOKEN;
const BASE = "http://edgeflags.test";

export interface Call {
  status: number;
  headers: Headers;
  body: any;
}

/** Calls the Worker; JSON bodies in and out. */
export async function call(
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; token?: string | null } = {},
): Promise<Call> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, body }));
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

export function store(project: string) {
  return env.FLAG_STORE.get(env.FLAG_STORE.idFromName(project));
}

/**
 * Runs the FlagStore's alarm now, as it would run once every queued row is due: outbox rows and
 * webhook deliveries waiting out a backoff are made due first, standing in for the passage of time.
 */
export async function drainOutbox(project: string): Promise<void> {
  await runInDurableObject(store(project), async (instance, state) => {
    state.storage.sql.exec("UPDATE outbox SET next_attempt_at = 0");
    state.storage.sql.exec("UPDATE webhook_deliveries SET next_attempt_at = 0 WHERE status = 'pending'");
    await instance.alarm();
  });
}

export const demoFlags: FlagSet = {
  flags: {
    "kill-switch": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
    "new-checkout": {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      targeting: {
        fractional: [
          ["on", 50],
          ["off", 50],
        ],
      },
    },
    "banner-color": {
      state: "ENABLED",
      variants: { red: "#c00", green: "#0a0", blue: "#00c" },
      defaultVariant: "red",
      targeting: { if: [{ in: [{ var: "country" }, ["CA", "US"]] }, "green", null] },
      metadata: { owner: "web-team" },
    },
    "no-default": {
      state: "ENABLED",
      variants: { a: "A", b: "B" },
      defaultVariant: null,
      targeting: { if: [{ "==": [{ var: "plan" }, "enterprise"] }, "b", null] },
    },
    "dark-launch": { state: "DISABLED", variants: { on: true, off: false }, defaultVariant: "off" },
  },
};

/** Creates a project with the given environments and flags in `production`, and a key of `scope` there. */
export async function setupProject(
  project: string,
  flagSet: FlagSet = demoFlags,
  scope: "client" | "server" = "client",
): Promise<{ key: string; keyId: string; version: number }> {
  const created = await call("PUT", `/admin/v1/projects/${project}`, { body: { environments: ["development", "staging", "production"] } });
  if (created.status !== 201) throw new Error(`project setup failed: ${created.status} ${JSON.stringify(created.body)}`);
  const put = await call("PUT", `/admin/v1/projects/${project}/environments/production/flagd`, { body: flagSet });
  if (put.status !== 200) throw new Error(`flag set failed: ${put.status} ${JSON.stringify(put.body)}`);
  const key = await call("POST", `/admin/v1/projects/${project}/environments/production/keys`, { body: { scope } });
  if (key.status !== 201) throw new Error(`key failed: ${key.status} ${JSON.stringify(key.body)}`);
  await drainOutbox(project);
  return { key: key.body.key, keyId: key.body.id, version: put.body.version };
}

/** POSTs an OFREP evaluation with a key. */
export function evaluate(key: string, flag: string | null, context?: unknown, headers: Record<string, string> = {}): Promise<Call> {
  const path = flag === null ? "/ofrep/v1/evaluate/flags" : `/ofrep/v1/evaluate/flags/${encodeURIComponent(flag)}`;
  return call("POST", path, { token: key, body: context === undefined ? {} : { context }, headers });
}

/** Lets time pass for a project's ramps: every running ramp's next step becomes due, then the alarm runs. */
export async function advanceRamps(project: string): Promise<void> {
  await runInDurableObject(store(project), async (instance, state) => {
    state.storage.sql.exec("UPDATE ramps SET next_at = 0 WHERE status = 'running'");
    state.storage.sql.exec("UPDATE outbox SET next_attempt_at = 0");
    await instance.alarm();
  });
}
