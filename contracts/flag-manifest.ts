/**
 * The OpenFeature CLI's flag manifest (`flags: {<key>: {flagType, defaultValue, description?}}`,
 * schema `schema/v0/flag-manifest.json` of open-feature/cli): what an application declares in
 * code, what manifest sync creates flags from, and what an environment exports for typed
 * accessors. Also the sync's answer. Imports only zod, so the Node CLI can load it as it is.
 */
import * as z from "./zod.ts";
import type { JsonValue } from "../engine/types";
import { JsonValueSchema } from "./admin-responses.ts";

/** Where the OpenFeature CLI publishes the manifest's JSON schema; written as `$schema` into exported manifests. */
export const MANIFEST_SCHEMA_URL = "https://raw.githubusercontent.com/open-feature/cli/refs/heads/main/schema/v0/flag-manifest.json";

/** At most this many flags in one manifest. */
export const MAX_MANIFEST_FLAGS = 5_000;

export const MANIFEST_FLAG_TYPES = ["boolean", "string", "integer", "float", "object"] as const;
export type ManifestFlagType = (typeof MANIFEST_FLAG_TYPES)[number];

/** Whether `value` is a value of `type`: a float may be written without a fraction (`1`), an object is any JSON object or array. */
export function isOfType(type: ManifestFlagType, value: unknown): boolean {
  switch (type) {
    case "boolean":
      return typeof value === "boolean";
    case "string":
      return typeof value === "string";
    case "integer":
      return Number.isInteger(value);
    case "float":
      return typeof value === "number" && Number.isFinite(value);
    case "object":
      return typeof value === "object" && value !== null;
  }
}

/**
 * The manifest type of a flag holding `values`: the narrowest type they all share (all integers
 * → `integer`, else all numbers → `float`), or null when they share none (mixed, or `null`).
 */
export function typeOfValues(values: readonly unknown[]): ManifestFlagType | null {
  if (values.length === 0) return null;
  return MANIFEST_FLAG_TYPES.find((type) => values.every((value) => isOfType(type, value))) ?? null;
}

/** One flag of a manifest. Other properties are allowed (the schema allows them) and ignored. */
export const ManifestFlagSchema = z
  .looseObject({
    flagType: z.enum(MANIFEST_FLAG_TYPES),
    defaultValue: JsonValueSchema.meta({ description: "The value the code falls back to; of `flagType`" }),
    description: z.string().max(2000).optional(),
  })
  .superRefine((flag, ctx) => {
    if (!isOfType(flag.flagType, flag.defaultValue)) {
      ctx.addIssue({
        code: "custom",
        path: ["defaultValue"],
        message: `is ${JSON.stringify(flag.defaultValue)?.slice(0, 80)}, not a value of flagType "${flag.flagType}"`,
      });
    }
  });
export type ManifestFlag = z.infer<typeof ManifestFlagSchema>;

/** Flags an environment could not express as manifest entries (mixed value types, no default), each with why. */
const SkippedSchema = z.array(z.object({ flag: z.string(), reason: z.string() }));

/** A flag manifest. `$schema` and any other top-level property are allowed; `flags` is what counts. */
export const FlagManifestSchema = z
  .looseObject({
    $schema: z.string().optional(),
    flags: z
      .record(z.string().min(1), ManifestFlagSchema)
      .refine((flags) => Object.keys(flags).length <= MAX_MANIFEST_FLAGS, `a manifest holds at most ${MAX_MANIFEST_FLAGS} flags`),
    /** Only in an exported manifest: the environment's flags left out, each with why. */
    "x-edgeflags-skipped": SkippedSchema.optional(),
  })
  .openapi("FlagManifest");
export type FlagManifest = z.infer<typeof FlagManifestSchema>;

/** An environment exported as a manifest (what the FlagStore returns: a plain, non-recursive-schema type). */
export interface ExportedManifest {
  $schema: string;
  flags: Record<string, { flagType: ManifestFlagType; defaultValue: JsonValue; description?: string }>;
  "x-edgeflags-skipped"?: { flag: string; reason: string }[];
}

export const MANIFEST_DRIFT_KINDS = ["type", "default", "not-in-manifest"] as const;

/** What manifest sync answers (a dry run answers the same, with `dryRun: true` and nothing written). */
export const ManifestSyncSchema = z
  .object({
    dryRun: z.boolean(),
    /** Whether flags were created (in a dry run: would be). */
    changed: z.boolean(),
    /** The environment's version after the sync (unchanged when nothing was created, and in a dry run). */
    version: z.number(),
    created: z.array(z.string()),
    drift: z.array(z.object({ flag: z.string(), kind: z.enum(MANIFEST_DRIFT_KINDS), detail: z.string() })),
    /** Manifest flags the environment already had, left as they are. */
    unchanged: z.number(),
  })
  .openapi("ManifestSync");
export type ManifestSync = z.infer<typeof ManifestSyncSchema>;
export type ManifestDrift = ManifestSync["drift"][number];
