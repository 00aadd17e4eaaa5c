/**
 * Segments: named, reusable targeting fragments shared by every environment of a project. Each
 * compiles to a flagd `$evaluators` entry, referenced from targeting with `{"$ref": "<name>"}`.
 * A list segment (`members`, matched against one context attribute) is stored once as a JSON
 * array and appears once in each snapshot, so 4,000 ids cost one `Set` per compiled snapshot,
 * however many flags use them.
 */
import { segmentEvaluator } from "../contracts/segments";
import type { JsonValue } from "../engine/types";

export interface SegmentInput {
  description: string;
  /** A JsonLogic rule; exclusive with `members`. */
  rule?: JsonValue | undefined;
  /** Ids matched against `attribute` (default `targetingKey`); exclusive with `rule`. */
  members?: string[] | undefined;
  attribute?: string | undefined;
}

export interface SegmentRow extends Record<string, SqlStorageValue> {
  name: string;
  description: string;
  rule: string | null;
  members: string | null;
  attribute: string | null;
  version: number;
  updated_at: number;
  updated_by: string;
}

export interface SegmentInfo {
  name: string;
  description: string;
  rule: JsonValue | null;
  attribute: string | null;
  memberCount: number | null;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** The flagd evaluator a stored segment compiles to (`segmentEvaluator` of its columns). */
export function rowEvaluator(row: Pick<SegmentRow, "rule" | "members" | "attribute">): JsonValue {
  return segmentEvaluator({
    rule: row.rule === null ? undefined : (JSON.parse(row.rule) as JsonValue),
    members: row.members === null ? undefined : (JSON.parse(row.members) as string[]),
    attribute: row.attribute,
  });
}

export function segmentEvaluators(sql: SqlStorage): Record<string, JsonValue> {
  const evaluators: Record<string, JsonValue> = {};
  for (const row of sql.exec<SegmentRow>("SELECT name, rule, members, attribute FROM segments ORDER BY name")) {
    evaluators[row.name] = rowEvaluator(row);
  }
  return evaluators;
}

export function toSegmentInfo(row: SegmentRow, withMembers = false): SegmentInfo & { members?: string[] } {
  const members = row.members === null ? null : (JSON.parse(row.members) as string[]);
  return {
    name: row.name,
    description: row.description,
    rule: row.rule === null ? null : (JSON.parse(row.rule) as JsonValue),
    attribute: row.attribute,
    memberCount: members?.length ?? null,
    ...(withMembers && members ? { members } : {}),
    version: row.version,
    updatedAt: new Date(row.updated_at).toISOString(),
    updatedBy: row.updated_by,
  };
}

/** Whether a targeting rule (or evaluator) refers to `$ref` `name` anywhere inside it. */
export function refersTo(rule: unknown, name: string): boolean {
  if (Array.isArray(rule)) return rule.some((item) => refersTo(item, name));
  if (rule === null || typeof rule !== "object") return false;
  const entries = Object.entries(rule);
  if (entries.length === 1 && entries[0]![0] === "$ref" && entries[0]![1] === name) return true;
  return entries.some(([, value]) => refersTo(value, name));
}

/**
 * The member ids a segment change adds and removes (each sorted), for its audit entry: the count
 * alone cannot say who gained or lost a segment. `before`/`after` are the stored JSON arrays
 * (null for a rule segment, or a segment that does not exist).
 */
export function memberChanges(before: string | null, after: string | null): { membersAdded: string[]; membersRemoved: string[] } {
  const was = new Set<string>(before === null ? [] : (JSON.parse(before) as string[]));
  const now = new Set<string>(after === null ? [] : (JSON.parse(after) as string[]));
  return {
    membersAdded: [...now].filter((id) => !was.has(id)).sort(),
    membersRemoved: [...was].filter((id) => !now.has(id)).sort(),
  };
}
