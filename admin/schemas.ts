/**
 * Request schemas of the admin API. Every body is parsed here before anything reaches the
 * FlagStore; flag sets are then checked in full (variants, default variant, targeting) by the
 * engine's validator inside the FlagStore, against the environment they will live in.
 */
import * as z from "../contracts/zod";
import {
  FlagDefinitionSchema as FlagShape,
  FlagMetadataSchema,
  JsonValueSchema,
  PrerequisiteSchema,
  type SameShape,
} from "../contracts/flag-definition";
import type { FlagDefinition } from "../engine/types";
import { WEBHOOK_EVENT_TYPES } from "../contracts/webhook-events";
import { AUDIT_ACTIONS } from "../contracts/audit-actions";
import { RoleSchema } from "../contracts/roles";
import { FLAG_KEY_CHARACTERS, flagKeyProblem, MAX_FLAG_KEY_LENGTH, RESERVED_FLAG_KEYS } from "../engine/index";
import { MAX_TARGET_LENGTH, MAX_TARGETS_PER_FLAG } from "../engine/targets";
import { MAX_TARGETS_PER_CALL } from "../contracts/targets";

/** Project and environment names: they appear in URLs and KV keys. */
export const NameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "use 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit");

/** Flag keys: the engine's one rule (`flagKeyProblem`), also applied to imported flag sets. */
export const FlagKeySchema = z
  .string()
  .superRefine((key, ctx) => {
    const problem = flagKeyProblem(key);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .meta({ minLength: 1, maxLength: MAX_FLAG_KEY_LENGTH, pattern: FLAG_KEY_CHARACTERS.source, not: { enum: [...RESERVED_FLAG_KEYS] } });

export const ProjectBodySchema = z
  .object({
    environments: z
      .array(NameSchema)
      .min(1, "a project needs at least one environment")
      .max(20, "a project has at most 20 environments")
      .refine((names) => new Set(names).size === names.length, "environment names must be unique"),
  })
  .openapi("ProjectBody");

/** Targeting keys as a target names them; the engine checks the rest (control characters, each key once). */
const TargetIdSchema = z.string().min(1).max(MAX_TARGET_LENGTH);

/** An edgeflags extension: variant → targeting keys served that variant before any targeting. */
const TargetsSchema = z.record(z.string(), z.array(TargetIdSchema).max(MAX_TARGETS_PER_FLAG));

/**
 * One flag, in flagd's shape (`contracts/flag-definition.ts`), with the limits a request must keep.
 * Deeper checks (variant types, targeting) happen in the engine.
 */
const FlagDefinitionFields = FlagShape.extend({
  variants: FlagShape.shape.variants.refine((v) => Object.keys(v).length > 0, "a flag needs at least one variant"),
  prerequisites: z.array(PrerequisiteSchema).max(10).optional(),
  targets: TargetsSchema.optional(),
}).strict();
export const FlagDefinitionSchema = FlagDefinitionFields.openapi("FlagDefinition");

/** Compile-time proof that the limits changed no field of the flag. */
export const requestMatchesEngine: SameShape<z.infer<typeof FlagDefinitionSchema>, FlagDefinition> = true;

export const CreateFlagBodySchema = FlagDefinitionFields.extend({
  key: FlagKeySchema,
  reason: z.string().max(1000).optional(),
})
  .strict()
  .openapi("CreateFlagBody");

export const UpdateFlagBodySchema = FlagDefinitionFields.extend({
  reason: z.string().max(1000).optional(),
})
  .strict()
  .openapi("UpdateFlagBody");

/** `POST …/flags/{flag}/targets`: keys to add under a variant (moving them from another) and keys to remove. */
export const TargetsBodySchema = z
  .object({
    add: z.record(z.string(), z.array(TargetIdSchema).max(MAX_TARGETS_PER_CALL)).optional(),
    remove: z.array(TargetIdSchema).max(MAX_TARGETS_PER_CALL).optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("TargetsBody");

/** `GET …/flags/{flag}/targets`: one page, optionally of one variant. */
export const TargetsQuerySchema = z.object({
  variant: z.string().min(1).max(256).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(2048).optional(),
});

export const ToggleBodySchema = z
  .object({
    /** The state to set; omitted, the toggle flips the current state. */
    state: z.enum(["ENABLED", "DISABLED"]).optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("ToggleBody");

export const CreateKeyBodySchema = z
  .object({
    scope: z.enum(["client", "server"]),
    name: z.string().min(1).max(100).optional(),
  })
  .strict()
  .openapi("CreateKeyBody");

/**
 * The environments an editor or approver may change: at least one, each named once. A viewer
 * reads every environment and an admin changes them all, so neither takes a list.
 */
export const GrantEnvironmentsSchema = z
  .array(NameSchema)
  .min(1, "list at least one environment, or leave environments out for every environment")
  .max(20, "a project has at most 20 environments")
  .refine((names) => new Set(names).size === names.length, "environment names must be unique");

/** True unless environments are listed for a role that takes none. */
export function environmentsFitRole(grant: { role?: string; environments?: string[] | undefined }): boolean {
  return grant.environments === undefined || grant.role === "editor" || grant.role === "approver";
}
export const ENVIRONMENTS_FIT_ROLE: { message: string; path: PropertyKey[] } = {
  message: "only an editor or approver is limited to environments; leave environments out",
  path: ["environments"],
};

export const CreateAdminKeyBodySchema = z
  .object({
    scope: z.literal("admin"),
    name: z.string().min(1).max(100).optional(),
    /** What the key may do in the project (`admin` when left out). */
    role: RoleSchema.default("admin"),
    environments: GrantEnvironmentsSchema.optional(),
  })
  .strict()
  .refine(environmentsFitRole, ENVIRONMENTS_FIT_ROLE)
  .openapi("CreateAdminKeyBody");

export const EvaluateBodySchema = z
  .object({
    context: z.record(z.string(), JsonValueSchema).default({}),
    /** Only these flags; all of them when omitted. */
    flags: z.array(FlagKeySchema).max(1000).optional(),
  })
  .strict()
  .openapi("EvaluateBody");

export const AuditQuerySchema = z.object({
  environment: NameSchema.optional(),
  flag: FlagKeySchema.optional(),
  actor: z.string().max(200).optional(),
  action: z.enum(AUDIT_ACTIONS).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export { toProblems } from "../contracts/problem";

export const RotateKeyBodySchema = z
  .object({
    /** How long the old key keeps working, in seconds (at most 30 days). */
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(86_400),
  })
  .strict()
  .openapi("RotateKeyBody");

export const SegmentBodySchema = z
  .object({
    description: z.string().max(1000).default(""),
    rule: JsonValueSchema.optional(),
    members: z.array(z.string().min(1).max(256)).max(100_000, "a segment holds at most 100,000 members").optional(),
    attribute: z.string().min(1).max(200).optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .refine((s) => (s.rule === undefined) !== (s.members === undefined), {
    message: "give either a JsonLogic `rule` or a list of `members`, not both",
    path: ["rule"],
  })
  .refine((s) => s.attribute === undefined || s.members !== undefined, {
    message: "`attribute` applies to `members` segments only",
    path: ["attribute"],
  })
  .openapi("SegmentBody");

const FlagInfoFields = {
  description: z.string().max(2000),
  owner: z.string().max(200),
  tags: z.array(z.string().min(1).max(50)).max(50),
  lifetime: z.enum(["temporary", "permanent"]),
  expectedRemovalAt: z.iso.datetime({ offset: true }).nullable(),
};

export const ProjectFlagBodySchema = z
  .object({
    key: FlagKeySchema,
    description: FlagInfoFields.description.default(""),
    owner: FlagInfoFields.owner.default(""),
    tags: FlagInfoFields.tags.default([]),
    lifetime: FlagInfoFields.lifetime.default("permanent"),
    expectedRemovalAt: FlagInfoFields.expectedRemovalAt.default(null),
    state: z.enum(["ENABLED", "DISABLED"]).default("ENABLED"),
    variants: FlagDefinitionFields.shape.variants,
    defaultVariant: FlagDefinitionFields.shape.defaultVariant,
    targeting: FlagDefinitionFields.shape.targeting,
    metadata: FlagDefinitionFields.shape.metadata,
    prerequisites: FlagDefinitionFields.shape.prerequisites,
    /** Per-environment adjustments of state, default variant or targeting. */
    environments: z
      .record(NameSchema, FlagDefinitionFields.pick({ state: true, defaultVariant: true, targeting: true }).partial().strict())
      .default({}),
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("ProjectFlagBody");

export const FlagInfoPatchSchema = z
  .object({
    description: FlagInfoFields.description.optional(),
    owner: FlagInfoFields.owner.optional(),
    tags: FlagInfoFields.tags.optional(),
    lifetime: FlagInfoFields.lifetime.optional(),
    expectedRemovalAt: FlagInfoFields.expectedRemovalAt.optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("FlagInfoPatch");

export const CompareQuerySchema = z.object({
  from: NameSchema,
  to: NameSchema,
  flag: z.union([FlagKeySchema, z.array(FlagKeySchema)]).optional(),
});

export const PromoteBodySchema = z
  .object({
    from: NameSchema,
    to: NameSchema,
    /** Only these flags; every flag of `from` when omitted. */
    flags: z.array(FlagKeySchema).min(1).max(1000).optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("PromoteBody");

const WebhookUrlSchema = z.url({ protocol: /^https?$/, error: "must be an http or https URL" }).max(2000);
const WebhookEventsSchema = z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1, "subscribe to at least one event type");

/** A delivery's body: the JSON event (`edgeflags`), or a Slack-compatible `{"text"}` message about it. */
const WebhookFormatSchema = z
  .enum(["edgeflags", "slack"])
  .meta({ description: '`slack`: a Slack-compatible {"text"} message instead of the JSON event' });

export const CreateWebhookBodySchema = z
  .object({
    url: WebhookUrlSchema,
    events: WebhookEventsSchema,
    description: z.string().max(500).default(""),
    /** Your own signing secret; one is generated (and shown once) when omitted. */
    secret: z.string().min(16, "a signing secret needs at least 16 characters").max(200).optional(),
    format: WebhookFormatSchema.optional(),
  })
  .strict()
  .openapi("CreateWebhookBody");

export const UpdateWebhookBodySchema = z
  .object({
    url: WebhookUrlSchema.optional(),
    events: WebhookEventsSchema.optional(),
    description: z.string().max(500).optional(),
    active: z.boolean().optional(),
    format: WebhookFormatSchema.optional(),
  })
  .strict()
  .openapi("UpdateWebhookBody");

export const CreateTriggerBodySchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "use 1-63 lowercase letters, digits, '-' or '_'"),
    environment: NameSchema,
    flag: FlagKeySchema,
    action: z.enum(["enable", "disable", "set-default", "pause-ramp", "rollback-ramp"]),
    variant: z.string().min(1).optional(),
  })
  .strict()
  .refine((t) => (t.action === "set-default") === (t.variant !== undefined), {
    message: "`variant` is required for set-default and only allowed there",
    path: ["variant"],
  })
  .openapi("CreateTriggerBody");

export const UpdateTriggerBodySchema = z.object({ active: z.boolean() }).strict().openapi("UpdateTriggerBody");

const PercentSchema = z
  .number()
  .gt(0, "a step exposes more than 0%")
  .max(100, "a step exposes at most 100%")
  .refine((p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-9, "percentages have at most two decimals");

export const RampBodySchema = z
  .object({
    /** The variant being rolled out. */
    variant: z.string().min(1),
    /** The variant it replaces. */
    baseline: z.string().min(1),
    steps: z
      .array(
        z
          .object({
            percent: PercentSchema,
            at: z.iso.datetime({ offset: true }).optional(),
            afterSeconds: z
              .number()
              .int()
              .min(0)
              .max(365 * 86_400)
              .optional(),
          })
          .strict(),
      )
      .min(1, "a ramp needs at least one step")
      .max(50),
    startAt: z.iso.datetime({ offset: true }).optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("RampBody");

export const RollbackBodySchema = z
  .object({
    /** The step (0-based) to return to; omitted, the ramp returns to 0%. */
    toStep: z.number().int().min(0).optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("RollbackBody");

export const ExperimentBodySchema = z
  .object({
    /**
     * Variant → share of units it is meant to get (any positive scale up to a million: the
     * sample-ratio check divides by their sum, which must stay a finite number).
     */
    weights: z
      .record(z.string(), z.number().positive().max(1_000_000, "a weight is at most 1,000,000: use a smaller scale, e.g. 50 and 50"))
      .refine((w) => Object.keys(w).length >= 2, "an experiment compares at least two variants")
      .optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("ExperimentBody");

export const ExperimentsQuerySchema = z.object({
  environment: NameSchema.optional(),
  flag: FlagKeySchema.optional(),
});

export const DraftBodySchema = z
  .object({
    /** Share of live evaluations that also evaluate the draft (0 to 1). */
    sampleRate: z.number().min(0).max(1).default(0.1),
    flagSet: JsonValueSchema,
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("DraftBody");

export const PublishDraftBodySchema = z
  .object({ reason: z.string().max(1000).optional() })
  .strict()
  .openapi("PublishDraftBody");

export const StaleQuerySchema = z.object({
  days: z.coerce.number().int().min(1).max(3650).default(30),
});

/**
 * A flagd flag set as the document describes it (https://flagd.dev/schema/v0/flags.json); the
 * routes validate flag sets with the engine, which checks far more (variant types, targeting).
 */
export const FlagdFlagSetSchema = z
  .object({
    flags: z.record(z.string(), FlagDefinitionSchema),
    $evaluators: z.record(z.string(), JsonValueSchema).optional(),
    metadata: FlagMetadataSchema.optional(),
  })
  .openapi("FlagdFlagSet", {
    description: "A flagd flag set (https://flagd.dev/schema/v0/flags.json) with edgeflags' documented extensions",
  });

/** `GET …/webhooks/{id}/deliveries`: the handler clamps `limit` to 1-200 (default 50). */
export const DeliveriesQuerySchema = z.object({
  limit: z.string().optional().meta({ description: "How many deliveries, 1-200 (default 50)" }),
});
