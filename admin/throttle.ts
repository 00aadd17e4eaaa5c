/**
 * The admin API's answers for throttled authentication (`lib/auth-throttle.ts` counts the
 * failures and decides): a 429 problem with `Retry-After`.
 */
import { blockedFor, countAuthFailure } from "../lib/auth-throttle";
import { problem } from "./problem";

function tooMany(retryAfterSeconds: number): Response {
  return problem(
    "too_many_requests",
    `too many failed authentication attempts from this address; retry in ${retryAfterSeconds} s with a valid credential`,
    { headers: { "retry-after": String(retryAfterSeconds) } },
  );
}

/**
 * The 429 for a request whose address is over its failure budget, or null. Call it before
 * checking the credential (it reads memory only).
 *
 * @example
 * const refused = throttled(request, project);
 * if (refused) return refused;
 */
export function throttled(request: Request, project: string, now = Date.now()): Response | null {
  const wait = blockedFor(request, project, now);
  return wait === null ? null : tooMany(wait);
}

/**
 * Records a failed authentication of `request` to `project`. Returns the 429 to answer when this
 * failure used up the budget (the caller may answer it instead of its 401), else null.
 */
export async function noteAuthFailure(env: Env, request: Request, project: string, now = Date.now()): Promise<Response | null> {
  const wait = await countAuthFailure(env, request, project, now);
  return wait === null ? null : tooMany(wait);
}
