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
  FlagDefinitionSchema,
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
import {
  AuditPageSchema,
  AuditVerifySchema,
  CreatedKeySchema,
  EvaluationSchema,
  FlagListSchema,
  FlagSchema,
  KeyListSchema,
  KeySchema,
  ProblemSchema,
  ProjectSchema,
  CreatedTriggerSchema,
  CreatedWebhookSchema,
  DeliveryListSchema,
  DeliverySchema,
  DraftSchema,
  EnvironmentDiffSchema,
  ExperimentListSchema,
  ExperimentSchema,
  FlagSetWrittenSchema,
  PingSchema,
  ProjectFlagListSchema,
  ProjectFlagSchema,
  PromoteSchema,
  PublishedSchema,
  RampExposuresSchema,
  RampSchema,
  ReplicationSchema,
  RotatedKeySchema,
  SegmentListSchema,
  SegmentSchema,
  StaleSchema,
  TriggerListSchema,
  TriggerOutcomeSchema,
  TriggerSchema,
  UsageSchema,
  WebhookListSchema,
  WebhookSchema,
} from "../contracts/admin-responses";

/**
 * A flagd flag set as the document describes it (https://flagd.dev/schema/v0/flags.json); the
 * routes validate flag sets with the engine, which checks far more (variant types, targeting).
 */
const FlagdFlagSetSchema = z.object({
  flags: z.record(z.string(), FlagDefinitionSchema),
  $evaluators: z.record(z.string(), z.json()).optional(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
}).meta({ description: "A flagd flag set (https://flagd.dev/schema/v0/flags.json) with edgeflags' documented extensions" });

const OpenApiDocumentSchema = z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.record(z.string(), z.unknown()) });

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
  /** The success body; every operation but a 204 names one. */
  response?: z.ZodType;
  /** The success body is a flagd flag set. */
  flagdResponse?: boolean;
  ifMatch?: "optional" | "required";
  public?: boolean;
}

const P = "/projects/:project";
const E = `${P}/environments/:env`;
const F = `${E}/flags/:flag`;

