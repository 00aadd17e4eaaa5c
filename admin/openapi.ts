/**
 * The admin API's OpenAPI 3.1 document, served at `GET /admin/v1/openapi.json`. Request bodies and
 * query parameters are generated from the very zod schemas the routes validate with, so the
 * document cannot drift from validation; a test checks that every route registered on the admin
 * app is described here and nothing else.
 */
import * as z from "zod";
import {
  AuditQuerySchema,
  CompareQuerySchema,
  CreateAdminKeyBodySchema,
  CreateFlagBodySchema,
  CreateKeyBodySchema,
  CreateTriggerBodySchema,
  CreateWebhookBodySchema,
  DraftBodySchema,
  EvaluateBodySchema,
  ExperimentBodySchema,
  ExperimentsQuerySchema,
  FlagInfoPatchSchema,
  ProjectBodySchema,
  ProjectFlagBodySchema,
  PromoteBodySchema,
  RampBodySchema,
  RollbackBodySchema,
  RotateKeyBodySchema,
  SegmentBodySchema,
  StaleQuerySchema,
  ToggleBodySchema,
  UpdateFlagBodySchema,
  UpdateTriggerBodySchema,
  UpdateWebhookBodySchema,
} from "./schemas";

interface Operation {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** Hono path syntax (`:name`); converted to `{name}`. */
  path: string;
  summary: string;
  body?: z.ZodType;
  /** A flagd flag set (validated by the engine against https://flagd.dev/schema/v0/flags.json). */
  flagdBody?: boolean;
  query?: z.ZodObject;
  status?: 200 | 201 | 204;
  ifMatch?: "optional" | "required";
  public?: boolean;
}

const P = "/projects/:project";
const E = `${P}/environments/:env`;
const F = `${E}/flags/:flag`;

