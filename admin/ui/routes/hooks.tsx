/** Webhooks out and triggers in: list, create (secrets shown once), edit, delete, ping, redeliver, rotate. */
import { ProjectSchema, seg } from "../api";
import {
  apiFailure,
  apiPath,
  doneNotice,
  field,
  fields,
  redirectDone,
  vars,
  type ApiFailure,
  type ConsoleApp,
  type ConsoleContext,
} from "../context";
import { NEW_WEBHOOK, WebhookPage, WebhooksPage, type WebhookForm } from "../pages/webhooks";
import { TriggersPage, type TriggerForm } from "../pages/triggers";
import {
  CreatedTriggerSchema,
  CreatedWebhookSchema,
  DeletedSchema,
  DeliveryListSchema,
  DeliverySchema,
  PingSchema,
  TriggerListSchema,
  TriggerSchema,
  WebhookListSchema,
  WebhookSchema,
  type CreatedTriggerView,
  type WebhookView,
} from "../../../contracts/admin-responses";

type Status = 200 | 201 | 400 | 404 | 409;

/** The problem's field errors keyed by their first path segment; the rest under "form". */
function byField(failure: ApiFailure, known: string[]): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  for (const error of failure.problem.errors ?? []) {
    const key = known.find((f) => error.path === f || error.path.startsWith(`${f}.`)) ?? "form";
    (errors[key] ??= []).push(key === "form" ? `${error.path}: ${error.message}` : error.message);
  }
  if (Object.keys(errors).length === 0) errors["form"] = [failure.problem.detail];
  return errors;
}

