// Types of workload.mjs, for the tests that evaluate the benchmark workload inside workerd.
import type { FlagSet } from "../engine/types";

export const SEED: number;
export const SEGMENT_NAME: string;
export const COUNTS: { plain: number; list: number; attribute: number; multivariate: number; ids: number; contexts: number };
export interface Workload {
  flagKeys: string[];
  groups: Record<"plain" | "list" | "attribute" | "multivariate", string[]>;
  /** The list copied into each list flag. */
  inline: FlagSet;
  /** The list stored once under `$evaluators`. */
  segment: FlagSet;
  contexts: { targetingKey: string; customerId: string; country: string; plan: string; email: string }[];
  ids: string[];
}
export function generateWorkload(seed?: number): Workload;
/** mulberry32: a seeded generator, uniform on [0, 1). */
export function prng(seed: number): () => number;
