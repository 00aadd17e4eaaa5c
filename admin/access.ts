/**
 * Single sign-on through Cloudflare Access. Behind Access, every request to the console carries
 * `Cf-Access-Jwt-Assertion`: a JWT signed by the team's keys. It is verified with `jose` against
 * the team's key set (`https://<teamDomain>/cdn-cgi/access/certs`, fetched with a deadline and
 * cached per isolate; fetched again, at most every `REFETCH_COOLDOWN_MS`, when a token names a
 * key it does not hold, which is how Access rotates), for the issuer `https://<teamDomain>` and
 * the project's audience tag, then mapped to a role by the project's members (first match by
 * email, else by a group in the token's `groups` claim). The actor is `user:<email>`.
 *
 * @example
 * const actor = await verifyAccess(token, settings, "shop"); // Actor, or the 401/403/503 problem
 */
import { createLocalJWKSet, errors, jwtVerify, type JWTPayload } from "jose";
import * as z from "zod";
import type { AccessMember, AccessSettings } from "../contracts/access";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { log } from "../lib/log";
import type { Actor } from "./actor";
import { problem } from "./problem";

/** How long a fetched key set is used before it is fetched again. */
const CERTS_TTL_MS = 10 * 60_000;
/** A token naming an unknown key fetches the key set again, but not more often than this. */
const REFETCH_COOLDOWN_MS = 30_000;
/** Retry-After of a 503 when the team's keys cannot be fetched. */
const CERTS_RETRY_SECONDS = 10;
const MAX_CERTS_BYTES = 64 * 1024;
const MAX_TOKEN_LENGTH = 16 * 1024;
/** Cloudflare Access signs with RS256; nothing else is accepted. */
const ALGORITHMS = ["RS256"];

const JwkSchema = z.object({
  kty: z.string(),
  kid: z.string().optional(),
  alg: z.string().optional(),
  use: z.string().optional(),
  n: z.string().optional(),
  e: z.string().optional(),
  crv: z.string().optional(),
  x: z.string().optional(),
  y: z.string().optional(),
});
const CertsSchema = z.object({ keys: z.array(JwkSchema).max(50) });

const GroupSchema = z.union([z.string(), z.object({ name: z.string() }), z.object({ id: z.string() })]);
const ClaimsSchema = z.object({
  email: z.string().max(320).optional(),
  groups: z.array(GroupSchema).max(1000).optional(),
  custom: z.object({ groups: z.array(GroupSchema).max(1000).optional() }).optional(),
});

type KeySet = ReturnType<typeof createLocalJWKSet>;
interface Certs {
  keys: KeySet;
  fetchedAt: number;
}

/** How the team's key set is fetched: the platform's `fetch`, or a stand-in in tests. */
export type CertsFetch = (url: string, init: RequestInit) => Promise<Response>;
const platformFetch: CertsFetch = (url, init) => fetch(url, init);
let fetchCerts: CertsFetch = platformFetch;
const cache = new Map<string, Certs>();

/** Replaces how key sets are fetched (null: the platform's `fetch`) and forgets every cached one; for tests. */
export function useCertsFetch(fetcher: CertsFetch | null): void {
  fetchCerts = fetcher ?? platformFetch;
  cache.clear();
}

/** The URL of a team's signing keys. */
export function certsUrl(teamDomain: string): string {
  return `https://${teamDomain}/cdn-cgi/access/certs`;
}

