/**
 * What an evaluation counts as, wherever it is made (at the edge, `worker/telemetry.ts`, or in a
 * back end's process, `@edgeflags/openfeature-provider`): the variant its usage is counted under,
 * and the exposure subjects (ramps, experiments) it exposes the context's unit to. Pure: the
 * caller hashes the unit and batches.
 */
import { compileFlagSet } from "../engine/index";
import type { CompiledFlagSet, EvaluationContext, EvaluationResult } from "../engine/types";

/**
 * The own rules of flags under a ramp (a snapshot's `rampRules`), compiled as flags without
 * variants: a context they match (any answer but `default`) is decided by them, not by the split.
 */
export function compileRampRules(rules: Record<string, unknown>, flagSet: unknown): CompiledFlagSet {
  const evaluators = typeof flagSet === "object" && flagSet !== null ? (flagSet as { $evaluators?: unknown }).$evaluators : undefined;
  const flags = Object.fromEntries(Object.entries(rules).map(([key, targeting]) => [key, { state: "ENABLED", variants: {}, targeting }]));
  return compileFlagSet({ flags, $evaluators: evaluators });
}

/** The variant an evaluation's usage is counted under: its variant, `(disabled)`/`(default)`/… without a value, `(error)`. */
export function usageVariant(result: EvaluationResult): string {
  switch (result.kind) {
    case "value":
      return result.variant;
    case "default":
      return `(${result.reason.toLowerCase()})`;
    case "error":
      return "(error)";
  }
}

/** Whether an evaluation counts as usage at all: asking for a flag that does not exist does not. */
export function countsAsUsage(result: EvaluationResult): boolean {
  return !(result.kind === "error" && result.errorCode === "FLAG_NOT_FOUND");
}

/** The targeting key an exposure's unit is derived from, or null when the context has none. */
export function exposureKey(context: EvaluationContext): string | null {
  return typeof context.targetingKey === "string" && context.targetingKey !== "" ? context.targetingKey : null;
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * The subjects (of the flag's `tracking`) an evaluation exposes the context's unit to. None when
 * the flag is not tracked, the context has no targeting key, no variant was served, the flag is
 * killed (its off variant goes to everyone), or a target decided it (a customer override); a
 * ramp's subjects are also left out when the flag's own rules (`rampRules`) decided it.
 */
export function exposedSubjects(
  result: EvaluationResult,
  context: EvaluationContext,
  subjects: readonly string[] | undefined,
  compiled: CompiledFlagSet,
  rampRules: CompiledFlagSet | undefined,
): readonly string[] {
  if (!subjects || exposureKey(context) === null || result.kind !== "value" || result.reason === "DISABLED") return NONE;
  if (result.reason === "TARGETING_MATCH" && compiled.targetedBy(result.key, context) !== undefined) return NONE;
  const ownRule = rampRules?.has(result.key) ? rampRules.evaluate(result.key, context).kind !== "default" : false;
  return ownRule ? subjects.filter((subject) => !subject.startsWith("ramp:")) : subjects;
}
