/** The audit log and its hash chain, and what replication has published and has queued. */
import { AuditPageSchema, AuditVerifySchema, ReplicationSchema } from "../../contracts/admin-responses";
import { AuditQuerySchema } from "../schemas";
import { adminApp, adminRoute, defineRoute, P, readQuery, respond, call } from "./kit";

export const audit = adminApp();

const list = adminRoute({
  method: "get",
  path: `${P}/audit`,
  summary: "The audit log, newest first",
  query: AuditQuerySchema,
  response: AuditPageSchema,
});
defineRoute(audit, list, async (c) => {
  const query = readQuery(c, list, "the audit query is not valid");
  if (query instanceof Response) return query;
  const { since, until, cursor, ...rest } = query;
  return respond(
    c,
    await call(c, (s) =>
      s.audit().list({
        ...rest,
        since: since === undefined ? undefined : Date.parse(since),
        until: until === undefined ? undefined : Date.parse(until),
        beforeSeq: cursor,
      }),
    ),
  );
});

const verify = adminRoute({
  method: "get",
  path: `${P}/audit/verify`,
  summary: "Verify the audit hash chain",
  response: AuditVerifySchema,
});
defineRoute(audit, verify, async (c) => respond(c, await call(c, (s) => s.audit().verify())));

const replication = adminRoute({
  method: "get",
  path: `${P}/replication`,
  summary: "What has been published to KV and what is queued",
  response: ReplicationSchema,
});
defineRoute(audit, replication, async (c) => respond(c, await call(c, (s) => s.replicationStatus())));
