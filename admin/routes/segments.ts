/** Segments: named audiences (a JsonLogic rule or a member list) that flags target by name. */
import { SegmentListSchema, SegmentSchema } from "../../contracts/admin-responses";
import { problem, storeProblem } from "../problem";
import { NameSchema, SegmentBodySchema } from "../schemas";
import { adminApp, adminRoute, defineRoute, meta, noteAllVersions, P, param, readBody, readIfMatch, respond, call } from "./kit";

export const segments = adminApp();

const list = adminRoute({ method: "get", path: `${P}/segments`, summary: "List segments", response: SegmentListSchema });
defineRoute(segments, list, async (c) => respond(c, await call(c, (s) => s.segments().list())));

const read = adminRoute({ method: "get", path: `${P}/segments/{name}`, summary: "Read a segment", response: SegmentSchema, etag: true });
defineRoute(segments, read, async (c) => {
  const result = await call(c, (s) => s.segments().get(param(c, "name")));
  if (!result.ok) return storeProblem(result.error);
  c.header("ETag", `"${result.value.version}"`);
  return c.json(result.value);
});

const put = adminRoute({
  method: "put",
  path: `${P}/segments/{name}`,
  summary: "Create or replace a segment",
  body: SegmentBodySchema,
  ifMatch: "optional",
  response: SegmentSchema,
  etag: true,
});
defineRoute(segments, put, async (c) => {
  const name = NameSchema.safeParse(param(c, "name"));
  if (!name.success)
    return problem("invalid", `segment names: ${name.error.issues[0]!.message}`, {
      errors: [{ path: "name", message: name.error.issues[0]!.message }],
    });
  const ifMatch = readIfMatch(c);
  if (ifMatch instanceof Response) return ifMatch;
  const body = await readBody(c, put);
  if (body instanceof Response) return body;
  const { reason, ...input } = body;
  const result = await call(c, (s) => s.segments().put(name.data, input, { ...meta(c, reason), ifMatch }));
  if (!result.ok) return storeProblem(result.error);
  await noteAllVersions(c);
  c.header("ETag", `"${result.value.version}"`);
  return c.json(result.value);
});

const remove = adminRoute({ method: "delete", path: `${P}/segments/{name}`, summary: "Delete an unused segment", status: 204 });
defineRoute(segments, remove, async (c) => {
  const result = await call(c, (s) => s.segments().delete(param(c, "name"), meta(c, null)));
  if (!result.ok) return storeProblem(result.error);
  await noteAllVersions(c);
  return c.body(null, 204);
});
