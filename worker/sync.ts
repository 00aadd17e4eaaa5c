/**
 * The raw flag set for server-side, in-process evaluation: `GET /sync/v1/flagd` with a `server`
 * key answers the key's environment as a plain flagd flag set (ETag = its version, 304 when
 * unchanged; edgeflags extensions such as prerequisites rewritten into plain targeting, since a
 * flagd evaluator does not know them), so a flagd daemon can sync from the edge:
 *
 *   flagd start --sources '[{"uri":"https://flags.example.com/sync/v1/flagd","provider":"http","authHeader":"Bearer <server key>"}]'
 *
 * `client` keys are refused (403): browsers and mobile apps never see raw rules.
 */
import { Hono } from "hono";
import { toPlainFlagd } from "./engine/index";
import { readCredential, resolveKey } from "./keys";
import { refreshMs, VERSION_HEADER } from "./ofrep";
import { getSnapshot } from "./snapshot-cache";

export const sync = new Hono<{ Bindings: Env }>();

sync.get("/flagd", async (c) => {
  const credential = readCredential(c.req.raw.headers);
  if (!credential) return c.json({ errorDetails: "send a server key as 'Authorization: Bearer <key>'" }, 401);
  const identity = await resolveKey(c.env.FLAGS_KV, (p) => c.executionCtx.waitUntil(p), credential, refreshMs(c.env));
  if (!identity) return c.json({ errorDetails: "this key is not known or has been revoked" }, 401);
  if (identity.scope !== "server" || identity.environment === null) {
    return c.json({ errorDetails: `a ${identity.scope} key cannot read raw flag rules; use a server key` }, 403);
  }
  const store = c.env.FLAG_STORE.get(c.env.FLAG_STORE.idFromName(identity.project));
  // The edge's snapshot answers "has it changed?" without a round trip; only a change reads the store.
  const snapshot = await getSnapshot(
    {
      kv: c.env.FLAGS_KV,
      fromStore: (_project, environment) => store.getSnapshot(environment),
      waitUntil: (p) => c.executionCtx.waitUntil(p),
      refreshMs: refreshMs(c.env),
    },
    identity.project,
    identity.environment,
  );
  const known = snapshot?.version ?? 0;
  const ifNoneMatch = c.req.header("if-none-match");
  if (snapshot && ifNoneMatch && ifNoneMatch.split(",").some((tag) => tag.trim().replace(/^W\//, "") === `"${known}"`)) {
    return c.body(null, 304, { ETag: `"${known}"`, [VERSION_HEADER]: String(known) });
  }
  const result = await store.getFlagSet(identity.environment);
  if (!result.ok) return c.json({ errorDetails: result.error.detail }, 404);
  return c.json(toPlainFlagd(result.value.flagSet), 200, {
    ETag: `"${result.value.version}"`,
    [VERSION_HEADER]: String(result.value.version),
    "Cache-Control": "private, no-cache",
  });
});
