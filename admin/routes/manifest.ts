/**
 * Flags declared in code: an OpenFeature CLI flag manifest synced into an environment (creates
 * what is missing, reports drift, never changes an existing flag), and an environment exported as
 * a manifest (for typed accessors: `openfeature generate`, or `flags manifest`).
 *
 * @example
 * curl -X POST "localhost:8787/admin/v1/projects/default/environments/qa/manifest?dryRun=true" \
 *   -H "authorization: Bearer $ADMIN_TOKEN" -H "content-type: application/json" -d @flags.manifest.json
 */
import * as z from "zod";
import { FlagManifestSchema, ManifestSyncSchema } from "../../contracts/flag-manifest";
import { storeProblem } from "../problem";
import { FlagKeySchema } from "../schemas";
import { adminApp, adminRoute, defineRoute, E, meta, noteWritten, param, readBody, readQuery, call } from "./kit";

export const manifest = adminApp();

/** A manifest whose every key is also a valid edgeflags flag key. */
const ManifestBodySchema = FlagManifestSchema.superRefine((body, ctx) => {
  for (const key of Object.keys(body.flags)) {
    const parsed = FlagKeySchema.safeParse(key);
    if (!parsed.success)
      ctx.addIssue({ code: "custom", path: ["flags", key], message: `not a valid flag key: ${parsed.error.issues[0]!.message}` });
  }
});

const sync = adminRoute({
  method: "post",
  path: `${E}/manifest`,
  summary: "Sync a flag manifest into an environment: create missing flags, report drift (?dryRun=true writes nothing)",
  body: ManifestBodySchema,
  query: z.object({ dryRun: z.enum(["true", "false"]).optional() }),
  response: ManifestSyncSchema,
});
defineRoute(manifest, sync, async (c) => {
  const query = readQuery(c, sync, "dryRun is true or false");
  if (query instanceof Response) return query;
  const body = await readBody(c, sync);
  if (body instanceof Response) return body;
  const dryRun = query.dryRun === "true";
  const environment = param(c, "env");
  const result = await call(c, (s) => s.manifest().sync(environment, body.flags, { ...meta(c, null), dryRun }));
  if (!result.ok) return storeProblem(result.error);
  if (result.value.changed && !dryRun) noteWritten(c, c.get("project"), environment, result.value.version);
  return c.json(result.value);
});

const read = adminRoute({
  method: "get",
  path: `${E}/manifest`,
  summary: "An environment's flags as an OpenFeature CLI flag manifest",
  response: FlagManifestSchema,
  etag: true,
});
defineRoute(manifest, read, async (c) => {
  const result = await call(c, (s) => s.manifest().get(param(c, "env")));
  if (!result.ok) return storeProblem(result.error);
  c.header("ETag", `"${result.value.version}"`);
  c.header("X-Edgeflags-Config-Version", String(result.value.version));
  return c.json(result.value.manifest);
});
