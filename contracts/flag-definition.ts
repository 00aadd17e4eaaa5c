/**
 * One flag's definition, declared once: flagd's shape (state, variants, default variant,
 * targeting, metadata) with edgeflags' extensions (prerequisites, individual targets). The
 * engine's `FlagDefinition` type is what evaluation reads; this schema is what the admin API's
 * requests and responses are built from (requests add their limits, in `admin/schemas.ts`). The
 * compiler holds the two equal: `definitionMatchesEngine` below fails to type-check if either
 * gains, loses or retypes a field.
 */
import * as z from "./zod.ts";
import type { FlagDefinition } from "../engine/types";

/**
 * Any JSON value (flag variants, targeting, audit before/after): one named, recursive schema, so
 * the OpenAPI document references it instead of expanding it.
 */
export const JsonValueSchema = z.json().openapi("JsonValue", { description: "Any JSON value" });

/** A flag's metadata: flagd allows strings, numbers and booleans. */
export const FlagMetadataSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/** An edgeflags extension: another flag that must serve `variant` first. */
export const PrerequisiteSchema = z.object({ flag: z.string().min(1), variant: z.string().min(1) }).strict();

/** One flag, in flagd's shape with edgeflags' extensions. */
export const FlagDefinitionSchema = z.object({
  state: z.enum(["ENABLED", "DISABLED"]),
  variants: z.record(z.string(), JsonValueSchema),
  defaultVariant: z.string().nullish(),
  targeting: JsonValueSchema.optional(),
  metadata: FlagMetadataSchema.optional(),
  prerequisites: z.array(PrerequisiteSchema).optional(),
  /** Individual targets: variant → targeting keys. */
  targets: z.record(z.string(), z.array(z.string())).optional(),
});

/** `true` exactly when each of `A` and `B` is assignable to the other. */
export type SameShape<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Compile-time proof that the schema and the engine's type declare the same flag. */
export const definitionMatchesEngine: SameShape<z.infer<typeof FlagDefinitionSchema>, FlagDefinition> = true;
