/** Webhooks out: subscriptions, pings, the delivery log and redelivery. */
import {
  CreatedWebhookSchema,
  DeliveryListSchema,
  DeliverySchema,
  PingSchema,
  WebhookListSchema,
  WebhookSchema,
} from "../../contracts/admin-responses";
import { allowsLocalWebhooks, webhookUrlRefusal } from "../../lib/webhook-url";
import { problem, storeProblem } from "../problem";
import { CreateWebhookBodySchema, DeliveriesQuerySchema, UpdateWebhookBodySchema } from "../schemas";
import { adminApp, adminRoute, defineRoute, meta, P, param, readBody, respond, call, type AdminContext } from "./kit";

export const webhooks = adminApp();

const list = adminRoute({ method: "get", path: `${P}/webhooks`, summary: "List webhook subscriptions", response: WebhookListSchema });
defineRoute(webhooks, list, async (c) => respond(c, await call(c, (s) => s.webhooks().list())));

const create = adminRoute({
  method: "post",
  permission: "admin",
  path: `${P}/webhooks`,
  summary: "Subscribe a URL to events (secret shown once)",
  body: CreateWebhookBodySchema,
  status: 201,
  response: CreatedWebhookSchema,
});
defineRoute(webhooks, create, async (c) => {
  const body = await readBody(c, create);
  if (body instanceof Response) return body;
  const refused = refuseWebhookUrl(c, body.url);
  if (refused) return refused;
  return respond(
    c,
    await call(c, (s) =>
      s
        .webhooks()
        .create(
          { url: body.url, events: body.events, description: body.description, secret: body.secret ?? null, format: body.format },
          meta(c, null),
        ),
    ),
    201,
  );
});

const read = adminRoute({ method: "get", path: `${P}/webhooks/{id}`, summary: "A subscription", response: WebhookSchema });
defineRoute(webhooks, read, async (c) => respond(c, await call(c, (s) => s.webhooks().get(param(c, "id")))));

const update = adminRoute({
  method: "patch",
  permission: "admin",
  path: `${P}/webhooks/{id}`,
  summary: "Update a subscription",
  body: UpdateWebhookBodySchema,
  response: WebhookSchema,
});
defineRoute(webhooks, update, async (c) => {
  const body = await readBody(c, update);
  if (body instanceof Response) return body;
  const refused = body.url === undefined ? null : refuseWebhookUrl(c, body.url);
  if (refused) return refused;
  return respond(c, await call(c, (s) => s.webhooks().update(param(c, "id"), body, meta(c, null))));
});

const remove = adminRoute({
  permission: "admin",
  method: "delete",
  path: `${P}/webhooks/{id}`,
  summary: "Delete a subscription",
  status: 204,
});
defineRoute(webhooks, remove, async (c) => {
  const result = await call(c, (s) => s.webhooks().delete(param(c, "id"), meta(c, null)));
  return result.ok ? c.body(null, 204) : storeProblem(result.error);
});

const ping = adminRoute({
  method: "post",
  permission: "admin",
  path: `${P}/webhooks/{id}/ping`,
  summary: "Send a ping event",
  status: 201,
  response: PingSchema,
});
defineRoute(webhooks, ping, async (c) => respond(c, await call(c, (s) => s.webhooks().ping(param(c, "id"), meta(c, null))), 201));

const deliveries = adminRoute({
  method: "get",
  path: `${P}/webhooks/{id}/deliveries`,
  summary: "Delivery log",
  query: DeliveriesQuerySchema,
  response: DeliveryListSchema,
});
defineRoute(webhooks, deliveries, async (c) => {
  const limit = Math.min(200, Math.max(1, Number(c.req.query("limit") ?? 50) || 50));
  return respond(c, await call(c, (s) => s.webhooks().deliveries(param(c, "id"), limit)));
});

const redeliver = adminRoute({
  method: "post",
  permission: "admin",
  path: `${P}/webhooks/{id}/deliveries/{delivery}/redeliver`,
  summary: "Deliver again",
  response: DeliverySchema,
});
defineRoute(webhooks, redeliver, async (c) =>
  respond(c, await call(c, (s) => s.webhooks().redeliver(param(c, "id"), param(c, "delivery")))),
);

/** The 400 for a webhook URL that points anywhere but a public https host, or null. */
function refuseWebhookUrl(c: AdminContext, url: string): Response | null {
  const refusal = webhookUrlRefusal(url, allowsLocalWebhooks(c.env));
  return refusal === null ? null : problem("invalid", `url: ${refusal}`, { errors: [{ path: "url", message: refusal }] });
}
