/**
 * Admin request bodies, read safely: one size limit for every admin route, a nesting limit
 * checked on the raw text before anything is parsed, and no `__proto__`, `constructor` or
 * `prototype` keys anywhere (they would change an object's prototype, or shadow what a lookup on a
 * plain object finds, once the value is copied into records). Hostile bodies get a 4xx problem and
 * never reach the FlagStore, whose RPC serialisation would otherwise overflow on deep nesting.
 *
 * @example
 * const body = readJson(await c.req.text());
 * if (!body.ok) return problem("invalid", body.detail);
 */

/**
 * The largest admin request body: sized for a flagd document of a whole migrated environment
 * (about 1 MB) or a segment of 100,000 members of up to 64 characters, with room to spare.
 */
export const MAX_ADMIN_BODY_BYTES = 8 * 1024 * 1024;

// With its extension, so the Node CLI (admin/cli) loads this module as it is, for the body limit.
export { MAX_JSON_DEPTH, readJson, type JsonRead } from "../lib/json-read.ts";

/** Whether a request's `Content-Type` allows a JSON body: JSON, `+json`, or none at all. */
export function isJsonContentType(header: string | null | undefined): boolean {
  if (!header) return true;
  const type = header.split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || type.endsWith("+json");
}
