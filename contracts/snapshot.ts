/**
 * The snapshot: what the FlagStore publishes to KV for one environment and what the edge reads.
 * It is a valid flagd flag set plus the version it was published at. The format and the KV keys
 * are documented in `durable-objects/STORAGE.md`. `SnapshotSchema` declares it; the FlagStore
 * builds it from flags validated when they were written, and the edge reads it back with
 * `readSnapshot`, a check of the envelope that accepts nothing the schema would refuse.
 */
import { hexEncode } from "../lib/crypto";
import { sha256Sync } from "../lib/sha256-sync";
import * as z from "zod";
import type { FlagSet, JsonValue } from "../engine/types";
import type { Grant } from "./roles";
import { AUTHORITIES, type Authority } from "./authority";

export { AUTHORITIES, type Authority } from "./authority";

/** Bumped only when the snapshot's shape changes incompatibly; readers reject other formats. */
export const SNAPSHOT_FORMAT = 1;

export interface Snapshot {
  format: typeof SNAPSHOT_FORMAT;
  project: string;
  environment: string;
  /** The environment's version: increases by one with every committed change. */
  version: number;
  /** Strong HTTP entity tag of this version (`"<version>"` quoted), used by `server` key fetches. */
  etag: string;
  /** When the change that produced this version was committed (ISO 8601). */
  updatedAt: string;
  flagSet: FlagSet;
  /** Flag key → exposure subjects the edge records (`ramp:<id>:<step>`, `exp:<id>`). */
  tracking?: Record<string, string[]>;
  /**
   * Flag key → the flag's own rules that a ramp on it runs after. A context those rules match is
   * not the ramp's to decide, so it is no exposure of the ramp's split (it would skew the SRM test).
   */
  rampRules?: Record<string, JsonValue>;
  /** A staged draft the edge evaluates beside live for `sampleRate` of evaluations. */
  draft?: { id: string; sampleRate: number; flagSet: FlagSet };
  /**
   * Which system answers for this environment, once it has been cut over (either way): audit-mode
   * clients follow it through `GET /migration/v1/status`. Absent: the legacy system answers.
   */
  migration?: SnapshotMigration;
}

/** What an environment's snapshot carries once it has been cut over (either way). */
export interface SnapshotMigration {
  authority: Authority;
  /** When this authority took over (ISO 8601). */
  since: string;
  /** Until when audit-mode clients keep reporting comparisons (ISO 8601); null after a cut-over back to legacy. */
  graceUntil: string | null;
}

/** An API key's identity as the edge sees it: which project and environment it may evaluate. */
export interface KeyIdentity {
  id: string;
  project: string;
  /** `null` for project-wide `admin` keys. */
  environment: string | null;
  scope: KeyScope;
  /** A rotated key stops working at this time (ISO 8601); null while it has no end. */
  expiresAt: string | null;
}

export type KeyScope = "client" | "server" | "admin";

/** A key as the FlagStore answers the admin API: with the role an admin key carries (null otherwise). */
export interface AuthenticatedKey extends KeyIdentity {
  name: string;
  grant: Grant | null;
}

/** KV key of an environment's snapshot. */
export function snapshotKvKey(project: string, environment: string): string {
  return `snapshot:${project}:${environment}`;
}

/** SHA-256 (hex) of an API key: the only form in which keys are stored, in SQLite and in KV. */
export function hashKey(key: string): string {
  return hexEncode(sha256Sync(key));
}

/** KV key of an API key's identity, by the SHA-256 (hex) of the key. */
export function keyIndexKvKey(keyHash: string): string {
  return `key:${keyHash}`;
}

/**
 * KV key of a project's registry entry, written by the FlagStore (through its outbox) when the
 * project is created. Anything that would wake a project's Durable Object on behalf of an
 * unauthenticated or unverified caller (trigger URLs, admin keys, console sign-ins) checks this
 * entry first, so a made-up project name never creates an object.
 */
export function projectKvKey(project: string): string {
  return `project:${project}`;
}

/**
 * KV key of the anchor of a project's audit chain: `{"seq", "hash"}` of its last entry, written
 * through the outbox after every audited change, and read by `/audit/verify`.
 */
export function auditHeadKvKey(project: string): string {
  return `audit-head:${project}`;
}

export const AuditHeadSchema = z.object({ seq: z.number().int().positive(), hash: z.string().regex(/^[0-9a-f]{64}$/) });

/** A project's registry entry in KV. */
export const ProjectEntrySchema = z.object({ project: z.string(), createdAt: z.string() });
export type ProjectEntry = z.infer<typeof ProjectEntrySchema>;

/** The entity tag of a snapshot version. */
export function snapshotEtag(version: number): string {
  return `"${version}"`;
}

const JsonPrimitive = z.union([z.string(), z.number(), z.boolean()]);

