/**
 * Webhooks out: subscriptions, and deliveries queued in the same transaction as the change they
 * announce, delivered by the FlagStore's alarm with exponential backoff.
 *
 * Each delivery is a `POST` of the event as JSON with headers `Edgeflags-Event`,
 * `Edgeflags-Delivery` and `Edgeflags-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
 * "<t>.<body>")>` (see `lib/signature.ts`), and signed again per Standard Webhooks (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature`), so any Standard Webhooks library verifies it with the
 * subscription's `standardSecret`. A 2xx answer marks it delivered; anything else is
 * retried after 10 s, 20 s, 40 s … (capped at an hour) until `MAX_DELIVERY_ATTEMPTS`, then it is
 * marked failed and can be redelivered by hand.
 */
import { randomToken } from "../lib/crypto";
import { sign, SIGNATURE_HEADER, standardSecret, standardWebhookHeaders } from "../lib/signature";
import { DEADLINE_MS } from "../lib/deadline";
import { slackMessage } from "./webhook-slack";
import { log } from "../lib/log";
import { webhookUrlRefusal } from "../lib/webhook-url";
import type { WebhookEventType } from "../contracts/webhook-events";

export const MAX_DELIVERY_ATTEMPTS = 12;
const RETRY_BASE_MS = 10_000;
const RETRY_MAX_MS = 60 * 60_000;

/**
 * Why a delivery must not be sent to `url`, or null when it may: the rule the admin API applies
 * when a webhook is saved (`lib/webhook-url.ts`), checked again at delivery (defence in depth: a
 * row written by an older release, or edited in storage, still cannot reach an internal address).
 * `allowLocalHttp` is the deployment's `ALLOW_HTTP_WEBHOOKS_TO_LOCALHOST`.
 */
export function deliveryUrlProblem(url: string, allowLocalHttp = false): string | null {
  const refusal = webhookUrlRefusal(url, allowLocalHttp);
  return refusal === null ? null : `not delivered: the webhook URL ${refusal}`;
}

/** What a receiver gets, as the request body. */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  createdAt: string;
  project: string;
  environment: string | null;
  actor: string;
  reason: string | null;
  data: Record<string, unknown>;
  /** The project's audit chain head when the event was queued: receivers hold an anchor the store cannot rewrite. */
  auditHead: { seq: number; hash: string } | null;
}

/** What a delivery's body is: the JSON event, or a Slack-compatible message about it. */
export type WebhookFormat = "edgeflags" | "slack";

/** A new subscription; without `secret`, one is generated. */
export interface WebhookInput {
  url: string;
  events: WebhookEventType[];
  description: string;
  secret: string | null;
  format?: WebhookFormat | undefined;
}

/** A change to a subscription: the fields given replace the stored ones. */
export interface WebhookPatch {
  url?: string | undefined;
  events?: WebhookEventType[] | undefined;
  description?: string | undefined;
  active?: boolean | undefined;
  format?: WebhookFormat | undefined;
}

export interface WebhookInfo {
  id: string;
  url: string;
  events: WebhookEventType[];
  description: string;
  format: WebhookFormat;
  active: boolean;
  createdAt: string;
  createdBy: string;
}

