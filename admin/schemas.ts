/**
 * Request schemas of the admin API. Every body is parsed here before anything reaches the
 * FlagStore; flag sets are then checked in full (variants, default variant, targeting) by the
 * engine's validator inside the FlagStore, against the environment they will live in.
 */
import * as z from "zod";
import type { Problem } from "../durable-objects/result";

/** Project and environment names: they appear in URLs and KV keys. */
export const NameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "use 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit");

/** Flag keys as flagd allows them, minus what would make them unusable in a URL path. */
export const FlagKeySchema = z
  .string()
  .min(1, "a flag key cannot be empty")
  .max(200, "a flag key is at most 200 characters")
  .regex(/^[^\s/?#%\u0000-\u001f]+$/, "a flag key cannot contain spaces, '/', '?', '#', '%' or control characters");

export const ProjectBodySchema = z.object({
  environments: z
    .array(NameSchema)
    .min(1, "a project needs at least one environment")
    .max(20, "a project has at most 20 environments")
    .refine((names) => new Set(names).size === names.length, "environment names must be unique"),
});

const MetadataSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/** One flag, in flagd's shape. Deeper checks (variant types, targeting) happen in the engine. */
export const FlagDefinitionSchema = z.object({
  state: z.enum(["ENABLED", "DISABLED"]),
  variants: z.record(z.string(), z.json()).refine((v) => Object.keys(v).length > 0, "a flag needs at least one variant"),
  defaultVariant: z.string().nullish(),
  targeting: z.json().optional(),
  metadata: MetadataSchema.optional(),
}).strict();

export const CreateFlagBodySchema = FlagDefinitionSchema.extend({
  key: FlagKeySchema,
  reason: z.string().max(1000).optional(),
}).strict();

export const UpdateFlagBodySchema = FlagDefinitionSchema.extend({
  reason: z.string().max(1000).optional(),
}).strict();

export const ToggleBodySchema = z.object({
  /** The state to set; omitted, the toggle flips the current state. */
  state: z.enum(["ENABLED", "DISABLED"]).optional(),
  reason: z.string().max(1000).optional(),
}).strict();

export const CreateKeyBodySchema = z.object({
  scope: z.enum(["client", "server"]),
  name: z.string().min(1).max(100).optional(),
}).strict();

export const CreateAdminKeyBodySchema = z.object({
  scope: z.literal("admin"),
  name: z.string().min(1).max(100).optional(),
}).strict();

export const EvaluateBodySchema = z.object({
  context: z.record(z.string(), z.json()).default({}),
  /** Only these flags; all of them when omitted. */
  flags: z.array(FlagKeySchema).max(1000).optional(),
}).strict();

export const AuditQuerySchema = z.object({
  environment: NameSchema.optional(),
  flag: FlagKeySchema.optional(),
  actor: z.string().max(200).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** zod issues as the problem+json `errors` list: a dotted path and a message per field. */
export function toProblems(error: z.ZodError): Problem[] {
  return error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join(".") : "(body)",
    message: issue.message,
  }));
}
