/**
 * The tracked events an environment received (`POST /ofrep/v1/track`), newest first, with their
 * value and custom fields: what a person checks when a metric moves ("which events, with which
 * details?"). The events live in the project's telemetry shards (`durable-objects/telemetry-shard.ts`,
 * kept 48 h); a page asks every shard in parallel under the admin deadline and merges their answers.
 */
import type { Result } from "../../contracts/result";
import { TELEMETRY_SHARDS } from "../../contracts/telemetry";
import { TrackedEventPageSchema, type TrackedEventRead, type TrackedEventsQuery } from "../../contracts/tracking";
import { base64urlDecode, base64urlEncode } from "../../lib/crypto";
import * as z from "zod";
import { problem, storeProblem } from "../problem";
import { adminApp, adminRoute, callObject, defineRoute, param, P, readQuery } from "./kit";

export const trackedEvents = adminApp();

const QuerySchema = z.object({
  name: z.string().min(1).max(128).meta({ description: "The tracked event's name" }),
  cursor: z.string().max(1_000).optional().meta({ description: "`next` of the previous page" }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const CursorSchema = z.strictObject({ at: z.number().int().nonnegative(), unit: z.string().max(200), id: z.string().max(200) });

function readCursor(text: string): z.output<typeof CursorSchema> | null {
  const bytes = base64urlDecode(text);
  if (bytes === null) return null;
  try {
    const parsed = CursorSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The read order the shards use: newest first, then unit, then id. */
function order(a: TrackedEventRead, b: TrackedEventRead): number {
  return b.at - a.at || (a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

const list = adminRoute({
  method: "get",
  path: `${P}/environments/{env}/tracked-events`,
  summary: "Tracked events of one name, newest first, with their value and custom fields (kept 48 h)",
  query: QuerySchema,
  response: TrackedEventPageSchema,
});
defineRoute(trackedEvents, list, async (c) => {
  const query = readQuery(c, list, "the tracked-events query is not valid");
  if (query instanceof Response) return query;
  const after = query.cursor === undefined ? undefined : readCursor(query.cursor);
  if (after === null)
    return problem("invalid", "the cursor is not one this API gave: pass the `next` of the previous page unchanged", {
      errors: [{ path: "cursor", message: "not a cursor of this API" }],
    });
  const project = c.get("project");
  const shardQuery: TrackedEventsQuery = {
    environment: param(c, "env"),
    name: query.name,
    limit: query.limit,
    ...(after ? { after } : {}),
  };
  // A shard that is late or fails (reset, overloaded, threw) makes the page a 503 to retry, never a 500.
  const answers: Result<TrackedEventRead[]>[] = await callObject(c, `the telemetry shards of project "${project}"`, () =>
    Promise.all(
      Array.from({ length: TELEMETRY_SHARDS }, (_, n) =>
        c.env.TELEMETRY_SHARD.get(c.env.TELEMETRY_SHARD.idFromName(`${project}:${n}`)).readTrackedEvents(shardQuery),
      ),
    ),
  );
  const events: TrackedEventRead[] = [];
  for (const answer of answers) {
    if (!answer.ok) return storeProblem(answer.error);
    events.push(...answer.value);
  }
  const page = events.sort(order).slice(0, query.limit);
  const last = page.length === query.limit ? page[page.length - 1] : undefined;
  const next = last ? base64urlEncode(JSON.stringify({ at: last.at, unit: last.unit, id: last.id })) : null;
  return c.json({ events: page.map((e) => ({ ...e, at: new Date(e.at).toISOString() })), next });
});