export interface DeliveryInfo {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

interface WebhookRow extends Record<string, SqlStorageValue> {
  id: string;
  url: string;
  events: string;
  secret: string;
  description: string;
  /** From `webhook_options`; null: the JSON event. */
  format: WebhookFormat | null;
  active: number;
  created_at: number;
  created_by: string;
}

interface DeliveryRow extends Record<string, SqlStorageValue> {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  next_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

export function newId(prefix: string): string {
  return `${prefix}_${randomToken(12)}`;
}

export function retryDelayMs(attempts: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

export function createWebhook(
  sql: SqlStorage,
  input: WebhookInput,
  actor: string,
  now: number,
): WebhookInfo & { secret: string; standardSecret: string } {
  const id = newId("wh");
  const secret = input.secret ?? `whsec_${randomToken(24)}`;
  sql.exec(
    "INSERT INTO webhooks (id, url, events, secret, description, active, created_at, created_by) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
    id,
    input.url,
    JSON.stringify(input.events),
    secret,
    input.description,
    now,
    actor,
  );
  setFormat(sql, id, input.format);
  return { ...toWebhookInfo(getWebhookRow(sql, id)!), secret, standardSecret: standardSecret(secret) };
}

const WEBHOOK_COLUMNS = "w.*, o.format AS format FROM webhooks w LEFT JOIN webhook_options o ON o.webhook_id = w.id";

export function getWebhookRow(sql: SqlStorage, id: string): WebhookRow | undefined {
  return sql.exec<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} WHERE w.id = ?`, id).toArray()[0];
}

export function listWebhooks(sql: SqlStorage): WebhookInfo[] {
  return sql.exec<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} ORDER BY w.created_at, w.id`).toArray().map(toWebhookInfo);
}

/** Records a subscription's payload format (the JSON event needs no row). */
function setFormat(sql: SqlStorage, id: string, format: WebhookFormat | undefined): void {
  if (format === undefined) return;
  if (format === "edgeflags") sql.exec("DELETE FROM webhook_options WHERE webhook_id = ?", id);
  else
    sql.exec(
      "INSERT INTO webhook_options (webhook_id, format) VALUES (?, ?) ON CONFLICT (webhook_id) DO UPDATE SET format = excluded.format",
      id,
      format,
    );
}

export function updateWebhook(sql: SqlStorage, id: string, patch: WebhookPatch): void {
  const row = getWebhookRow(sql, id)!;
  sql.exec(
    "UPDATE webhooks SET url = ?, events = ?, description = ?, active = ? WHERE id = ?",
    patch.url ?? row.url,
    patch.events ? JSON.stringify(patch.events) : row.events,
    patch.description ?? row.description,
    patch.active === undefined ? row.active : patch.active ? 1 : 0,
    id,
  );
  setFormat(sql, id, patch.format);
}

export function deleteWebhook(sql: SqlStorage, id: string): void {
  sql.exec("DELETE FROM webhook_deliveries WHERE webhook_id = ?", id);
  sql.exec("DELETE FROM webhook_options WHERE webhook_id = ?", id);
  sql.exec("DELETE FROM webhooks WHERE id = ?", id);
}

/** Queues one delivery per active subscription to the event's type. Call inside the change's transaction. */
export function queueEvent(sql: SqlStorage, event: WebhookEvent, now: number, onlyWebhook?: string): number {
  const payload = JSON.stringify(event);
  let queued = 0;
  for (const hook of sql.exec<WebhookRow>("SELECT * FROM webhooks WHERE active = 1")) {
    if (onlyWebhook !== undefined ? hook.id !== onlyWebhook : !(JSON.parse(hook.events) as string[]).includes(event.type)) continue;
    sql.exec(
      `INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload, status, attempts, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
      newId("dlv"),
      hook.id,
      event.id,
      event.type,
      payload,
      now,
      now,
    );
    queued++;
  }
  return queued;
}

export function nextDeliveryDue(sql: SqlStorage): number | null {
  return sql.exec<{ due: number | null }>("SELECT min(next_attempt_at) AS due FROM webhook_deliveries WHERE status = 'pending'").one().due;
}

/**
 * Sends every due delivery of an active webhook once. Each is marked in flight (its next attempt
 * pushed out) before the request, so an overlapping pass or a crash mid-request retries it rather
 * than losing it.
 */
export async function deliverDue(
  sql: SqlStorage,
  now: number,
  fetcher: typeof fetch = fetch,
  allowLocalHttp = false,
  project: string | null = null,
): Promise<void> {
  const due = sql
    .exec<DeliveryRow & { url: string; secret: string; format: WebhookFormat | null }>(
      `SELECT d.*, w.url AS url, w.secret AS secret, o.format AS format FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
       LEFT JOIN webhook_options o ON o.webhook_id = w.id
       WHERE d.status = 'pending' AND w.active = 1 AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.created_at LIMIT 50`,
      now,
    )
    .toArray();
  // Concurrently: a slow receiver holds a pass for one timeout at most, not one per delivery, so the
  // alarm soon gets back to publishing (KV, live updates).
  await Promise.allSettled(due.map((row) => deliverOne(sql, row, now, fetcher, allowLocalHttp, project)));
}

async function deliverOne(
  sql: SqlStorage,
  row: DeliveryRow & { url: string; secret: string; format: WebhookFormat | null },
  now: number,
  fetcher: typeof fetch,
  allowLocalHttp: boolean,
  project: string | null,
): Promise<void> {
  const attempts = row.attempts + 1;
  sql.exec("UPDATE webhook_deliveries SET attempts = ?, next_attempt_at = ? WHERE id = ?", attempts, now + retryDelayMs(attempts), row.id);
  let status: number | null = null;
  let error: string | null = deliveryUrlProblem(row.url, allowLocalHttp);
  // A refused address stays refused: retrying it would only repeat the refusal.
  const refused = error !== null;
  if (error === null) {
    try {
      const sentAt = Math.floor(Date.now() / 1000);
      const body = row.format === "slack" ? slackMessage(row.payload) : row.payload;
      const response = await fetcher(row.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "edgeflags-webhooks/1",
          "edgeflags-event": row.event_type,
          "edgeflags-delivery": row.id,
          [SIGNATURE_HEADER]: await sign(row.secret, body, sentAt),
          ...(await standardWebhookHeaders(row.secret, row.id, body, sentAt)),
        },
        body,
        // A redirect is not followed: it could point the signed POST anywhere, internal hosts too.
        redirect: "manual",
        signal: AbortSignal.timeout(DEADLINE_MS.webhook),
      });
      status = response.status;
      await response.body?.cancel();
      if (status >= 300 && status < 400) {
        error = `the receiver answered ${status} (a redirect${response.headers.get("location") ? ` to ${response.headers.get("location")!.slice(0, 200)}` : ""}); redirects are not followed — update the webhook's URL`;
      } else if (!response.ok) error = `the receiver answered ${response.status}`;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
  }
  if (error !== null) {
    const final = refused || attempts >= MAX_DELIVERY_ATTEMPTS;
    log(final ? "error" : "warn", "webhook-delivery-failed", {
      project,
      webhook: row.webhook_id,
      delivery: row.id,
      eventType: row.event_type,
      attempts,
      status,
      final,
      error,
    });
  }
  if (error === null) {
    sql.exec(
      "UPDATE webhook_deliveries SET status = 'delivered', last_status = ?, last_error = NULL, next_attempt_at = NULL, delivered_at = ? WHERE id = ?",
      status,
      Date.now(),
      row.id,
    );
  } else if (refused || attempts >= MAX_DELIVERY_ATTEMPTS) {
    sql.exec(
      "UPDATE webhook_deliveries SET status = 'failed', last_status = ?, last_error = ?, next_attempt_at = NULL WHERE id = ?",
      status,
      error.slice(0, 500),
      row.id,
    );
  } else {
    sql.exec("UPDATE webhook_deliveries SET last_status = ?, last_error = ? WHERE id = ?", status, error.slice(0, 500), row.id);
  }
}

export function listDeliveries(sql: SqlStorage, webhookId: string, limit: number): DeliveryInfo[] {
  return sql
    .exec<DeliveryRow>("SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY created_at DESC, id DESC LIMIT ?", webhookId, limit)
    .toArray()
    .map(toDeliveryInfo);
}

export function getDelivery(sql: SqlStorage, webhookId: string, id: string): DeliveryInfo | null {
  const row = sql.exec<DeliveryRow>("SELECT * FROM webhook_deliveries WHERE id = ? AND webhook_id = ?", id, webhookId).toArray()[0];
  return row ? toDeliveryInfo(row) : null;
}

/** Puts a delivery back in the queue for a fresh series of attempts. */
export function redeliver(sql: SqlStorage, id: string, now: number): void {
  sql.exec(
    "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, delivered_at = NULL WHERE id = ?",
    now,
    id,
  );
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function toWebhookInfo(row: WebhookRow): WebhookInfo {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as WebhookEventType[],
    description: row.description,
    format: row.format ?? "edgeflags",
    active: row.active === 1,
    createdAt: iso(row.created_at)!,
    createdBy: row.created_by,
  };
}

function toDeliveryInfo(row: DeliveryRow): DeliveryInfo {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: iso(row.next_attempt_at),
    lastStatus: row.last_status,
    lastError: row.last_error,
    createdAt: iso(row.created_at)!,
    deliveredAt: iso(row.delivered_at),
  };
}