/** Every admin operation. Keep in step with `routes.ts` (a test enforces it). */
export const OPERATIONS: Operation[] = [
  { method: "get", path: "/openapi.json", summary: "This document", public: true },
  { method: "put", path: P, summary: "Create a project or add, reorder environments", body: ProjectBodySchema, status: 201 },
  { method: "get", path: P, summary: "A project's environments with versions and flag counts" },
  { method: "get", path: `${E}/flagd`, summary: "Export an environment as a flagd flag set (?format=plain rewrites extensions)" },
  { method: "put", path: `${E}/flagd`, summary: "Replace an environment's flags with a flagd flag set", flagdBody: true, ifMatch: "optional" },
  { method: "get", path: `${E}/flags`, summary: "List an environment's flags" },
  { method: "post", path: `${E}/flags`, summary: "Create a flag in one environment", body: CreateFlagBodySchema, status: 201 },
  { method: "get", path: F, summary: "Read a flag (ETag = its version)" },
  { method: "put", path: F, summary: "Replace a flag", body: UpdateFlagBodySchema, ifMatch: "required" },
  { method: "post", path: `${F}/toggle`, summary: "Kill switch: flip a flag's state, or set it", body: ToggleBodySchema, ifMatch: "optional" },
  { method: "delete", path: F, summary: "Delete a flag", status: 204, ifMatch: "optional" },
  { method: "post", path: `${E}/evaluate`, summary: "Evaluate a context against the current flags", body: EvaluateBodySchema },
  { method: "post", path: `${E}/keys`, summary: "Create a client or server key (shown once)", body: CreateKeyBodySchema, status: 201 },
  { method: "get", path: `${E}/keys`, summary: "List an environment's keys" },
  { method: "post", path: `${P}/keys`, summary: "Create an admin key (shown once)", body: CreateAdminKeyBodySchema, status: 201 },
  { method: "get", path: `${P}/keys`, summary: "List every key of the project" },
  { method: "delete", path: `${P}/keys/:id`, summary: "Revoke a key" },
  { method: "post", path: `${P}/keys/:id/rotate`, summary: "Rotate a key with an overlap window", body: RotateKeyBodySchema, status: 201 },
  { method: "get", path: `${P}/segments`, summary: "List segments" },
  { method: "get", path: `${P}/segments/:name`, summary: "Read a segment" },
  { method: "put", path: `${P}/segments/:name`, summary: "Create or replace a segment", body: SegmentBodySchema, ifMatch: "optional" },
  { method: "delete", path: `${P}/segments/:name`, summary: "Delete an unused segment", status: 204 },
  { method: "get", path: `${P}/flags`, summary: "Every flag across environments, side by side" },
  { method: "post", path: `${P}/flags`, summary: "Create a flag in every environment", body: ProjectFlagBodySchema, status: 201 },
  { method: "get", path: `${P}/flags/:flag`, summary: "A flag across environments" },
  { method: "patch", path: `${P}/flags/:flag`, summary: "Update a flag's description, owner, tags, lifetime", body: FlagInfoPatchSchema },
  { method: "get", path: `${P}/compare`, summary: "Compare two environments", query: CompareQuerySchema },
  { method: "post", path: `${P}/promote`, summary: "Promote flags between environments (?dryRun=true for the diff only)", body: PromoteBodySchema, ifMatch: "optional" },
  { method: "get", path: `${P}/webhooks`, summary: "List webhook subscriptions" },
  { method: "post", path: `${P}/webhooks`, summary: "Subscribe a URL to events (secret shown once)", body: CreateWebhookBodySchema, status: 201 },
  { method: "get", path: `${P}/webhooks/:id`, summary: "A subscription" },
  { method: "patch", path: `${P}/webhooks/:id`, summary: "Update a subscription", body: UpdateWebhookBodySchema },
  { method: "delete", path: `${P}/webhooks/:id`, summary: "Delete a subscription", status: 204 },
  { method: "post", path: `${P}/webhooks/:id/ping`, summary: "Send a ping event", status: 201 },
  { method: "get", path: `${P}/webhooks/:id/deliveries`, summary: "Delivery log" },
  { method: "post", path: `${P}/webhooks/:id/deliveries/:delivery/redeliver`, summary: "Deliver again" },
  { method: "get", path: `${P}/triggers`, summary: "List triggers" },
  { method: "post", path: `${P}/triggers`, summary: "Create a trigger (URL and secret shown once)", body: CreateTriggerBodySchema, status: 201 },
  { method: "patch", path: `${P}/triggers/:id`, summary: "Enable or disable a trigger", body: UpdateTriggerBodySchema },
  { method: "post", path: `${P}/triggers/:id/rotate`, summary: "New trigger URL and secret" },
  { method: "delete", path: `${P}/triggers/:id`, summary: "Delete a trigger", status: 204 },
  { method: "post", path: `${F}/ramp`, summary: "Start a scheduled ramp", body: RampBodySchema, status: 201 },
  { method: "get", path: `${F}/ramp`, summary: "A ramp and its timeline" },
  { method: "get", path: `${F}/ramp/exposures`, summary: "Unique units and SRM per ramp step" },
  { method: "post", path: `${F}/ramp/pause`, summary: "Pause a ramp" },
  { method: "post", path: `${F}/ramp/resume`, summary: "Resume a ramp" },
  { method: "post", path: `${F}/ramp/complete`, summary: "Jump a ramp to 100%" },
  { method: "post", path: `${F}/ramp/rollback`, summary: "Roll a ramp back to 0% or a step", body: RollbackBodySchema },
  { method: "delete", path: `${F}/ramp`, summary: "Delete a ramp (the flag keeps its targeting)", status: 204 },
  { method: "post", path: `${F}/experiment`, summary: "Start an experiment on a flag", body: ExperimentBodySchema, status: 201 },
  { method: "get", path: `${P}/experiments`, summary: "List experiments with units and SRM (?environment=&flag=)", query: ExperimentsQuerySchema },
  { method: "get", path: `${P}/experiments/:id`, summary: "An experiment with units per arm and SRM" },
  { method: "post", path: `${P}/experiments/:id/stop`, summary: "Stop an experiment" },
  { method: "get", path: `${P}/stale`, summary: "Stale flags: not evaluated, single variant, past removal date", query: StaleQuerySchema },
  { method: "get", path: `${E}/usage`, summary: "Evaluation counts and last evaluation per flag" },
  { method: "put", path: `${E}/draft`, summary: "Stage a draft for shadow evaluation", body: DraftBodySchema },
  { method: "get", path: `${E}/draft`, summary: "The draft and its shadow flip counts" },
  { method: "delete", path: `${E}/draft`, summary: "Discard the draft", status: 204 },
  { method: "post", path: `${E}/draft/publish`, summary: "Publish the draft", ifMatch: "optional" },
  { method: "get", path: `${P}/audit`, summary: "The audit log, newest first", query: AuditQuerySchema },
  { method: "get", path: `${P}/audit/verify`, summary: "Verify the audit hash chain" },
  { method: "get", path: `${P}/replication`, summary: "What has been published to KV and what is queued" },
  { method: "post", path: "/hooks/projects/:project/triggers/:token", summary: "Fire a trigger by its secret URL", public: true },
  { method: "post", path: "/hooks/projects/:project/triggers/:id/signed", summary: "Fire a trigger with an HMAC-signed request (Edgeflags-Signature)", public: true },
];

