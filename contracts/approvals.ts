/**
 * Approvals and scheduled changes: what the FlagStore returns for an environment's protection, a
 * change request and a scheduled change. One zod schema per shape, for the admin API's document,
 * the console's client and the store's return types.
 */
import * as z from "./zod.ts";
import { JsonValueSchema } from "./admin-responses";
import type { JsonValue } from "../engine/types";

/** Whether a direct change to an environment needs approval, and whether the kill switch is exempt. */
export const ProtectionSchema = z
  .object({
    environment: z.string(),
    requireApproval: z.boolean(),
    killSwitchExempt: z.boolean(),
    updatedAt: z.string().nullable(),
    updatedBy: z.string().nullable(),
  })
  .openapi("Protection");
export type ProtectionInfo = z.infer<typeof ProtectionSchema>;

export const CHANGE_REQUEST_STATUSES = ["open", "approved", "applied", "rejected", "withdrawn"] as const;
export type ChangeRequestStatus = (typeof CHANGE_REQUEST_STATUSES)[number];

/** One flag a change request touches: its definition when requested (`before`) and what it asks for (`after`). */
export const ChangeRequestFlagSchema = z.object({
  key: z.string(),
  change: z.enum(["create", "update", "delete"]),
  before: JsonValueSchema.nullable(),
  after: JsonValueSchema.nullable(),
});

export const ChangeRequestSchema = z
  .object({
    id: z.string(),
    environment: z.string(),
    /** The environment's version the diff was taken against; approval needs the environment still there. */
    baseVersion: z.number(),
    /** The environment's version now: when it differs from `baseVersion`, the request needs a rebase. */
    currentVersion: z.number(),
    status: z.enum(CHANGE_REQUEST_STATUSES),
    reason: z.string(),
    requestedBy: z.string(),
    requestedAt: z.string(),
    decidedBy: z.string().nullable(),
    decidedAt: z.string().nullable(),
    decisionReason: z.string().nullable(),
    appliedVersion: z.number().nullable(),
    /** Pending scheduled changes that will apply it. */
    scheduledFor: z.array(z.object({ id: z.string(), at: z.string() })),
    flags: z.array(ChangeRequestFlagSchema),
  })
  .openapi("ChangeRequest");
/** As the store returns it: JSON values typed as the engine's (zod's recursive JSON type is too deep for RPC stubs). */
export type ChangeRequestInfo = Omit<z.infer<typeof ChangeRequestSchema>, "flags"> & {
  flags: { key: string; change: "create" | "update" | "delete"; before: JsonValue | null; after: JsonValue | null }[];
};
export const ChangeRequestListSchema = z.array(ChangeRequestSchema).openapi("ChangeRequestList");

/** What a scheduled change does when it is due. */
export const ScheduledChangeSchema = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("state"), flag: z.string().min(1).max(200), state: z.enum(["ENABLED", "DISABLED"]) }).strict(),
    z.object({ kind: z.literal("default-variant"), flag: z.string().min(1).max(200), variant: z.string().min(1).max(200) }).strict(),
    z.object({ kind: z.literal("targeting"), flag: z.string().min(1).max(200), targeting: JsonValueSchema }).strict(),
    z.object({ kind: z.literal("change-request"), id: z.string().min(1).max(100) }).strict(),
  ])
  .openapi("ScheduledChange");
export type ScheduledChange =
  | Exclude<z.infer<typeof ScheduledChangeSchema>, { kind: "targeting" }>
  | { kind: "targeting"; flag: string; targeting: JsonValue };

export const SCHEDULE_STATUSES = ["pending", "applied", "failed", "cancelled"] as const;
export type ScheduleStatus = (typeof SCHEDULE_STATUSES)[number];

export const ScheduleSchema = z
  .object({
    id: z.string(),
    environment: z.string(),
    at: z.string(),
    change: ScheduledChangeSchema,
    reason: z.string(),
    status: z.enum(SCHEDULE_STATUSES),
    createdBy: z.string(),
    createdAt: z.string(),
    /** When it was applied, failed or cancelled, and by whom (`scheduler:<person>` when applied). */
    finishedAt: z.string().nullable(),
    finishedBy: z.string().nullable(),
    appliedVersion: z.number().nullable(),
    /** Why it could not be applied at its time. */
    failure: z.string().nullable(),
  })
  .openapi("Schedule");
export type ScheduleInfo = Omit<z.infer<typeof ScheduleSchema>, "change"> & { change: ScheduledChange };
export const ScheduleListSchema = z.array(ScheduleSchema).openapi("ScheduleList");
