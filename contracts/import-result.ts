/**
 * What an import answers (`POST /admin/v1/projects/{p}/import`): per environment the version it is
 * at afterwards and the flags created, updated and left unchanged; the segments written; and, from
 * the plan, every construct that could not be mapped and every note. A dry run answers the same
 * diff without writing anything. One schema for the FlagStore's return type, the route's answer
 * in the OpenAPI document and the CLI.
 */
import * as z from "./zod.ts";

/** A unit whose assignment today is kept: it becomes a target of `variant` in that flag and environment. */
export interface ImportPin {
  flag: string;
  environment: string;
  targetingKey: string;
  variant: string;
}

/**
 * What an import does with a flag changed in edgeflags since an import last wrote it (targets
 * fixed by hand, the kill switch flipped, a description edited, the flag deleted): `refuse` (the
 * default) answers 409 naming each one and writes nothing; `keep` leaves those flags as edgeflags
 * has them and imports the rest; `overwrite` replaces them with the export.
 */
export const IMPORT_EDITED_POLICIES = ["refuse", "keep", "overwrite"] as const;
export type ImportEditedPolicy = (typeof IMPORT_EDITED_POLICIES)[number];

/** A flag the import would change although it was changed in edgeflags since an import last wrote it. */
export const ImportEditedSchema = z.object({
  /** The environment; null for the flag's project-level facts (description, tags, lifetime). */
  environment: z.string().nullable(),
  flag: z.string(),
  /** The latest change made outside an import, from the audit log: its action, who, when (ISO). */
  change: z.string(),
  by: z.string(),
  at: z.string(),
  /** What the import did (or, in a dry run, would do) with it under the policy asked for. */
  outcome: z.enum(["refused", "kept", "overwritten"]),
});
export type ImportEdited = z.infer<typeof ImportEditedSchema>;

export const ImportResultSchema = z
  .object({
    dryRun: z.boolean(),
    source: z.enum(["homegrown", "launchdarkly", "unleash"]),
    /** False when the project already is what the import describes: nothing was (or would be) written or audited. */
    changed: z.boolean(),
    environments: z.record(
      z.string(),
      z.object({
        /** The environment's version after the import (a dry run: its version now; 0 when it would be created). */
        version: z.number(),
        created: z.array(z.string()),
        updated: z.array(z.string()),
        unchanged: z.number(),
        /**
         * Flags the environment holds that the import does not mention, sorted: left alone. A flag
         * the old system deleted is one of them, and would keep answering here after the cut-over.
         */
        absent: z.array(z.string()),
      }),
    ),
    segments: z.object({ created: z.array(z.string()), updated: z.array(z.string()) }),
    /**
     * Flags (per environment, or their project-level facts) that were changed in edgeflags since an
     * import last wrote them and that this import would change, with what it did about each.
     */
    edited: z.array(ImportEditedSchema),
    unmapped: z.array(
      z.object({ flag: z.string().nullable(), environment: z.string().nullable(), construct: z.string(), detail: z.string() }),
    ),
    notes: z.array(
      z.object({
        flag: z.string(),
        environment: z.string().nullable(),
        kind: z.enum(["rebucketed", "approximated", "renamed"]),
        detail: z.string(),
      }),
    ),
  })
  .openapi("ImportResult");
export type ImportResult = z.infer<typeof ImportResultSchema>;
