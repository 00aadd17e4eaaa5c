/**
 * The project registry at the edge: which project names exist, read from KV (`projectKvKey`)
 * before anything wakes a project's FlagStore for a caller that has not proved anything yet
 * (trigger URLs, key-shaped admin credentials, console sign-ins and key sessions). A made-up name
 * is answered from KV and never creates a Durable Object. The bootstrap token needs no registry:
 * it is checked without any object and may create projects.
 *
 * Known projects are remembered for the isolate's life (a project is never deleted); unknown
 * names for `UNKNOWN_PROJECT_TTL_MS`, so a project created elsewhere is found soon after.
 */
import { decodeJwt } from "jose";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { projectKvKey, ProjectEntrySchema, type AuthenticatedKey, type ProjectEntry } from "../contracts/snapshot";
import { ACCESS_INDEX_PREFIX, accessIndexKvKey, AccessIndexEntrySchema, memberTag } from "../contracts/access-index";
import type { AccessSettings } from "../contracts/access";
import type { Result } from "../contracts/result";
import { log } from "../lib/log";
import { problem } from "./problem";

const UNKNOWN_PROJECT_TTL_MS = 2_000;
const MAX_REMEMBERED = 10_000;
const known = new Set<string>();
const unknown = new Map<string, number>();

/** Retry-After of a 503 when the registry cannot be read. */
const REGISTRY_RETRY_SECONDS = 5;

/**
 * True when `project` exists, false when it does not, or a 503 problem when the registry could not
 * be read in time (then nothing is woken either: the caller answers the 503).
 *
 * @example
 * const exists = await knownProject(env, "shop");
 * if (exists !== true) return exists === false ? problem("not_found", "no such project") : exists;
 */
export async function knownProject(env: Env, project: string, now = Date.now()): Promise<boolean | Response> {
  if (known.has(project)) return true;
  const missedAt = unknown.get(project);
  if (missedAt !== undefined && now - missedAt < UNKNOWN_PROJECT_TTL_MS) return false;
  let raw: unknown;
  try {
    raw = await withDeadline(env.FLAGS_KV.get(projectKvKey(project), "json"), DEADLINE_MS.edgeKvRead, "project registry read");
  } catch (error) {
    console.warn("project registry unreadable", project, error);
    return problem("unavailable", "the project registry could not be read just now; retry shortly", {
      headers: { "retry-after": String(REGISTRY_RETRY_SECONDS) },
    });
  }
  const entry = raw === null ? null : ProjectEntrySchema.safeParse(raw);
  if (entry?.success && entry.data.project === project) {
    rememberProject(project);
    return true;
  }
  if (unknown.size >= MAX_REMEMBERED) unknown.clear();
  unknown.set(project, now);
  return false;
}

/**
 * Asks a registered project's FlagStore `ask`, with the admin deadline: null when the project is
 * not registered (no FlagStore is touched), a 503 problem naming `what` when the registry or the
 * FlagStore does not answer in time.
 */
async function askRegistered<T>(
  env: Env,
  project: string,
  what: string,
  ask: (stub: ReturnType<Env["FLAG_STORE"]["get"]>) => Promise<T>,
): Promise<T | null | Response> {
  const exists = await knownProject(env, project);
  if (exists !== true) return exists === false ? null : exists;
  try {
    return await withDeadline(ask(env.FLAG_STORE.get(env.FLAG_STORE.idFromName(project))), DEADLINE_MS.adminStoreCall, what);
  } catch (error) {
    log("warn", "project-store-unavailable", { project, what, error });
    return problem("unavailable", `project "${project}" could not answer the ${what} just now; retry shortly`, {
      headers: { "retry-after": String(REGISTRY_RETRY_SECONDS) },
    });
  }
}

/**
 * The active key of `project` whose SHA-256 is `keyHash`, with the role an admin key carries:
 * null when the project is not registered or has no such key; a 503 problem when the registry or
 * the FlagStore does not answer in time.
 */
export function findProjectKey(env: Env, project: string, keyHash: string): Promise<AuthenticatedKey | null | Response> {
  return askRegistered(env, project, "key check", async (stub) => stub.authenticate(keyHash));
}

/**
 * The single sign-on configuration of `project`: null when the project is not registered or has
 * none; a 503 problem when the registry or the FlagStore does not answer in time.
 */
export async function findAccess(env: Env, project: string): Promise<AccessSettings | null | Response> {
  const found = await askRegistered(
    env,
    project,
    "single sign-on check",
    async (stub): Promise<Result<AccessSettings | null>> => stub.getAccess(),
  );
  return found === null || found instanceof Response ? found : found.ok ? found.value : null;
}

/** Records in this isolate that `project` exists (it was just created or found). */
export function rememberProject(project: string): void {
  unknown.delete(project);
  if (known.size >= MAX_REMEMBERED) known.clear();
  known.add(project);
}

/**
 * Writes `project`'s registry entry to KV, so it is known at once (the FlagStore also publishes it
 * through its outbox). Throws when KV fails or does not answer in time: then nothing is created.
 */
