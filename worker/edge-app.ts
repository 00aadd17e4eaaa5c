/**
 * The edge's routes, shared by both Workers: CORS for browsers on the OFREP routes, `/ofrep/v1`,
 * `/sync/v1`, `/migration/v1`, `/telemetry/v1`, `/edge/v1` and `/health`, and the OFREP hot path
 * that answers the two evaluation POSTs without the router. The request-path Worker
 * (`worker/edge.ts`) is these plus a forward of everything else to the admin Worker; the full
 * Worker (`worker/app.ts`) is these plus the admin API and the console. Nothing here imports the
 * admin API, so the request-path bundle carries none of it.
 */
import type { Hono } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { ofrepRefusal } from "../contracts/ofrep-wire";
import { answerEvaluation, evaluationRoute, ofrep, requestPath, STALE_HEADER, VERSION_HEADER, withHeaders } from "./ofrep";
import { logRequest } from "./request-log";
import { migration } from "./migration";
import { freshness } from "./freshness";
import { sync } from "./sync";
import { usageIngest } from "./usage-ingest";
import { track } from "./track";

/** CORS of the OFREP routes: any origin (keys are per app, client keys public), no credentials. */
const OFREP_CORS = {
  origin: "*",
  allowMethods: ["POST", "GET", "OPTIONS"],
  allowHeaders: ["Authorization", "X-API-Key", "Content-Type", "If-None-Match"],
  exposeHeaders: ["ETag", "Retry-After", VERSION_HEADER, STALE_HEADER],
  maxAge: 86_400,
};
/** What `cors` above sets on the answer to a request other than a preflight. */
const OFREP_CORS_HEADERS: readonly [string, string][] = [
  ["Access-Control-Allow-Origin", OFREP_CORS.origin],
  ["Access-Control-Expose-Headers", OFREP_CORS.exposeHeaders.join(",")],
];

/** The bindings of either Worker's app (their variables differ; the edge routes read none). */
type WorkerEnv = { Bindings: Env };

/**
 * Adds the edge's middleware and routes to `app`, in the order the app answers them.
 *
 * @example
 * const app = new Hono<{ Bindings: Env }>();
 * mountEdge(app);
 */
export function mountEdge<E extends WorkerEnv>(app: Hono<E>): void {
  app.use("/ofrep/*", cors(OFREP_CORS));
  app.get("/health", (c) => c.text("ok"));
  app.route("/ofrep/v1", ofrep);
  app.route("/ofrep/v1", track);
  app.route("/sync/v1", sync);
  app.route("/migration/v1", migration);
  app.route("/telemetry/v1", usageIngest);
  app.route("/edge/v1", freshness);
}

/** The edge's answer to a path nobody serves: an OFREP-shaped 404. */
export function edgeNotFound(request: Request): Response {
  const { pathname } = new URL(request.url);
  return ofrepRefusal({ code: "not-found", detail: `no route ${request.method} ${pathname}` }, "other");
}

/** The edge's answer to a bug: logged, and a generic OFREP-shaped 500 (an `HTTPException` answers itself). */
export function edgeError(error: unknown, request: Request): Response {
  if (error instanceof HTTPException) return error.getResponse();
  logRequest("error", "unhandled-error", request, { error });
  return unexpected();
}

function unexpected(): Response {
  return ofrepRefusal({ code: "internal", detail: "an unexpected error occurred while evaluating flags" }, "other");
}

/**
 * A Worker's `fetch` over `app`: the OFREP evaluation POSTs answered directly (the router's
 * middleware chain and placeholder responses cost more than the evaluation), with the same key
 * check, CORS headers and error envelope; everything else by `app`.
 *
 * @example
 * export default { fetch: hotPath(app) } satisfies ExportedHandler<Env>;
 */
export function hotPath<E extends WorkerEnv>(
  app: Hono<E>,
): (request: Request, env: E["Bindings"], ctx: ExecutionContext) => Promise<Response> {
  return async (request, env, ctx) => {
    if (request.method !== "POST") return app.fetch(request, env, ctx);
    const path = requestPath(request.url);
    const route = evaluationRoute(path.pathname);
    if (!route) return app.fetch(request, env, ctx);
    try {
      return await answerEvaluation(request, path, route, env, (p) => ctx.waitUntil(p), OFREP_CORS_HEADERS);
    } catch (error) {
      logRequest("error", "unhandled-error", request, { error });
      return withHeaders(unexpected(), OFREP_CORS_HEADERS);
    }
  };
}
