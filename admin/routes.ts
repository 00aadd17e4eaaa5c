/**
 * The admin API, mounted at `/admin/v1`: auth → validate → FlagStore RPC → JSON or problem+json.
 * Nothing reaches the FlagStore before its body has been parsed; a rejected write changes nothing.
 *
 * @example
 * curl -X POST localhost:8787/admin/v1/projects/default/environments/production/flags/new-checkout/toggle \
 *   -H "authorization: Bearer $ADMIN_TOKEN" -H "x-change-reason: checkout errors"
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import type { Result } from "../contracts/result";
import type { WrittenVariables } from "../contracts/written";
import type { Actor } from "./actor";
import { authenticateAdmin } from "./auth";
import { isJsonContentType, MAX_ADMIN_BODY_BYTES, readJson } from "./json-body";
import { problem, storeProblem } from "./problem";
import { knownProject, registerProject } from "./projects";
import { allowsLocalWebhooks, webhookUrlRefusal } from "../lib/webhook-url";
import { hooks } from "./webhooks-in";
import { openApiDocument } from "./openapi";
import {
  AuditQuerySchema,
  CreateAdminKeyBodySchema,
  CreateFlagBodySchema,
  CompareQuerySchema,
  CreateKeyBodySchema,
  CreateTriggerBodySchema,
  CreateWebhookBodySchema,
  DraftBodySchema,
  ExperimentBodySchema,
  ExperimentsQuerySchema,
  RampBodySchema,
  PublishDraftBodySchema,
  RollbackBodySchema,
  StaleQuerySchema,
  EvaluateBodySchema,
  FlagInfoPatchSchema,
  ProjectFlagBodySchema,
  PromoteBodySchema,
  RotateKeyBodySchema,
  SegmentBodySchema,
  UpdateTriggerBodySchema,
  UpdateWebhookBodySchema,
  FlagKeySchema,
  NameSchema,
  ProjectBodySchema,
  toProblems,
  ToggleBodySchema,
  UpdateFlagBodySchema,
} from "./schemas";
import { compileFlagSet, toPlainFlagd } from "../engine/index";
import type { EvaluationContext, FlagDefinition } from "../engine/types";
import { toOfrep } from "../contracts/ofrep-wire";

type AdminEnv = { Bindings: Env; Variables: { actor: Actor; project: string } & WrittenVariables };
type AdminContext = Context<AdminEnv>;

/** Records a version this request committed, for the edge to serve at once (`contracts/written.ts`). */
function noteWritten(c: AdminContext, project: string, environment: string, version: number): void {
  c.set("written", [...(c.get("written") ?? []), { project, environment, version }]);
}

export const admin = new Hono<AdminEnv>();

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

// Trigger URLs authenticate by their own secret, not by admin credentials.
admin.route("/hooks", hooks);

let openApi: string | null = null;
admin.get("/openapi.json", (c) => {
  openApi ??= JSON.stringify(openApiDocument());
  return c.body(openApi, 200, { "content-type": "application/json" });
});

// ---- projects ---------------------------------------------------------------------------------

admin.put("/projects/:project", async (c) => {
  const body = await parseBody(c, ProjectBodySchema);
  if (body instanceof Response) return body;
  // A new project enters the registry before its FlagStore exists, so key sign-ins and trigger
  // URLs find it at once; if KV cannot take it, nothing is created.
  const project = c.get("project");
  const known = await knownProject(c.env, project);
  if (known instanceof Response) return known;
  if (!known) {
    try {
      await registerProject(c.env, project);
    } catch (error) {
      console.warn("project registry write failed", project, error);
      return problem("unavailable", `project "${project}" was not created: the project registry (KV) could not be written; retry shortly`, { headers: { "retry-after": "5" } });
    }
  }
  const result = await store(c).putProject(c.get("project"), body.environments, meta(c, null));
  if (!result.ok) return storeProblem(result.error);
  for (const env of result.value.environments) noteWritten(c, result.value.project, env.name, env.version);
  const { created, ...info } = result.value;
  return c.json(info, created ? 201 : 200);
});