const PROBLEM = { $ref: "#/components/schemas/Problem" };

function jsonSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
}

/** The OpenAPI document for the admin API mounted at `/admin/v1`. */
export function openApiDocument(): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const path = op.path.replace(/:([A-Za-z]+)/g, "{$1}");
    const parameters: unknown[] = [...op.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    if (op.query) {
      const shape = (jsonSchema(op.query) as { properties?: Record<string, unknown>; required?: string[] });
      for (const [name, schema] of Object.entries(shape.properties ?? {})) {
        parameters.push({ name, in: "query", required: shape.required?.includes(name) ?? false, schema });
      }
    }
    if (op.ifMatch) parameters.push({ name: "If-Match", in: "header", required: op.ifMatch === "required", schema: { type: "string" }, description: 'The version you read, as its ETag ("12"); a stale one gets 412' });
    if (!op.public) parameters.push({ name: "X-Change-Reason", in: "header", required: false, schema: { type: "string" }, description: "Why; kept in the audit log" });
    const status = String(op.status ?? 200);
    const operation: Record<string, unknown> = {
      summary: op.summary,
      operationId: `${op.method}${path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
      parameters,
      responses: {
        [status]: { description: status === "204" ? "Done" : "OK" },
        "400": { description: "Invalid request; nothing changed", content: { "application/problem+json": { schema: PROBLEM } } },
        ...(op.public ? {} : { "401": { description: "No valid credential" }, "403": { description: "A client or server key" } }),
        "404": { description: "Not found", content: { "application/problem+json": { schema: PROBLEM } } },
        "409": { description: "Conflicts with the current state", content: { "application/problem+json": { schema: PROBLEM } } },
        ...(op.ifMatch ? { "412": { description: "Changed since you read it", content: { "application/problem+json": { schema: PROBLEM } } } } : {}),
      },
    };
    if (op.public) operation["security"] = [];
    if (op.body) operation["requestBody"] = { required: true, content: { "application/json": { schema: jsonSchema(op.body) } } };
    if (op.flagdBody) operation["requestBody"] = { required: true, content: { "application/json": { schema: { $ref: "https://flagd.dev/schema/v0/flags.json" } } } };
    (paths[path] ??= {})[op.method] = operation;
  }
  return {
    openapi: "3.1.0",
    info: { title: "edgeflags admin API", version: "1", description: "Flags, environments, keys, segments, webhooks, triggers, ramps and experiments. Errors are RFC 9457 problem+json." },
    servers: [{ url: "/admin/v1" }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "The admin token or an admin key" } },
      schemas: {
        Problem: {
          type: "object",
          required: ["type", "title", "status", "detail"],
          properties: {
            type: { type: "string" },
            title: { type: "string" },
            status: { type: "integer" },
            detail: { type: "string" },
            errors: { type: "array", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } } },
            currentVersion: { type: "integer" },
          },
        },
      },
    },
    paths,
  };
}
