/**
 * An import plan: what an importer (a homegrown export, a LaunchDarkly project, an Unleash export)
 * turns a foreign flag system into, before anything is written. The FlagStore applies a plan in one
 * transaction across environments; a dry run returns the diff it would make. Every construct an
 * importer could not map is listed in `unmapped`, never dropped silently.
 */
import type { FlagDefinition, JsonValue } from "../engine/types";

/** Where an import came from; named in the audit log of every change it makes. */
export type ImportSource = "homegrown" | "launchdarkly" | "unleash";

export interface ImportedFlag {
  key: string;
  description?: string;
  tags?: string[];
  lifetime?: "temporary" | "permanent";
  /** Environment → the flag there, `targets` included (individual customer overrides). */
  perEnvironment: Record<string, FlagDefinition>;
}

export interface ImportedSegment {
  name: string;
  description: string;
  /** A JsonLogic rule; exclusive with `members`. */
  rule?: JsonValue;
  /** Ids matched against `attribute` (default `targetingKey`); exclusive with `rule`. */
  members?: string[];
  attribute?: string;
}

/** One construct of the source an importer could not map faithfully, per flag (and environment). */
export interface UnmappedConstruct {
  flag: string | null;
  environment: string | null;
  /** The source's name for it, e.g. `rule clause op "segmentMatch"`, `strategy "applicationHostname"`. */
  construct: string;
  /** What happened instead (left out, approximated) and what to do about it. */
  detail: string;
}

/** Something true of a mapped construct that the operator should know, e.g. re-bucketing. */
export interface ImportNote {
  flag: string;
  environment: string | null;
  kind: "rebucketed" | "approximated" | "renamed";
  detail: string;
}

export interface ImportPlan {
  source: ImportSource;
  /** Environments the plan writes, in the source's order (created when the project lacks them). */
  environments: string[];
  flags: ImportedFlag[];
  segments: ImportedSegment[];
  unmapped: UnmappedConstruct[];
  notes: ImportNote[];
}