admin.get("/projects/:project", async (c) => respond(c, await store(c).getProject()));

// ---- whole flag sets (flagd documents) --------------------------------------------------------

admin.get("/projects/:project/environments/:env/flagd", async (c) => {
  const result = await store(c).getFlagSet(c.req.param("env"));
  if (!result.ok) return storeProblem(result.error);
  c.header("ETag", `"${result.value.version}"`);
  c.header("X-Edgeflags-Config-Version", String(result.value.version));
  // ?format=plain: edgeflags extensions (prerequisites) rewritten into plain flagd targeting.
  return c.json(c.req.query("format") === "plain" ? toPlainFlagd(result.value.flagSet) : result.value.flagSet);
});

admin.put("/projects/:project/environments/:env/flagd", async (c) => {
  const body = await parseJson(c);
  if (body instanceof Response) return body;
  const ifMatch = readIfMatch(c);
  if (ifMatch instanceof Response) return ifMatch;
  const environment = c.req.param("env");
  const result = await store(c).replaceFlagSet(environment, body, { ...meta(c, null), ifMatch });
  if (!result.ok) return storeProblem(result.error);
  noteWritten(c, c.get("project"), environment, result.value.version);
  c.header("ETag", `"${result.value.version}"`);
  return c.json({ project: c.get("project"), environment, version: result.value.version, changed: result.value.changed });
});

// ---- single flags -----------------------------------------------------------------------------

admin.get("/projects/:project/environments/:env/flags", async (c) => {
  const result = await store(c).listFlags(c.req.param("env"));
  if (!result.ok) return storeProblem(result.error);
  return c.json({ version: result.value.version, flags: result.value.flags.map(flagJson) });
});

admin.post("/projects/:project/environments/:env/flags", async (c) => {
  const body = await parseBody(c, CreateFlagBodySchema);
  if (body instanceof Response) return body;
  const { key, reason, ...definition } = body;
  const result = await store(c).createFlag(c.req.param("env"), key, definition as FlagDefinition, meta(c, reason));
  return flagWritten(c, result, 201);
});

admin.get("/projects/:project/environments/:env/flags/:flag", async (c) => {
  const key = flagKey(c);
  if (key instanceof Response) return key;
  const result = await store(c).getFlag(c.req.param("env"), key);
  if (!result.ok) return storeProblem(result.error);
  c.header("ETag", `"${result.value.version}"`);
  return c.json(flagJson(result.value));
});

admin.put("/projects/:project/environments/:env/flags/:flag", async (c) => {
  const key = flagKey(c);
  if (key instanceof Response) return key;
  const ifMatch = readIfMatch(c);
  if (ifMatch instanceof Response) return ifMatch;
  if (ifMatch === null) {
    return problem("precondition_required", "send If-Match with the flag's version (its ETag from GET) so a concurrent change is not overwritten");
  }
  const body = await parseBody(c, UpdateFlagBodySchema);
  if (body instanceof Response) return body;
  const { reason, ...definition } = body;
  const result = await store(c).updateFlag(c.req.param("env"), key, definition as FlagDefinition, { ...meta(c, reason), ifMatch });
  return flagWritten(c, result, 200);
});

admin.post("/projects/:project/environments/:env/flags/:flag/toggle", async (c) => {
  const key = flagKey(c);
  if (key instanceof Response) return key;
  const ifMatch = readIfMatch(c);
  if (ifMatch instanceof Response) return ifMatch;
  const body = await parseBody(c, ToggleBodySchema, {});
  if (body instanceof Response) return body;
  const environment = c.req.param("env");
  const result = await store(c).setFlagState(environment, key, body.state ?? null, { ...meta(c, body.reason), ifMatch });
  return flagWritten(c, result, 200);
});

