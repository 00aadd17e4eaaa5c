/** Shared helpers of the LaunchDarkly and Unleash import tests. */
import type { ImportPlan } from "../contracts/import-plan";
import type { Result } from "../contracts/result";
import { compileFlagSet } from "../engine/index";
import type { FlagSet, JsonValue } from "../engine/types";

/** The plan a converter makes of `data`; throws (failing the test) when it refuses it. */
export function planWith(
  convert: (data: unknown, options: { environments?: Record<string, string> }) => Result<ImportPlan>,
  data: unknown,
  environments?: Record<string, string>,
): ImportPlan {
  const result = convert(data, environments ? { environments } : {});
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
}

/** An environment of the plan as the FlagStore would serve it: its flags, the segments as `$evaluators`. */
export function flagSetOf(plan: ImportPlan, environment: string): FlagSet {
  const $evaluators: Record<string, JsonValue> = {};
  for (const s of plan.segments) $evaluators[s.name] = s.members ? { in: [{ var: s.attribute ?? "targetingKey" }, s.members] } : s.rule!;
  const flags: FlagSet["flags"] = {};
  for (const f of plan.flags) if (f.perEnvironment[environment]) flags[f.key] = f.perEnvironment[environment];
  return { flags, $evaluators };
}

const probe = compileFlagSet({
  flags: { t: { state: "ENABLED", variants: { a: true, b: false }, defaultVariant: "b", targets: { a: ["x"] } } },
}).evaluate("t", { targetingKey: "x" });
/** Whether the engine serves individual `targets` (the validator keeps them; serving them is the evaluator's part). */
export const engineServesTargets = probe.kind === "value" && probe.variant === "a";
