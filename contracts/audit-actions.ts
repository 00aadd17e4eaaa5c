/**
 * Every action the FlagStore's audit log records: one list for the store (which writes them), the
 * admin API (which filters by them) and the console (which names them). An action outside it does
 * not compile.
 */
export const AUDIT_ACTIONS = [
  "project.created",
  "project.updated",
  "flag.created",
  "flag.updated",
  "flag.enabled",
  "flag.disabled",
  "flag.deleted",
  "flag.info.updated",
  "flagset.replaced",
  "flags.promoted",
  "key.created",
  "key.revoked",
  "key.rotated",
  "segment.changed",
  "webhook.created",
  "webhook.updated",
  "webhook.deleted",
  "trigger.created",
  "trigger.enabled",
  "trigger.disabled",
  "trigger.rotated",
  "trigger.deleted",
  "ramp.created",
  "ramp.deleted",
  "ramp.step",
  "ramp.paused",
  "ramp.resumed",
  "ramp.rolled-back",
  "ramp.completed",
  "experiment.started",
  "experiment.stopped",
  "srm.detected",
  "draft.staged",
  "draft.discarded",
  "import.applied",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
