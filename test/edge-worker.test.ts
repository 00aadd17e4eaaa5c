/**
 * The request-path Worker (`worker/edge.ts`, deployed as `edgeflags-edge`) in workerd, against the
 * real KV and Durable Objects: it answers OFREP itself, forwards every other path to the full
 * Worker through `ADMIN` (here the test's own Worker, or a stand-in that fails), and serves at once
 * the versions a forwarded write names.
 */
import { env, exports } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseWritten, WRITTEN_HEADER } from "../contracts/written";
import edge, { createEdgeWorker, type EdgeEnv } from "../worker/edge";
import { edgeState, environmentKey } from "../worker/edge-state";
import { consoleSignIn, ORIGIN } from "./console-helpers";
import { ADMIN_TOKEN, call, setupProject } from "./helpers";

const BASE = "http://edgeflags.test";

/** An `ADMIN` binding whose `fetch` is `answer`, counting its calls. */
function adminBinding(answer: (request: Request) => Promise<Response>): { binding: Fetcher; calls: Request[] } {
  const calls: Request[] = [];
  const binding: Fetcher = {
    fetch: (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      calls.push(request);
      return answer(request);
    },
    connect: () => {
      throw new Error("no sockets in this test");
    },
  };
  return { binding, calls };
}

/** The full Worker of this test run, as the `ADMIN` service binding reaches it. */
const fullWorker = () => adminBinding((request) => exports.default.fetch(request));

