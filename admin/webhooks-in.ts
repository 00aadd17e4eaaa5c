/**
 * Triggers in: URLs an alerting system (Grafana, Datadog, PagerDuty…) calls to flip a kill switch
 * without an admin credential. Mounted at `/admin/v1/hooks`, outside admin authentication: the
 * secret in the URL, or an HMAC signature of the body, is the credential.
 *
 * - `POST /projects/{p}/triggers/{token}`: the secret URL; any body.
 * - `POST /projects/{p}/triggers/{id}/signed`: for systems that sign; header
 *   `Edgeflags-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, rejected
 *   outside a 5-minute window so a captured request cannot be replayed later.
 * Both are audited as `trigger:<name>`, with the `X-Change-Reason` header as the reason. A trigger
 * flips a flag (enable, disable, set its default variant) or guards a ramp (pause, roll back to 0%).
 *
 * These URLs need no credential to be called, so a project name must be in the registry before
 * its FlagStore is touched (a made-up name wakes no object), and failed calls are throttled per
 * client address and project like any failed authentication.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Result } from "../contracts/result";
import { TriggerOutcomeSchema, type TriggerOutcomeView as TriggerOutcome } from "../contracts/admin-responses";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { log } from "../lib/log";
import { hashKey } from "../contracts/snapshot";
import type { WrittenVariables } from "../contracts/written";
import { problem, storeProblem } from "./problem";
import { knownProject } from "./projects";
import { NameSchema } from "./schemas";
import { SIGNATURE_HEADER } from "../lib/signature";
import { noteAuthFailure, throttled } from "./throttle";
import { adminRoute, defineRoute } from "./routes/kit";

export const hooks = new OpenAPIHono<{ Bindings: Env; Variables: WrittenVariables }>();

const NO_TRIGGER = "no active trigger has this URL";

// Only a registered project reaches a FlagStore, and only from an address not over its budget.
hooks.use("/projects/:project/*", async (c, next) => {
  const project = c.req.param("project") ?? "";
  const valid = NameSchema.safeParse(project).success;
  // Invalid names share one bucket: an arbitrary string must not become a key in memory.
  const bucket = valid ? project : "(invalid)";
  const refused = throttled(c.req.raw, bucket);
  if (refused) return refused;
  const known = valid ? await knownProject(c.env, project) : false;
  if (known instanceof Response) return known;
  if (!known) return (await noteAuthFailure(c.env, c.req.raw, bucket)) ?? problem("not_found", NO_TRIGGER);
  await next();
});

function store(env: Env, project: string) {
  return env.FLAG_STORE.get(env.FLAG_STORE.idFromName(project));
}

/**
 * A trigger's call into its FlagStore, under a deadline. A failed or late call is a 503 that says
 * the outcome is unknown (the object may have fired it before failing): the caller retries, and a
 * repeated fire of the same action changes nothing more.
 */
async function fire(call: Promise<Result<TriggerOutcome>>): Promise<Result<TriggerOutcome> | Response> {
  try {
    return await withDeadline(call, DEADLINE_MS.adminStoreCall, "trigger");
  } catch (error) {
    log("warn", "trigger-call-failed", { error });
    return problem(
      "unavailable",
      "the flag store did not confirm this trigger in time; it may or may not have fired: retry, or check the audit log",
      {
        headers: { "retry-after": "5" },
      },
    );
  }
}

function reason(headers: Headers): string | null {
  return headers.get("x-change-reason")?.trim().slice(0, 1000) || null;
}

const signed = adminRoute({
  method: "post",
  path: "/projects/{project}/triggers/{id}/signed",
  summary: "Fire a trigger with an HMAC-signed request (Edgeflags-Signature)",
  public: true,
  response: TriggerOutcomeSchema,
});
defineRoute(hooks, signed, async (c) => {
  const project = c.req.param("project") ?? "";
  const body = await c.req.text();
  const result = await fire(
    store(c.env, project)
      .triggers()
      .fireSigned(c.req.param("id") ?? "", body, c.req.header(SIGNATURE_HEADER) ?? null, reason(c.req.raw.headers)),
  );
  if (result instanceof Response) return result;
  if (!result.ok) {
    const failed =
      result.error.kind === "invalid" || result.error.kind === "not_found" ? await noteAuthFailure(c.env, c.req.raw, project) : null;
    if (failed) return failed;
    return result.error.kind === "invalid" ? problem("unauthorized", result.error.detail) : storeProblem(result.error);
  }
  if (result.value.version !== null) c.set("written", [{ project, environment: result.value.environment, version: result.value.version }]);
  return c.json(result.value);
});

const secretUrl = adminRoute({
  method: "post",
  path: "/projects/{project}/triggers/{token}",
  summary: "Fire a trigger by its secret URL",
  public: true,
  response: TriggerOutcomeSchema,
});
defineRoute(hooks, secretUrl, async (c) => {
  const project = c.req.param("project") ?? "";
  const result = await fire(
    store(c.env, project)
      .triggers()
      .fire(hashKey(c.req.param("token") ?? ""), reason(c.req.raw.headers)),
  );
  if (result instanceof Response) return result;
  if (!result.ok) {
    const failed = result.error.kind === "not_found" ? await noteAuthFailure(c.env, c.req.raw, project) : null;
    return failed ?? storeProblem(result.error);
  }
  if (result.value.version !== null) c.set("written", [{ project, environment: result.value.environment, version: result.value.version }]);
  return c.json(result.value);
});
