/** Console requests for the workers tests: forms posted with the console's Origin, a signed-in session. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import worker from "../worker/index";
import { pendingFlush } from "../worker/telemetry";
import { ADMIN_TOKEN, call, setupProject } from "./helpers";

export const ORIGIN = "http://edgeflags.test";

export interface ConsolePage {
  status: number;
  headers: Headers;
  text: string;
}

/** A console request; a POST carries the console's own Origin and the form, url-encoded. */
export async function consoleRequest(
  method: "GET" | "POST",
  path: string,
  cookie: string,
  form?: Record<string, string> | URLSearchParams,
): Promise<ConsolePage> {
  const headers: Record<string, string> = { cookie };
  let body: string | undefined;
  if (method === "POST") {
    headers.origin = ORIGIN;
    body = new URLSearchParams(form ?? {}).toString();
    headers["content-type"] = "application/x-www-form-urlencoded";
  }
  const response = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { method, headers, body, redirect: "manual" }));
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Signs in to `project` with `credential` (default: the bootstrap token); the session cookie's `name=value`. */
export async function consoleSignIn(project: string, credential: string = ADMIN_TOKEN): Promise<string> {
  const res = await exports.default.fetch(
    new Request(`${ORIGIN}/console/sign-in`, {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ project, credential }).toString(),
      redirect: "manual",
    }),
  );
  expect(res.status).toBe(303);
  return (res.headers.get("set-cookie") ?? "").split(";")[0]!;
}

/**
 * The fields a browser would post from the form matching `selector` in `html`: inputs (not
 * buttons), each select's selected option (else its first) and textareas — read with HTMLRewriter,
 * so a test posts what the page really rendered.
 */
export async function formFieldsOf(html: string, selector: string): Promise<Record<string, string>> {
  const fields: Record<string, string> = {};
  let inForm = false;
  let select: { name: string; first: string | null; chosen: boolean } | null = null;
  let textarea: string | null = null;
  const decode = (s: string) =>
    s
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, "&");
  await new HTMLRewriter()
    .on(selector, {
      element(el) {
        inForm = true;
        el.onEndTag(() => {
          inForm = false;
        });
      },
    })
    .on(`${selector} input`, {
      element(el) {
        const name = el.getAttribute("name");
        const type = el.getAttribute("type") ?? "text";
        if (!inForm || !name || type === "submit" || type === "button") return;
        if ((type === "checkbox" || type === "radio") && !el.hasAttribute("checked")) return;
        fields[name] = el.getAttribute("value") ?? "";
      },
    })
    .on(`${selector} select`, {
      element(el) {
        const name = el.getAttribute("name");
        select = name ? { name, first: null, chosen: false } : null;
        el.onEndTag(() => {
          if (select && !select.chosen && select.first !== null) fields[select.name] = select.first;
          select = null;
        });
      },
    })
    .on(`${selector} option`, {
      element(el) {
        if (!select) return;
        const value = el.getAttribute("value") ?? "";
        if (select.first === null) select.first = value;
        if (el.hasAttribute("selected")) {
          fields[select.name] = value;
          select.chosen = true;
        }
      },
    })
    .on(`${selector} textarea`, {
      element(el) {
        const name = el.getAttribute("name");
        if (!name) return;
        textarea = "";
        el.onEndTag(() => {
          fields[name] = decode(textarea ?? "");
          textarea = null;
        });
      },
      text(chunk) {
        if (textarea !== null) textarea += chunk.text;
      },
    })
    .transform(new Response(html))
    .text();
  return fields;
}

/**
 * A console GET whose telemetry shards' reads all throw (a reset), every other binding real: what a
 * screen shows when tracked events cannot be read.
 */
export async function consoleGetWithShardsDown(path: string, cookie: string): Promise<ConsolePage> {
  const shards = {
    idFromName: (name: string) => env.TELEMETRY_SHARD.idFromName(name),
    get: () => ({ readTrackedEvents: () => Promise.reject(new Error("Durable Object reset because its code was updated.")) }),
  };
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${ORIGIN}${path}`, { headers: { cookie } }),
    { ...env, TELEMETRY_SHARD: shards } as unknown as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Tracks `events` through the edge with `key` and waits until the telemetry shards hold them. */
export async function trackThroughEdge(key: string, events: object[]): Promise<void> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${ORIGIN}/ofrep/v1/track`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ events }),
    }),
    env,
    ctx,
  );
  expect(response.status, await response.text()).toBeLessThan(300);
  await waitOnExecutionContext(ctx);
  await pendingFlush();
}

/**
 * A project with the metric `order-value` on the tracked event `purchase` and an experiment started
 * on `new-checkout` in production: the experiment's id and the project's client key.
 */
export async function experimentWatchingPurchases(project: string): Promise<{ id: string; key: string }> {
  const { key } = await setupProject(project);
  const metric = await call("PUT", `/admin/v1/projects/${project}/metrics/order-value`, {
    body: { event: "purchase", kind: "mean", direction: "higher-is-better" },
  });
  expect(metric.status).toBeLessThan(300);
  const started = await call("POST", `/admin/v1/projects/${project}/environments/production/flags/new-checkout/experiment`, { body: {} });
  expect(started.status).toBe(201);
  return { id: started.body.id, key };
}
