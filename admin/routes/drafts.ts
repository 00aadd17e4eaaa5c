/** Drafts: a staged flag set evaluated in the shadow of live traffic, then published or discarded. */
import { DraftSchema, PublishedSchema } from "../../contracts/admin-responses";
import { storeProblem } from "../problem";
import { DraftBodySchema, PublishDraftBodySchema } from "../schemas";
import {
  adminApp,
  adminRoute,
  defineRoute,
  E,
  meta,
  noteAllVersions,
  noteWritten,
  param,
  readBody,
  readIfMatch,
  respond,
  call,
} from "./kit";

export const drafts = adminApp();

const D = `${E}/draft`;

const put = adminRoute({
  method: "put",
  path: D,
  summary: "Stage a draft for shadow evaluation",
  body: DraftBodySchema,
  response: DraftSchema,
});
defineRoute(drafts, put, async (c) => {
  const body = await readBody(c, put);
  if (body instanceof Response) return body;
  const result = await call(c, (s) => s.drafts().put(param(c, "env"), body.flagSet, body.sampleRate, meta(c, body.reason)));
  if (result.ok) await noteAllVersions(c);
  return respond(c, result);
});

const read = adminRoute({ method: "get", path: D, summary: "The draft and its shadow flip counts", response: DraftSchema });
defineRoute(drafts, read, async (c) => respond(c, await call(c, (s) => s.drafts().get(param(c, "env")))));

const discard = adminRoute({ method: "delete", path: D, summary: "Discard the draft", status: 204 });
defineRoute(drafts, discard, async (c) => {
  const result = await call(c, (s) => s.drafts().delete(param(c, "env"), meta(c, null)));
  if (!result.ok) return storeProblem(result.error);
  await noteAllVersions(c);
  return c.body(null, 204);
});

const publish = adminRoute({
  method: "post",
  path: `${D}/publish`,
  summary: "Publish the draft",
  body: PublishDraftBodySchema,
  ifMatch: "optional",
  response: PublishedSchema,
});
defineRoute(drafts, publish, async (c) => {
  const ifMatch = readIfMatch(c);
  if (ifMatch instanceof Response) return ifMatch;
  const body = await readBody(c, publish, {});
  if (body instanceof Response) return body;
  const result = await call(c, (s) => s.drafts().publish(param(c, "env"), { ...meta(c, body.reason), ifMatch }));
  if (!result.ok) return storeProblem(result.error);
  noteWritten(c, c.get("project"), param(c, "env"), result.value.version);
  return c.json(result.value);
});
