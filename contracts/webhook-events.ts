/** The event types a webhook can subscribe to: one list for validation, storage and the console. */
export const WEBHOOK_EVENT_TYPES = [
  "flag.created",
  "flag.updated",
  "flag.deleted",
  "flag.toggled",
  "flagset.replaced",
  "segment.changed",
  "key.revoked",
  "trigger.fired",
  "ramp.step",
  "ramp.paused",
  "ramp.resumed",
  "ramp.rolled-back",
  "ramp.completed",
  "srm.detected",
  "migration.cut-over",
  "ping",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