admin.delete("/projects/:project/environments/:env/flags/:flag", async (c) => {
  const key = flagKey(c);
  if (key instanceof Response) return key;
  const ifMatch = readIfMatch(c);
  if (ifMatch instanceof Response) return ifMatch;
  const environment = c.req.param("env");
  const result = await store(c).deleteFlag(environment, key, { ...meta(c, null), ifMatch });
  if (!result.ok) return storeProblem(result.error);
  noteWritten(c, c.get("project"), environment, result.value.version);
  return c.body(null, 204);
});

/**
 * Evaluates a context against the environment's current flags, straight from the FlagStore (not
 * the edge's replica): what the console's "try a context" panel shows.
 */
admin.post("/projects/:project/environments/:env/evaluate", async (c) => {
  const body = await parseBody(c, EvaluateBodySchema);
  if (body instanceof Response) return body;
  const result = await store(c).getFlagSet(c.req.param("env"));
  if (!result.ok) return storeProblem(result.error);
  const compiled = compileFlagSet(result.value.flagSet);
  const context = body.context as EvaluationContext;
  const flags = body.flags ? body.flags.map((key) => compiled.evaluate(key, context)) : compiled.evaluateAll(context);
  return c.json({ version: result.value.version, flags: flags.map((r) => toOfrep(r)) });
});

// ---- keys -------------------------------------------------------------------------------------

admin.post("/projects/:project/environments/:env/keys", async (c) => {
  const body = await parseBody(c, CreateKeyBodySchema);
  if (body instanceof Response) return body;
  const environment = c.req.param("env");
  const name = body.name ?? `${body.scope} key for ${environment}`;
  return respond(c, await store(c).createKey(body.scope, environment, name, meta(c, null)), 201);
});

admin.get("/projects/:project/environments/:env/keys", async (c) => respond(c, await store(c).listKeys(c.req.param("env"))));

admin.post("/projects/:project/keys", async (c) => {
  const body = await parseBody(c, CreateAdminKeyBodySchema);
  if (body instanceof Response) return body;
  return respond(c, await store(c).createKey("admin", null, body.name ?? "admin key", meta(c, null)), 201);
});

admin.get("/projects/:project/keys", async (c) => respond(c, await store(c).listKeys(null)));

admin.delete("/projects/:project/keys/:id", async (c) => respond(c, await store(c).revokeKey(c.req.param("id"), meta(c, null))));

admin.post("/projects/:project/keys/:id/rotate", async (c) => {
  const body = await parseBody(c, RotateKeyBodySchema, {});
  if (body instanceof Response) return body;
  return respond(c, await store(c).rotateKey(c.req.param("id"), body.overlapSeconds, meta(c, null)), 201);
});

// ---- segments ---------------------------------------------------------------------------------

admin.get("/projects/:project/segments", async (c) => respond(c, await store(c).listSegments()));

admin.get("/projects/:project/segments/:name", async (c) => {
  const result = await store(c).getSegment(c.req.param("name"));
  if (!result.ok) return storeProblem(result.error);
  c.header("ETag", `"${result.value.version}"`);
  return c.json(result.value);
});

admin.put("/projects/:project/segments/:name", async (c) => {
  const name = NameSchema.safeParse(c.req.param("name"));
  if (!name.success) return problem("invalid", `segment names: ${name.error.issues[0]!.message}`, { errors: [{ path: "name", message: name.error.issues[0]!.message }] });
  const ifMatch = readIfMatch(c);
  if (ifMatch instanceof Response) return ifMatch;
  const body = await parseBody(c, SegmentBodySchema);
  if (body instanceof Response) return body;
  const { reason, ...input } = body;
  const result = await store(c).putSegment(name.data, input, { ...meta(c, reason), ifMatch });
  if (!result.ok) return storeProblem(result.error);
  await noteAllVersions(c);
  c.header("ETag", `"${result.value.version}"`);
  return c.json(result.value);
});

admin.delete("/projects/:project/segments/:name", async (c) => {
  const result = await store(c).deleteSegment(c.req.param("name"), meta(c, null));
  if (!result.ok) return storeProblem(result.error);
  await noteAllVersions(c);
  return c.body(null, 204);
});

