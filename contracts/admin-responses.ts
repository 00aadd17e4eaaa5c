/**
 * zod schemas of the admin API's responses: what the console parses every answer with (never a
 * cast: a shape it does not expect becomes a 502 page, not a crash) and what the OpenAPI document
 * describes (each top-level schema is a named component of it). The shapes mirror what the
 * FlagStore's RPC methods return. `z` is zod with `.openapi()` (from `@hono/zod-openapi`).
 */
import * as z from "./zod.ts";
import { FlagDefinitionSchema, JsonValueSchema } from "./flag-definition.ts";
import { RoleSchema } from "./roles.ts";

export { JsonValueSchema };

export const ProblemSchema = z
  .object({
    status: z.number(),
    title: z.string().optional(),
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    currentVersion: z.number().optional(),
  })
  .openapi("Problem");
export type ApiProblem = z.infer<typeof ProblemSchema>;

const Json = JsonValueSchema;
/**
 * A flag's definition as responses carry it (`contracts/flag-definition.ts`). Prerequisites are
 * not part of these response schemas: the console reads and re-sends them on their own.
 */
const ServedDefinition = FlagDefinitionSchema.omit({ prerequisites: true });

export const ProjectSchema = z
  .object({
    project: z.string(),
    environments: z.array(z.object({ name: z.string(), version: z.number(), updatedAt: z.string(), flagCount: z.number() })),
  })
  .openapi("Project");
export type ProjectView = z.infer<typeof ProjectSchema>;

export const FlagSchema = z
  .object({
    key: z.string(),
    environment: z.string(),
    version: z.number(),
    updatedAt: z.string(),
    updatedBy: z.string(),
    ...ServedDefinition.shape,
    /** On a write: false when it changed nothing (no new version, nothing audited or announced). */
    changed: z.boolean().optional(),
  })
  .openapi("Flag");
export type FlagView = z.infer<typeof FlagSchema>;

export const FlagListSchema = z.object({ version: z.number(), flags: z.array(FlagSchema) }).openapi("FlagList");

const KeyFields = z.object({
  id: z.string(),
  scope: z.enum(["client", "server", "admin"]),
  environment: z.string().nullable(),
  name: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  /** Set once the key was rotated: it stops working then. */
  expiresAt: z.string().nullish(),
  replacedBy: z.string().nullish(),
  /** An admin key's role, and the environments an editor or approver key may change (null: all). */
  role: RoleSchema.nullish(),
  environments: z.array(z.string()).nullish(),
});
export const KeySchema = KeyFields.openapi("Key");
export type KeyView = z.infer<typeof KeySchema>;
export const KeyListSchema = z.array(KeySchema).openapi("KeyList");
export const CreatedKeySchema = KeyFields.extend({ key: z.string() }).openapi("CreatedKey");

export const AuditEntrySchema = z.object({
  seq: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  environment: z.string().nullable(),
  target: z.string(),
  version: z.number().nullable(),
  before: Json,
  after: Json,
  reason: z.string().nullable(),
});
export type AuditEntryView = z.infer<typeof AuditEntrySchema>;
export const AuditPageSchema = z.object({ entries: z.array(AuditEntrySchema), nextCursor: z.number().nullable() }).openapi("AuditPage");
export const AuditVerifySchema = z
  .object({
    ok: z.boolean(),
    entries: z.number(),
    brokenAt: z.number().optional(),
    detail: z.string().optional(),
  })
  .openapi("AuditVerify");

export const EvaluationSchema = z
  .object({
    version: z.number(),
    flags: z.array(
      z.object({
        key: z.string(),
        value: Json.optional(),
        variant: z.string().optional(),
        reason: z.string().optional(),
        errorCode: z.string().optional(),
        errorDetails: z.string().optional(),
      }),
    ),
  })
  .openapi("Evaluation");

export const FlagRecordSchema = z.object({
  key: z.string(),
  environment: z.string(),
  version: z.number(),
  updatedAt: z.string(),
  updatedBy: z.string(),
  definition: ServedDefinition,
});
export type FlagRecordView = z.infer<typeof FlagRecordSchema>;

/** A stored record in the shape of `GET .../flags/{flag}`. */
export function recordToView(record: FlagRecordView): FlagView {
  const { definition, ...rest } = record;
  return { ...rest, ...definition };
}

export const FlagInfoSchema = z.object({
  description: z.string(),
  owner: z.string(),
  tags: z.array(z.string()),
  lifetime: z.enum(["temporary", "permanent"]),
  expectedRemovalAt: z.string().nullable(),
});
export type FlagInfoView = z.infer<typeof FlagInfoSchema>;

export const ProjectFlagSchema = z
  .object({
    key: z.string(),
    info: FlagInfoSchema,
    createdAt: z.string().nullable(),
    environments: z.record(z.string(), FlagRecordSchema),
    /** On an update: false when it changed nothing (nothing written or audited). */
    changed: z.boolean().optional(),
  })
  .openapi("ProjectFlag");
