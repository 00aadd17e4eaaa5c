/**
 * Change requests: an editor's diff of some flags of one environment, approved (and then applied
 * atomically, if the environment has not moved since) or rejected by another person.
 */
import * as z from "../../contracts/zod";
import { CHANGE_REQUEST_STATUSES, ChangeRequestListSchema, ChangeRequestSchema } from "../../contracts/approvals";
import type { Result } from "../../contracts/result";
import type { FlagDefinition } from "../../engine/types";
import { problem, storeProblem } from "../problem";
import { FlagDefinitionSchema, FlagKeySchema } from "../schemas";
import {
  actorOf,
  adminApp,
  adminRoute,
  defineRoute,
  E,
  meta,
  noteWritten,
  param,
  readBody,
  readQuery,
  respond,
  call,
  type AdminContext,
} from "./kit";

export const changeRequests = adminApp();

const CR = `${E}/change-requests`;
const ONE = `${CR}/{id}`;

/** At most this many flags in one request. */
const MAX_FLAGS_PER_REQUEST = 100;

const OpenBodySchema = z
  .object({
    /** Per flag key: its new definition (created when absent), or null to delete it. */
    flags: z
      .record(FlagKeySchema, FlagDefinitionSchema.nullable())
      .refine((flags) => Object.keys(flags).length > 0, "name at least one flag")
      .refine((flags) => Object.keys(flags).length <= MAX_FLAGS_PER_REQUEST, `at most ${MAX_FLAGS_PER_REQUEST} flags per request`),
    reason: z.string().trim().min(1, "say why: the approver reads it").max(1000),
  })
  .strict()
  .openapi("ChangeRequestBody");

const DecisionBodySchema = z
  .object({ reason: z.string().max(1000).optional() })
  .strict()
  .openapi("ChangeRequestDecisionBody");
const RejectBodySchema = z
  .object({ reason: z.string().trim().min(1, "say why it is rejected").max(1000) })
  .strict()
  .openapi("ChangeRequestRejectBody");
const ListQuerySchema = z.object({ status: z.enum(CHANGE_REQUEST_STATUSES).optional() });

type Info = z.infer<typeof ChangeRequestSchema>;

/** A decision's answer: refused (403), failed (its problem), or the request, noting the version an application wrote. */
function decided(c: AdminContext, result: Result<{ refused: string } | { done: Info }>): Response {
  if (!result.ok) return storeProblem(result.error);
  if ("refused" in result.value) return problem("forbidden", result.value.refused);
  const request = result.value.done;
  if (request.appliedVersion !== null) noteWritten(c, c.get("project"), request.environment, request.appliedVersion);
  return c.json(request);
}

const open = adminRoute({
  method: "post",
  path: CR,
  summary: "Open a change request (the diff against the environment's current version)",
  body: OpenBodySchema,
  status: 201,
  response: ChangeRequestSchema,
});
defineRoute(changeRequests, open, async (c) => {
  const body = await readBody(c, open);
  if (body instanceof Response) return body;
  const flags = body.flags as Record<string, FlagDefinition | null>;
  return respond(
    c,
    await call(c, (s) => s.changeRequests().open(param(c, "env"), flags, { actor: actorOf(c).name, reason: body.reason })),
    201,
  );
});

const list = adminRoute({
  method: "get",
  path: CR,
  summary: "An environment's change requests, newest first (?status=open)",
  query: ListQuerySchema,
  response: ChangeRequestListSchema,
});
defineRoute(changeRequests, list, async (c) => {
  const query = readQuery(c, list, `status must be one of ${CHANGE_REQUEST_STATUSES.join(", ")}`);
  if (query instanceof Response) return query;
  return respond(c, await call(c, (s) => s.changeRequests().list(param(c, "env"), query.status ?? null)));
});

const read = adminRoute({ method: "get", path: ONE, summary: "A change request and its diff", response: ChangeRequestSchema });
defineRoute(changeRequests, read, async (c) => respond(c, await call(c, (s) => s.changeRequests().get(param(c, "env"), param(c, "id")))));

const approve = adminRoute({
  method: "post",
  permission: "approve",
  path: `${ONE}/approve`,
  summary: "Approve a change request: applied at once if the environment is still at its base version (else 409: rebase)",
  body: DecisionBodySchema,
  response: ChangeRequestSchema,
});
defineRoute(changeRequests, approve, async (c) => {
  const body = await readBody(c, approve, {});
  if (body instanceof Response) return body;
  return decided(c, await call(c, (s) => s.changeRequests().approve(param(c, "env"), param(c, "id"), meta(c, body.reason))));
});

const rebase = adminRoute({
  method: "post",
  path: `${ONE}/rebase`,
  summary: "Move a change request to the current version (409 naming the flags that changed meanwhile)",
  response: ChangeRequestSchema,
});
defineRoute(changeRequests, rebase, async (c) => {
  const actor = actorOf(c);
  return decided(c, await call(c, (s) => s.changeRequests().rebase(param(c, "env"), param(c, "id"), { role: actor.role }, meta(c, null))));
});

const reject = adminRoute({
  method: "post",
  permission: "approve",
  path: `${ONE}/reject`,
  summary: "Reject a change request, saying why",
  body: RejectBodySchema,
  response: ChangeRequestSchema,
});
defineRoute(changeRequests, reject, async (c) => {
  const body = await readBody(c, reject);
  if (body instanceof Response) return body;
  return respond(c, await call(c, (s) => s.changeRequests().reject(param(c, "env"), param(c, "id"), meta(c, body.reason))));
});

const withdraw = adminRoute({
  method: "delete",
  path: ONE,
  summary: "Withdraw a change request (its requester)",
  response: ChangeRequestSchema,
});
defineRoute(changeRequests, withdraw, async (c) => {
  const actor = actorOf(c);
  return decided(
    c,
    await call(c, (s) => s.changeRequests().withdraw(param(c, "env"), param(c, "id"), { role: actor.role }, meta(c, null))),
  );
});
