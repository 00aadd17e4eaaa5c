/**
 * Who is using the console, and what their role lets them do. Each page request resolves the
 * person (session cookie, or Cloudflare Access token) with the same check every admin call makes
 * (`authenticateAdmin`), so the header names them and the pages offer only what the admin API
 * would accept. The admin API stays the guard: a control the UI failed to hide is refused there.
 */
import type { Context } from "hono";
import { authenticateAdmin } from "../auth";
import { accessSession, clearSessionCookie, type Session } from "../session";
import { ProblemSchema } from "./api";
import { BASE } from "./layout";
import { ErrorPage } from "./pages/basic";

/**
 * The console session of a request to `project` with the person and role resolved, or the page
 * to answer instead: sign-in again for an ended session, a page saying whom to ask for a person
 * Access let through whom the project gives no role.
 */
export async function resolveIdentity(c: Context, cookie: Session | null, project: string): Promise<Session | Response> {
  const actor = await authenticateAdmin(c.req.raw, c.env, project);
  if (!(actor instanceof Response)) return cookie ? { ...cookie, actor } : accessSession(actor, project);
  if (actor.status === 401 && cookie) {
    clearSessionCookie(c);
    return c.redirect(`${BASE}/sign-in?expired=1`, 303);
  }
  const problem = ProblemSchema.safeParse(await actor.json().catch(() => null));
  const detail = problem.success ? problem.data.detail : "This sign-in was not accepted.";
  const title =
    actor.status === 403 ? "No access to this project" : actor.status === 401 ? "Sign-in not accepted" : "Not available right now";
  const status = actor.status === 401 || actor.status === 403 || actor.status === 429 ? actor.status : 503;
  const retryAfter = actor.headers.get("retry-after");
  return c.html(
    <ErrorPage title={title} detail={detail} back={`${BASE}/sign-in`} />,
    status,
    retryAfter ? { "retry-after": retryAfter } : {},
  );
}
