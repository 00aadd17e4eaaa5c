/**
 * The admin API, mounted at `/admin/v1`: auth → validate → FlagStore RPC → JSON or problem+json.
 * Nothing reaches the FlagStore before its body has been parsed; a rejected write changes nothing.
 *
 * @example
 * curl -X POST localhost:8787/admin/v1/projects/default/environments/production/flags/new-checkout/toggle \
 *   -H "authorization: Bearer $ADMIN_TOKEN" -H "x-change-reason: checkout errors"
 */
import { bodyLimit } from "hono/body-limit";
import { authenticateAdmin } from "./auth";
import { MAX_ADMIN_BODY_BYTES } from "./json-body";
import { describeSecurity, OpenApiDocumentSchema, openApiDocument } from "./openapi";
import { problem } from "./problem";
import { access } from "./routes/access";
import { audit } from "./routes/audit";
import { changeRequests } from "./routes/change-requests";
import { protectEnvironments, protection } from "./routes/protection";
import { schedules } from "./routes/schedules";
import { drafts } from "./routes/drafts";
import { experiments } from "./routes/experiments";
import { explain } from "./routes/explain";
import { flags } from "./routes/flags";
import { imports } from "./routes/import";
import { keys } from "./routes/keys";
import { migration } from "./routes/migration";
import { manifest } from "./routes/manifest";
import { manifestApi } from "./routes/manifest-api";
import { metrics } from "./routes/metrics";
import { trackedEvents } from "./routes/tracked-events";
import { adminApp, adminRoute, boundReason, defineRoute, type AdminContext } from "./routes/kit";
import { projectFlags } from "./routes/project-flags";
import { projectList } from "./routes/project-list";
import { projects } from "./routes/projects";
import { ramps } from "./routes/ramps";
import { segments } from "./routes/segments";
import { triggers } from "./routes/triggers";
import { webhooks } from "./routes/webhooks";
import { NameSchema } from "./schemas";
import { hooks } from "./webhooks-in";

export const admin = adminApp();

// One limit for every admin body (flag sets, drafts, segments, flags, trigger calls), checked
// before the body is read; see `./json-body.ts` for its size.
admin.use(
  "*",
  bodyLimit({
    maxSize: MAX_ADMIN_BODY_BYTES,
    onError: () => problem("payload_too_large", `admin request bodies are limited to ${MAX_ADMIN_BODY_BYTES} bytes (8 MiB)`),
  }),
);

const authenticate = async (c: AdminContext, next: () => Promise<void>) => {
  // "/projects/:project/*" also matches "/projects/:project": authenticate (and count a failure) once.
  if (c.get("actor")) return next();
  const project = c.req.param("project") ?? "";
  const name = NameSchema.safeParse(project);
  if (!name.success) {
    return problem("invalid", `"${project}" is not a valid project name: ${name.error.issues[0]!.message}`, {
      errors: [{ path: "project", message: name.error.issues[0]!.message }],
    });
  }
  const actor = await authenticateAdmin(c.req.raw, c.env, project);
  if (actor instanceof Response) return actor;
  c.set("actor", actor);
  c.set("project", project);
  await next();
};

admin.use("/projects/:project", authenticate);
admin.use("/projects/:project/*", authenticate);
// A reason header longer than a body's reason may be is refused before anything is read or changed.
admin.use("/projects/:project", boundReason);
admin.use("/projects/:project/*", boundReason);
// A protected environment refuses direct writes to non-admins (`routes/protection.ts`).
admin.use("/projects/:project/*", protectEnvironments);

// Trigger URLs authenticate by their own secret, not by admin credentials.
admin.route("/hooks", hooks);

const document = adminRoute({
  method: "get",
  path: "/openapi.json",
  summary: "This document",
  public: true,
  response: OpenApiDocumentSchema,
});
let openApi: string | null = null;
defineRoute(admin, document, (c) => {
  openApi ??= JSON.stringify(adminOpenApiDocument());
  return c.body(openApi, 200, { "content-type": "application/json" });
});

// One sub-app per resource; each route declares its request and response schemas.
for (const resource of [
  projectList,
  projects,
  flags,
  explain,
  keys,
  segments,
  projectFlags,
  webhooks,
  triggers,
  ramps,
  experiments,
  drafts,
  imports,
  manifest,
  manifestApi,
  migration,
  audit,
  protection,
  changeRequests,
  schedules,
  access,
  metrics,
  trackedEvents,
])
  admin.route("/", resource);

describeSecurity(admin);

/** The admin API's OpenAPI document, generated from the routes above. */
export function adminOpenApiDocument() {
  return openApiDocument(admin);
}
