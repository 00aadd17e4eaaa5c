import { StoreGroup } from "./group";
import * as webhooks from "../aggregates/webhooks";
import type { ChangeMeta } from "../store-types";
import type { WebhookInput, WebhookPatch } from "../webhooks";

/** Webhook subscriptions and their deliveries (`stub.webhooks().ping(id, meta)`), over `aggregates/webhooks.ts`. */
export class WebhooksRpc extends StoreGroup {
  /** Subscribes a URL to event types; the signing secret is returned this once. */
  create(input: WebhookInput, meta: ChangeMeta) {
    return webhooks.createWebhook(this.w, input, meta);
  }
  /** The project's webhooks. */
  list() {
    return webhooks.listWebhooks(this.w);
  }
  /** One webhook. */
  get(id: string) {
    return webhooks.getWebhook(this.w, id);
  }
  /** Changes a webhook's URL, events, description or activity. */
  update(id: string, patch: WebhookPatch, meta: ChangeMeta) {
    return webhooks.updateWebhook(this.w, id, patch, meta);
  }
  /** Deletes a webhook and its deliveries. */
  delete(id: string, meta: ChangeMeta) {
    return webhooks.deleteWebhook(this.w, id, meta);
  }
  /** Queues a `ping` event to one webhook, to test the receiver. */
  ping(id: string, meta: ChangeMeta) {
    return webhooks.pingWebhook(this.w, id, meta);
  }
  /** A webhook's most recent deliveries, newest first. */
  deliveries(id: string, limit: number) {
    return webhooks.listDeliveries(this.w, id, limit);
  }
  /** Queues a delivery again for a fresh series of attempts (409 while the webhook is inactive). */
  redeliver(id: string, deliveryId: string) {
    return webhooks.redeliver(this.w, id, deliveryId);
  }
}
