/**
 * The shape of `POST …/flags/{flag}/explain`: the evaluation (as `…/evaluate` answers it) and what
 * decided it (`engine/explain.ts`). The console's "try a context" panel parses it; the OpenAPI
 * document describes it.
 */
import * as z from "./zod.ts";
import { EvaluationSchema, JsonValueSchema } from "./admin-responses";

const StepSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("if"), branch: z.number() }),
  z.object({ kind: z.literal("else") }),
  z.object({ kind: z.literal("no-branch") }),
  z.object({ kind: z.literal("ref"), name: z.string() }),
  z.object({ kind: z.literal("fractional"), bucket: z.string().nullable() }),
  z.object({ kind: z.literal("variant"), variant: z.string() }),
  z.object({ kind: z.literal("rule") }),
]);

const DecisionSchema = z.discriminatedUnion("by", [
  z.object({ by: z.literal("not-found") }),
  z.object({ by: z.literal("disabled") }),
  z.object({ by: z.literal("error") }),
  z.object({ by: z.literal("prerequisite"), flag: z.string(), wanted: z.string(), got: z.string().nullable() }),
  z.object({ by: z.literal("target"), variant: z.string() }),
  z.object({ by: z.literal("static") }),
  z.object({ by: z.literal("targeting"), steps: z.array(StepSchema) }),
]);

export const ExplanationSchema = z
  .object({
    version: z.number(),
    /** The evaluation, as `…/evaluate` answers each flag. */
    flag: EvaluationSchema.shape.flags.element,
    decision: DecisionSchema,
    /** The decision in words: `if[0] → on`, `targets → off`, `else → fractional bucket on → on`. */
    path: z.string(),
    /** False when the walk through the rules did not reach the answer (then `decision` is a hint only). */
    consistent: z.boolean(),
  })
  .openapi("Explanation");
export type ExplanationView = z.infer<typeof ExplanationSchema>;

/** `POST …/flags/{flag}/explain`: the context to explain. */
export const ExplainBodySchema = z
  .object({ context: z.record(z.string(), JsonValueSchema).default({}) })
  .strict()
  .openapi("ExplainBody");