// ---- flags across environments ----------------------------------------------------------------

admin.get("/projects/:project/flags", async (c) => respond(c, await store(c).listProjectFlags()));

admin.post("/projects/:project/flags", async (c) => {
  const body = await parseBody(c, ProjectFlagBodySchema);
  if (body instanceof Response) return body;
  const { key, description, owner, tags, lifetime, expectedRemovalAt, environments, reason, ...definition } = body;
  const result = await store(c).createFlagEverywhere(
    key,
    { description, owner, tags, lifetime, expectedRemovalAt },
    definition as FlagDefinition,
    environments as Record<string, Partial<FlagDefinition>>,
    meta(c, reason),
  );
  if (!result.ok) return storeProblem(result.error);
  for (const record of Object.values(result.value.environments)) noteWritten(c, c.get("project"), record.environment, record.version);
  return c.json(result.value, 201);
});

admin.get("/projects/:project/flags/:flag", async (c) => respond(c, await store(c).getProjectFlag(c.req.param("flag"))));

admin.patch("/projects/:project/flags/:flag", async (c) => {
  const body = await parseBody(c, FlagInfoPatchSchema);
  if (body instanceof Response) return body;
  const { reason, ...patch } = body;
  return respond(c, await store(c).updateFlagInfo(c.req.param("flag"), patch, meta(c, reason)));
});

admin.get("/projects/:project/compare", async (c) => {
  const query = CompareQuerySchema.safeParse({ ...c.req.query(), flag: c.req.queries("flag") });
  if (!query.success) return problem("invalid", "compare needs ?from=<environment>&to=<environment>", { errors: toProblems(query.error) });
  const flags = query.data.flag === undefined ? null : ([] as string[]).concat(query.data.flag);
  return respond(c, await store(c).compareEnvironments(query.data.from, query.data.to, flags));
});

admin.post("/projects/:project/promote", async (c) => {
  const body = await parseBody(c, PromoteBodySchema);
  if (body instanceof Response) return body;
  const ifMatch = readIfMatch(c);
  if (ifMatch instanceof Response) return ifMatch;
  const dryRun = c.req.query("dryRun") === "true";
  const result = await store(c).promote(body.from, body.to, body.flags ?? null, { ...meta(c, body.reason), dryRun, ifMatch });
  if (!result.ok) return storeProblem(result.error);
  if (result.value.version !== null) noteWritten(c, c.get("project"), body.to, result.value.version);
  return c.json({ dryRun, ...result.value });
});

// ---- webhooks out -----------------------------------------------------------------------------

admin.get("/projects/:project/webhooks", async (c) => respond(c, await store(c).listWebhooks()));

admin.get("/projects/:project/webhooks/:id", async (c) => respond(c, await store(c).getWebhook(c.req.param("id"))));

admin.post("/projects/:project/webhooks", async (c) => {
  const body = await parseBody(c, CreateWebhookBodySchema);
  if (body instanceof Response) return body;
  const refused = refuseWebhookUrl(c, body.url);
  if (refused) return refused;
  return respond(c, await store(c).createWebhook({ url: body.url, events: body.events, description: body.description, secret: body.secret ?? null }, meta(c, null)), 201);
});

admin.patch("/projects/:project/webhooks/:id", async (c) => {
  const body = await parseBody(c, UpdateWebhookBodySchema);
  if (body instanceof Response) return body;
  const refused = body.url === undefined ? null : refuseWebhookUrl(c, body.url);
  if (refused) return refused;
  return respond(c, await store(c).updateWebhook(c.req.param("id"), body, meta(c, null)));
});

admin.delete("/projects/:project/webhooks/:id", async (c) => {
  const result = await store(c).deleteWebhook(c.req.param("id"), meta(c, null));
  return result.ok ? c.body(null, 204) : storeProblem(result.error);
});

