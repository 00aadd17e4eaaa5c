/**
 * Security guards of the admin side, inside workerd: signing keys that do not depend on the
 * admin token, refusal of weak secrets, the project registry in front of every FlagStore, the
 * failed-authentication throttle, webhook URL rules, and hostile admin bodies.
 */
import { createHmac } from "node:crypto";
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { openSession, sealSession } from "../admin/session";
import { AUTH_FAILURE_BUDGET } from "../lib/auth-throttle";
import { projectKvKey } from "../contracts/snapshot";
import { clientPrefix, isPublicAddress, parseIPv4, parseIPv6 } from "../lib/ip";
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
    const fromToken = createHmac("sha256", createHmac("sha256", ADMIN_TOKEN).update("edgeflags console session v1").digest())
      .update(payload!)
      .digest("base64url");
    expect(mac).not.toBe(fromToken);
    // … another admin token still opens it, another signing secret does not.
    expect(await openSession(value, { ...env, ADMIN_TOKEN: "a-completely-different-admin-token-0123" })).not.toBeNull();
    expect(await openSession(value, { ...env, SIGNING_SECRET: "another-signing-secret-of-enough-length-0123" })).toBeNull();
  });

  it("without a usable SIGNING_SECRET, sessions and streams answer 503 naming the fix, and evaluation works", async () => {
    const { key } = await setupProject("sec-no-secret");
    const weak = { ...env, SIGNING_SECRET: "too-short" };
    const signIn = await fetchWith(weak, "/console/sign-in", form({ project: "sec-no-secret", credential: ADMIN_TOKEN }));
    expect(signIn.status).toBe(503);
    expect(await signIn.text()).toContain("wrangler secret put SIGNING_SECRET");

    const cookie = (await sealSession(
      {
        project: null,
        home: "sec-no-secret",
        keyId: null,
        keyHash: null,
        issuedAt: Math.floor(Date.now() / 1000),
        expiresAt: Math.floor(Date.now() / 1000) + 60,
      },
      env,
    ))!;
    const withCookie = await fetchWith(weak, P("sec-no-secret"), { headers: { cookie: `__Host-edgeflags_session=${cookie}` } });
    expect(withCookie.status).toBe(503);
    expect(withCookie.headers.get("content-type")).toBe("application/problem+json");
    expect((await withCookie.json<{ detail: string }>()).detail).toContain("wrangler secret put SIGNING_SECRET");

    const bulk = await fetchWith(weak, "/ofrep/v1/evaluate/flags", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: "{}",
    });
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
    const created = await fetchWith(short, P("sec-short-token"), {
      method: "PUT",
      headers: { authorization: "Bearer dev-admin-token", "content-type": "application/json" },
      body: JSON.stringify({ environments: ["production"] }),
    });
    expect(created.status).toBe(503);
    expect(await env.FLAGS_KV.get(projectKvKey("sec-short-token"))).toBeNull();
    // Anyone else just gets the ordinary 401: the weakness is not advertised.
    const other = await fetchWith(short, P("sec-short-token"), { headers: { authorization: "Bearer something-else" } });
    expect(other.status).toBe(401);
  });
});

