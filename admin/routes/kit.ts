/**
 * What every admin route file shares: the route declaration (`adminRoute`, one object that both
 * registers the handler and describes the operation in the OpenAPI document), reading bodies and
 * queries with the declared schemas, If-Match, the audit meta, FlagStore calls under the admin
 * deadline (`call`) and their results → responses, and the versions a write committed
 * (`noteWritten`, read-your-writes via `contracts/written.ts`).
 *
 * @example
 * const read = adminRoute({ method: "get", path: `${P}/segments/{name}`, summary: "Read a segment", response: SegmentSchema });
 * defineRoute(app, read, async (c) => respond(c, await call(c, (s) => s.segments().get(param(c, "name")))));
 */
import { createRoute, OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import * as z from "zod";
import type { Context, Env as HonoEnv } from "hono";
import { HTTPException } from "hono/http-exception";
import { ProblemSchema } from "../../contracts/admin-responses";
import type { Result } from "../../contracts/result";
import { refusal, roleFor, type Permission } from "../../contracts/roles";
import type { WrittenVariables } from "../../contracts/written";
import { DEADLINE_MS, DeadlineExceeded, withDeadline } from "../../lib/deadline";
import { log } from "../../lib/log";
import type { Actor } from "../actor";
import { isJsonContentType, readJson } from "../json-body";
import { problem, storeProblem } from "../problem";
import { FlagKeySchema, toProblems } from "../schemas";

export type AdminEnv = { Bindings: Env; Variables: { actor: Actor; project: string } & WrittenVariables };
export type AdminContext = Context<AdminEnv>;

/** A sub-app of the admin API: its routes carry their OpenAPI declarations. */
export function adminApp(): OpenAPIHono<AdminEnv> {
  return new OpenAPIHono<AdminEnv>();
}

/** Path prefixes, in OpenAPI syntax (`{name}`). */
export const P = "/projects/{project}";
export const E = `${P}/environments/{env}`;
export const F = `${E}/flags/{flag}`;

type Method = "get" | "post" | "put" | "patch" | "delete";

interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodObject | undefined> {
  method: Method;
  /** OpenAPI path syntax (`{name}`); every `{name}` becomes a string path parameter. */
  path: string;
  summary: string;
  /** The JSON request body; `readBody` validates with it. */
  body?: B;
  /** Query parameters; `readQuery` validates with it. */
  query?: Q;
  status?: 200 | 201 | 204;
  /** The success body; every operation but a 204 names one. */
  response?: z.ZodType;
  ifMatch?: "optional" | "required";
  /** The success answer carries the resource's version as its `ETag` (what If-Match sends back). */
  etag?: boolean;
  /** Needs no admin credential (the document itself, trigger URLs). */
  public?: boolean;
  /**
   * What the caller's role must allow (`contracts/roles.ts`); the environment is the `{env}` path
   * parameter, none for a project-wide route. Default: `view` for GET, `edit` for anything else.
   */
  permission?: Permission;
}

/** One admin operation: its route config (for the document) and the schemas the handler reads with. */
export interface AdminRoute<
  B extends z.ZodType | undefined = z.ZodType | undefined,
  Q extends z.ZodObject | undefined = z.ZodObject | undefined,
> {
  config: RouteConfig;
  body: B;
  query: Q;
  /** Null for a public route (no credential, so no role). */
  permission: Permission | null;
}

const PATH_PARAMETER = /\{([A-Za-z]+)\}/g;

const problemResponse = (description: string) => ({ description, content: { "application/problem+json": { schema: ProblemSchema } } });

/**
 * Declares an admin operation with `createRoute`: path parameters, the If-Match and
 * X-Change-Reason headers, the request body and query, the success response and every problem
 * response it can answer.
 */
export function adminRoute<B extends z.ZodType | undefined = undefined, Q extends z.ZodObject | undefined = undefined>(
  spec: RouteSpec<B, Q>,
): AdminRoute<B, Q> {
  const params = Object.fromEntries([...spec.path.matchAll(PATH_PARAMETER)].map((m) => [m[1]!, z.string()]));
  const headers: Record<string, z.ZodType> = {};
  if (spec.ifMatch) {
    const header = z.string().meta({ description: 'The version you read, as its ETag ("12"); a stale one gets 412' });
    headers["If-Match"] = spec.ifMatch === "required" ? header : header.optional();
  }
  if (!spec.public) headers["X-Change-Reason"] = z.string().optional().meta({ description: "Why; kept in the audit log" });
  const status = spec.status ?? 200;
  const permission = spec.public ? null : (spec.permission ?? (spec.method === "get" ? "view" : "edit"));
  const config = createRoute({
    method: spec.method,
    path: spec.path,
    summary: spec.summary,
    operationId: `${spec.method}${spec.path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
    ...(spec.public ? { security: [] } : {}),
    ...(permission ? { "x-edgeflags-role": roleFor(permission) } : {}),
    request: {
      params: z.object(params),
      ...(Object.keys(headers).length ? { headers: z.object(headers) } : {}),
      ...(spec.query ? { query: spec.query } : {}),
      ...(spec.body ? { body: { required: true, content: { "application/json": { schema: spec.body } } } } : {}),
    },
    responses: {
      [status]: {
        description: spec.response ? "OK" : "Done",
        ...(spec.response ? { content: { "application/json": { schema: spec.response } } } : {}),
        ...(spec.etag
          ? {
              headers: {
                ETag: { description: 'The version, quoted ("12"): send it back as If-Match', schema: { type: "string" as const } },
              },
            }
          : {}),
      },
      400: problemResponse("Invalid request; nothing changed"),
      ...(spec.public
        ? {}
        : {
            401: problemResponse("No valid credential"),
            403: problemResponse("A client or server key, or a role that may not do this (the detail names the role needed)"),
          }),
      404: problemResponse("Not found"),
      409: problemResponse("Conflicts with the current state"),
      ...(spec.ifMatch ? { 412: problemResponse("Changed since you read it") } : {}),
      ...(spec.ifMatch === "required" ? { 428: problemResponse("If-Match is required") } : {}),
      ...(spec.body
        ? { 413: problemResponse("The body is larger than the admin API accepts"), 415: problemResponse("The body is not JSON") }
        : {}),
      429: problemResponse("Too many requests or failed sign-ins; wait for Retry-After"),
      503: problemResponse(
        spec.method === "get"
          ? "The flag store did not answer in time; nothing changed, try again after Retry-After"
          : "The flag store did not confirm the change in time; it may still have been applied: re-read (or check the audit log) before retrying after Retry-After",
      ),
    },
  });
  return { config, body: spec.body as B, query: spec.query as Q, permission };
}

/**
 * Serves `route` on `app` and describes it in the app's OpenAPI registry. Bodies and queries are
 * read by the handler (`readBody`, `readQuery`), not by a validator in front of it: the admin API
 * accepts a body without a content type, refuses hostile JSON (`../json-body.ts`) and checks
 * If-Match before the body, with its own problem details.
 *
 * The one place a role is checked: a route that needs a credential runs only when the actor's
 * role allows its `permission` in the `{env}` of its path; otherwise 403 naming the role needed,
 * before anything is read or changed.
 */
export function defineRoute<E extends HonoEnv & { Variables: { actor?: Actor } }>(
  app: OpenAPIHono<E>,
  route: AdminRoute,
  handler: (c: Context<E>) => Promise<Response> | Response,
): void {
  app.openAPIRegistry.registerPath(route.config);
  const { permission } = route;
  const guarded =
    permission === null
      ? handler
      : (c: Context<E>) => {
          const actor: Actor | undefined = c.var.actor;
          // The authentication middleware sets the actor on every credentialed path; fail closed if not.
          if (!actor) return problem("unauthorized", "send the admin token or an admin key as 'Authorization: Bearer <token>'");
          const refused = refusal(actor, permission, c.req.param("env") ?? null, actor.name);
          return refused ? problem("forbidden", refused) : handler(c);
        };
  app.on(route.config.method.toUpperCase(), route.config.path.replace(PATH_PARAMETER, ":$1"), guarded);
}

/** The actor making the request (set by authentication before any credentialed route runs). */
export function actorOf(c: AdminContext): Actor {
  return c.get("actor");
}

/** A path parameter of the matched route. */
export function param(c: AdminContext, name: string): string {
  return c.req.param(name) ?? "";
}

/** Records a version this request committed, for the edge to serve at once (`contracts/written.ts`). */
export function noteWritten(c: AdminContext, project: string, environment: string, version: number): void {
  c.set("written", [...(c.get("written") ?? []), { project, environment, version }]);
}

/** After a project-wide change (a segment), every environment moved on: remember their versions. */
export async function noteAllVersions(c: AdminContext): Promise<void> {
  const info = await call(c, (s) => s.project().get());
  if (info.ok) for (const env of info.value.environments) noteWritten(c, info.value.project, env.name, env.version);
}

/** The project's FlagStore stub, as `call` hands it to a route. */
export type StoreStub = ReturnType<Env["FLAG_STORE"]["get"]>;

/** Retry-After of the 503 a late store call answers, in seconds. */
export const STORE_RETRY_AFTER_S = 5;

let storeDeadlineMs: number = DEADLINE_MS.adminStoreCall;

/**
 * For tests only: shortens the admin store deadline so a test can let a hanging call expire
 * without waiting out the production deadline; `null` restores `DEADLINE_MS.adminStoreCall`.
 */
export function setStoreDeadlineForTests(ms: number | null): void {
  storeDeadlineMs = ms ?? DEADLINE_MS.adminStoreCall;
}

/**
 * The one way an admin route asks the project's FlagStore: `ask` runs on the stub (one
 * pipelined round trip, `s.ramps().start(…)`) under the admin deadline, as `callObject` does.
 *
 * @example
 * defineRoute(ramps, pause, async (c) => writtenEverywhere(c, await call(c, (s) => s.ramps().pause(param(c, "env"), param(c, "flag"), meta(c, null)))));
 */
// `P`, not `Promise<T>`: an RPC method's result type is a union of promises (one per `Result` arm).
export function call<P extends PromiseLike<unknown>>(c: AdminContext, ask: (store: StoreStub) => P): Promise<Awaited<P>> {
  const project = c.get("project");
  return callObject(c, `the flag store of project "${project}"`, () => ask(c.env.FLAG_STORE.get(c.env.FLAG_STORE.idFromName(project))));
}

/**
 * An admin route's call to another object (`what` names it for the log and the person: `the flag
 * store of project "p"`) under the admin deadline. A call that does not settle in time, or that
 * fails (the object reset, overloaded or threw), answers 503 problem+json with Retry-After. For a
 * GET, nothing changed and it may simply be retried; for a write, the object may still have
 * applied the change after the deadline (an RPC call cannot be cancelled), so the detail says to
 * re-read before retrying. The 503 leaves as an `HTTPException`, which answers itself in the app's
 * error handler, so a route reads as its happy path and cannot forget the case.
 */
export async function callObject<P extends PromiseLike<unknown>>(c: AdminContext, what: string, run: () => P): Promise<Awaited<P>> {
  const project = c.get("project");
  const ms = storeDeadlineMs;
  try {
    return (await withDeadline(Promise.resolve(run()), ms, what)) as Awaited<P>;
  } catch (error) {
    const write = c.req.method !== "GET" && c.req.method !== "HEAD";
    const fields = { project, target: what, method: c.req.method, path: c.req.path, write };
    const reread = `re-read what you changed (or the audit log, GET /admin/v1/projects/${project}/audit) before retrying, after ${STORE_RETRY_AFTER_S} s`;
    let detail: string;
    if (!(error instanceof DeadlineExceeded)) {
      // The call itself failed (the object was reset or overloaded, or threw): the platform's
      // error is logged, the caller gets the same kind of answer as for a late one, never a 500.
      log("error", "admin-call-failed", { ...fields, error: String(error) });
      detail = write
        ? `${what} failed while handling this change; it may or may not have been applied: ${reread}`
        : `${what} failed to answer; nothing was changed: retry after ${STORE_RETRY_AFTER_S} s`;
    } else {
      log("warn", "admin-call-late", { ...fields, deadlineMs: ms });
      detail = write
        ? `${what} did not confirm this change within ${ms} ms; it may still have been applied: ${reread}`
        : `${what} did not answer within ${ms} ms; nothing was changed: retry after ${STORE_RETRY_AFTER_S} s`;
    }
    throw new HTTPException(503, { res: problem("unavailable", detail, { headers: { "retry-after": String(STORE_RETRY_AFTER_S) } }) });
  }
}

/** The longest reason a change may give, in the body (`reason`) or the `X-Change-Reason` header. */
export const MAX_REASON_LENGTH = 1000;

/**
 * Refuses a request whose `X-Change-Reason` header is longer than a body's `reason` may be, before
 * anything is read or changed: the audit log keeps what it is given, so it is bounded the same way.
 */
export async function boundReason(c: AdminContext, next: () => Promise<void>): Promise<Response | undefined> {
  const header = c.req.header("x-change-reason")?.trim();
  if (header !== undefined && header.length > MAX_REASON_LENGTH) {
    const message = `at most ${MAX_REASON_LENGTH} characters (got ${header.length}); say why in a sentence and link to the details`;
    return problem("invalid", `X-Change-Reason: ${message}`, { errors: [{ path: "X-Change-Reason", message }] });
  }
  await next();
  return undefined;
}

/** Who and why, for the audit log: the body's reason, else the `X-Change-Reason` header. */
export function meta(c: AdminContext, bodyReason: string | null | undefined) {
  const header = c.req.header("x-change-reason")?.trim();
  return { actor: actorOf(c).name, reason: bodyReason?.trim() || header || null };
}

/** A FlagStore result as JSON, or its problem. */
export function respond<T>(c: AdminContext, result: Result<T>, status: 200 | 201 = 200): Response {
  if (!result.ok) return storeProblem(result.error);
  return c.json(result.value as object, status);
}

/** A store result after a project-wide write: every environment's version noted. */
export async function writtenEverywhere(c: AdminContext, result: Result<object>, status: 200 | 201 = 200): Promise<Response> {
  if (!result.ok) return storeProblem(result.error);
  await noteAllVersions(c);
  return c.json(result.value, status);
}

/** The `:flag` path parameter, checked with the engine's flag-key rule. */
export function flagKey(c: AdminContext): string | Response {
  const key = param(c, "flag");
  const parsed = FlagKeySchema.safeParse(key);
  if (!parsed.success) return problem("invalid", `"${key}" is not a valid flag key: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** `If-Match: "12"` (or `W/"12"`, or `12`) → 12; absent or `*` → null. */
export function readIfMatch(c: AdminContext): number | null | Response {
  const header = c.req.header("if-match")?.trim();
  if (!header || header === "*") return null;
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(header);
  if (!match) return problem("invalid", `If-Match must be the version you read, as its ETag (e.g. "12"); got ${header}`);
  return Number(match[1]);
}

/** The body as JSON (`empty` when there is none), or the problem to answer. */
export async function parseJson(c: AdminContext, empty?: unknown): Promise<unknown | Response> {
  const text = await c.req.text();
  if (text.trim() === "") {
    if (empty !== undefined) return empty;
    return problem("invalid", "the request body is empty; send a JSON document");
  }
  if (!isJsonContentType(c.req.header("content-type"))) {
    return problem(
      "unsupported_media_type",
      `send the body as JSON with 'content-type: application/json' (got '${c.req.header("content-type")?.slice(0, 100)}')`,
    );
  }
  const read = readJson(text);
  return read.ok ? read.value : problem("invalid", read.detail);
}

/** The body, parsed with the route's declared body schema, or the problem to answer. */
export async function readBody<S extends z.ZodType>(
  c: AdminContext,
  route: AdminRoute<S>,
  empty?: z.input<S>,
): Promise<z.output<S> | Response> {
  const json = await parseJson(c, empty);
  if (json instanceof Response) return json;
  const parsed = route.body.safeParse(json);
  if (!parsed.success) {
    const problems = toProblems(parsed.error);
    return problem("invalid", problems.map((p) => `${p.path}: ${p.message}`).join("; "), { errors: problems });
  }
  return parsed.data;
}

/** The query, parsed with the route's declared query schema, or a problem with `detail`. */
export function readQuery<Q extends z.ZodObject>(
  c: AdminContext,
  route: AdminRoute<z.ZodType | undefined, Q>,
  detail: string,
  input: unknown = c.req.query(),
): z.output<Q> | Response {
  const query = route.query.safeParse(input);
  if (!query.success) return problem("invalid", detail, { errors: toProblems(query.error) });
  return query.data;
}
