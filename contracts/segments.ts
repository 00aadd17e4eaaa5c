/**
 * What a segment is, wherever it comes from (the admin API, an import), and the one flagd
 * `$evaluators` entry it compiles to: what the FlagStore serves and what an import is validated
 * against before it is applied.
 */
import type { JsonValue } from "../engine/types";

/** A segment's targeting: a JsonLogic `rule`, or `members` matched against one context attribute. */
export interface SegmentDefinition {
  /** A JsonLogic rule; exclusive with `members`. Without either, the segment matches everyone. */
  rule?: JsonValue | undefined;
  /** Ids matched against `attribute` (default `targetingKey`); exclusive with `rule`. */
  members?: string[] | undefined;
  attribute?: string | null | undefined;
}

/**
 * The flagd evaluator a segment compiles to, referenced from targeting as `{"$ref": "<name>"}`.
 *
 * @example segmentEvaluator({ members: ["u1", "u2"] }) // {"in": [{"var": "targetingKey"}, ["u1", "u2"]]}
 */
export function segmentEvaluator(segment: SegmentDefinition): JsonValue {
  if (segment.members !== undefined) return { in: [{ var: segment.attribute ?? "targetingKey" }, segment.members] };
  return segment.rule === undefined ? true : segment.rule;
}