describe("unknown projects wake no FlagStore", () => {
  const bogusKey = `ef_admin_${"A".repeat(32)}`;

  it.each<{ id: string; path: string; init: RequestInit; status: number }>([
    { id: "trigger URL", path: "/admin/v1/hooks/projects/sec-nope-a/triggers/some-secret-token", init: { method: "POST" }, status: 404 },
    {
      id: "signed trigger",
      path: "/admin/v1/hooks/projects/sec-nope-b/triggers/trg_123/signed",
      init: { method: "POST", headers: { "edgeflags-signature": `t=1,v1=${"0".repeat(64)}` }, body: "{}" },
      status: 404,
    },
    {
      id: "key-shaped admin credential",
      path: `${P("sec-nope-c")}/environments/production/flags`,
      init: { headers: { authorization: `Bearer ${bogusKey}` } },
      status: 401,
    },
    { id: "console sign-in", path: "/console/sign-in", init: form({ project: "sec-nope-d", credential: bogusKey }), status: 401 },
  ])("$id for a made-up project: $status, no object", async ({ path, init, status }) => {
    const { bindings, uses } = countingStore();
    const res = await fetchWith(bindings, path, init);
    expect(res.status).toBe(status);
    expect(uses).toEqual([]);
  });

  it("a key session for a project that is not registered: 401, no object", async () => {
    const now = Math.floor(Date.now() / 1000);
    const sealed = (await sealSession(
      { project: "sec-nope-e", home: "sec-nope-e", keyId: "key_1", keyHash: "a".repeat(64), issuedAt: now, expiresAt: now + 600 },
      env,
    ))!;
    const { bindings, uses } = countingStore();
    const res = await fetchWith(bindings, P("sec-nope-e"), { headers: { cookie: `__Host-edgeflags_session=${sealed}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(uses).toEqual([]);
  });

  it("project creation registers the project in KV first, so its keys work at once", async () => {
    await setupProject("sec-registered");
    expect(await env.FLAGS_KV.get(projectKvKey("sec-registered"), "json")).toMatchObject({ project: "sec-registered" });
    const key = await adminKey("sec-registered");
    expect((await call("GET", P("sec-registered"), { token: key })).status).toBe(200);
  });

  it("a project whose registry entry cannot be written is not created: 503, and no object was touched", async () => {
    const failingKv = new Proxy(env.FLAGS_KV, {
      get(target, property) {
        if (property === "put") return () => Promise.reject(new Error("KV is down"));
        const value: unknown = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const { bindings, uses } = countingStore({ ...env, FLAGS_KV: failingKv });
    const res = await fetchWith(bindings, P("sec-kv-down"), {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ environments: ["production"] }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("retry-after")).toBeTruthy();
    expect(uses).toEqual([]);
    expect((await store("sec-kv-down").project().get()).ok).toBe(false);
  });
});

describe("failed authentication is throttled per address and project", () => {
  const bearer = (token: string, address?: string): Record<string, string> => ({
    authorization: `Bearer ${token}`,
    ...(address ? { "cf-connecting-ip": address } : {}),
  });

  it("1,000 wrong admin tokens: 429 with Retry-After once the budget is used, before the credential is checked; a right token from another address still passes", async () => {
    await setupProject("sec-throttle");
    const statuses: number[] = [];
    let last: Response | null = null;
    for (let i = 0; i < 1_000; i++) {
      last = await fetchWith(env, P("sec-throttle"), { headers: bearer(`wrong-token-${i}`, "203.0.113.7") });
      statuses.push(last.status);
    }
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(AUTH_FAILURE_BUDGET);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1_000 - AUTH_FAILURE_BUDGET);
    expect(new Set(statuses)).toEqual(new Set([401, 429]));
    expect(last!.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(last!.headers.get("content-type")).toBe("application/problem+json");
    // The blocked address is refused even with the right token: nothing is checked for it.
    expect((await fetchWith(env, P("sec-throttle"), { headers: bearer(ADMIN_TOKEN, "203.0.113.7") })).status).toBe(429);
    // Another address, with the right token, is not slowed (the project being under attack).
    expect((await fetchWith(env, P("sec-throttle"), { headers: bearer(ADMIN_TOKEN, "198.51.100.20") })).status).toBe(200);
    // A different /64 is a different client; the same /64 is the same one.
    expect((await fetchWith(env, P("sec-throttle"), { headers: bearer(ADMIN_TOKEN, "2001:db8:1:2::99") })).status).toBe(200);
  });

  it("an IPv6 client is throttled by its /64", async () => {
    await setupProject("sec-throttle-v6");
    for (let i = 0; i < AUTH_FAILURE_BUDGET; i++)
      await fetchWith(env, P("sec-throttle-v6"), { headers: bearer(`nope-${i}`, `2001:db8:aa:bb::${i.toString(16)}`) });
    expect((await fetchWith(env, P("sec-throttle-v6"), { headers: bearer(ADMIN_TOKEN, "2001:db8:aa:bb:ffff::1") })).status).toBe(429);
  });

  it("requests without a client address are throttled per project", async () => {
    await setupProject("sec-throttle-none");
    const statuses: number[] = [];
    for (let i = 0; i < AUTH_FAILURE_BUDGET + 5; i++)
      statuses.push((await call("GET", P("sec-throttle-none"), { token: `bad-${i}` })).status);
    expect(statuses.at(-1)).toBe(429);
    expect((await fetchWith(env, P("sec-throttle-none"), { headers: bearer(ADMIN_TOKEN, "198.51.100.21") })).status).toBe(200);
    // Another project's callers without an address are not affected.
    await setupProject("sec-throttle-other");
    expect((await call("GET", P("sec-throttle-other"))).status).toBe(200);
  });

  it("wrong console sign-ins: 429 after the budget, with Retry-After", async () => {
    await setupProject("sec-throttle-ui");
    let last: Response | null = null;
    for (let i = 0; i < AUTH_FAILURE_BUDGET + 5; i++) {
      last = await fetchWith(
        env,
        "/console/sign-in",
        form({ project: "sec-throttle-ui", credential: `guess-${i}` }, { "cf-connecting-ip": "203.0.113.8" }),
      );
    }
    expect(last!.status).toBe(429);
    expect(last!.headers.get("retry-after")).toMatch(/^\d+$/);
    const fine = await fetchWith(
      env,
      "/console/sign-in",
      form({ project: "sec-throttle-ui", credential: ADMIN_TOKEN }, { "cf-connecting-ip": "198.51.100.22" }),
    );
    expect(fine.status).toBe(303);
  });

  it("wrong trigger URLs and signatures: 429 after the budget", async () => {
    await setupProject("sec-throttle-hook");
    const statuses: number[] = [];
    for (let i = 0; i < AUTH_FAILURE_BUDGET + 5; i++) {
      const path =
        i % 2
          ? `/admin/v1/hooks/projects/sec-throttle-hook/triggers/guess-${i}`
          : `/admin/v1/hooks/projects/sec-throttle-hook/triggers/trg_${i}/signed`;
      statuses.push((await fetchWith(env, path, { method: "POST", headers: { "cf-connecting-ip": "203.0.113.9" }, body: "{}" })).status);
    }
    expect(statuses.slice(0, 3).every((s) => s === 404 || s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });
});

describe("webhook URLs reach only public https hosts", () => {
  const refused = [
    "http://hooks.example.com/x",
    "http://localhost:8080/hook",
    "https://localhost/hook",
    "https://api.localhost/hook",
    "https://127.0.0.1/hook",
    "https://127.1/hook",
    "https://2130706433/hook",
    "https://0x7f000001/hook",
    "https://0x7f.1/hook",
    "https://0.0.0.0/hook",
    "https://0/hook",
    "https://10.0.0.1/hook",
    "https://172.16.5.4/hook",
    "https://192.168.1.1/hook",
    "https://100.64.0.1/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hook",
    "https://[::]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:a9fe:a9fe]/hook",
    "https://[fd00::1]/hook",
    "https://[fe80::1]/hook",
    "https://[64:ff9b::a00:1]/hook",
    "https://metadata.google.internal/computeMetadata",
    "https://printer.local/hook",
    "https://intranet/hook",
    "https://user:pass@hooks.example.com/hook",
    "ftp://hooks.example.com/hook",
  ];

  beforeAll(() => setupProject("sec-hook-urls"));

  it.each(refused)("refuses %s with a 400 naming the url, creating nothing", async (url) => {
    const res = await call("POST", `${P("sec-hook-urls")}/webhooks`, { body: { url, events: ["ping"] } });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.errors).toEqual([expect.objectContaining({ path: "url" })]);
    expect((await call("GET", `${P("sec-hook-urls")}/webhooks`)).body).toEqual([]);
  });

  it("accepts public https URLs, and refuses a private one on update", async () => {
    await setupProject("sec-hook-ok");
    for (const url of ["https://hooks.example.com/edgeflags", "https://93.184.215.14/hook", "https://[2606:4700::1111]/hook"]) {
      expect((await call("POST", `${P("sec-hook-ok")}/webhooks`, { body: { url, events: ["ping"] } })).status).toBe(201);
    }
    const hook = (await call("GET", `${P("sec-hook-ok")}/webhooks`)).body[0];
    const patched = await call("PATCH", `${P("sec-hook-ok")}/webhooks/${hook.id}`, { body: { url: "https://10.1.2.3/" } });
    expect(patched.status).toBe(400);
    expect((await call("GET", `${P("sec-hook-ok")}/webhooks/${hook.id}`)).body.url).toBe(hook.url);
  });

  it('http to localhost only when ALLOW_HTTP_WEBHOOKS_TO_LOCALHOST is "true"', async () => {
    await setupProject("sec-hook-local");
    const create = (bindings: Env, url: string) =>
      fetchWith(bindings, `${P("sec-hook-local")}/webhooks`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ url, events: ["ping"] }),
      });
    expect((await create(env, "http://localhost:9000/hook")).status).toBe(400);
    // The var is typed as its configured literal ("false"): set the local-development value as wrangler dev would.
    const local: Env = { ...env };
    Reflect.set(local, "ALLOW_HTTP_WEBHOOKS_TO_LOCALHOST", "true");
    expect((await create(local, "http://localhost:9000/hook")).status).toBe(201);
    expect((await create(local, "http://127.0.0.1:9000/hook")).status).toBe(201);
    // The setting opens localhost only, never the rest of the private network.
    expect((await create(local, "http://10.0.0.1/hook")).status).toBe(400);
    expect((await create(local, "https://169.254.169.254/")).status).toBe(400);
  });
});

describe("hostile admin bodies: 4xx problem, nothing changed, never 5xx", () => {
  const project = "sec-hostile";
  const E = `${P(project)}/environments/production`;
  const ids = { key: ":id", hook: ":id", trigger: ":id" };

  beforeAll(async () => {
    const { keyId } = await setupProject(project);
    ids.key = keyId;
    ids.hook = (await call("POST", `${P(project)}/webhooks`, { body: { url: "https://hooks.example.com/x", events: ["ping"] } })).body.id;
    ids.trigger = (
      await call("POST", `${P(project)}/triggers`, {
        body: { name: "t", environment: "production", flag: "kill-switch", action: "disable" },
      })
    ).body.id;
    expect((await call("PUT", `${P(project)}/segments/beta`, { body: { members: ["a"] } })).status).toBe(200);
  });

  async function versions(): Promise<string> {
    const info = await call("GET", P(project));
    const audit = await call("GET", `${P(project)}/audit?limit=500`);
    return JSON.stringify([info.body.environments.map((e: { version: number }) => e.version), audit.body.entries.length]);
  }

  const routes: Array<[string, () => string, Record<string, string>?]> = [
    ["PUT", () => P(project)],
    ["PUT", () => `${E}/flagd`],
    ["POST", () => `${E}/flags`],
    ["PUT", () => `${E}/flags/kill-switch`, { "if-match": "*" }],
    ["POST", () => `${E}/flags/kill-switch/toggle`],
    ["POST", () => `${E}/evaluate`],
    ["POST", () => `${E}/keys`],
    ["POST", () => `${P(project)}/keys`],
    ["POST", () => `${P(project)}/keys/${ids.key}/rotate`],
    ["PUT", () => `${P(project)}/segments/beta`],
    ["POST", () => `${P(project)}/flags`],
    ["PATCH", () => `${P(project)}/flags/kill-switch`],
    ["POST", () => `${P(project)}/promote`],
    ["POST", () => `${P(project)}/webhooks`],
    ["PATCH", () => `${P(project)}/webhooks/${ids.hook}`],
    ["POST", () => `${P(project)}/triggers`],
    ["PATCH", () => `${P(project)}/triggers/${ids.trigger}`],
    ["POST", () => `${E}/flags/kill-switch/ramp`],
    ["POST", () => `${E}/flags/kill-switch/ramp/rollback`],
    ["POST", () => `${E}/flags/kill-switch/experiment`],
    ["PUT", () => `${E}/draft`],
  ];

  const deep = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
  const flag = (variants: string) => `{"state":"ENABLED","variants":${variants},"defaultVariant":"on"}`;
  const bodies: Array<[string, string, string?]> = [
    ["2,000 nested arrays", deep(2_000)],
    ["100,000 nested objects", `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`],
    [
      "deep nesting inside a flag",
      `{"flags":{"x":${flag(`{"on":${deep(3_000)}}`)}},"flagSet":{"flags":{}},"key":"x","targeting":${deep(3_000)}}`,
    ],
    [
      "__proto__ as a flag key",
      `{"flags":{"__proto__":${flag('{"on":true}')}},"key":"k","state":"ENABLED","variants":{"on":true},"__proto__":{"state":"DISABLED"}}`,
    ],
    [
      "constructor and prototype keys",
      `{"flags":{"constructor":${flag('{"on":true}')}},"variants":{"prototype":1,"on":true},"weights":{"constructor":1,"on":1}}`,
    ],
    ["not JSON", "{this is not json"],
    ["JSON sent as text/plain", "{}", "text/plain"],
    ["JSON sent as a form", '{"state":"DISABLED"}', "application/x-www-form-urlencoded"],
    ["a 2 MiB string", JSON.stringify("x".repeat(2 * 1024 * 1024))],
    ["a number out of range", "1e999999"],
  ];

  const cases = routes.flatMap(([method, path, headers]) =>
    bodies.map(([name, body, type]) => ({
      id: `${method} ${path().replace(P(project), "…")}: ${name}`,
      method,
      path,
      headers,
      body,
      type,
    })),
  );

  it.each(cases)("$id", async ({ method, path, headers, body, type }) => {
    const before = await versions();
    const res = await fetchWith(env, path(), {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": type ?? "application/json", ...headers },
      body,
    });
    expect(res.status, await res.clone().text()).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect((await res.json<{ detail: string }>()).detail.length).toBeGreaterThan(0);
    expect(await versions()).toBe(before);
  });

  it.each(routes.map(([method, path, headers]) => ({ id: `${method} ${path().replace(P(project), "…")}`, method, path, headers })))(
    "$id over the 8 MiB limit: 413 problem",
    async ({ method, path, headers }) => {
      const body = JSON.stringify({ description: "x".repeat(8 * 1024 * 1024) });
      const res = await fetchWith(env, path(), {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", ...headers },
        body,
      });
      expect(res.status).toBe(413);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    },
  );

  it("one limit fits a 100,000-member segment and a ~1 MB environment as a draft", async () => {
    const members = Array.from({ length: 100_000 }, (_, i) => `user-${String(i).padStart(10, "0")}`);
    const segment = await call("PUT", `${P(project)}/segments/everyone`, { body: { members } });
    expect(segment.status, JSON.stringify(segment.body).slice(0, 300)).toBe(200);
    const flags = Object.fromEntries(
      Array.from({ length: 2_000 }, (_, i) => [
        `flag-${i}`,
        { state: "ENABLED", variants: { on: `on-${"n".repeat(200)}`, off: `off-${"f".repeat(200)}` }, defaultVariant: "off" },
      ]),
    );
    const flagSet = { flags };
    expect(JSON.stringify(flagSet).length).toBeGreaterThan(900_000);
    const draft = await call("PUT", `${E}/draft`, { body: { flagSet, sampleRate: 0 } });
    expect(draft.status, JSON.stringify(draft.body).slice(0, 300)).toBe(200);
  });
});

describe("registry and key checks under faults: 503 with Retry-After, never 5xx from a throw", () => {
  /** `env.FLAGS_KV` whose `get` fails (throws, or never settles). */
  function brokenKv(mode: "throw" | "hang"): KVNamespace {
    return new Proxy(env.FLAGS_KV, {
      get(target, property) {
        if (property === "get") return () => (mode === "throw" ? Promise.reject(new Error("KV is down")) : new Promise(() => {}));
        const value: unknown = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  it.each(["throw", "hang"] as const)(
    "a registry read that fails (%s) answers 503 for a key credential and a trigger URL, waking nothing",
    async (mode) => {
      const { bindings, uses } = countingStore({ ...env, FLAGS_KV: brokenKv(mode) });
      const project = `sec-kv-${mode}`;
      const keyed = await fetchWith(bindings, P(project), { headers: { authorization: `Bearer ef_admin_${"B".repeat(32)}` } });
      expect(keyed.status).toBe(503);
      expect(keyed.headers.get("content-type")).toBe("application/problem+json");
      expect(keyed.headers.get("retry-after")).toMatch(/^\d+$/);
      const hook = await fetchWith(bindings, `/admin/v1/hooks/projects/${project}/triggers/whatever`, { method: "POST" });
      expect(hook.status).toBe(503);
      expect(uses).toEqual([]);
    },
  );

  it("a trigger whose FlagStore call fails answers 503 saying the outcome is unknown, not 500", async () => {
    await setupProject("sec-trigger-down");
    const failing = new Proxy(env.FLAG_STORE, {
      get(target, property) {
        if (property === "get")
          return () => ({
            triggers: () => ({
              fire: () => Promise.reject(new Error("object reset")),
              fireSigned: () => Promise.reject(new Error("object reset")),
            }),
          });
        const value: unknown = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    for (const path of ["triggers/some-token", "triggers/trg_1/signed"]) {
      const res = await fetchWith({ ...env, FLAG_STORE: failing }, `/admin/v1/hooks/projects/sec-trigger-down/${path}`, {
        method: "POST",
        body: "{}",
      });
      expect(res.status).toBe(503);
      expect((await res.json<{ detail: string }>()).detail).toContain("may or may not have fired");
    }
  });

  it("a FlagStore that fails the key check answers 503, not 500", async () => {
    await setupProject("sec-store-down");
    const key = await adminKey("sec-store-down");
    const failing = new Proxy(env.FLAG_STORE, {
      get(target, property) {
        if (property === "get") return () => ({ authenticate: () => Promise.reject(new Error("object reset")) });
        const value: unknown = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const res = await fetchWith({ ...env, FLAG_STORE: failing }, P("sec-store-down"), { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });
});

describe("address literals", () => {
  it.each([
    ["::1", [...new Array(15).fill(0), 1]],
    ["2001:db8::", [0x20, 0x01, 0x0d, 0xb8, ...new Array(12).fill(0)]],
    ["::ffff:10.0.0.1", [...new Array(10).fill(0), 0xff, 0xff, 10, 0, 0, 1]],
  ])("parses %s", (text, bytes) => {
    expect(parseIPv6(text)).toEqual(bytes);
  });

  it.each(["1::2::3", ":::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "::g", "::1.2.3", "1:2:3:4:5:6:7:8::"])(
    "refuses %s",
    (text) => {
      expect(parseIPv6(text)).toBeNull();
    },
  );

  it("tells public from non-public addresses", () => {
    expect(isPublicAddress(parseIPv4("93.184.215.14")!)).toBe(true);
    expect(isPublicAddress(parseIPv4("172.32.0.1")!)).toBe(true);
    expect(isPublicAddress(parseIPv4("172.31.255.255")!)).toBe(false);
    expect(isPublicAddress(parseIPv6("2606:4700::1111")!)).toBe(true);
    expect(isPublicAddress(parseIPv6("fc00::1")!)).toBe(false);
  });

  it("groups an IPv6 client by its /64 and keeps IPv4 whole", () => {
    expect(clientPrefix("2001:db8:aa:bb:1:2:3:4")).toBe(clientPrefix("2001:db8:aa:bb::9"));
    expect(clientPrefix("2001:db8:aa:bc::9")).not.toBe(clientPrefix("2001:db8:aa:bb::9"));
    expect(clientPrefix("203.0.113.7")).toBe("203.0.113.7");
  });
});