export function registerHooks(ui: ConsoleApp): void {
  // ---- webhooks -------------------------------------------------------------------------------

  const webhooksPage = async (
    c: ConsoleContext,
    extra: {
      created?: (WebhookView & { secret: string; standardSecret: string }) | null;
      form?: WebhookForm;
      errors?: Record<string, string[]>;
      status?: Status;
    },
  ) => {
    const { api, project, session } = vars(c);
    const list = await api.get(apiPath(project, "/webhooks"), WebhookListSchema);
    if (!list.ok) return apiFailure(c, list);
    return c.html(
      <WebhooksPage
        session={session}
        project={project}
        webhooks={list.body}
        created={extra.created ?? null}
        form={extra.form ?? NEW_WEBHOOK}
        errors={extra.errors ?? {}}
        notice={doneNotice(c)}
      />,
      extra.status ?? 200,
    );
  };
  const webhookPage = async (
    c: ConsoleContext,
    id: string,
    extra: { form?: WebhookForm; errors?: Record<string, string[]>; status?: Status } = {},
  ) => {
    const { api, project, session } = vars(c);
    const [list, deliveries] = await Promise.all([
      api.get(apiPath(project, "/webhooks"), WebhookListSchema),
      api.get(apiPath(project, `/webhooks/${seg(id)}/deliveries?limit=50`), DeliveryListSchema),
    ]);
    if (!list.ok) return apiFailure(c, list);
    if (!deliveries.ok) return apiFailure(c, deliveries);
    const webhook = list.body.find((hook) => hook.id === id);
    if (!webhook)
      return apiFailure(c, { ok: false, status: 404, problem: { status: 404, detail: `there is no webhook "${id}" in this project` } });
    const form = extra.form ?? {
      url: webhook.url,
      description: webhook.description,
      events: webhook.events,
      active: webhook.active,
      format: webhook.format,
    };
    return c.html(
      <WebhookPage
        session={session}
        project={project}
        webhook={webhook}
        deliveries={deliveries.body}
        form={form}
        errors={extra.errors ?? {}}
        notice={doneNotice(c)}
      />,
      extra.status ?? 200,
    );
  };
  const readWebhookForm = async (c: ConsoleContext): Promise<WebhookForm> => {
    const raw = await c.req.parseBody({ all: true });
    return {
      url: field(raw, "url"),
      description: field(raw, "description"),
      events: fields(raw, "events"),
      active: field(raw, "active") === "1",
      format: field(raw, "format") === "slack" ? "slack" : "edgeflags",
    };
  };
  const WEBHOOK_FIELDS = ["url", "events", "description", "secret", "format"];

  ui.get("/p/:project/webhooks", (c) => webhooksPage(c, {}));

  ui.post("/p/:project/webhooks", async (c) => {
    const { api, project } = vars(c);
    const form = await readWebhookForm(c);
    const result = await api.send(
      "POST",
      apiPath(project, "/webhooks"),
      { url: form.url, events: form.events, description: form.description, format: form.format },
      CreatedWebhookSchema,
    );
    if (result.ok) return webhooksPage(c, { created: result.body, status: 201 });
    if (result.status === 400) return webhooksPage(c, { form, errors: byField(result, WEBHOOK_FIELDS), status: 400 });
    return apiFailure(c, result);
  });

  ui.get("/p/:project/webhooks/:id", (c) => webhookPage(c, c.req.param("id")));

  ui.post("/p/:project/webhooks/:id", async (c) => {
    const { api, project } = vars(c);
    const id = c.req.param("id");
    const form = await readWebhookForm(c);
    const result = await api.send(
      "PATCH",
      apiPath(project, `/webhooks/${seg(id)}`),
      { url: form.url, events: form.events, description: form.description, active: form.active, format: form.format },
      WebhookSchema,
    );
    if (result.ok) return redirectDone(c, `webhooks/${seg(id)}`, "webhook-saved");
    if (result.status === 400) return webhookPage(c, id, { form, errors: byField(result, WEBHOOK_FIELDS), status: 400 });
    return apiFailure(c, result);
  });

  ui.post("/p/:project/webhooks/:id/ping", async (c) => {
    const { api, project } = vars(c);
    const id = c.req.param("id");
    const result = await api.send("POST", apiPath(project, `/webhooks/${seg(id)}/ping`), undefined, PingSchema);
    if (!result.ok) return apiFailure(c, result);
    return redirectDone(c, `webhooks/${seg(id)}`, "pinged");
  });

  ui.post("/p/:project/webhooks/:id/deliveries/:delivery/redeliver", async (c) => {
    const { api, project } = vars(c);
    const id = c.req.param("id");
    const result = await api.send(
      "POST",
      apiPath(project, `/webhooks/${seg(id)}/deliveries/${seg(c.req.param("delivery"))}/redeliver`),
      undefined,
      DeliverySchema,
    );
    if (!result.ok) return apiFailure(c, result);
    return redirectDone(c, `webhooks/${seg(id)}`, "redelivered");
  });

  ui.post("/p/:project/webhooks/:id/delete", async (c) => {
    const { api, project } = vars(c);
    const result = await api.send("DELETE", apiPath(project, `/webhooks/${seg(c.req.param("id"))}`), undefined, DeletedSchema);
    if (!result.ok) return apiFailure(c, result);
    return redirectDone(c, "webhooks", "webhook-deleted");
  });

  // ---- triggers -------------------------------------------------------------------------------

  const triggersPage = async (
    c: ConsoleContext,
    extra: {
      shown?: { trigger: CreatedTriggerView; rotated: boolean } | null;
      form?: TriggerForm;
      errors?: Record<string, string[]>;
      status?: Status;
    },
  ) => {
    const { api, project, session } = vars(c);
    const [info, list] = await Promise.all([
      api.get(apiPath(project), ProjectSchema),
      api.get(apiPath(project, "/triggers"), TriggerListSchema),
    ]);
    if (!info.ok) return apiFailure(c, info);
    if (!list.ok) return apiFailure(c, list);
    const environments = info.body.environments.map((e) => e.name);
    const form = extra.form ?? {
      name: "",
      environment: environments.includes("production") ? "production" : (environments[0] ?? ""),
      flag: "",
      action: "disable",
      variant: "",
    };
    return c.html(
      <TriggersPage
        session={session}
        project={project}
        environments={environments}
        triggers={list.body}
        shown={extra.shown ?? null}
        form={form}
        errors={extra.errors ?? {}}
        notice={doneNotice(c)}
      />,
      extra.status ?? 200,
    );
  };

  ui.get("/p/:project/triggers", (c) => triggersPage(c, {}));

  ui.post("/p/:project/triggers", async (c) => {
    const { api, project } = vars(c);
    const raw = await c.req.parseBody();
    const form: TriggerForm = {
      name: field(raw, "name"),
      environment: field(raw, "environment"),
      flag: field(raw, "flag"),
      action: field(raw, "action"),
      variant: field(raw, "variant"),
    };
    const body = {
      name: form.name,
      environment: form.environment,
      flag: form.flag,
      action: form.action,
      ...(form.variant ? { variant: form.variant } : {}),
    };
    const result = await api.send("POST", apiPath(project, "/triggers"), body, CreatedTriggerSchema);
    if (result.ok) return triggersPage(c, { shown: { trigger: result.body, rotated: false }, status: 201 });
    if (result.status === 400 || result.status === 404 || result.status === 409) {
      return triggersPage(c, {
        form,
        errors: byField(result, ["name", "environment", "flag", "action", "variant"]),
        status: result.status,
      });
    }
    return apiFailure(c, result);
  });

  ui.post("/p/:project/triggers/:id/active", async (c) => {
    const { api, project } = vars(c);
    const raw = await c.req.parseBody();
    const active = field(raw, "active") === "1";
    const result = await api.send("PATCH", apiPath(project, `/triggers/${seg(c.req.param("id"))}`), { active }, TriggerSchema);
    if (!result.ok) return apiFailure(c, result);
    return redirectDone(c, "triggers", "trigger-saved", { name: result.body.name, active: active ? "1" : "0" });
  });

  ui.post("/p/:project/triggers/:id/rotate", async (c) => {
    const { api, project } = vars(c);
    const result = await api.send("POST", apiPath(project, `/triggers/${seg(c.req.param("id"))}/rotate`), undefined, CreatedTriggerSchema);
    if (!result.ok) return apiFailure(c, result);
    return triggersPage(c, { shown: { trigger: result.body, rotated: true } });
  });

  ui.post("/p/:project/triggers/:id/delete", async (c) => {
    const { api, project } = vars(c);
    const result = await api.send("DELETE", apiPath(project, `/triggers/${seg(c.req.param("id"))}`), undefined, DeletedSchema);
    if (!result.ok) return apiFailure(c, result);
    return redirectDone(c, "triggers", "trigger-deleted");
  });
}
