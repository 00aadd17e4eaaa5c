/**
 * The FlagStore's data shapes: what its RPC methods return (public) and its SQLite rows
 * (internal to `durable-objects/`).
 */
import type { FlagDiff as FlagDiffOf, FlagSetDiff } from "../contracts/flagset-diff";
import type { FlagDefinition, FlagSet } from "../engine/types";
import type { RampInfo } from "./ramps";
import type { KeyScope } from "../contracts/snapshot";
import type { SrmResult } from "./stats";
import type { ShadowFlip } from "./telemetry";

export interface EnvironmentInfo {
  name: string;
  version: number;
  updatedAt: string;
  flagCount: number;
}

export interface ProjectInfo {
  project: string;
  environments: EnvironmentInfo[];
}

export interface FlagRecord {
  key: string;
  environment: string;
  /** The environment version at which this flag last changed; the flag's `If-Match` value. */
  version: number;
  updatedAt: string;
  updatedBy: string;
  definition: FlagDefinition;
}

/**
 * A flag as a write left it. `changed: false` when the write asked for what the flag already
 * was: nothing was committed, audited or announced, and `version` is the flag's current one.
 */
export interface FlagWritten extends FlagRecord {
  changed: boolean;
}

/** Who makes a change and why; recorded in the audit log. */
export interface ChangeMeta {
  actor: string;
  reason: string | null;
}

export interface ApiKeyInfo {
  id: string;
  scope: KeyScope;
  environment: string | null;
  name: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  /** Set when the key was rotated: it stops working at this time. */
  expiresAt: string | null;
  replacedBy: string | null;
}

/** A newly created key: the only time its secret is returned. */
export interface CreatedKey extends ApiKeyInfo {
  key: string;
}

export interface ReplicationStatus {
  published: { kind: string; target: string; version: number; publishedAt: string }[];
  /** `inFlight`: work on the row has started and not yet succeeded (it stays queued until it does). */
  pending: { kind: string; target: string; attempts: number; nextAttemptAt: string; lastError: string | null; inFlight: boolean }[];
}

/** A flag's project-level facts, shared by every environment. */
export interface FlagInfoInput {
  description: string;
  owner: string;
  tags: string[];
  lifetime: "temporary" | "permanent";
  /** For temporary flags: when the flag is expected to be removed (ISO 8601). */
  expectedRemovalAt: string | null;
}

/** A flag across the project: its facts and its configuration in each environment that has it. */
export interface ProjectFlag {
  key: string;
  info: FlagInfoInput;
  createdAt: string | null;
  environments: Record<string, FlagRecord>;
}

export type FlagDiff = FlagDiffOf<FlagDefinition>;
export type EnvironmentDiff = FlagSetDiff<FlagDefinition>;

export interface TriggerInput {
  name: string;
  environment: string;
  flag: string;
  action: "enable" | "disable" | "set-default" | "pause-ramp" | "rollback-ramp";
  variant?: string | undefined;
}

/** What firing a trigger did. */
export interface TriggerOutcome {
  trigger: string;
  action: TriggerInput["action"];
  environment: string;
  flag: string;
  /** The environment's version after the action. */
  version: number | null;
  state: "ENABLED" | "DISABLED" | null;
  defaultVariant: string | null;
  /** False when the action found the flag (or ramp) already as it would leave it: nothing was written. */
  changed: boolean;
  ramp?: RampInfo;
}

export interface TriggerInfo extends TriggerInput {
  id: string;
  active: boolean;
  createdAt: string;
  createdBy: string;
  lastFiredAt: string | null;
}

export interface FlagInfoRow extends Record<string, SqlStorageValue> {
  key: string;
  description: string;
  owner: string;
  tags: string;
  lifetime: "temporary" | "permanent";
  expected_removal_at: number | null;
  created_at: number;
  created_by: string;
}

export interface TriggerRow extends Record<string, SqlStorageValue> {
  id: string;
  name: string;
  environment: string;
  flag: string;
  action: "enable" | "disable" | "set-default" | "pause-ramp" | "rollback-ramp";
  variant: string | null;
  token_hash: string;
  secret: string;
  active: number;
  created_at: number;
  created_by: string;
  last_fired_at: number | null;
}

export interface ExperimentInfo {
  id: string;
  environment: string;
  flag: string;
  weights: Record<string, number>;
  status: "running" | "stopped";
  createdAt: string;
  createdBy: string;
  stoppedAt: string | null;
  /** Unique units per variant. */
  units: Record<string, number>;
  srm: SrmResult;
  srmFlaggedAt: string | null;
}

export interface StaleReport {
  days: number;
  notEvaluated: { environment: string; flag: string; lastEvaluatedAt: string | null }[];
  singleVariant: { environment: string; flag: string; variant: string; evaluations: number }[];
  pastRemovalDate: { flag: string; owner: string; expectedRemovalAt: string }[];
}

export interface DraftInfo {
  id: string;
  environment: string;
  sampleRate: number;
  baseVersion: number;
  createdAt: string;
  createdBy: string;
  flagSet: FlagSet;
  shadow: { sampledUnits: Record<string, number>; flips: ShadowFlip[] };
}

export interface ExperimentRow extends Record<string, SqlStorageValue> {
  id: string;
  environment: string;
  flag: string;
  weights: string;
  status: "running" | "stopped";
  srm_flagged_at: number | null;
  created_at: number;
  created_by: string;
  stopped_at: number | null;
}

export interface DraftRow extends Record<string, SqlStorageValue> {
  environment: string;
  id: string;
  flagset: string;
  sample_rate: number;
  base_version: number;
  created_at: number;
  created_by: string;
}

export interface EnvironmentRow extends Record<string, SqlStorageValue> {
  name: string;
  version: number;
  updated_at: number;
  evaluators: string;
  metadata: string;
}

export interface FlagRow extends Record<string, SqlStorageValue> {
  environment: string;
  key: string;
  definition: string;
  version: number;
  updated_at: number;
  updated_by: string;
}

export interface KeyRow extends Record<string, SqlStorageValue> {
  id: string;
  hash: string;
  scope: KeyScope;
  environment: string | null;
  name: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  last_used_at: number | null;
  expires_at: number | null;
  replaced_by: string | null;
}
