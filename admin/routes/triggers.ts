/** Triggers in: the URLs an alerting system calls (served by `../webhooks-in.ts`), managed here. */
import { CreatedTriggerSchema, TriggerListSchema, TriggerSchema } from "../../contracts/admin-responses";
import { storeProblem } from "../problem";
import { CreateTriggerBodySchema, UpdateTriggerBodySchema } from "../schemas";
import { adminApp, adminRoute, defineRoute, meta, P, param, readBody, respond, call, type AdminContext } from "./kit";

export const triggers = adminApp();

const list = adminRoute({ method: "get", path: `${P}/triggers`, summary: "List triggers", response: TriggerListSchema });
defineRoute(triggers, list, async (c) => respond(c, await call(c, (s) => s.triggers().list())));

const create = adminRoute({
  method: "post",
  permission: "admin",
  path: `${P}/triggers`,
  summary: "Create a trigger (URL and secret shown once)",
  body: CreateTriggerBodySchema,
  status: 201,
  response: CreatedTriggerSchema,
});
defineRoute(triggers, create, async (c) => {
  const body = await readBody(c, create);
  if (body instanceof Response) return body;
  const result = await call(c, (s) => s.triggers().create(body, meta(c, null)));
  if (!result.ok) return storeProblem(result.error);
  return c.json(withTriggerUrls(c, result.value), 201);
});

const update = adminRoute({
  method: "patch",
  permission: "admin",
  path: `${P}/triggers/{id}`,
  summary: "Enable or disable a trigger",
  body: UpdateTriggerBodySchema,
  response: TriggerSchema,
});
defineRoute(triggers, update, async (c) => {
  const body = await readBody(c, update);
  if (body instanceof Response) return body;
  return respond(c, await call(c, (s) => s.triggers().setActive(param(c, "id"), body.active, meta(c, null))));
});

const rotate = adminRoute({
  method: "post",
  permission: "admin",
  path: `${P}/triggers/{id}/rotate`,
  summary: "New trigger URL and secret",
  response: CreatedTriggerSchema,
});
defineRoute(triggers, rotate, async (c) => {
  const result = await call(c, (s) => s.triggers().rotate(param(c, "id"), meta(c, null)));
  if (!result.ok) return storeProblem(result.error);
  return c.json(withTriggerUrls(c, result.value));
});

const remove = adminRoute({ permission: "admin", method: "delete", path: `${P}/triggers/{id}`, summary: "Delete a trigger", status: 204 });
defineRoute(triggers, remove, async (c) => {
  const result = await call(c, (s) => s.triggers().delete(param(c, "id"), meta(c, null)));
  return result.ok ? c.body(null, 204) : storeProblem(result.error);
});

/** A trigger with the URLs to give an alerting system: the secret URL, and the one for signed requests. */
function withTriggerUrls<T extends { id: string; token: string }>(c: AdminContext, trigger: T) {
  const { token, ...rest } = trigger;
  const origin = new URL(c.req.url).origin;
  const base = `${origin}/admin/v1/hooks/projects/${c.get("project")}/triggers`;
  return { ...rest, url: `${base}/${token}`, signedUrl: `${base}/${trigger.id}/signed` };
}
