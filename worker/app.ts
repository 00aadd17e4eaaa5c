/**
 * The Hono app: CORS for browsers on the OFREP routes, `/ofrep/v1`, `/admin/v1` and `/console`
 * mounted, one error handler. Known failures are answered where they happen; anything reaching
 * `onError` is a bug, logged and answered with a generic 500.
 *
 * `handle` is the Worker's entry: it answers the two OFREP evaluation POSTs, the hot path, without
 * the router (its middleware chain and placeholder responses cost more than the evaluation), with
 * the same key check, CORS headers and error envelope, and hands everything else to the app.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { admin } from "../admin/routes";
import { createConsole } from "../admin/ui/index";
import { problem } from "../admin/problem";
import { ofrepRefusal } from "../contracts/ofrep-wire";
import { answerEvaluation, evaluationRoute, ofrep, STALE_HEADER, VERSION_HEADER } from "./ofrep";
import { noteVersion } from "./snapshot-cache";
import { logRequest } from "./request-log";
import { migration } from "./migration";
import { freshness } from "./freshness";
import { sync } from "./sync";
import { usageIngest } from "./usage-ingest";
import { track } from "./track";
import type { WrittenVariables } from "../contracts/written";

export const app = new Hono<{ Bindings: Env; Variables: WrittenVariables }>();

// An admin write's new versions are served at once by this isolate (read-your-writes).
app.use("/admin/*", async (c, next) => {
  await next();
  for (const { project, environment, version } of c.get("written") ?? []) noteVersion(project, environment, version);
});

/** CORS of the OFREP routes: any origin (keys are per app, client keys public), no credentials. */
const OFREP_CORS = {
  origin: "*",
  allowMethods: ["POST", "GET", "OPTIONS"],
  allowHeaders: ["Authorization", "X-API-Key", "Content-Type", "If-None-Match"],
  exposeHeaders: ["ETag", "Retry-After", VERSION_HEADER, STALE_HEADER],
  maxAge: 86_400,
};
app.use("/ofrep/*", cors(OFREP_CORS));
/** What `cors` above sets on the answer to a request other than a preflight. */
const OFREP_CORS_HEADERS: readonly [string, string][] = [
  ["Access-Control-Allow-Origin", OFREP_CORS.origin],
  ["Access-Control-Expose-Headers", OFREP_CORS.exposeHeaders.join(",")],
];

app.get("/", (c) =>
  c.json({
    service: "edgeflags",
    ofrep: "/ofrep/v1/evaluate/flags",
    admin: "/admin/v1",
    migration: "/migration/v1/status",
    console: "/console",
  }),
);
app.get("/health", (c) => c.text("ok"));

app.route("/ofrep/v1", ofrep);
app.route("/ofrep/v1", track);
app.route("/sync/v1", sync);
app.route("/migration/v1", migration);
app.route("/telemetry/v1", usageIngest);
app.route("/edge/v1", freshness);
app.route("/admin/v1", admin);
// The operator console: server-rendered pages that call the routes above in-process; it sets its
// own security headers (strict CSP, no framing) on every response.
app.route(
  "/console",
  createConsole((request, env, ctx) => app.fetch(request, env, ctx)),
);

app.notFound((c) => {
  if (c.req.path.startsWith("/admin/")) return problem("not_found", `no admin route ${c.req.method} ${c.req.path}`);
  return ofrepRefusal({ code: "not-found", detail: `no route ${c.req.method} ${c.req.path}` }, "other");
});

app.onError((error, c) => {
  if (error instanceof HTTPException) return error.getResponse();
  logRequest("error", "unhandled-error", c.req.raw, { error });
  if (c.req.path.startsWith("/admin/")) return problem("internal", "an unexpected error occurred; it has been logged");
  return unexpected();
});

function unexpected(): Response {
  return ofrepRefusal({ code: "internal", detail: "an unexpected error occurred while evaluating flags" }, "other");
}

/**
 * The Worker's `fetch`: OFREP evaluation POSTs answered directly, everything else by `app`.
 *
 * @example
 * export default { fetch: handle } satisfies ExportedHandler<Env>;
 */
export async function handle(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  if (request.method !== "POST") return app.fetch(request, env, ctx);
  const url = new URL(request.url);
  const route = evaluationRoute(url.pathname);
  if (!route) return app.fetch(request, env, ctx);
  let response: Response;
  try {
    response = await answerEvaluation(request, url, route, env, (p) => ctx.waitUntil(p));
  } catch (error) {
    logRequest("error", "unhandled-error", request, { error });
    response = unexpected();
  }
  for (const [name, value] of OFREP_CORS_HEADERS) response.headers.set(name, value);
  return response;
}
