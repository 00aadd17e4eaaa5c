/**
 * The full Worker's Hono app: the edge's routes (`worker/edge-app.ts`), `/admin/v1` and `/console`
 * mounted, one error handler. Known failures are answered where they happen; anything reaching
 * `onError` is a bug, logged and answered with a generic 500.
 *
 * `handle` is the Worker's entry: the edge's hot path for the two OFREP evaluation POSTs, and the
 * app for everything else.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { admin } from "../admin/routes";
import { createConsole } from "../admin/ui/index";
import { problem } from "../admin/problem";
import { WRITTEN_HEADER, formatWritten, parseWritten, type WrittenVariables, type WrittenVersion } from "../contracts/written";
import { edgeError, edgeNotFound, hotPath, mountEdge } from "./edge-app";
import { noteVersion } from "./snapshot-cache";
import { logRequest } from "./request-log";

export const app = new Hono<{ Bindings: Env; Variables: WrittenVariables }>();

// An admin write's new versions are served at once by this isolate (read-your-writes), and named
// on the answer, so the request-path Worker that forwarded it serves them at once too.
app.use("/admin/*", async (c, next) => {
  await next();
  const written = c.get("written") ?? [];
  for (const { project, environment, version } of written) noteVersion(project, environment, version);
  if (written.length > 0) c.res.headers.set(WRITTEN_HEADER, formatWritten(written));
});

mountEdge(app);

app.get("/", (c) =>
  c.json({
    service: "edgeflags",
    ofrep: "/ofrep/v1/evaluate/flags",
    admin: "/admin/v1",
    migration: "/migration/v1/status",
    console: "/console",
  }),
);

/**
 * The versions the admin calls of a console request wrote, by that request's execution context
 * (the console passes its own to each in-process admin call).
 */
const consoleWritten = new WeakMap<object, WrittenVersion[]>();
// A console write is named on the console's answer too, for the request-path Worker that forwarded it.
app.use("/console/*", async (c, next) => {
  const written: WrittenVersion[] = [];
  consoleWritten.set(c.executionCtx, written);
  await next();
  if (written.length === 0) return;
  const response = new Response(c.res.body, c.res);
  response.headers.set(WRITTEN_HEADER, formatWritten(written));
  c.res = response;
});

app.route("/admin/v1", admin);
// The operator console: server-rendered pages that call the routes above in-process; it sets its
// own security headers (strict CSP, no framing) on every response.
app.route(
  "/console",
  createConsole(async (request, env, ctx) => {
    const response = await app.fetch(request, env, ctx);
    consoleWritten.get(ctx)?.push(...parseWritten(response.headers.get(WRITTEN_HEADER)));
    return response;
  }),
);

app.notFound((c) => {
  if (c.req.path.startsWith("/admin/")) return problem("not_found", `no admin route ${c.req.method} ${c.req.path}`);
  return edgeNotFound(c.req.raw);
});

app.onError((error, c) => {
  if (error instanceof HTTPException || !c.req.path.startsWith("/admin/")) return edgeError(error, c.req.raw);
  logRequest("error", "unhandled-error", c.req.raw, { error });
  return problem("internal", "an unexpected error occurred; it has been logged");
});

/**
 * The Worker's `fetch`: OFREP evaluation POSTs answered directly, everything else by `app`.
 *
 * @example
 * export default { fetch: handle } satisfies ExportedHandler<Env>;
 */
export const handle = hotPath(app);