admin.post("/projects/:project/webhooks/:id/ping", async (c) => respond(c, await store(c).pingWebhook(c.req.param("id"), meta(c, null)), 201));

admin.get("/projects/:project/webhooks/:id/deliveries", async (c) => {
  const limit = Math.min(200, Math.max(1, Number(c.req.query("limit") ?? 50) || 50));
  return respond(c, await store(c).listDeliveries(c.req.param("id"), limit));
});

admin.post("/projects/:project/webhooks/:id/deliveries/:delivery/redeliver", async (c) =>
  respond(c, await store(c).redeliver(c.req.param("id"), c.req.param("delivery"))),
);

// ---- triggers in ------------------------------------------------------------------------------

admin.get("/projects/:project/triggers", async (c) => respond(c, await store(c).listTriggers()));

admin.post("/projects/:project/triggers", async (c) => {
  const body = await parseBody(c, CreateTriggerBodySchema);
  if (body instanceof Response) return body;
  const result = await store(c).createTrigger(body, meta(c, null));
  if (!result.ok) return storeProblem(result.error);
  return c.json(withTriggerUrls(c, result.value), 201);
});

admin.patch("/projects/:project/triggers/:id", async (c) => {
  const body = await parseBody(c, UpdateTriggerBodySchema);
  if (body instanceof Response) return body;
  return respond(c, await store(c).setTriggerActive(c.req.param("id"), body.active, meta(c, null)));
});

admin.post("/projects/:project/triggers/:id/rotate", async (c) => {
  const result = await store(c).rotateTrigger(c.req.param("id"), meta(c, null));
  if (!result.ok) return storeProblem(result.error);
  return c.json(withTriggerUrls(c, result.value));
});

admin.delete("/projects/:project/triggers/:id", async (c) => {
  const result = await store(c).deleteTrigger(c.req.param("id"), meta(c, null));
  return result.ok ? c.body(null, 204) : storeProblem(result.error);
});

// ---- ramps, experiments, usage, drafts --------------------------------------------------------

const rampPath = "/projects/:project/environments/:env/flags/:flag/ramp";

admin.post(rampPath, async (c) => {
  const body = await parseBody(c, RampBodySchema);
  if (body instanceof Response) return body;
  const result = await store(c).startRamp(c.req.param("env"), c.req.param("flag"), { variant: body.variant, baseline: body.baseline, steps: body.steps, startAt: body.startAt ?? null }, meta(c, body.reason));
  return rampWritten(c, result, 201);
});

admin.get(rampPath, async (c) => respond(c, await store(c).getRamp(c.req.param("env"), c.req.param("flag"))));

admin.get(`${rampPath}/exposures`, async (c) => respond(c, await store(c).rampExposures(c.req.param("env"), c.req.param("flag"))));

admin.post(`${rampPath}/pause`, async (c) => rampWritten(c, await store(c).pauseRamp(c.req.param("env"), c.req.param("flag"), meta(c, null))));
admin.post(`${rampPath}/resume`, async (c) => rampWritten(c, await store(c).resumeRamp(c.req.param("env"), c.req.param("flag"), meta(c, null))));
admin.post(`${rampPath}/complete`, async (c) => rampWritten(c, await store(c).completeRamp(c.req.param("env"), c.req.param("flag"), meta(c, null))));

admin.post(`${rampPath}/rollback`, async (c) => {
  const body = await parseBody(c, RollbackBodySchema, {});
  if (body instanceof Response) return body;
  return rampWritten(c, await store(c).rollbackRamp(c.req.param("env"), c.req.param("flag"), body.toStep ?? null, meta(c, body.reason)));
});

admin.delete(rampPath, async (c) => {
  const result = await store(c).deleteRamp(c.req.param("env"), c.req.param("flag"), meta(c, null));
  if (!result.ok) return storeProblem(result.error);
  await noteAllVersions(c);
  return c.body(null, 204);
});