/** Fetches and parses a team's key set; throws when it cannot be had in time or does not parse. */
async function loadCerts(teamDomain: string, now: number): Promise<Certs> {
  const url = certsUrl(teamDomain);
  const response = await withDeadline(
    fetchCerts(url, { headers: { accept: "application/json" } }),
    DEADLINE_MS.accessCerts,
    "Access key set fetch",
  );
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const text = await withDeadline(response.text(), DEADLINE_MS.accessCerts, "Access key set read");
  if (text.length > MAX_CERTS_BYTES) throw new Error(`${url} answered more than ${MAX_CERTS_BYTES} bytes`);
  const parsed = CertsSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${url} did not answer a JSON Web Key Set`);
  const certs = { keys: createLocalJWKSet(parsed.data), fetchedAt: now };
  cache.set(teamDomain, certs);
  return certs;
}

/** The cached key set while fresh, else a new one; a stale one when fetching fails; null when there is none. */
async function certsFor(teamDomain: string, now: number): Promise<Certs | null> {
  const cached = cache.get(teamDomain);
  if (cached && now - cached.fetchedAt < CERTS_TTL_MS) return cached;
  try {
    return await loadCerts(teamDomain, now);
  } catch (error) {
    log("warn", "access-certs-unavailable", { teamDomain, error: String(error), stale: cached !== undefined });
    return cached ?? null;
  }
}

const refuse = (detail: string) => problem("unauthorized", `${detail}; reload the page to sign in through Cloudflare Access again`);

/** Why a token was refused, in words for the person holding it. */
function refusal(error: unknown, settings: AccessSettings): Response {
  if (error instanceof errors.JWTExpired) return refuse("your Cloudflare Access sign-in has expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "aud")
      return refuse(`this Cloudflare Access token is for another application (its audience is not ${settings.audience})`);
    if (error.claim === "iss") return refuse(`this Cloudflare Access token was not issued by https://${settings.teamDomain}`);
    return refuse(`this Cloudflare Access token is not valid (${error.claim}: ${error.reason})`);
  }
  if (error instanceof errors.JWKSNoMatchingKey)
    return refuse(`this Cloudflare Access token is signed by a key that ${settings.teamDomain} does not publish`);
  if (error instanceof errors.JWSSignatureVerificationFailed) return refuse("this Cloudflare Access token's signature does not verify");
  if (error instanceof errors.JOSEAlgNotAllowed) return refuse("this Cloudflare Access token is not signed with RS256");
  return refuse("this is not a valid Cloudflare Access token");
}

function groupName(group: z.infer<typeof GroupSchema>): string {
  return typeof group === "string" ? group : "name" in group ? group.name : group.id;
}

/** The first member entry matching the person: their email (without case), else one of their groups. */
export function matchMember(members: AccessMember[], email: string, groups: string[]): AccessMember | null {
  const lower = email.toLowerCase();
  return members.find((m) => (m.email !== undefined ? m.email.toLowerCase() === lower : groups.includes(m.group ?? ""))) ?? null;
}

function identity(payload: JWTPayload): { email: string; groups: string[] } | null {
  const claims = ClaimsSchema.safeParse(payload);
  if (!claims.success || !claims.data.email) return null;
  const groups = [...(claims.data.groups ?? []), ...(claims.data.custom?.groups ?? [])].map(groupName);
  return { email: claims.data.email, groups };
}

/**
 * The actor a Cloudflare Access token proves for `project`, or the problem to answer: 401 for a
 * token that does not verify (expired, another audience or issuer, an unknown key), 403 for a
 * person the project gives no role (naming whom to ask), 503 when the team's keys cannot be had.
 */
export async function verifyAccess(token: string, settings: AccessSettings, project: string, now = Date.now()): Promise<Actor | Response> {
  if (token.length > MAX_TOKEN_LENGTH) return refuse("this Cloudflare Access token is too long to be one");
  let certs = await certsFor(settings.teamDomain, now);
  if (!certs) {
    return problem(
      "unavailable",
      `the signing keys of ${settings.teamDomain} (${certsUrl(settings.teamDomain)}) could not be fetched just now; retry shortly`,
      {
        headers: { "retry-after": String(CERTS_RETRY_SECONDS) },
      },
    );
  }
  const options = {
    issuer: `https://${settings.teamDomain}`,
    audience: settings.audience,
    algorithms: ALGORITHMS,
    currentDate: new Date(now),
  };
  let payload: JWTPayload;
  try {
    payload = (await jwtVerify(token, certs.keys, options)).payload;
  } catch (error) {
    // Access rotates its keys: a token naming a key not yet seen fetches the set again, once.
    if (!(error instanceof errors.JWKSNoMatchingKey) || now - certs.fetchedAt < REFETCH_COOLDOWN_MS) return refusal(error, settings);
    try {
      certs = await loadCerts(settings.teamDomain, now);
      payload = (await jwtVerify(token, certs.keys, options)).payload;
    } catch (again) {
      return refusal(again, settings);
    }
  }
  const person = identity(payload);
  if (!person) return refuse("this Cloudflare Access token names no email (a service token cannot sign in to the console)");
  const member = matchMember(settings.members, person.email, person.groups);
  if (!member) {
    const admins = settings.members.filter((m) => m.role === "admin" && m.email).map((m) => m.email);
    const ask = admins.length ? `ask a project admin (${admins.slice(0, 3).join(", ")})` : "ask a project admin";
    return problem("forbidden", `${person.email} has no role in project "${project}": ${ask} to add you to its members`);
  }
  return {
    name: `user:${person.email.toLowerCase()}`,
    bootstrap: false,
    role: member.role,
    environments: member.environments ?? null,
    display: person.email,
  };
}