export type ProjectFlagView = z.infer<typeof ProjectFlagSchema>;
export const ProjectFlagListSchema = z
  .object({ environments: z.array(z.string()), flags: z.array(ProjectFlagSchema) })
  .openapi("ProjectFlagList");

export const UsageSchema = z
  .record(z.string(), z.object({ evaluations: z.number(), lastEvaluatedAt: z.string(), variants: z.record(z.string(), z.number()) }))
  .openapi("Usage");
export type UsageView = z.infer<typeof UsageSchema>;

export const StaleSchema = z
  .object({
    days: z.number(),
    notEvaluated: z.array(z.object({ environment: z.string(), flag: z.string(), lastEvaluatedAt: z.string().nullable() })),
    singleVariant: z.array(z.object({ environment: z.string(), flag: z.string(), variant: z.string(), evaluations: z.number() })),
    pastRemovalDate: z.array(z.object({ flag: z.string(), owner: z.string(), expectedRemovalAt: z.string() })),
  })
  .openapi("Stale");
export type StaleView = z.infer<typeof StaleSchema>;

export const FlagDiffSchema = z.object({
  key: z.string(),
  status: z.string(),
  fields: z.array(z.string()),
  from: z.record(z.string(), Json).nullable(),
  to: z.record(z.string(), Json).nullable(),
});
export type FlagDiffView = z.infer<typeof FlagDiffSchema>;
export const EnvironmentDiffSchema = z
  .object({ from: z.string(), to: z.string(), flags: z.array(FlagDiffSchema) })
  .openapi("EnvironmentDiff");
export type EnvironmentDiffView = z.infer<typeof EnvironmentDiffSchema>;
export const PromoteSchema = z
  .object({ dryRun: z.boolean(), diff: EnvironmentDiffSchema, version: z.number().nullable() })
  .openapi("Promote");

export const SegmentSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    rule: Json.nullable(),
    attribute: z.string().nullable(),
    memberCount: z.number().nullable(),
    members: z.array(z.string()).optional(),
    version: z.number(),
    updatedAt: z.string(),
    updatedBy: z.string(),
  })
  .openapi("Segment");
export type SegmentView = z.infer<typeof SegmentSchema>;
export const SegmentListSchema = z.array(SegmentSchema).openapi("SegmentList");
export const DeletedSchema = z.object({ deleted: z.string() }).or(z.null());

export const RotatedKeySchema = z.object({ key: CreatedKeySchema, previous: KeySchema }).openapi("RotatedKey");