admin.post("/projects/:project/environments/:env/flags/:flag/experiment", async (c) => {
  const body = await parseBody(c, ExperimentBodySchema);
  if (body instanceof Response) return body;
  const result = await store(c).startExperiment(c.req.param("env"), c.req.param("flag"), body.weights ?? null, meta(c, body.reason));
  if (result.ok) await noteAllVersions(c);
  return respond(c, result, 201);
});

admin.get("/projects/:project/experiments", async (c) => {
  const query = ExperimentsQuerySchema.safeParse(c.req.query());
  if (!query.success) return problem("invalid", "experiments takes ?environment=&flag=", { errors: toProblems(query.error) });
  return respond(c, await store(c).listExperiments(query.data));
});
admin.get("/projects/:project/experiments/:id", async (c) => respond(c, await store(c).getExperiment(c.req.param("id"))));
admin.post("/projects/:project/experiments/:id/stop", async (c) => {
  const result = await store(c).stopExperiment(c.req.param("id"), meta(c, null));
  if (result.ok) await noteAllVersions(c);
  return respond(c, result);
});

admin.get("/projects/:project/stale", async (c) => {
  const query = StaleQuerySchema.safeParse(c.req.query());
  if (!query.success) return problem("invalid", "stale takes ?days=<1-3650>", { errors: toProblems(query.error) });
  return respond(c, await store(c).staleFlags(query.data.days));
});

admin.get("/projects/:project/environments/:env/usage", async (c) => respond(c, await store(c).flagUsage(c.req.param("env"))));

admin.put("/projects/:project/environments/:env/draft", async (c) => {
  const body = await parseBody(c, DraftBodySchema);
  if (body instanceof Response) return body;
  const result = await store(c).putDraft(c.req.param("env"), body.flagSet, body.sampleRate, meta(c, body.reason));
  if (result.ok) await noteAllVersions(c);
  return respond(c, result);
});

admin.get("/projects/:project/environments/:env/draft", async (c) => respond(c, await store(c).getDraft(c.req.param("env"))));

admin.delete("/projects/:project/environments/:env/draft", async (c) => {
  const result = await store(c).deleteDraft(c.req.param("env"), meta(c, null));
  if (!result.ok) return storeProblem(result.error);
  await noteAllVersions(c);
  return c.body(null, 204);
});

admin.post("/projects/:project/environments/:env/draft/publish", async (c) => {
  const ifMatch = readIfMatch(c);
  if (ifMatch instanceof Response) return ifMatch;
  const body = await parseBody(c, PublishDraftBodySchema, {});
  if (body instanceof Response) return body;
  const result = await store(c).publishDraft(c.req.param("env"), { ...meta(c, body.reason), ifMatch });
  if (!result.ok) return storeProblem(result.error);
  noteWritten(c, c.get("project"), c.req.param("env"), result.value.version);
  return c.json(result.value);
});

// ---- audit and replication --------------------------------------------------------------------

admin.get("/projects/:project/audit", async (c) => {
  const query = AuditQuerySchema.safeParse(c.req.query());
  if (!query.success) return problem("invalid", "the audit query is not valid", { errors: toProblems(query.error) });
  const { since, until, cursor, ...rest } = query.data;
  return respond(c, await store(c).listAudit({
    ...rest,
    since: since === undefined ? undefined : Date.parse(since),
    until: until === undefined ? undefined : Date.parse(until),
    beforeSeq: cursor,
  }));
});

admin.get("/projects/:project/audit/verify", async (c) => respond(c, await store(c).verifyAudit()));

admin.get("/projects/:project/replication", async (c) => respond(c, await store(c).replicationStatus()));

// ---- helpers ----------------------------------------------------------------------------------

/** After a project-wide change (a segment), every environment moved on: remember their versions. */
async function noteAllVersions(c: AdminContext): Promise<void> {
  const info = await store(c).getProject();
  if (info.ok) for (const env of info.value.environments) noteWritten(c, info.value.project, env.name, env.version);
}

