/** Types of `workload.mjs`, for the tests that evaluate the benchmark workload inside workerd. */
import type { EvaluationContext, FlagSet } from "../engine/types";

export const SEED: number;
export const SEGMENT_NAME: string;
export const COUNTS: { plain: number; list: number; attribute: number; multivariate: number; ids: number; contexts: number };
export function generateWorkload(seed?: number): {
  flagKeys: string[];
  groups: Record<"plain" | "list" | "attribute" | "multivariate", string[]>;
  inline: FlagSet;
  segment: FlagSet;
  contexts: EvaluationContext[];
  ids: string[];
};
