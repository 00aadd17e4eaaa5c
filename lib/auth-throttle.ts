/**
 * Throttling of failed authentication: admin Bearer tokens and keys, console sign-ins, trigger
 * URLs and trigger signatures, and the edge's freshness route. Every failure is counted against the client's address
 * (`CF-Connecting-IP`, an IPv6 client by its /64) and against the project.
 *
 * - An address with `AUTH_FAILURE_BUDGET` failures within `AUTH_FAILURE_PERIOD_SECONDS` is refused
 *   (429, `Retry-After`) *before* its credential is checked, so a guesser stops learning anything;
 *   the check costs nothing but isolate memory.
 * - Failures are counted twice: in isolate memory (exact, immediate) and through the
 *   `AUTH_FAILURE_LIMITER` binding, which sees every isolate of the location. The binding has no
 *   "peek" (each `limit()` call counts), so it is consulted only on a failure, and its verdict
 *   ("over") is remembered in memory as a block until the period ends.
 * - A project over its own budget (guesses spread over many addresses) is under attack for one
 *   period: then a single failure blocks the failing address. A clean address is never slowed, so
 *   a correct credential from anywhere else still gets through.
 * - A request without a client address (never on Cloudflare, only in tests and local tools) counts
 *   as one address per project.
 *
 * The answers are seconds to wait; the admin API words them as its problem+json
 * (`admin/throttle.ts`), the edge as OFREP's.
 */
import { DEADLINE_MS, withDeadline } from "./deadline";
import { clientPrefix } from "./ip";

/** Failures an address (or a project) may make per period; `AUTH_FAILURE_LIMITER`'s limit in wrangler.toml. */
export const AUTH_FAILURE_BUDGET = 20;
/** The period, in seconds; `AUTH_FAILURE_LIMITER`'s period in wrangler.toml (10 or 60). */
export const AUTH_FAILURE_PERIOD_SECONDS = 60;

const PERIOD_MS = AUTH_FAILURE_PERIOD_SECONDS * 1000;
const MAX_TRACKED = 10_000;

interface Window {
  start: number;
  count: number;
}
const failures = new Map<string, Window>();
const blockedUntil = new Map<string, number>();

/** The address bucket of a request to `project`. */
function addressBucket(request: Request, project: string): string {
  // Cloudflare sets the header; elsewhere (tests, local tools) it is bounded so it cannot bloat memory.
  const address = request.headers.get("cf-connecting-ip")?.trim().slice(0, 64);
  return address ? `ip:${clientPrefix(address)}` : `no-address:${project}`;
}

/** Keeps a map under `MAX_TRACKED` entries: expired ones go first, then everything. */
function bounded<V>(map: Map<string, V>, expired: (value: V) => boolean): void {
  if (map.size < MAX_TRACKED) return;
  for (const [key, value] of map) if (expired(value)) map.delete(key);
  if (map.size >= MAX_TRACKED) map.clear();
}

/** Counts one failure in memory; true once the bucket has used its budget. */
function countLocally(bucket: string, now: number): boolean {
  let window = failures.get(bucket);
  if (!window || now - window.start >= PERIOD_MS) {
    bounded(failures, (w) => now - w.start >= PERIOD_MS);
    window = { start: now, count: 0 };
    failures.set(bucket, window);
  }
  window.count += 1;
  return window.count >= AUTH_FAILURE_BUDGET;
}

/** Counts one failure through the binding; true when the location has seen too many. */
async function countEverywhere(env: Env, bucket: string): Promise<boolean> {
  try {
    const { success } = await withDeadline(
      env.AUTH_FAILURE_LIMITER.limit({ key: `auth-fail:${bucket}` }),
      DEADLINE_MS.rateLimit,
      "auth failure limiter",
    );
    return !success;
  } catch (error) {
    // Memory still counts; a limiter that is down must not turn failures into 5xx.
    console.warn("auth failure limiter unavailable", error);
    return false;
  }
}

function block(bucket: string, now: number): void {
  bounded(blockedUntil, (until) => until <= now);
  blockedUntil.set(bucket, now + PERIOD_MS);
}

/**
 * Seconds a request's address must wait because it is over its failure budget, or null. Call it
 * before checking the credential (it reads memory only).
 *
 * @example
 * const wait = blockedFor(request, project);
 * if (wait !== null) return tooMany(wait);
 */
export function blockedFor(request: Request, project: string, now = Date.now()): number | null {
  const bucket = addressBucket(request, project);
  const until = blockedUntil.get(bucket);
  if (until === undefined || until <= now) return null;
  return Math.max(1, Math.ceil((until - now) / 1000));
}

/**
 * Records a failed authentication of `request` to `project`. Returns the seconds to ask the caller
 * to wait when this failure used up the budget (answer 429 instead of 401), else null.
 */
export async function countAuthFailure(env: Env, request: Request, project: string, now = Date.now()): Promise<number | null> {
  const bucket = addressBucket(request, project);
  const projectBucket = `project:${project}`;
  const [addressLocal, projectLocal] = [countLocally(bucket, now), countLocally(projectBucket, now)];
  const [addressEverywhere, projectEverywhere] = await Promise.all([countEverywhere(env, bucket), countEverywhere(env, projectBucket)]);
  if (projectLocal || projectEverywhere) block(projectBucket, now);
  const projectUnderAttack = (blockedUntil.get(projectBucket) ?? 0) > now;
  if (addressLocal || addressEverywhere || projectUnderAttack) {
    block(bucket, now);
    return AUTH_FAILURE_PERIOD_SECONDS;
  }
  return null;
}

/** Forgets every count and block; for tests. */
export function resetAuthThrottle(): void {
  failures.clear();
  blockedUntil.clear();
}