async function rampWritten(c: AdminContext, result: Result<object>, status: 200 | 201 = 200): Promise<Response> {
  if (!result.ok) return storeProblem(result.error);
  await noteAllVersions(c);
  return c.json(result.value, status);
}

/** A trigger with the URLs to give an alerting system: the secret URL, and the one for signed requests. */
function withTriggerUrls<T extends { id: string; token: string }>(c: AdminContext, trigger: T) {
  const { token, ...rest } = trigger;
  const origin = new URL(c.req.url).origin;
  const base = `${origin}/admin/v1/hooks/projects/${c.get("project")}/triggers`;
  return { ...rest, url: `${base}/${token}`, signedUrl: `${base}/${trigger.id}/signed` };
}

/** The 400 for a webhook URL that points anywhere but a public https host, or null. */
function refuseWebhookUrl(c: AdminContext, url: string): Response | null {
  const refusal = webhookUrlRefusal(url, allowsLocalWebhooks(c.env));
  return refusal === null ? null : problem("invalid", `url: ${refusal}`, { errors: [{ path: "url", message: refusal }] });
}

function store(c: AdminContext) {
  return c.env.FLAG_STORE.get(c.env.FLAG_STORE.idFromName(c.get("project")));
}

function meta(c: AdminContext, bodyReason: string | null | undefined) {
  const header = c.req.header("x-change-reason")?.trim();
  return { actor: c.get("actor").name, reason: bodyReason?.trim() || header || null };
}

function respond<T>(c: AdminContext, result: Result<T>, status: 200 | 201 = 200): Response {
  if (!result.ok) return storeProblem(result.error);
  return c.json(result.value as object, status);
}

function flagJson(record: { key: string; environment: string; version: number; updatedAt: string; updatedBy: string; definition: FlagDefinition }) {
  return { key: record.key, environment: record.environment, version: record.version, updatedAt: record.updatedAt, updatedBy: record.updatedBy, ...record.definition };
}

function flagWritten(c: AdminContext, result: Result<Parameters<typeof flagJson>[0] & { changed: boolean }>, status: 200 | 201): Response {
  if (!result.ok) return storeProblem(result.error);
  noteWritten(c, c.get("project"), result.value.environment, result.value.version);
  c.header("ETag", `"${result.value.version}"`);
  return c.json({ ...flagJson(result.value), changed: result.value.changed }, status);
}

function flagKey(c: AdminContext): string | Response {
  const key = c.req.param("flag") ?? "";
  const parsed = FlagKeySchema.safeParse(key);
  if (!parsed.success) return problem("invalid", `"${key}" is not a valid flag key: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** `If-Match: "12"` (or `W/"12"`, or `12`) → 12; absent or `*` → null. */
function readIfMatch(c: AdminContext): number | null | Response {
  const header = c.req.header("if-match")?.trim();
  if (!header || header === "*") return null;
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(header);
  if (!match) return problem("invalid", `If-Match must be the version you read, as its ETag (e.g. "12"); got ${header}`);
  return Number(match[1]);
}

async function parseJson(c: AdminContext, empty?: unknown): Promise<unknown | Response> {
  const text = await c.req.text();
  if (text.trim() === "") {
    if (empty !== undefined) return empty;
    return problem("invalid", "the request body is empty; send a JSON document");
  }
  if (!isJsonContentType(c.req.header("content-type"))) {
    return problem("unsupported_media_type", `send the body as JSON with 'content-type: application/json' (got '${c.req.header("content-type")?.slice(0, 100)}')`);
  }
  const read = readJson(text);
  return read.ok ? read.value : problem("invalid", read.detail);
}

async function parseBody<S extends z.ZodType>(c: AdminContext, schema: S, empty?: z.input<S>): Promise<z.output<S> | Response> {
  const json = await parseJson(c, empty);
  if (json instanceof Response) return json;
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = toProblems(parsed.error);
    return problem("invalid", problems.map((p) => `${p.path}: ${p.message}`).join("; "), { errors: problems });
  }
  return parsed.data;
}
