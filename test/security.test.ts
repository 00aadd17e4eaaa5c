/**
 * Security guards of the admin side, inside workerd: signing keys that do not depend on the
 * admin token, refusal of weak secrets, the project registry in front of every FlagStore, the
 * failed-authentication throttle, webhook URL rules, and hostile admin bodies.
 */
import { createHmac } from "node:crypto";
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openSession, sealSession } from "../admin/session";
import { AUTH_FAILURE_BUDGET } from "../admin/throttle";
import { projectKvKey } from "../durable-objects/snapshot";
import worker from "../worker/index";
import { verifyStreamToken } from "../worker/stream-token";
import { ADMIN_TOKEN, call, setupProject, store } from "./helpers";

const BASE = "http://edgeflags.test";
const P = (project: string) => `/admin/v1/projects/${project}`;

/** Calls the Worker's default export with `bindings` instead of the configured ones. */
async function fetchWith(bindings: Env, path: string, init: RequestInit = {}): Promise<Response> {
  return worker.fetch(new Request(`${BASE}${path}`, init), bindings, createExecutionContext());
}

/** `env` with a FLAG_STORE that records every use (ids derived, stubs made). */
function countingStore(base: Env = env): { bindings: Env; uses: string[] } {
  const uses: string[] = [];
  const FLAG_STORE = new Proxy(base.FLAG_STORE, {
    get(target, property) {
      uses.push(String(property));
      const value: unknown = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { bindings: { ...base, FLAG_STORE }, uses };
}

async function adminKey(project: string): Promise<string> {
  const created = await call("POST", `${P(project)}/keys`, { body: { scope: "admin", name: "security test" } });
  expect(created.status).toBe(201);
  return created.body.key;
}

function form(fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: BASE, ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  };
}

describe("signing keys come from SIGNING_SECRET, never from ADMIN_TOKEN", () => {
  it("a client key's stream token does not verify under the admin token", async () => {
    const { key } = await setupProject("sec-stream-key");
    const bulk = await call("POST", "/ofrep/v1/evaluate/flags", { token: key, body: { context: { targetingKey: "u" } } });
    const token = new URL(bulk.body.eventStreams[0].url).searchParams.get("token")!;
    expect((await verifyStreamToken(env.SIGNING_SECRET, token, Date.now())).ok).toBe(true);
    expect(await verifyStreamToken(ADMIN_TOKEN, token, Date.now())).toEqual({ ok: false, reason: "bad-signature" });
  });

  it("a session cookie does not depend on the admin token", async () => {
    await setupProject("sec-session-key");
    const res = await fetchWith(env, "/console/sign-in", form({ project: "sec-session-key", credential: ADMIN_TOKEN }));
    expect(res.status).toBe(303);
    const value = /=([^;]+)/.exec(res.headers.get("set-cookie")!)![1]!;
    const [payload, mac] = value.split(".");
    // The old derivation (an HMAC keyed by ADMIN_TOKEN) does not produce this signature …
    const fromToken = createHmac("sha256", createHmac("sha256", ADMIN_TOKEN).update("edgeflags console session v1").digest()).update(payload!).digest("base64url");
    expect(mac).not.toBe(fromToken);
    // … another admin token still opens it, another signing secret does not.
    expect(openSession(value, { ...env, ADMIN_TOKEN: "a-completely-different-admin-token-0123" })).not.toBeNull();
    expect(openSession(value, { ...env, SIGNING_SECRET: "another-signing-secret-of-enough-length-0123" })).toBeNull();
  });

  it("without a usable SIGNING_SECRET, sessions and streams answer 503 naming the fix, and evaluation works", async () => {
    const { key } = await setupProject("sec-no-secret");
    const weak = { ...env, SIGNING_SECRET: "too-short" };
    const signIn = await fetchWith(weak, "/console/sign-in", form({ project: "sec-no-secret", credential: ADMIN_TOKEN }));
    expect(signIn.status).toBe(503);
    expect(await signIn.text()).toContain("wrangler secret put SIGNING_SECRET");

    const cookie = sealSession({ project: null, home: "sec-no-secret", keyId: null, keyHash: null, issuedAt: Math.floor(Date.now() / 1000), expiresAt: Math.floor(Date.now() / 1000) + 60 }, env)!;
    const withCookie = await fetchWith(weak, P("sec-no-secret"), { headers: { cookie: `__Host-edgeflags_session=${cookie}` } });
    expect(withCookie.status).toBe(503);
    expect(withCookie.headers.get("content-type")).toBe("application/problem+json");
    expect((await withCookie.json<{ detail: string }>()).detail).toContain("wrangler secret put SIGNING_SECRET");

    const bulk = await fetchWith(weak, "/ofrep/v1/evaluate/flags", { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: "{}" });
    expect(bulk.status).toBe(200);
    expect((await bulk.json<{ eventStreams?: unknown }>()).eventStreams).toBeUndefined();

    const good = await call("POST", "/ofrep/v1/evaluate/flags", { token: key, body: {} });
    const stream = await fetchWith(weak, new URL(good.body.eventStreams[0].url).pathname + new URL(good.body.eventStreams[0].url).search);
    expect(stream.status).toBe(503);
    expect((await stream.json<{ errorDetails: string }>()).errorDetails).toContain("wrangler secret put SIGNING_SECRET");
  });

  it("refuses an ADMIN_TOKEN shorter than 32 characters, saying how to fix it", async () => {
    const short = { ...env, ADMIN_TOKEN: "dev-admin-token" };
    const res = await fetchWith(short, P("sec-short-token"), { headers: { authorization: "Bearer dev-admin-token" } });
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const detail = (await res.json<{ detail: string }>()).detail;
    expect(detail).toContain("shorter than 32 characters");
    expect(detail).toContain("wrangler secret put ADMIN_TOKEN");
    const created = await fetchWith(short, P("sec-short-token"), { method: "PUT", headers: { authorization: "Bearer dev-admin-token", "content-type": "application/json" }, body: JSON.stringify({ environments: ["production"] }) });
    expect(created.status).toBe(503);
    expect(await env.FLAGS_KV.get(projectKvKey("sec-short-token"))).toBeNull();
    // Anyone else just gets the ordinary 401: the weakness is not advertised.
    const other = await fetchWith(short, P("sec-short-token"), { headers: { authorization: "Bearer something-else" } });
    expect(other.status).toBe(401);
  });
});
