/**
 * The raw flag set for server-side, in-process evaluation: `GET /sync/v1/flagd` with a `server`
 * key answers the key's environment as a plain flagd flag set (ETag = its version, 304 when
 * unchanged; edgeflags extensions such as prerequisites rewritten into plain targeting, since a
 * flagd evaluator does not know them), so a flagd daemon can sync from the edge:
 *
 *   flagd start --sources '[{"uri":"https://flags.example.com/sync/v1/flagd","provider":"http","authHeader":"Bearer <server key>"}]'
 *
 * `client` keys are refused (403): browsers and mobile apps never see raw rules.
 *
 * `?format=edgeflags` answers the snapshot the edge evaluates instead, for an in-process evaluator
 * on the edge's own engine (`@edgeflags/openfeature-provider`): `{format, version, updatedAt,
 * flagSet, tracking?, rampRules?, eventStreams?}`, the flag set with its edgeflags extensions
 * intact, the exposure subjects to report, and the environment's event stream.
 */
import { Hono } from "hono";
import { toPlainFlagd } from "../engine/index";
import { ofrepRefusal, unavailableRefusal } from "../contracts/ofrep-wire";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { STALE_HEADER, VERSION_HEADER } from "./ofrep";
import { logStale, logUnavailable } from "./request-log";
import { requireKey } from "./require-key";
import { edgeSources, getSnapshot } from "./snapshot-cache";
import { flushAfter, recordKeyUse } from "./telemetry";
import { eventStreamsFor } from "./events";
import { readSyncSnapshot } from "./sync-snapshot";

export const sync = new Hono<{ Bindings: Env }>();

const serverKey = requireKey({
  scopes: ["server"],
  missing: "send a server key as 'Authorization: Bearer <key>'",
  forbidden: (scope) => `a ${scope} key cannot read raw flag rules; use a server key`,
});

sync.get("/flagd", serverKey, async (c) => {
  const identity = c.get("identity");
  const format = c.req.query("format") ?? "flagd";
  if (format !== "flagd" && format !== "edgeflags") {
    return ofrepRefusal(
      {
        code: "invalid-context",
        detail: `format must be "flagd" (the default) or "edgeflags", got ${JSON.stringify(format.slice(0, 40))}`,
      },
      "other",
    );
  }
  recordKeyUse(identity.project, identity.id);
  flushAfter(c.env, (p) => c.executionCtx.waitUntil(p));
  const store = c.env.FLAG_STORE.get(c.env.FLAG_STORE.idFromName(identity.project));
  // The edge's snapshot answers "has it changed?" without a round trip; only a change reads the
  // store. Its sources are the OFREP routes': KV, the store as the cold fallback, and the
  // location's version beacon, so a kill switch reaches a syncing daemon in seconds, not KV's 60.
  const current = await getSnapshot(
    edgeSources(c.env, (p) => c.executionCtx.waitUntil(p)),
    identity.project,
    identity.environment,
  );
  const snapshot = current.kind === "snapshot" ? current.snapshot : null;
  const known = snapshot?.version ?? 0;
  const ifNoneMatch = c.req.header("if-none-match");
  if (snapshot && ifNoneMatch?.split(",").some((tag) => tag.trim().replace(/^W\//, "") === `"${known}"`)) {
    const headers: Record<string, string> = { ETag: `"${known}"`, [VERSION_HEADER]: String(known) };
    if (current.kind === "snapshot" && current.stale) {
      logStale(c.req.raw, identity, known, current.stale);
      headers[STALE_HEADER] = current.stale.reason;
    }
    return c.body(null, 304, headers);
  }
  if (format === "edgeflags") {
    const full = await readSyncSnapshot(
      c.env.FLAGS_KV,
      () => store.getSnapshot(identity.environment),
      identity.project,
      identity.environment,
      known,
    );
    if (typeof full === "string" || full === null) {
      const detail = full === null ? `environment "${identity.environment}" has no snapshot` : `the snapshot could not be loaded: ${full}`;
      if (full !== null) logUnavailable(c.req.raw, identity, detail);
      return ofrepRefusal(full === null ? { code: "not-found", detail } : unavailableRefusal(detail), "other");
    }
    const { version, updatedAt, flagSet, tracking, rampRules } = full;
    const eventStreams = await eventStreamsFor(c.env, c.req.url, identity, c.get("credential"), version);
    return c.json({ format: "edgeflags", version, updatedAt, flagSet, tracking, rampRules, eventStreams }, 200, {
      ETag: `"${version}"`,
      [VERSION_HEADER]: String(version),
      "Cache-Control": "private, no-cache",
    });
  }
  // The raw flag set lives only in the FlagStore (the snapshot holds it compiled): without the
  // store there is nothing to send, and a flagd daemon keeps the set it has.
  const result = await withDeadline(
    (async () => store.getFlagSet(identity.environment))(),
    DEADLINE_MS.edgeStoreCall,
    "FlagStore flag set call",
  ).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
  if (typeof result === "string") {
    logUnavailable(c.req.raw, identity, `the flag set could not be loaded: ${result}`);
    return ofrepRefusal(unavailableRefusal(`the flag set could not be loaded: ${result}`), "other");
  }
  if (!result.ok) return ofrepRefusal({ code: "not-found", detail: result.error.detail }, "other");
  return c.json(toPlainFlagd(result.value.flagSet), 200, {
    ETag: `"${result.value.version}"`,
    [VERSION_HEADER]: String(result.value.version),
    "Cache-Control": "private, no-cache",
  });
});
