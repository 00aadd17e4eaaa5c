/**
 * Admin authentication. The bootstrap token (`ADMIN_TOKEN` secret, at least 32 characters) may do
 * everything in every project, creating projects included; it is checked without any object. An
 * `admin` key may do everything in its own project. `client` and `server` keys are refused (403):
 * they evaluate flags and never change or read raw rules through admin routes. Without a Bearer
 * credential, the console's session cookie is accepted instead (`./session.ts`: signed, re-checked
 * against its key on every use, `Origin` checked on state-changing requests).
 *
 * Behind Cloudflare Access, a request without either carries `Cf-Access-Jwt-Assertion`: the
 * person's identity token, verified against the project's single sign-on configuration
 * (`./access.ts`) on every request, with the same `Origin` check as a session.
 *
 * Before a key reaches a FlagStore, the project must be in the registry (`./projects.ts`), and
 * failures are throttled per client address and project (`./throttle.ts`).
 */
import { hashKey } from "../contracts/snapshot";
import { constantTimeEqual } from "../lib/crypto";
import { adminTokenUsable, ADMIN_TOKEN_TOO_SHORT } from "../lib/signing";
import { looksLikeKey, readCredential } from "../contracts/credentials";
import { problem } from "./problem";
import { verifyAccess } from "./access";
import { findAccess, findProjectKey } from "./projects";
import { BOOTSTRAP_ACTOR, keyActor, type Actor } from "./actor";
import { authenticateSession, checkOrigin } from "./session";
import { noteAuthFailure, throttled } from "./throttle";

/** Compares two secrets in time independent of where they differ (or of their lengths: both are hashed first). */
function sameSecret(a: string, b: string): boolean {
  return constantTimeEqual(hashKey(a), hashKey(b));
}

const CHALLENGE = { "www-authenticate": 'Bearer realm="edgeflags-admin"' };

/** The header Cloudflare Access adds to every request it lets through: the person's identity token. */
export const ACCESS_HEADER = "cf-access-jwt-assertion";

/** The person a Cloudflare Access token proves, with their role in `project`, or the problem to answer. */
async function authenticateAccess(request: Request, env: Env, project: string, assertion: string): Promise<Actor | Response> {
  const refused = throttled(request, project);
  if (refused) return refused;
  const settings = await findAccess(env, project);
  if (settings instanceof Response) return settings;
  if (!settings) {
    return (
      (await noteAuthFailure(env, request, project)) ??
      problem(
        "unauthorized",
        `project "${project}" does not accept Cloudflare Access sign-ins (single sign-on is not set up); sign in with an admin key`,
      )
    );
  }
  const crossOrigin = checkOrigin(request);
  if (crossOrigin) return crossOrigin;
  const actor = await verifyAccess(assertion, settings, project);
  if (actor instanceof Response && actor.status === 401) return (await noteAuthFailure(env, request, project)) ?? actor;
  return actor;
}

/** The actor behind a request to `project`, or the problem response to send instead. */
export async function authenticateAdmin(request: Request, env: Env, project: string): Promise<Actor | Response> {
  const credential = readCredential(request.headers);
  if (!credential) {
    const session = await authenticateSession(request, env, project);
    const assertion = request.headers.get(ACCESS_HEADER);
    // An ended console session falls back to the Access sign-in the browser also carries.
    if (assertion && (session === null || (session instanceof Response && session.status === 401))) {
      return authenticateAccess(request, env, project, assertion);
    }
    if (session) return session;
    return problem("unauthorized", "send the admin token or an admin key as 'Authorization: Bearer <token>'", { headers: CHALLENGE });
  }
  const refused = throttled(request, project);
  if (refused) return refused;
  if (env.ADMIN_TOKEN && sameSecret(credential, env.ADMIN_TOKEN)) {
    // The operator's own token, but too weak to trust: say so, and how to fix it.
    return adminTokenUsable(env) ? BOOTSTRAP_ACTOR : problem("unavailable", ADMIN_TOKEN_TOO_SHORT);
  }
  const rejected = async () =>
    (await noteAuthFailure(env, request, project)) ??
    problem("unauthorized", `this credential is not the admin token nor an active key of project "${project}"`, { headers: CHALLENGE });
  // Only something shaped like a key, for a project that exists, reaches the project's FlagStore:
  // garbage credentials and made-up project names must not wake (or create) a Durable Object.
  if (!looksLikeKey(credential)) return rejected();
  const identity = await findProjectKey(env, project, hashKey(credential));
  if (identity instanceof Response) return identity;
  if (!identity) return rejected();
  if (identity.scope !== "admin") {
    return problem(
      "forbidden",
      `this is a ${identity.scope} key: it evaluates flags but cannot use the admin API; use an admin key or the admin token`,
    );
  }
  return keyActor(identity);
}
