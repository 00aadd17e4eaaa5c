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
import * as z from "zod";

/** The Worker's own fetch handler (`app.fetch`), injected to keep the import graph acyclic. */
export type WorkerFetch = (request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response>;

export const ProblemSchema = z.object({
  status: z.number(),
  title: z.string().optional(),
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  currentVersion: z.number().optional(),
});
export type ApiProblem = z.infer<typeof ProblemSchema>;

const Json: z.ZodType<unknown> = z.json();
const Metadata = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

export const ProjectSchema = z.object({
  project: z.string(),
  environments: z.array(z.object({ name: z.string(), version: z.number(), updatedAt: z.string(), flagCount: z.number() })),
});
export type ProjectView = z.infer<typeof ProjectSchema>;

export const FlagSchema = z.object({
  key: z.string(),
  environment: z.string(),
  version: z.number(),
  updatedAt: z.string(),
  updatedBy: z.string(),
  state: z.enum(["ENABLED", "DISABLED"]),
  variants: z.record(z.string(), Json),
  defaultVariant: z.string().nullish(),
  targeting: Json.optional(),
  metadata: Metadata.optional(),
  /** On a write: false when it changed nothing (no new version, nothing audited or announced). */
  changed: z.boolean().optional(),
});
export type FlagView = z.infer<typeof FlagSchema>;

export const FlagListSchema = z.object({ version: z.number(), flags: z.array(FlagSchema) });

export const KeySchema = z.object({
  id: z.string(),
  scope: z.enum(["client", "server", "admin"]),
  environment: z.string().nullable(),
  name: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  /** Set once the key was rotated: it stops working then. */
  expiresAt: z.string().nullish(),
  replacedBy: z.string().nullish(),
});
export type KeyView = z.infer<typeof KeySchema>;
export const KeyListSchema = z.array(KeySchema);
export const CreatedKeySchema = KeySchema.extend({ key: z.string() });

export const AuditEntrySchema = z.object({
  seq: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  environment: z.string().nullable(),
  target: z.string(),
  version: z.number().nullable(),
  before: Json,
  after: Json,
  reason: z.string().nullable(),
});
export type AuditEntryView = z.infer<typeof AuditEntrySchema>;
export const AuditPageSchema = z.object({ entries: z.array(AuditEntrySchema), nextCursor: z.number().nullable() });
export const AuditVerifySchema = z.object({
  ok: z.boolean(),
  entries: z.number(),
  brokenAt: z.number().optional(),
  detail: z.string().optional(),
});

export const EvaluationSchema = z.object({
  version: z.number(),
  flags: z.array(z.object({
    key: z.string(),
    value: Json.optional(),
    variant: z.string().optional(),
    reason: z.string().optional(),
    errorCode: z.string().optional(),
    errorDetails: z.string().optional(),
  })),
});

export type ApiResult<T> = { ok: true; status: number; body: T; etag: string | null } | { ok: false; status: number; problem: ApiProblem };

export interface AdminClient {
  get<S extends z.ZodType>(path: string, schema: S): Promise<ApiResult<z.output<S>>>;
  send<S extends z.ZodType>(method: "POST" | "PUT" | "PATCH" | "DELETE", path: string, body: unknown, schema: S, headers?: Record<string, string>): Promise<ApiResult<z.output<S>>>;
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

  async function call<S extends z.ZodType>(method: string, path: string, body: unknown, schema: S, headers: Record<string, string> = {}): Promise<ApiResult<z.output<S>>> {
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
      return { ok: false, status: 502, problem: { status: 502, detail: `the admin API answered ${method} ${path} with an unexpected body` } };
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