/** Every admin operation. Keep in step with `routes.ts` (a test enforces it). */
export const OPERATIONS: Operation[] = [
  { method: "get", path: "/openapi.json", summary: "This document", public: true, response: OpenApiDocumentSchema },
  { method: "put", path: P, summary: "Create a project or add, reorder environments", body: ProjectBodySchema, status: 201, response: ProjectSchema },
  { method: "get", path: P, summary: "A project's environments with versions and flag counts", response: ProjectSchema },
  { method: "get", path: `${E}/flagd`, summary: "Export an environment as a flagd flag set (?format=plain rewrites extensions)", flagdResponse: true },
  { method: "put", path: `${E}/flagd`, summary: "Replace an environment's flags with a flagd flag set", flagdBody: true, ifMatch: "optional", response: FlagSetWrittenSchema },
  { method: "get", path: `${E}/flags`, summary: "List an environment's flags", response: FlagListSchema },
  { method: "post", path: `${E}/flags`, summary: "Create a flag in one environment", body: CreateFlagBodySchema, status: 201, response: FlagSchema },
  { method: "get", path: F, summary: "Read a flag (ETag = its version)", response: FlagSchema },
  { method: "put", path: F, summary: "Replace a flag", body: UpdateFlagBodySchema, ifMatch: "required", response: FlagSchema },
  { method: "post", path: `${F}/toggle`, summary: "Kill switch: flip a flag's state, or set it", body: ToggleBodySchema, ifMatch: "optional", response: FlagSchema },
  { method: "delete", path: F, summary: "Delete a flag", status: 204, ifMatch: "optional" },
  { method: "post", path: `${E}/evaluate`, summary: "Evaluate a context against the current flags", body: EvaluateBodySchema, response: EvaluationSchema },
  { method: "post", path: `${E}/keys`, summary: "Create a client or server key (shown once)", body: CreateKeyBodySchema, status: 201, response: CreatedKeySchema },
  { method: "get", path: `${E}/keys`, summary: "List an environment's keys", response: KeyListSchema },
  { method: "post", path: `${P}/keys`, summary: "Create an admin key (shown once)", body: CreateAdminKeyBodySchema, status: 201, response: CreatedKeySchema },
  { method: "get", path: `${P}/keys`, summary: "List every key of the project", response: KeyListSchema },
  { method: "delete", path: `${P}/keys/:id`, summary: "Revoke a key", response: KeySchema },
  { method: "post", path: `${P}/keys/:id/rotate`, summary: "Rotate a key with an overlap window", body: RotateKeyBodySchema, status: 201, response: RotatedKeySchema },
  { method: "get", path: `${P}/segments`, summary: "List segments", response: SegmentListSchema },
  { method: "get", path: `${P}/segments/:name`, summary: "Read a segment", response: SegmentSchema },
  { method: "put", path: `${P}/segments/:name`, summary: "Create or replace a segment", body: SegmentBodySchema, ifMatch: "optional", response: SegmentSchema },
  { method: "delete", path: `${P}/segments/:name`, summary: "Delete an unused segment", status: 204 },
  { method: "get", path: `${P}/flags`, summary: "Every flag across environments, side by side", response: ProjectFlagListSchema },
  { method: "post", path: `${P}/flags`, summary: "Create a flag in every environment", body: ProjectFlagBodySchema, status: 201, response: ProjectFlagSchema },
  { method: "get", path: `${P}/flags/:flag`, summary: "A flag across environments", response: ProjectFlagSchema },
  { method: "patch", path: `${P}/flags/:flag`, summary: "Update a flag's description, owner, tags, lifetime", body: FlagInfoPatchSchema, response: ProjectFlagSchema },
  { method: "get", path: `${P}/compare`, summary: "Compare two environments", query: CompareQuerySchema, response: EnvironmentDiffSchema },
  { method: "post", path: `${P}/promote`, summary: "Promote flags between environments (?dryRun=true for the diff only)", body: PromoteBodySchema, ifMatch: "optional", response: PromoteSchema },
  { method: "get", path: `${P}/webhooks`, summary: "List webhook subscriptions", response: WebhookListSchema },
  { method: "post", path: `${P}/webhooks`, summary: "Subscribe a URL to events (secret shown once)", body: CreateWebhookBodySchema, status: 201, response: CreatedWebhookSchema },
  { method: "get", path: `${P}/webhooks/:id`, summary: "A subscription", response: WebhookSchema },
  { method: "patch", path: `${P}/webhooks/:id`, summary: "Update a subscription", body: UpdateWebhookBodySchema, response: WebhookSchema },
  { method: "delete", path: `${P}/webhooks/:id`, summary: "Delete a subscription", status: 204 },
  { method: "post", path: `${P}/webhooks/:id/ping`, summary: "Send a ping event", status: 201, response: PingSchema },
  { method: "get", path: `${P}/webhooks/:id/deliveries`, summary: "Delivery log", response: DeliveryListSchema },
  { method: "post", path: `${P}/webhooks/:id/deliveries/:delivery/redeliver`, summary: "Deliver again", response: DeliverySchema },
  { method: "get", path: `${P}/triggers`, summary: "List triggers", response: TriggerListSchema },
  { method: "post", path: `${P}/triggers`, summary: "Create a trigger (URL and secret shown once)", body: CreateTriggerBodySchema, status: 201, response: CreatedTriggerSchema },
  { method: "patch", path: `${P}/triggers/:id`, summary: "Enable or disable a trigger", body: UpdateTriggerBodySchema, response: TriggerSchema },
  { method: "post", path: `${P}/triggers/:id/rotate`, summary: "New trigger URL and secret", response: CreatedTriggerSchema },
  { method: "delete", path: `${P}/triggers/:id`, summary: "Delete a trigger", status: 204 },
  { method: "post", path: `${F}/ramp`, summary: "Start a scheduled ramp", body: RampBodySchema, status: 201, response: RampSchema },
  { method: "get", path: `${F}/ramp`, summary: "A ramp and its timeline", response: RampSchema },
  { method: "get", path: `${F}/ramp/exposures`, summary: "Unique units and SRM per ramp step", response: RampExposuresSchema },
  { method: "post", path: `${F}/ramp/pause`, summary: "Pause a ramp", response: RampSchema },
  { method: "post", path: `${F}/ramp/resume`, summary: "Resume a ramp", response: RampSchema },
  { method: "post", path: `${F}/ramp/complete`, summary: "Jump a ramp to 100%", response: RampSchema },
  { method: "post", path: `${F}/ramp/rollback`, summary: "Roll a ramp back to 0% or a step", body: RollbackBodySchema, response: RampSchema },
  { method: "delete", path: `${F}/ramp`, summary: "Delete a ramp (the flag keeps its targeting)", status: 204 },
  { method: "post", path: `${F}/experiment`, summary: "Start an experiment on a flag", body: ExperimentBodySchema, status: 201, response: ExperimentSchema },
  { method: "get", path: `${P}/experiments`, summary: "List experiments with units and SRM (?environment=&flag=)", query: ExperimentsQuerySchema, response: ExperimentListSchema },
  { method: "get", path: `${P}/experiments/:id`, summary: "An experiment with units per arm and SRM", response: ExperimentSchema },
  { method: "post", path: `${P}/experiments/:id/stop`, summary: "Stop an experiment", response: ExperimentSchema },
  { method: "get", path: `${P}/stale`, summary: "Stale flags: not evaluated, single variant, past removal date", query: StaleQuerySchema, response: StaleSchema },
  { method: "get", path: `${E}/usage`, summary: "Evaluation counts and last evaluation per flag", response: UsageSchema },
  { method: "put", path: `${E}/draft`, summary: "Stage a draft for shadow evaluation", body: DraftBodySchema, response: DraftSchema },
  { method: "get", path: `${E}/draft`, summary: "The draft and its shadow flip counts", response: DraftSchema },
  { method: "delete", path: `${E}/draft`, summary: "Discard the draft", status: 204 },
  { method: "post", path: `${E}/draft/publish`, summary: "Publish the draft", ifMatch: "optional", response: PublishedSchema },
  { method: "get", path: `${P}/audit`, summary: "The audit log, newest first", query: AuditQuerySchema, response: AuditPageSchema },
  { method: "get", path: `${P}/audit/verify`, summary: "Verify the audit hash chain", response: AuditVerifySchema },
  { method: "get", path: `${P}/replication`, summary: "What has been published to KV and what is queued", response: ReplicationSchema },
  { method: "post", path: "/hooks/projects/:project/triggers/:token", summary: "Fire a trigger by its secret URL", public: true, response: TriggerOutcomeSchema },
  { method: "post", path: "/hooks/projects/:project/triggers/:id/signed", summary: "Fire a trigger with an HMAC-signed request (Edgeflags-Signature)", public: true, response: TriggerOutcomeSchema },
];

