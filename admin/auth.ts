/**
 * Admin authentication. The bootstrap token (`ADMIN_TOKEN` secret) may do everything in every
 * project; an `admin` key may do everything in its own project. `client` and `server` keys are
 * refused (403): they evaluate flags and never change or read raw rules through admin routes.
 * Without a Bearer credential, the console's session cookie is accepted instead (`./session.ts`:
 * signed, re-checked against its key on every use, `Origin` checked on state-changing requests).
 */
import { timingSafeEqual } from "node:crypto";
import { hashKey } from "../durable-objects/snapshot";
import { looksLikeKey, readCredential } from "../worker/keys";
import { problem } from "./problem";
import { authenticateSession } from "./session";

export interface Actor {
  /** Recorded in the audit log: `token:bootstrap` or `key:<id>`. */
  name: string;
  bootstrap: boolean;
}

/** Compares two secrets in time independent of where they differ. */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(hashKey(a), "hex"), Buffer.from(hashKey(b), "hex"));
}

/** The actor behind a request to `project`, or the problem response to send instead. */
export async function authenticateAdmin(request: Request, env: Env, project: string): Promise<Actor | Response> {
  const credential = readCredential(request.headers);
  if (!credential) {
    const session = await authenticateSession(request, env, project);
    if (session) return session;
    return problem("unauthorized", "send the admin token or an admin key as 'Authorization: Bearer <token>'", {
      headers: { "www-authenticate": 'Bearer realm="edgeflags-admin"' },
    });
  }
  if (env.ADMIN_TOKEN && sameSecret(credential, env.ADMIN_TOKEN)) return { name: "token:bootstrap", bootstrap: true };
  // Only something shaped like a key reaches the project's FlagStore: garbage credentials must not
  // wake (or create) a Durable Object for any project name.
  const identity = looksLikeKey(credential)
    ? await env.FLAG_STORE.get(env.FLAG_STORE.idFromName(project)).authenticate(hashKey(credential))
    : null;
  if (!identity) {
    return problem("unauthorized", `this credential is not the admin token nor an active key of project "${project}"`, {
      headers: { "www-authenticate": 'Bearer realm="edgeflags-admin"' },
    });
  }
  if (identity.scope !== "admin") {
    return problem("forbidden", `this is a ${identity.scope} key: it evaluates flags but cannot use the admin API; use an admin key or the admin token`);
  }
  return { name: `key:${identity.id}`, bootstrap: false };
}