/**
 * The flag set inside a snapshot is checked for shape only (an object of flags). Each flag is then
 * compiled by the engine, which never throws and isolates a malformed flag (PARSE_ERROR) instead of
 * rejecting the set; checking every flag here too would cost more than compiling it.
 */
const FlagSetShape = z.object({
  flags: z.record(z.string(), z.looseObject({})),
  $evaluators: z.record(z.string(), z.unknown()).optional(),
  metadata: z.record(z.string(), JsonPrimitive).optional(),
});

const SnapshotMigrationSchema = z.object({
  authority: z.enum(AUTHORITIES),
  since: z.string(),
  graceUntil: z.string().nullable(),
});

/** Parses a snapshot read back from KV (or received from the FlagStore). */
export const SnapshotSchema = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  project: z.string(),
  environment: z.string(),
  version: z.number().int().nonnegative(),
  etag: z.string(),
  updatedAt: z.string(),
  flagSet: FlagSetShape,
  tracking: z.record(z.string(), z.array(z.string())).optional(),
  rampRules: z.record(z.string(), z.unknown()).optional(),
  draft: z.object({ id: z.string(), sampleRate: z.number().min(0).max(1), flagSet: FlagSetShape }).optional(),
  migration: SnapshotMigrationSchema.optional(),
});

/** A snapshot as `SnapshotSchema` parses it: flags checked for shape only (each is compiled alone). */
export type SnapshotEnvelope = z.infer<typeof SnapshotSchema>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === "string";
const isPrimitive = (v: unknown): v is string | number | boolean =>
  typeof v === "string" || typeof v === "number" || typeof v === "boolean";

function everyValue<T>(record: Record<string, unknown>, test: (v: unknown) => v is T): record is Record<string, T> {
  for (const key in record) if (Object.hasOwn(record, key) && !test(record[key])) return false;
  return true;
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

function isFlagSetShape(v: unknown): v is SnapshotEnvelope["flagSet"] {
  return (
    isRecord(v) &&
    isRecord(v["flags"]) &&
    everyValue(v["flags"], isRecord) &&
    (v["$evaluators"] === undefined || isRecord(v["$evaluators"])) &&
    (v["metadata"] === undefined || (isRecord(v["metadata"]) && everyValue(v["metadata"], isPrimitive)))
  );
}

function isMigration(v: unknown): v is SnapshotMigration {
  return (
    isRecord(v) &&
    AUTHORITIES.some((a) => a === v["authority"]) &&
    isString(v["since"]) &&
    (v["graceUntil"] === null || isString(v["graceUntil"]))
  );
}

function isDraft(v: unknown): v is NonNullable<SnapshotEnvelope["draft"]> {
  const rate = isRecord(v) ? v["sampleRate"] : undefined;
  return isRecord(v) && isString(v["id"]) && typeof rate === "number" && rate >= 0 && rate <= 1 && isFlagSetShape(v["flagSet"]);
}

/**
 * Whether a parsed value is a snapshot of this format: the checks of `SnapshotSchema`, written as
 * plain tests. The edge runs it on every snapshot it reads, in a fresh isolate too, where the
 * schema's first use costs more than compiling the flags.
 */
function isSnapshotEnvelope(v: unknown): v is SnapshotEnvelope {
  if (!isRecord(v) || v["format"] !== SNAPSHOT_FORMAT) return false;
  const version = v["version"];
  return (
    isString(v["project"]) &&
    isString(v["environment"]) &&
    typeof version === "number" &&
    Number.isSafeInteger(version) &&
    version >= 0 &&
    isString(v["etag"]) &&
    isString(v["updatedAt"]) &&
    isFlagSetShape(v["flagSet"]) &&
    (v["tracking"] === undefined || (isRecord(v["tracking"]) && everyValue(v["tracking"], isStringList))) &&
    (v["rampRules"] === undefined || isRecord(v["rampRules"])) &&
    (v["draft"] === undefined || isDraft(v["draft"])) &&
    (v["migration"] === undefined || isMigration(v["migration"]))
  );
}

/**
 * Reads a snapshot's text as KV holds it: the snapshot, or null when it is not one of this
 * format. Text that is not JSON throws, as a failed read does.
 *
 * @example
 * const snapshot = readSnapshot(await env.FLAGS_KV.get(snapshotKvKey("shop", "production"), "text"));
 */
export function readSnapshot(text: string): SnapshotEnvelope | null {
  const value: unknown = JSON.parse(text);
  return isSnapshotEnvelope(value) ? value : null;
}

export const KeyIdentitySchema = z.object({
  id: z.string(),
  project: z.string(),
  environment: z.string().nullable(),
  scope: z.enum(["client", "server", "admin"]),
  expiresAt: z.string().nullable().default(null),
});