/** Path parameters (`:name`) of a Hono path. */
const PATH_PARAMETER = /:([A-Za-z]+)/g;

/**
 * Every schema the document names, under its component name. Request and response bodies are
 * emitted once under `components/schemas` and referenced, so the document carries no dangling
 * `$defs` and generators see named types.
 */
const COMPONENTS: Record<string, z.ZodType> = {
  Problem: ProblemSchema,
  FlagDefinition: FlagDefinitionSchema,
  FlagdFlagSet: FlagdFlagSetSchema,
  OpenApiDocument: OpenApiDocumentSchema,
  Project: ProjectSchema,
  Flag: FlagSchema,
  FlagList: FlagListSchema,
  FlagSetWritten: FlagSetWrittenSchema,
  Evaluation: EvaluationSchema,
  Key: KeySchema,
  KeyList: KeyListSchema,
  CreatedKey: CreatedKeySchema,
  RotatedKey: RotatedKeySchema,
  Segment: SegmentSchema,
  SegmentList: SegmentListSchema,
  ProjectFlag: ProjectFlagSchema,
  ProjectFlagList: ProjectFlagListSchema,
  EnvironmentDiff: EnvironmentDiffSchema,
  Promote: PromoteSchema,
  Webhook: WebhookSchema,
  WebhookList: WebhookListSchema,
  CreatedWebhook: CreatedWebhookSchema,
  Ping: PingSchema,
  Delivery: DeliverySchema,
  DeliveryList: DeliveryListSchema,
  Trigger: TriggerSchema,
  TriggerList: TriggerListSchema,
  CreatedTrigger: CreatedTriggerSchema,
  TriggerOutcome: TriggerOutcomeSchema,
  Ramp: RampSchema,
  RampExposures: RampExposuresSchema,
  Experiment: ExperimentSchema,
  ExperimentList: ExperimentListSchema,
  Stale: StaleSchema,
  Usage: UsageSchema,
  Draft: DraftSchema,
  Published: PublishedSchema,
  AuditPage: AuditPageSchema,
  AuditVerify: AuditVerifySchema,
  Replication: ReplicationSchema,
  ProjectBody: ProjectBodySchema,
  CreateFlagBody: CreateFlagBodySchema,
  UpdateFlagBody: UpdateFlagBodySchema,
  ToggleBody: ToggleBodySchema,
  EvaluateBody: EvaluateBodySchema,
  CreateKeyBody: CreateKeyBodySchema,
  CreateAdminKeyBody: CreateAdminKeyBodySchema,
  RotateKeyBody: RotateKeyBodySchema,
  SegmentBody: SegmentBodySchema,
  ProjectFlagBody: ProjectFlagBodySchema,
  FlagInfoPatch: FlagInfoPatchSchema,
  PromoteBody: PromoteBodySchema,
  CreateWebhookBody: CreateWebhookBodySchema,
  UpdateWebhookBody: UpdateWebhookBodySchema,
  CreateTriggerBody: CreateTriggerBodySchema,
  UpdateTriggerBody: UpdateTriggerBodySchema,
  RampBody: RampBodySchema,
  RollbackBody: RollbackBodySchema,
  ExperimentBody: ExperimentBodySchema,
  DraftBody: DraftBodySchema,
};

