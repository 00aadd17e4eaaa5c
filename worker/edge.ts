/**
 * The request-path Worker (`wrangler.edge.toml`, `edgeflags-edge`): the edge's routes
 * (`worker/edge-app.ts`) answered here, every other path (the admin API, the console, `/`)
 * forwarded to the full Worker through the `ADMIN` service binding, so one hostname serves both
 * and the bundle every evaluation loads carries none of the admin API. Its Durable Object bindings
 * name the classes the full Worker (`edgeflags`) exports.
 */
import { Hono } from "hono";
import { problem } from "../contracts/problem";
import { WRITTEN_HEADER, parseWritten } from "../contracts/written";
import { DEADLINE_MS, DeadlineExceeded, withDeadline } from "../lib/deadline";
import { edgeError, hotPath, mountEdge } from "./edge-app";
import { logRequest } from "./request-log";
import { noteVersion } from "./snapshot-cache";

/** The request-path Worker's bindings: the full Worker's (less ASSETS), and the full Worker itself. */
export interface EdgeEnv extends Env {
  /** The full Worker (`edgeflags`): the admin API and the console. */
  ADMIN: Fetcher;
}

/** How the request-path Worker is built; the deployed Worker takes the defaults. */
export interface EdgeWorkerOptions {
  /**
   * The forward's deadline in ms, at most `DEADLINE_MS.adminForward` (a longer one is cut to it):
   * tests shorten it to see a hanging admin Worker answered without waiting 30 s.
   */
  adminForwardMs?: number;
}

/**
 * The request-path Worker's fetch handler: the edge's routes, and every other path forwarded.
 *
 * @example
 * const edge = createEdgeWorker({ adminForwardMs: 50 }); // a test's hanging admin Worker answers at 50 ms
 */
export function createEdgeWorker(options: EdgeWorkerOptions = {}): ExportedHandler<EdgeEnv> & {
  fetch: (request: Request, env: EdgeEnv, ctx: ExecutionContext) => Promise<Response>;
} {
  const deadlineMs = Math.min(options.adminForwardMs ?? DEADLINE_MS.adminForward, DEADLINE_MS.adminForward);
  const app = new Hono<{ Bindings: EdgeEnv }>();
  mountEdge(app);
  app.all("*", (c) => forward(c.req.raw, c.env, deadlineMs));
  app.onError((error, c) => edgeError(error, c.req.raw));
  return { fetch: hotPath(app) };
}

/**
 * `request` answered by the full Worker within `deadlineMs`. The versions its answer names as
 * written are served by this isolate at once (read-your-writes across the hop).
 */
async function forward(request: Request, env: EdgeEnv, deadlineMs: number): Promise<Response> {
  const { pathname } = new URL(request.url);
  let response: Response;
  try {
    response = await withDeadline(env.ADMIN.fetch(request), deadlineMs, "admin Worker");
  } catch (error) {
    logRequest("error", "admin-forward-failed", request, { error });
    const outcome =
      request.method === "GET" || request.method === "HEAD"
        ? ""
        : "; a write may or may not have been committed: read it back before retrying";
    const why = error instanceof DeadlineExceeded ? `did not answer within ${deadlineMs} ms` : "could not be reached";
    return problem("unavailable", `the admin API ${why} (${request.method} ${pathname})${outcome}`, { headers: { "retry-after": "5" } });
  }
  for (const { project, environment, version } of parseWritten(response.headers.get(WRITTEN_HEADER)))
    noteVersion(project, environment, version);
  return response;
}

export default createEdgeWorker();
