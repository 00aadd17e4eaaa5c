/**
 * The console's client of the admin API. Pages are rendered from the same `/admin/v1` routes the
 * CLI uses, called in-process through the Worker's own `fetch` with the browser's session cookie
 * and `Origin` forwarded, so authentication, the key re-check, the Origin check, validation and
 * auditing all happen exactly as for any other caller.
 *
 * @example
 * const api = adminClient(c, fetchWorker);
 * const flags = await api.get(`/projects/default/environments/production/flags`, FlagListSchema);
 */
import type { ExecutionContext } from "hono";
import type * as z from "zod";

/** The Worker's own fetch handler (`app.fetch`), injected to keep the import graph acyclic. */
export type WorkerFetch = (request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response>;

// The response shapes live with the other contracts; the console's pages import them from here too.
export * from "../../contracts/admin-responses";
import { ProblemSchema, type ApiProblem } from "../../contracts/admin-responses";

export type ApiResult<T> = { ok: true; status: number; body: T; etag: string | null } | { ok: false; status: number; problem: ApiProblem };

export interface AdminClient {
  get<S extends z.ZodType>(path: string, schema: S): Promise<ApiResult<z.output<S>>>;
  send<S extends z.ZodType>(
    method: "POST" | "PUT" | "PATCH" | "DELETE",
    path: string,
    body: unknown,
    schema: S,
    headers?: Record<string, string>,
  ): Promise<ApiResult<z.output<S>>>;
}

/** What the client needs of a Hono context: the incoming request, the bindings and the ctx. */
export interface RequestScope {
  req: { url: string; raw: Request };
  env: Env;
  executionCtx: ExecutionContext;
}

/**
 * A client acting with the request's own credentials (session cookie and Origin), or with
 * `bearer` when given (sign-in checks the submitted credential this way).
 */
export function adminClient(c: RequestScope, fetchWorker: WorkerFetch, bearer?: string): AdminClient {
  const base = new URL(c.req.url).origin;
  const forwarded: Record<string, string> = {};
  if (bearer !== undefined) forwarded.authorization = `Bearer ${bearer}`;
  else {
    const cookie = c.req.raw.headers.get("cookie");
    if (cookie) forwarded.cookie = cookie;
  }
  const origin = c.req.raw.headers.get("origin");
  if (origin) forwarded.origin = origin;
  // Behind Cloudflare Access, the person's identity token (`admin/access.ts`).
  const access = c.req.raw.headers.get("cf-access-jwt-assertion");
  if (access && bearer === undefined) forwarded["cf-access-jwt-assertion"] = access;

  async function call<S extends z.ZodType>(
    method: string,
    path: string,
    body: unknown,
    schema: S,
    headers: Record<string, string> = {},
  ): Promise<ApiResult<z.output<S>>> {
    const init: RequestInit = { method, headers: { ...forwarded, ...headers } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const response = await fetchWorker(new Request(`${base}/admin/v1${path}`, init), c.env, c.executionCtx);
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!response.ok) {
      const problem = ProblemSchema.safeParse(json);
      return {
        ok: false,
        status: response.status,
        problem: problem.success ? problem.data : { status: response.status, detail: `the admin API answered ${response.status}` },
      };
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      return {
        ok: false,
        status: 502,
        problem: { status: 502, detail: `the admin API answered ${method} ${path} with an unexpected body` },
      };
    }
    return { ok: true, status: response.status, body: parsed.data, etag: response.headers.get("etag") };
  }

  return {
    get: (path, schema) => call("GET", path, undefined, schema),
    send: (method, path, body, schema, headers) => call(method, path, body, schema, headers),
  };
}

/** Path segment encoding for project, environment and flag names. */
export const seg = (value: string) => encodeURIComponent(value);