const COMPONENT_PATH = "#/components/schemas/";

/**
 * The JSON Schemas of `COMPONENTS`, referencing each other by component name. zod puts schemas
 * that recur without a name of their own under `__shared`: the recursive JSON value (each
 * `z.json()`) becomes the one `JsonValue` component, any other is lifted into a component of its
 * own (`Shared0`, …), and every reference is rewritten to match.
 */
function componentSchemas(): { schemas: Record<string, unknown>; nameOf: Map<z.ZodType, string> } {
  const registry = z.registry<{ id: string }>();
  const nameOf = new Map<z.ZodType, string>();
  for (const [name, schema] of Object.entries(COMPONENTS)) {
    if (nameOf.has(schema)) continue;
    registry.add(schema, { id: name });
    nameOf.set(schema, name);
  }
  const generated = z.toJSONSchema(registry, { uri: (id) => `${COMPONENT_PATH}${id}`, io: "input", unrepresentable: "any" });
  const shared = (generated.schemas["__shared"] as { $defs?: Record<string, unknown> } | undefined)?.$defs ?? {};
  const renamed = new Map<string, string>();
  const schemas: Record<string, unknown> = {};
  for (const [def, schema] of Object.entries(shared)) {
    // Only a JSON value refers to itself: generators cannot name such a type, and it means "any".
    const recursive = JSON.stringify(schema).includes(`__shared#/$defs/${def}"`);
    renamed.set(def, recursive ? "JsonValue" : `Shared${def.replace(/^schema/, "")}`);
    if (!recursive) schemas[renamed.get(def)!] = schema;
  }
  if ([...renamed.values()].includes("JsonValue")) schemas["JsonValue"] = { description: "Any JSON value" };
  for (const [name, schema] of Object.entries(generated.schemas)) if (name !== "__shared") schemas[name] = schema;
  return { schemas: tidy(schemas, renamed) as Record<string, unknown>, nameOf };
}

