/**
 * The webhooks aggregate: subscriptions and their deliveries, as the admin API manages them.
 * Queuing and delivering is `../webhooks.ts`.
 */
import { fail, ok, type Result } from "../../contracts/result";
import * as webhooks from "../webhooks";
import type { WebhookInput, WebhookPatch } from "../webhooks";
import { noWebhook } from "../store-records";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta } from "../store-types";

/** Subscribes a URL to event types; the signing secret is returned this once. */
export async function createWebhook(
  w: UnitOfWork,
  input: WebhookInput,
  meta: ChangeMeta,
): Promise<Result<webhooks.WebhookInfo & { secret: string; standardSecret: string }>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  const now = Date.now();
  const created = w.transaction(() => {
    const hook = webhooks.createWebhook(w.sql, input, meta.actor, now);
    w.audit("webhook.created", meta, { target: `webhook:${hook.id}`, after: { url: hook.url, events: hook.events } }, now);
    return hook;
  });
  return ok(created);
}

/** The project's webhooks. */
export async function listWebhooks(w: UnitOfWork): Promise<Result<webhooks.WebhookInfo[]>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  return ok(webhooks.listWebhooks(w.sql));
}

/** One webhook. */
export async function getWebhook(w: UnitOfWork, id: string): Promise<Result<webhooks.WebhookInfo>> {
  const project = w.requireProject();
  if (!project.ok) return project;
  const hook = webhooks.listWebhooks(w.sql).find((h) => h.id === id);
  return hook ? ok(hook) : fail(noWebhook(id));
}

/** Changes a webhook's URL, events, description or activity. */
export async function updateWebhook(
  w: UnitOfWork,
  id: string,
  patch: WebhookPatch,
  meta: ChangeMeta,
): Promise<Result<webhooks.WebhookInfo & { changed: boolean }>> {
  if (!webhooks.getWebhookRow(w.sql, id)) return fail(noWebhook(id));
  const info = () => webhooks.listWebhooks(w.sql).find((hook) => hook.id === id)!;
  const before = info();
  // A patch that names only what the subscription already is changes nothing and audits nothing.
  const same =
    (patch.url === undefined || patch.url === before.url) &&
    (patch.events === undefined || JSON.stringify(patch.events) === JSON.stringify(before.events)) &&
    (patch.description === undefined || patch.description === before.description) &&
    (patch.active === undefined || patch.active === before.active) &&
    (patch.format === undefined || patch.format === before.format);
  if (same) return ok({ ...before, changed: false });
  const now = Date.now();
  w.transaction(() => {
    webhooks.updateWebhook(w.sql, id, patch);
    w.audit("webhook.updated", meta, { target: `webhook:${id}`, after: patch }, now);
  });
  return ok({ ...info(), changed: true });
}

/** Deletes a webhook and its deliveries. */
export async function deleteWebhook(w: UnitOfWork, id: string, meta: ChangeMeta): Promise<Result<{ deleted: string }>> {
  if (!webhooks.getWebhookRow(w.sql, id)) return fail(noWebhook(id));
  const now = Date.now();
  w.transaction(() => {
    webhooks.deleteWebhook(w.sql, id);
    w.audit("webhook.deleted", meta, { target: `webhook:${id}` }, now);
  });
  return ok({ deleted: id });
}

/** Queues a `ping` event to one webhook, to test the receiver. */
export async function pingWebhook(w: UnitOfWork, id: string, meta: ChangeMeta): Promise<Result<{ queued: number }>> {
  if (!webhooks.getWebhookRow(w.sql, id)) return fail(noWebhook(id));
  const now = Date.now();
  w.transaction(() => w.queueEvent("ping", null, meta, { webhookId: id }, now, id));
  await w.scheduleDrain();
  return ok({ queued: 1 });
}

/** A webhook's most recent deliveries, newest first. */
export async function listDeliveries(w: UnitOfWork, id: string, limit: number): Promise<Result<webhooks.DeliveryInfo[]>> {
  if (!webhooks.getWebhookRow(w.sql, id)) return fail(noWebhook(id));
  return ok(webhooks.listDeliveries(w.sql, id, limit));
}

/** Queues a delivery again for a fresh series of attempts (409 while the webhook is inactive). */
export async function redeliver(w: UnitOfWork, id: string, deliveryId: string): Promise<Result<webhooks.DeliveryInfo>> {
  const hook = webhooks.getWebhookRow(w.sql, id);
  if (!hook) return fail(noWebhook(id));
  if (hook.active !== 1) return fail({ kind: "conflict", detail: `webhook "${id}" is inactive; activate it before redelivering` });
  if (!webhooks.getDelivery(w.sql, id, deliveryId))
    return fail({ kind: "not_found", detail: `webhook "${id}" has no delivery "${deliveryId}"` });
  webhooks.redeliver(w.sql, deliveryId, Date.now());
  await w.scheduleDrain();
  return ok(webhooks.getDelivery(w.sql, id, deliveryId)!);
}
