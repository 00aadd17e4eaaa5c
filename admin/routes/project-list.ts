/**
 * `GET /projects`: the projects the caller may open. The bootstrap token sees every project in the
 * registry (KV `project:<name>` entries, `../projects.ts`), listed a page at a time; an admin key or
 * a console session sees the one project it belongs to. This is the one admin route without a
 * project in its path, so it finds the caller's project itself (the key index in KV for a key, the
 * cookie for a session) before the usual authentication runs against that project.
 *
 * A person signed in through Cloudflare Access (`Cf-Access-Jwt-Assertion`, no key, no session) sees
 * every project whose single sign-on gives them a role. Single sign-on is configured per project
 * and indexed in KV (`access:<project>`, `contracts/access-index.ts`): a page of that index (at most
 * `PERSON_PAGE` projects) is listed, its metadata rules out the projects the token cannot be for,
 * and the token is verified (`../access.ts`) against the settings of the rest, read from KV — no
 * FlagStore is woken. A token that verifies for no project at all, once the whole index has been
 * seen, is a 401 counted against the client's failure budget. The index follows a change of a
 * project's single sign-on within KV's propagation; opening the project checks the FlagStore's own.
 *
 * A registry or index that does not list within `DEADLINE_MS.adminKvList` (or fails), or an entry
 * not read within `DEADLINE_MS.edgeKvRead`, is a 503 with `Retry-After`, never a partial list passed
 * off as complete.
 *
 * @example
 * curl localhost:8787/admin/v1/projects?limit=50 -H "authorization: Bearer $ADMIN_TOKEN"
 */
import { looksLikeKey, readCredential } from "../../contracts/credentials";
import { AccessIndexMetadataSchema } from "../../contracts/access-index";
import { ProjectListQuerySchema, ProjectListSchema, type ProjectList } from "../../contracts/project-list";
import { hashKey, keyIndexKvKey, KeyIdentitySchema, projectKvKey } from "../../contracts/snapshot";
import { DEADLINE_MS, withDeadline } from "../../lib/deadline";
import { log, requestId } from "../../lib/log";
import { verifyAccess } from "../access";
import { ACCESS_HEADER, authenticateAdmin } from "../auth";
import { problem } from "../problem";
import { accessIndexProject, listAccessIndex, listKvPage, readAccessIndex, unverifiedClaims } from "../projects";
import { readSession } from "../session";
import { noteAuthFailure, throttled } from "../throttle";
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

/** Most projects of the single sign-on index a person's page covers (each at most one KV read). */
const PERSON_PAGE = 100;

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

const list = adminRoute({
  method: "get",
  path: "/projects",
  summary: "The projects you may open (every project for the bootstrap token), paged",
  query: ProjectListQuerySchema,
  response: ProjectListSchema,
});
const QUERY_DETAIL = "the project list takes ?limit=1..1000 and the ?cursor= of a previous page";

const registryName = (key: { name: string }) => key.name.slice(REGISTRY_PREFIX.length);

/** The Access token of a request that carries neither a credential nor a valid console session. */
async function personToken(c: AdminContext): Promise<string | null> {
  const assertion = c.req.raw.headers.get(ACCESS_HEADER);
  if (!assertion || readCredential(c.req.raw.headers)) return null;
  return (await readSession(c.req.raw, c.env)) ? null : assertion;
}

type Standing = "member" | "verified" | "refused";

/**
 * What a token proves in `project` against its indexed settings: "member" (a role), "verified"
 * (a valid token, no role there), "refused" (no single sign-on, or the token does not verify for
 * it), or the 503 to answer.
 */
async function personIn(c: AdminContext, token: string, project: string): Promise<Standing | Response> {
  const settings = await readAccessIndex(c.env, project);
  if (settings instanceof Response) return settings;
  if (!settings) return "refused";
  const actor = await verifyAccess(token, settings, project);
  if (!(actor instanceof Response)) return "member";
  if (actor.status === 503) return actor;
  return actor.status === 403 ? "verified" : "refused";
}

/**
 * The projects where a person signed in through Cloudflare Access holds a role, a page of the
 * single sign-on index at a time (`contracts/access-index.ts`): the page's metadata rules out the
 * projects of other teams or audiences and those whose member tags name neither the token's email
 * nor its groups; only the rest are read (one KV read each) and the token verified against them.
 * No FlagStore is asked.
 */
async function personProjects(c: AdminContext, token: string): Promise<Response> {
  const refused = throttled(c.req.raw, NO_PROJECT);
  if (refused) return refused;
  const query = readQuery(c, list, QUERY_DETAIL);
  if (query instanceof Response) return query;
  const page = await listAccessIndex(c.env, Math.min(query.limit, PERSON_PAGE), query.cursor);
  if (page instanceof Response) return page;
  const claims = await unverifiedClaims(token);
  const names = page.keys.map(accessIndexProject);
  // Projects whose audience the token is for, but whose tags name nobody it names: no role there.
  const untagged: string[] = [];
  const found = await Promise.all(
    page.keys.map(async (key, i): Promise<Standing | Response> => {
      const meta = AccessIndexMetadataSchema.safeParse(key.metadata);
      if (!meta.success) return personIn(c, token, names[i]!);
      if (!claims || claims.issuer !== `https://${meta.data.teamDomain}` || !claims.audiences.includes(meta.data.audience)) {
        return "refused";
      }
      if (meta.data.who && !meta.data.who.some((tag) => claims.tags.has(tag))) {
        untagged.push(names[i]!);
        return "refused";
      }
      return personIn(c, token, names[i]!);
    }),
  );
  const failed = found.find((f): f is Response => f instanceof Response);
  if (failed) return failed;
  const complete = page.list_complete && !query.cursor;
  if (complete && !found.some((f) => f === "member" || f === "verified")) {
    // Whether the token is valid at all (a person with no role) or not (a 401): one verification says.
    const standing = untagged[0] === undefined ? "refused" : await personIn(c, token, untagged[0]);
    if (standing instanceof Response) return standing;
    if (standing === "refused") {
      return (
        (await noteAuthFailure(c.env, c.req.raw, NO_PROJECT)) ??
        problem(
          "unauthorized",
          "this Cloudflare Access token is not accepted by any project's single sign-on; reload the page to sign in again",
        )
      );
    }
  }
  const body: ProjectList = {
    projects: names.filter((_, i) => found[i] === "member").map((name) => ({ name })),
    cursor: page.list_complete ? null : page.cursor,
    source: "access",
  };
  return c.json(body);
}

// Authenticates like every other admin route, against the project found above, and sets the same
// context (`actor`, `project`) the others have. A person signed in through Access has no one
// project: their list is made here.
projectList.use("/projects", async (c, next) => {
  const token = await personToken(c);
  if (token !== null) return personProjects(c, token);
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

defineRoute(projectList, list, async (c) => {
  const query = readQuery(c, list, QUERY_DETAIL);
  if (query instanceof Response) return query;
  if (!c.get("actor").bootstrap) {
    const own: ProjectList = { projects: [{ name: c.get("project") }], cursor: null, source: "credential" };
    return c.json(own);
  }
  const page = await listKvPage(
    c.env,
    REGISTRY_PREFIX,
    "the project registry",
    { requestId: requestId(c.req.raw) },
    query.limit,
    query.cursor,
  );
  if (page instanceof Response) return page;
  const body: ProjectList = {
    projects: page.keys.map((key) => ({ name: registryName(key) })),
    cursor: page.list_complete ? null : page.cursor,
    source: "registry",
  };
  return c.json(body);
});
