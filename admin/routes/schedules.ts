/** Scheduled changes: a flag's state, default variant or targeting, or a change request, applied once at a time to come. */
import * as z from "../../contracts/zod";
import { SCHEDULE_STATUSES, ScheduledChangeSchema, ScheduleListSchema, ScheduleSchema } from "../../contracts/approvals";
import { problem, storeProblem } from "../problem";
import { actorOf, adminApp, adminRoute, defineRoute, E, meta, param, readBody, readQuery, respond, call } from "./kit";

export const schedules = adminApp();

const S = `${E}/schedules`;

const CreateBodySchema = z
  .object({
    at: z.iso.datetime({ offset: true, error: "an ISO 8601 time with its offset, e.g. 2026-12-07T09:00:00Z" }),
    change: ScheduledChangeSchema,
    reason: z.string().trim().min(1, "say why: it is kept in the audit log").max(1000),
  })
  .strict()
  .openapi("ScheduleBody");
const ListQuerySchema = z.object({ status: z.enum(SCHEDULE_STATUSES).optional() });

const create = adminRoute({
  method: "post",
  path: S,
  summary: "Schedule a change (applied once by the store at `at`)",
  body: CreateBodySchema,
  status: 201,
  response: ScheduleSchema,
});
defineRoute(schedules, create, async (c) => {
  const body = await readBody(c, create);
  if (body instanceof Response) return body;
  const actor = actorOf(c);
  const result = await call(c, (s) => s.schedules().create(param(c, "env"), body, { role: actor.role }, meta(c, body.reason)));
  if (!result.ok) return storeProblem(result.error);
  if ("refused" in result.value) return problem("forbidden", result.value.refused);
  return c.json(result.value.done, 201);
});

const list = adminRoute({
  method: "get",
  path: S,
  summary: "An environment's scheduled changes, soonest first (?status=pending)",
  query: ListQuerySchema,
  response: ScheduleListSchema,
});
defineRoute(schedules, list, async (c) => {
  const query = readQuery(c, list, `status must be one of ${SCHEDULE_STATUSES.join(", ")}`);
  if (query instanceof Response) return query;
  return respond(c, await call(c, (s) => s.schedules().list(param(c, "env"), query.status ?? null)));
});

const cancel = adminRoute({ method: "delete", path: `${S}/{id}`, summary: "Cancel a pending scheduled change", response: ScheduleSchema });
defineRoute(schedules, cancel, async (c) =>
  respond(c, await call(c, (s) => s.schedules().cancel(param(c, "env"), param(c, "id"), meta(c, null)))),
);