export async function registerProject(env: Env, project: string, now = new Date()): Promise<void> {
  const entry: ProjectEntry = { project, createdAt: now.toISOString() };
  await withDeadline(env.FLAGS_KV.put(projectKvKey(project), JSON.stringify(entry)), DEADLINE_MS.kvWrite, "project registry write");
  rememberProject(project);
}

/** Forgets what this isolate knows about projects; for tests that change KV behind its back. */
export function forgetProjects(): void {
  known.clear();
  unknown.clear();
}

/**
 * A page of the KV keys under `prefix` (`what` names them for the log and the person, "the project
 * registry"): a 503 problem with Retry-After when KV does not list within `DEADLINE_MS.adminKvList`
 * (or fails), whose detail says a cursor KV did not return is one cause.
 */
export async function listKvPage(
  env: Env,
  prefix: string,
  what: string,
  fields: Record<string, unknown>,
  limit: number,
  cursor: string | undefined,
): Promise<KVNamespaceListResult<unknown> | Response> {
  try {
    return await withDeadline(env.FLAGS_KV.list({ prefix, limit, ...(cursor ? { cursor } : {}) }), DEADLINE_MS.adminKvList, `${what} list`);
  } catch (error) {
    log("warn", "kv-list-unreadable", { ...fields, list: what, error });
    return problem(
      "unavailable",
      cursor
        ? `${what} (KV) could not be listed just now, or this cursor is not one it returned; retry shortly, or start again without ?cursor=`
        : `${what} (KV) could not be listed just now; retry shortly`,
      { headers: { "retry-after": String(REGISTRY_RETRY_SECONDS) } },
    );
  }
}

/**
 * A page of the single sign-on index (`contracts/access-index.ts`): the projects with Cloudflare
 * Access configured, each with its team, audience and member tags as the key's metadata, or the 503
 * of `listKvPage`.
 */
export function listAccessIndex(env: Env, limit: number, cursor: string | undefined): Promise<KVNamespaceListResult<unknown> | Response> {
  return listKvPage(env, ACCESS_INDEX_PREFIX, "the single sign-on index", {}, limit, cursor);
}

/** The project an index key names. */
export function accessIndexProject(key: { name: string }): string {
  return key.name.slice(ACCESS_INDEX_PREFIX.length);
}

/**
 * `project`'s single sign-on settings from the index: null when it has none there; a 503 problem
 * when KV does not answer within `DEADLINE_MS.edgeKvRead` (or fails).
 */
export async function readAccessIndex(env: Env, project: string): Promise<AccessSettings | null | Response> {
  let raw: unknown;
  try {
    raw = await withDeadline(env.FLAGS_KV.get(accessIndexKvKey(project), "json"), DEADLINE_MS.edgeKvRead, "single sign-on index read");
  } catch (error) {
    log("warn", "access-index-unreadable", { project, error });
    return problem("unavailable", `the single sign-on settings of project "${project}" could not be read just now; retry shortly`, {
      headers: { "retry-after": String(REGISTRY_RETRY_SECONDS) },
    });
  }
  const entry = raw === null ? null : AccessIndexEntrySchema.safeParse(raw);
  if (!entry?.success || entry.data.project !== project) return null;
  const { project: _project, ...settings } = entry.data;
  return settings;
}

/**
 * What an Access token says about itself before it is verified: its issuer, audiences and the
 * member tags of its email and groups, to pick the index entries worth verifying it against
 * (the verification itself is `verifyAccess`, against the entry's settings). Null when it is no JWT.
 */
export async function unverifiedClaims(token: string): Promise<{ issuer: string; audiences: string[]; tags: Set<string> } | null> {
  let payload: Record<string, unknown>;
  try {
    payload = decodeJwt(token);
  } catch {
    return null;
  }
  const audiences =
    typeof payload.aud === "string" ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud.filter((a) => typeof a === "string") : [];
  const custom = payload.custom;
  const groups = [
    ...(Array.isArray(payload.groups) ? payload.groups : []),
    ...(typeof custom === "object" && custom !== null && "groups" in custom && Array.isArray(custom.groups) ? custom.groups : []),
  ]
    .slice(0, 1_000)
    .map(groupName)
    .filter((g) => g !== null);
  const tags = new Set(
    await Promise.all([
      ...(typeof payload.email === "string" ? [memberTag({ email: payload.email })] : []),
      ...groups.map((group) => memberTag({ group })),
    ]),
  );
  return { issuer: typeof payload.iss === "string" ? payload.iss : "", audiences, tags };
}

/** A `groups` claim's entry as Access writes it: a name, or an object with a name or an id. */
function groupName(group: unknown): string | null {
  if (typeof group === "string") return group;
  if (typeof group !== "object" || group === null) return null;
  if ("name" in group && typeof group.name === "string") return group.name;
  return "id" in group && typeof group.id === "string" ? group.id : null;
}
