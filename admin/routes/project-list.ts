/**
 * `GET /projects`: the projects the caller may open. The bootstrap token sees every project in the
 * registry (KV `project:<name>` entries, `../projects.ts`), listed a page at a time; an admin key or
 * a console session sees the one project it belongs to. This is the one admin route without a
 * project in its path, so it finds the caller's project itself (the key index in KV for a key, the
 * cookie for a session) before the usual authentication runs against that project.
 *
 * A registry that does not list within `DEADLINE_MS.adminKvList` (or fails) is a 503 with
 * `Retry-After`, never a partial list passed off as complete.
 *
 * @example
 * curl localhost:8787/admin/v1/projects?limit=50 -H "authorization: Bearer $ADMIN_TOKEN"
 */
import { looksLikeKey, readCredential } from "../../contracts/credentials";
import { ProjectListQuerySchema, ProjectListSchema, type ProjectList } from "../../contracts/project-list";
import { hashKey, keyIndexKvKey, KeyIdentitySchema, projectKvKey } from "../../contracts/snapshot";
import { DEADLINE_MS, withDeadline } from "../../lib/deadline";
import { log, requestId } from "../../lib/log";
import { authenticateAdmin } from "../auth";
import { problem } from "../problem";
import { readSession } from "../session";
import { adminApp, adminRoute, defineRoute, readQuery, type AdminContext } from "./kit";

export const projectList = adminApp();

/** Retry-After of a 503 when the registry or the key index cannot be read. */
const RETRY_SECONDS = 5;
const REGISTRY_PREFIX = projectKvKey("");
/**
 * The project a credential that is not a key is checked against: only the bootstrap token passes,
 * and it is valid for every project. Not a valid project name, so it can never be a real one.
 */
const NO_PROJECT = "(projects)";

const unavailable = (detail: string) => problem("unavailable", detail, { headers: { "retry-after": String(RETRY_SECONDS) } });

/**
 * The project whose credentials the request is checked against: a session's project (or its home,
 * for a bootstrap session), a key's own project from the key index, else none (the bootstrap token
 * or nothing valid). A Response when the key index cannot be read in time.
 */
async function homeProject(c: AdminContext): Promise<string | Response> {
  const credential = readCredential(c.req.raw.headers);
  if (!credential) {
    const session = await readSession(c.req.raw, c.env);
    return session ? (session.project ?? session.home) : NO_PROJECT;
  }
  if (!looksLikeKey(credential)) return NO_PROJECT;
  let raw: unknown;
  try {
    raw = await withDeadline(c.env.FLAGS_KV.get(keyIndexKvKey(hashKey(credential)), "json"), DEADLINE_MS.edgeKvRead, "KV key index read");
  } catch (error) {
    log("warn", "project-list-key-index-unreadable", { requestId: requestId(c.req.raw), error });
    return unavailable("the key index (KV) could not be read just now to find this key's project; retry shortly");
  }
  const identity = raw === null ? null : KeyIdentitySchema.safeParse(raw);
  return identity?.success ? identity.data.project : NO_PROJECT;
}

// Authenticates like every other admin route, against the project found above, and sets the same
// context (`actor`, `project`) the others have.
projectList.use("/projects", async (c, next) => {
  const project = await homeProject(c);
  if (project instanceof Response) return project;
  const actor = await authenticateAdmin(c.req.raw, c.env, project);
  if (actor instanceof Response) {
    // Its detail would name the placeholder project; say what this route takes instead.
    if (actor.status !== 401 || project !== NO_PROJECT) return actor;
    return problem("unauthorized", "send the admin token, an admin key or a console session to list projects", {
      headers: { "www-authenticate": actor.headers.get("www-authenticate") ?? 'Bearer realm="edgeflags-admin"' },
    });
  }
  c.set("actor", actor);
  c.set("project", project);
  await next();
});

const list = adminRoute({
  method: "get",
  path: "/projects",
  summary: "The projects you may open (every project for the bootstrap token), paged",
  query: ProjectListQuerySchema,
  response: ProjectListSchema,
});
defineRoute(projectList, list, async (c) => {
  const query = readQuery(c, list, "the project list takes ?limit=1..1000 and the ?cursor= of a previous page");
  if (query instanceof Response) return query;
  if (!c.get("actor").bootstrap) {
    const own: ProjectList = { projects: [{ name: c.get("project") }], cursor: null, source: "credential" };
    return c.json(own);
  }
  let page: KVNamespaceListResult<unknown>;
  try {
    page = await withDeadline(
      c.env.FLAGS_KV.list({ prefix: REGISTRY_PREFIX, limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) }),
      DEADLINE_MS.adminKvList,
      "project registry list",
    );
  } catch (error) {
    log("warn", "project-list-unreadable", { requestId: requestId(c.req.raw), error });
    return unavailable(
      query.cursor
        ? "the project registry (KV) could not be listed just now, or this cursor is not one it returned; retry shortly, or start again without ?cursor="
        : "the project registry (KV) could not be listed just now; retry shortly",
    );
  }
  const body: ProjectList = {
    projects: page.keys.map((key) => ({ name: key.name.slice(REGISTRY_PREFIX.length) })),
    cursor: page.list_complete ? null : page.cursor,
    source: "registry",
  };
  return c.json(body);
});
