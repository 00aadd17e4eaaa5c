/**
 * JSON request bodies, read safely: a nesting limit checked on the raw text before anything is
 * parsed, and no `__proto__`, `constructor` or `prototype` keys anywhere (they would change an
 * object's prototype, or shadow what a lookup on a plain object finds, once the value is copied
 * into records). Deep nesting would otherwise overflow a recursive schema check or a Durable
 * Object's RPC serialisation. Used by the admin API and by the edge's comparison ingest.
 *
 * @example
 * const body = readJson(await c.req.text());
 * if (!body.ok) return problem("invalid", body.detail);
 */

/** The deepest nesting of arrays and objects a request body may have (JsonLogic needs a few dozen). */
export const MAX_JSON_DEPTH = 100;

/** Keys refused in every request body. */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

export type JsonRead = { ok: true; value: unknown } | { ok: false; detail: string };

/** The deepest nesting in JSON text, counted in one pass that skips strings; stops past `limit`. */
function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return deepest;
}

/** The path of the first forbidden key in `value`, or null. Iterative: depth is already bounded. */
function forbiddenKeyPath(value: unknown): string | null {
  const stack: Array<{ node: unknown; path: string }> = [{ node: value, path: "" }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (Array.isArray(node)) {
      node.forEach((item, index) => {
        stack.push({ node: item, path: `${path}[${index}]` });
      });
      continue;
    }
    for (const [key, child] of Object.entries(node)) {
      const at = path ? `${path}.${key}` : key;
      if (FORBIDDEN_KEYS.has(key)) return at;
      stack.push({ node: child, path: at });
    }
  }
  return null;
}

/** Parses a request body's text, refusing what is not JSON, too deep, or uses a forbidden key. */
export function readJson(text: string): JsonRead {
  const depth = nestingDepth(text, MAX_JSON_DEPTH);
  if (depth > MAX_JSON_DEPTH) {
    return { ok: false, detail: `the request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; flatten it` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, detail: `the request body is not valid JSON: ${reason.slice(0, 300)}` };
  }
  const forbidden = forbiddenKeyPath(value);
  if (forbidden !== null) {
    return {
      ok: false,
      detail: `"${forbidden}": the keys __proto__, constructor and prototype are not allowed anywhere in a request body; rename it`,
    };
  }
  return { ok: true, value };
}