async function edgeFetch(
  admin: Fetcher,
  method: string,
  path: string,
  init: { body?: unknown; token?: string } = {},
  worker: { fetch: (request: Request, env: EdgeEnv, ctx: ExecutionContext) => Promise<Response> } = edge,
): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${init.token ?? ADMIN_TOKEN}` };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const request = new Request(`${BASE}${path}`, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const edgeEnv: EdgeEnv = { ...env, ADMIN: admin };
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, edgeEnv, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

describe("the request-path Worker", () => {
  it("answers OFREP evaluation from KV itself, never calling the admin Worker", async () => {
    const { key } = await setupProject("edge-worker-ofrep");
    const unreachable = adminBinding(() => Promise.reject(new Error("the admin Worker must not be called")));
    const bulk = await edgeFetch(unreachable.binding, "POST", "/ofrep/v1/evaluate/flags", {
      token: key,
      body: { context: { targetingKey: "u-1" } },
    });
    expect(bulk.status).toBe(200);
    expect(bulk.headers.get("access-control-allow-origin")).toBe("*");
    const body: { flags: { key: string }[] } = await bulk.json();
    expect(body.flags.map((flag) => flag.key)).toContain("kill-switch");
    const single = await edgeFetch(unreachable.binding, "POST", "/ofrep/v1/evaluate/flags/kill-switch", {
      token: key,
      body: { context: { targetingKey: "u-1" } },
    });
    expect(await single.json()).toMatchObject({ key: "kill-switch", value: true });
    expect((await edgeFetch(unreachable.binding, "GET", "/health")).status).toBe(200);
    expect(unreachable.calls).toEqual([]);
  });

  it("forwards the admin API, the console and / to the full Worker, answered as the full Worker answers them", async () => {
    await setupProject("edge-worker-forward");
    const admin = fullWorker();
    for (const path of ["/admin/v1/projects/edge-worker-forward", "/admin/v1/no-such-route", "/console", "/"]) {
      const forwarded = await edgeFetch(admin.binding, "GET", path);
      const direct = await exports.default.fetch(new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
      expect([path, forwarded.status, forwarded.headers.get("content-type")]).toEqual([
        path,
        direct.status,
        direct.headers.get("content-type"),
      ]);
    }
    expect(admin.calls.map((request) => new URL(request.url).pathname)).toEqual([
      "/admin/v1/projects/edge-worker-forward",
      "/admin/v1/no-such-route",
      "/console",
      "/",
    ]);
  });

  it("a forwarded admin write names the version it committed on its answer", async () => {
    await setupProject("edge-worker-written");
    const put = await edgeFetch(fullWorker().binding, "PUT", "/admin/v1/projects/edge-worker-written/environments/production/flagd", {
      body: { flags: { only: { state: "ENABLED", variants: { on: true }, defaultVariant: "on" } } },
    });
    expect(put.status).toBe(200);
    const { version }: { version: number } = await put.json();
    expect(put.headers.get(WRITTEN_HEADER)).toBe(`edge-worker-written/production=${version}`);
  });

  it("a forwarded console write names the version it committed on its answer", async () => {
    const { version } = await setupProject("edge-worker-console");
    const cookie = await consoleSignIn("edge-worker-console");
    const form = new URLSearchParams({
      env: "production",
      state: "DISABLED",
      reason: "incident",
      return: "/console/p/edge-worker-console/flags?env=production",
    });
    const request = new Request(`${ORIGIN}/console/p/edge-worker-console/flags/kill-switch/toggle`, {
      method: "POST",
      headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
      redirect: "manual",
    });
    const ctx = createExecutionContext();
    const response = await edge.fetch(request, { ...env, ADMIN: fullWorker().binding }, ctx);
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(303);
    const flag = await call("GET", "/admin/v1/projects/edge-worker-console/environments/production/flags/kill-switch");
    expect(flag.body.state).toBe("DISABLED");
    expect(response.headers.get(WRITTEN_HEADER)).toBe(`edge-worker-console/production=${version + 1}`);
    const page = await edgeFetch(fullWorker().binding, "GET", "/console");
    expect(page.headers.get(WRITTEN_HEADER)).toBeNull();
  });

  it("serves at least the versions a forwarded answer names as written (read-your-writes across the hop)", async () => {
    const admin = adminBinding(
      async () => new Response("{}", { headers: { [WRITTEN_HEADER]: "edge-worker-ryw/production=41,edge-worker-ryw/staging=7" } }),
    );
    await edgeFetch(admin.binding, "PUT", "/admin/v1/projects/edge-worker-ryw/environments/production/flagd", { body: {} });
    expect(edgeState.knownVersions.get(environmentKey("edge-worker-ryw", "production"))).toBe(41);
    expect(edgeState.knownVersions.get(environmentKey("edge-worker-ryw", "staging"))).toBe(7);
  });

  it.each([
    ["GET", ""],
    ["PUT", "a write may or may not have been committed: read it back before retrying"],
  ])("when the admin Worker cannot be reached, %s answers 503 problem+json with Retry-After", async (method, warning) => {
    const down = adminBinding(() => Promise.reject(new Error("connection reset")));
    const response = await edgeFetch(down.binding, method, "/admin/v1/projects/edge-worker-down", method === "PUT" ? { body: {} } : {});
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("retry-after")).toBe("5");
    const { detail }: { detail: string } = await response.json();
    expect(detail).toContain(`the admin API could not be reached (${method} /admin/v1/projects/edge-worker-down)`);
    if (warning) expect(detail).toContain(warning);
    else expect(detail).not.toContain("committed");
  });

  it.each([
    ["GET", ""],
    ["POST", "a write may or may not have been committed: read it back before retrying"],
  ])("when the admin Worker hangs, %s answers 503 problem+json with Retry-After at the forward's deadline", async (method, warning) => {
    const hung = adminBinding(() => new Promise<never>(() => {}));
    // The deadline shortened for the test; the deployed Worker's is DEADLINE_MS.adminForward.
    const shortened = createEdgeWorker({ adminForwardMs: 50 });
    const path = "/admin/v1/projects/edge-worker-hung/environments/production/flags/kill-switch/toggle";
    const response = await edgeFetch(hung.binding, method, path, method === "POST" ? { body: {} } : {}, shortened);
    expect(hung.calls.map((request) => new URL(request.url).pathname)).toEqual([path]);
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("retry-after")).toBe("5");
    const { detail }: { detail: string } = await response.json();
    expect(detail).toContain(`the admin API did not answer within 50 ms (${method} ${path})`);
    if (warning) expect(detail).toContain(warning);
    else expect(detail).not.toContain("committed");
  });
});

describe("parseWritten", () => {
  it.each([
    ["one pair", "shop/production=12", [{ project: "shop", environment: "production", version: 12 }]],
    ["encoded names", "a%2Fb/pro%3Dd=3", [{ project: "a/b", environment: "pro=d", version: 3 }]],
    ["absent", null, []],
    [
      "malformed pairs skipped, the valid kept",
      "x,/e=1,p/=1,p/e=,p/e=1e3,p/e=-1,%E0%A4%A/e=1,p/e=99999999999999999,p/e=2",
      [{ project: "p", environment: "e", version: 2 }],
    ],
  ])("%s", (_, value, expected) => {
    expect(parseWritten(value)).toEqual(expected);
  });
});
