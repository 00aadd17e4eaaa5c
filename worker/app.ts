/**
 * The Hono app: CORS for browsers on the OFREP routes, `/ofrep/v1`, `/admin/v1` and `/console`
 * mounted, one error handler. Known failures are answered where they happen; anything reaching
 * `onError` is a bug, logged and answered with a generic 500.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { admin } from "../admin/routes";
import { createConsole } from "../admin/ui/index";
import { problem } from "../admin/problem";
import { ofrepRefusal } from "../contracts/ofrep-wire";
import { ofrep, STALE_HEADER, VERSION_HEADER } from "./ofrep";
import { noteVersion } from "./snapshot-cache";
import { logRequest } from "./request-log";
import { migration } from "./migration";
import { freshness } from "./freshness";
import { sync } from "./sync";
import { usageIngest } from "./usage-ingest";
import type { WrittenVariables } from "../contracts/written";

export const app = new Hono<{ Bindings: Env; Variables: WrittenVariables }>();

// An admin write's new versions are served at once by this isolate (read-your-writes).
app.use("/admin/*", async (c, next) => {
  await next();
  for (const { project, environment, version } of c.get("written") ?? []) noteVersion(project, environment, version);
});

app.use(
  "/ofrep/*",
  cors({
    origin: "*",
    allowMethods: ["POST", "GET", "OPTIONS"],
    allowHeaders: ["Authorization", "X-API-Key", "Content-Type", "If-None-Match"],
    exposeHeaders: ["ETag", "Retry-After", VERSION_HEADER, STALE_HEADER],
    maxAge: 86_400,
  }),
);

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
  return ofrepRefusal({ code: "internal", detail: "an unexpected error occurred while evaluating flags" }, "other");
});