const WebhookFields = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  description: z.string(),
  format: z.enum(["edgeflags", "slack"]),
  active: z.boolean(),
  createdAt: z.string(),
  createdBy: z.string(),
  /** On an update: false when it changed nothing (nothing written or audited). */
  changed: z.boolean().optional(),
});
export const WebhookSchema = WebhookFields.openapi("Webhook");
export type WebhookView = z.infer<typeof WebhookSchema>;
export const WebhookListSchema = z.array(WebhookSchema).openapi("WebhookList");
export const CreatedWebhookSchema = WebhookFields.extend({
  secret: z.string(),
  standardSecret: z.string().meta({ description: "The secret as Standard Webhooks libraries take it (`whsec_` + base64)" }),
}).openapi("CreatedWebhook");
export const DeliverySchema = z
  .object({
    id: z.string(),
    webhookId: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    status: z.enum(["pending", "delivered", "failed"]),
    attempts: z.number(),
    nextAttemptAt: z.string().nullable(),
    lastStatus: z.number().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .openapi("Delivery");
export type DeliveryView = z.infer<typeof DeliverySchema>;
export const DeliveryListSchema = z.array(DeliverySchema).openapi("DeliveryList");
export const PingSchema = z.object({ queued: z.number() }).openapi("Ping");

export const TRIGGER_ACTIONS = ["enable", "disable", "set-default", "pause-ramp", "rollback-ramp"] as const;
const TriggerFields = z.object({
  id: z.string(),
  name: z.string(),
  environment: z.string(),
  flag: z.string(),
  action: z.enum(TRIGGER_ACTIONS),
  variant: z.string().optional(),
  active: z.boolean(),
  createdAt: z.string(),
  createdBy: z.string(),
  lastFiredAt: z.string().nullable(),
  /** On an update: false when it changed nothing (nothing written or audited). */
  changed: z.boolean().optional(),
});
export const TriggerSchema = TriggerFields.openapi("Trigger");
export type TriggerView = z.infer<typeof TriggerSchema>;
export const TriggerListSchema = z.array(TriggerSchema).openapi("TriggerList");
export const CreatedTriggerSchema = TriggerFields.extend({ url: z.string(), signedUrl: z.string(), secret: z.string() }).openapi(
  "CreatedTrigger",
);
export type CreatedTriggerView = z.infer<typeof CreatedTriggerSchema>;

export const SrmSchema = z.object({
  observed: z.record(z.string(), z.number()),
  expected: z.record(z.string(), z.number()),
  chiSquare: z.number(),
  degreesOfFreedom: z.number(),
  pValue: z.number(),
  enoughData: z.boolean(),
  mismatch: z.boolean(),
});
export type SrmView = z.infer<typeof SrmSchema>;

export const RampSchema = z
  .object({
    id: z.string(),
    environment: z.string(),
    flag: z.string(),
    variant: z.string(),
    baseline: z.string(),
    status: z.enum(["running", "paused", "completed", "rolled-back"]),
    pauseReason: z.string().nullable(),
    currentStep: z.number(),
    currentPercent: z.number(),
    effectivePercent: z.number().optional(),
    effectiveNote: z.string().nullable().optional(),
    nextAt: z.string().nullable(),
    steps: z.array(
      z.object({
        percent: z.number(),
        at: z.string().optional(),
        afterSeconds: z.number().optional(),
        state: z.enum(["done", "current", "next", "pending"]),
        appliedAt: z.string().nullable(),
      }),
    ),
    history: z.array(z.object({ step: z.number(), percent: z.number(), at: z.string(), version: z.number(), actor: z.string() })),
    createdAt: z.string(),
    createdBy: z.string(),
  })
  .openapi("Ramp");
export type RampView = z.infer<typeof RampSchema>;
export const RampExposuresSchema = z
  .object({ ramp: z.string(), steps: z.array(z.object({ step: z.number(), percent: z.number(), srm: SrmSchema })) })
  .openapi("RampExposures");
export type RampExposuresView = z.infer<typeof RampExposuresSchema>;

export const ExperimentSchema = z
  .object({
    id: z.string(),
    environment: z.string(),
    flag: z.string(),
    weights: z.record(z.string(), z.number()),
    status: z.enum(["running", "stopped"]),
    createdAt: z.string(),
    createdBy: z.string(),
    stoppedAt: z.string().nullable(),
    units: z.record(z.string(), z.number()),
    srm: SrmSchema,
    srmFlaggedAt: z.string().nullable(),
  })
  .openapi("Experiment");
export type ExperimentView = z.infer<typeof ExperimentSchema>;
export const ExperimentListSchema = z.array(ExperimentSchema).openapi("ExperimentList");

export const DraftSchema = z
  .object({
    id: z.string(),
    environment: z.string(),
    sampleRate: z.number(),
    baseVersion: z.number(),
    createdAt: z.string(),
    createdBy: z.string(),
    flagSet: Json,
    shadow: z.object({
      sampledUnits: z.record(z.string(), z.number()),
      flips: z.array(z.object({ flag: z.string(), from: z.string(), to: z.string(), units: z.number() })),
    }),
  })
  .openapi("Draft");
export type DraftView = z.infer<typeof DraftSchema>;
export const PublishedSchema = z.object({ version: z.number() }).openapi("Published");

/** `PUT …/flagd`: the environment's new version. */
export const FlagSetWrittenSchema = z
  .object({
    project: z.string(),
    environment: z.string(),
    version: z.number(),
    /** False when the flag set was already the environment's (no new version). */
    changed: z.boolean().optional(),
  })
  .openapi("FlagSetWritten");

export const ReplicationSchema = z
  .object({
    published: z.array(z.object({ kind: z.string(), target: z.string(), version: z.number(), publishedAt: z.string() })),
    pending: z.array(
      z.object({ kind: z.string(), target: z.string(), attempts: z.number(), nextAttemptAt: z.string(), lastError: z.string().nullable() }),
    ),
  })
  .openapi("Replication");

/** What firing a trigger did. */
export const TriggerOutcomeSchema = z
  .object({
    trigger: z.string(),
    action: z.enum(TRIGGER_ACTIONS),
    environment: z.string(),
    flag: z.string(),
    version: z.number().nullable(),
    state: z.enum(["ENABLED", "DISABLED"]).nullable(),
    defaultVariant: z.string().nullable(),
    ramp: RampSchema.optional(),
  })
  .openapi("TriggerOutcome");
export type TriggerOutcomeView = z.infer<typeof TriggerOutcomeSchema>;

/** `POST …/flags/{flag}/targets`: what the change did; `changed: false` when it did nothing. */
export const TargetsChangedSchema = z
  .object({
    changed: z.boolean(),
    /** The flag's version afterwards (its ETag). */
    version: z.number(),
    added: z.number(),
    moved: z.number(),
    removed: z.number(),
    /** Keys asked to be removed that were not targets. */
    notPresent: z.number(),
    /** Targeted keys per variant afterwards. */
    counts: z.record(z.string(), z.number()),
  })
  .openapi("TargetsChanged");

/** `GET …/flags/{flag}/targets`: one page of a flag's targets in (variant, key) order. */
export const TargetsPageSchema = z
  .object({
    version: z.number(),
    counts: z.record(z.string(), z.number()),
    targets: z.array(z.object({ id: z.string(), variant: z.string(), addedAt: z.string(), addedBy: z.string() })),
    /** Pass as `cursor` for the next page; null on the last one. */
    next: z.string().nullable(),
  })
  .openapi("TargetsPage");