/** Drops JSON Schema's per-document keys (`$schema`, `$id`) and rewrites `__shared` references. */
function tidy(value: unknown, renamed: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => tidy(item, renamed));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === "$schema" || key === "$id") continue;
    if (key === "$ref" && typeof inner === "string") {
      const shared = /^#\/components\/schemas\/__shared#\/\$defs\/(.+)$/.exec(inner);
      out[key] = shared ? `${COMPONENT_PATH}${renamed.get(shared[1]!) ?? shared[1]!}` : inner;
      continue;
    }
    out[key] = tidy(inner, renamed);
  }
  return out;
}

function problemResponse(description: string) {
  return { description, content: { "application/problem+json": { schema: { $ref: `${COMPONENT_PATH}Problem` } } } };
}

/** Query parameters are flat scalars: their schemas are inlined. */
function queryParameters(query: z.ZodObject): unknown[] {
  const shape = z.toJSONSchema(query, { io: "input", unrepresentable: "any" }) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(shape.properties ?? {}).map(([name, schema]) => ({ name, in: "query", required: shape.required?.includes(name) ?? false, schema }));
}

/** The OpenAPI document for the admin API mounted at `/admin/v1`. */
export function openApiDocument(): unknown {
  const { schemas, nameOf } = componentSchemas();
  const ref = (schema: z.ZodType) => {
    const name = nameOf.get(schema);
    if (!name) throw new Error("an operation names a schema that COMPONENTS does not list");
    return { $ref: `${COMPONENT_PATH}${name}` };
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const path = op.path.replace(PATH_PARAMETER, "{$1}");
    const parameters: unknown[] = [...op.path.matchAll(PATH_PARAMETER)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    if (op.query) parameters.push(...queryParameters(op.query));
    if (op.ifMatch) parameters.push({ name: "If-Match", in: "header", required: op.ifMatch === "required", schema: { type: "string" }, description: 'The version you read, as its ETag ("12"); a stale one gets 412' });
    if (!op.public) parameters.push({ name: "X-Change-Reason", in: "header", required: false, schema: { type: "string" }, description: "Why; kept in the audit log" });
    const status = String(op.status ?? 200);
    const success = op.flagdResponse ? ref(FlagdFlagSetSchema) : op.response ? ref(op.response) : null;
    const operation: Record<string, unknown> = {
      summary: op.summary,
      operationId: `${op.method}${path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
      parameters,
      responses: {
        [status]: success ? { description: "OK", content: { "application/json": { schema: success } } } : { description: "Done" },
        "400": problemResponse("Invalid request; nothing changed"),
        ...(op.public ? {} : { "401": problemResponse("No valid credential"), "403": problemResponse("A client or server key") }),
        "404": problemResponse("Not found"),
        "409": problemResponse("Conflicts with the current state"),
        ...(op.ifMatch ? { "412": problemResponse("Changed since you read it") } : {}),
        ...(op.body || op.flagdBody
          ? { "413": problemResponse("The body is larger than the admin API accepts"), "415": problemResponse("The body is not JSON") }
          : {}),
        "429": problemResponse("Too many requests or failed sign-ins; wait for Retry-After"),
        "503": problemResponse("A dependency did not answer in time; nothing changed, try again after Retry-After"),
      },
    };
    if (op.public) operation["security"] = [];
    if (op.body) operation["requestBody"] = { required: true, content: { "application/json": { schema: ref(op.body) } } };
    if (op.flagdBody) operation["requestBody"] = { required: true, content: { "application/json": { schema: ref(FlagdFlagSetSchema) } } };
    (paths[path] ??= {})[op.method] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "edgeflags admin API",
      version: "1",
      description: "Flags, environments, keys, segments, webhooks, triggers, ramps and experiments. Errors are RFC 9457 problem+json.",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    servers: [{ url: "/admin/v1" }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "The admin token or an admin key" } },
      schemas,
    },
    paths,
  };
}
