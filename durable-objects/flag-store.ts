/**
 * FlagStore: the source of truth for one project (addressed by `idFromName(project)`), and its
 * typed RPC surface. Each method is one line over the module that owns its aggregate
 * (`aggregates/`); every change goes through the unit of work (`unit-of-work.ts`): one SQLite
 * transaction that bumps the environment's version, applies the change, appends its audit
 * entries, queues its webhook events and its outbox rows. The alarm (`alarm.ts`) then publishes
 * through `replication/`, retrying with backoff until each row succeeds. Methods return a
 * `Result` for every failure a caller is expected to handle.
 */
import { DurableObject } from "cloudflare:workers";
import { signingSecret } from "../lib/signing";
import type { FlagDefinition } from "../engine/types";
import type { AccessConfig } from "../contracts/access";
import type { Grant } from "../contracts/roles";
import * as access from "./aggregates/access";
import type { KeyScope } from "../contracts/snapshot";
import { auditKey, type AuditFilter } from "./audit";
import { migrate } from "./schema";
import { UnitOfWork } from "./unit-of-work";
import { AlarmPass } from "./alarm";
import { Snapshots } from "./replication/snapshot";
import { Publisher } from "./replication/publisher";
import * as projects from "./aggregates/projects";
import * as flags from "./aggregates/flags";
import * as projectFlags from "./aggregates/project-flags";
import * as keys from "./aggregates/keys";
import * as segments from "./aggregates/segments";
import * as webhooks from "./aggregates/webhooks";
import * as triggers from "./aggregates/triggers";
import * as ramps from "./aggregates/ramps";
import * as experiments from "./aggregates/experiments";
import * as drafts from "./aggregates/drafts";
import * as imports from "./aggregates/imports";
import * as targets from "./aggregates/targets";
import * as migration from "./aggregates/migration";
import * as manifest from "./aggregates/manifest";
import * as protection from "./aggregates/protection";
import * as changeRequests from "./aggregates/change-requests";
import * as schedules from "./aggregates/schedules";
import * as metrics from "./aggregates/metrics";
import * as telemetryRead from "./telemetry-read";
import type { ChangeRequestStatus, ScheduledChange, ScheduleStatus } from "../contracts/approvals";
import type { SegmentInput } from "./segments";
import type { WebhookInput, WebhookPatch } from "./webhooks";
import type { RampInput } from "./ramps";
import type { TargetsChange, TargetsQuery } from "../contracts/targets";
import type { ChangeMeta, FlagInfoInput, TriggerInput } from "./store-types";
import type { ImportPlan } from "../contracts/import-plan";
import type { ImportPin } from "../contracts/import-result";
import type { CriterionStatus, CutOverDecision, MigrationCriterion } from "../contracts/migration";
import type { ManifestFlag } from "../contracts/flag-manifest";
import type { Guardrail, MetricBody } from "../contracts/metrics";

// What the RPC methods return, for callers of the stub.
export type * from "./store-types";

export class FlagStore extends DurableObject<Env> {
  readonly #w: UnitOfWork;
  readonly #snapshots: Snapshots;
  readonly #publisher: Publisher;
  readonly #alarm: AlarmPass;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // SIGNING_SECRET is the dedicated secret; a deployment without one yet (legacy) keys the
    // audit chain from ADMIN_TOKEN, with the same derivation.
    this.#w = new UnitOfWork(ctx.storage, () => this.env, auditKey(signingSecret(env) ?? env.ADMIN_TOKEN));
    this.#snapshots = new Snapshots(this.#w);
    this.#publisher = new Publisher(this.#w, this.#snapshots);
    this.#alarm = new AlarmPass(this.#w, this.#publisher);
    const upgraded = ctx.storage.transactionSync(() => migrate(ctx.storage.sql));
    // An upgrade may have queued outbox work (the project's registry entry): arm the alarm for it.
    if (upgraded) void ctx.blockConcurrencyWhile(() => this.#w.scheduleDrain());
  }

  /**
   * Creates the project or adds environments to it. An environment that still has flags cannot
   * be dropped from the list (409): its flags would be lost.
   */
  putProject(project: string, environments: string[], meta: ChangeMeta) {
    return projects.putProject(this.#w, project, environments, meta);
  }
  /** The project and its environments (version, last change, flag count). */
  getProject() {
    return projects.getProject(this.#w);
  }
  /** The environment's flags as a flagd flag set, with the version it was read at. */
  getFlagSet(environment: string) {
    return flags.getFlagSet(this.#w, environment);
  }
  /**
   * Replaces every flag of an environment with a flagd flag set. With `ifMatch`, the write only
   * happens if the environment is still at that version. Each flag added, changed, toggled or
   * removed is audited and announced on its own (`flag.created`, `flag.updated`, `flag.toggled`,
   * `flag.deleted`), besides one `flagset.replaced`; a set equal to the stored one changes
   * nothing and answers `changed: false`.
   */
  replaceFlagSet(environment: string, input: unknown, meta: ChangeMeta & { ifMatch: number | null }) {
    return flags.replaceFlagSet(this.#w, environment, input, meta);
  }
  /** The environment's flags with the version they were read at. */
  listFlags(environment: string) {
    return flags.listFlags(this.#w, environment);
  }
  /** One flag of one environment. */
  getFlag(environment: string, key: string) {
    return flags.getFlag(this.#w, environment, key);
  }
  /** Creates a flag; 409 if the key is taken in that environment. */
  createFlag(environment: string, key: string, definition: FlagDefinition, meta: ChangeMeta) {
    return flags.createFlag(this.#w, environment, key, definition, meta);
  }
  /**
   * Replaces a flag's definition. `ifMatch` is the flag version the caller read (412 if stale).
   * A definition equal to the stored one changes nothing and answers `changed: false`.
   */
  updateFlag(environment: string, key: string, definition: FlagDefinition, meta: ChangeMeta & { ifMatch: number | null }) {
    return flags.updateFlag(this.#w, environment, key, definition, meta);
  }
  /**
   * Turns a flag on or off in one environment: the kill switch. `null` flips the current state;
   * reading and writing happen in this one call, so concurrent flips cannot both read the old
   * state. Asking for the state the flag already has changes nothing (`changed: false`).
   */
  setFlagState(environment: string, key: string, requested: "ENABLED" | "DISABLED" | null, meta: ChangeMeta & { ifMatch: number | null }) {
    return flags.setFlagState(this.#w, environment, key, requested, meta);
  }
  /** Deletes a flag (412 if `ifMatch` is stale, 409 if another flag still needs it); its ramp and running experiment end with it. */
  deleteFlag(environment: string, key: string, meta: ChangeMeta & { ifMatch: number | null }) {
    return flags.deleteFlag(this.#w, environment, key, meta);
  }
  /** Adds, moves and removes a flag's individual targets without rewriting its definition; `changed: false` when nothing changes. */
  changeTargets(environment: string, key: string, change: TargetsChange, meta: ChangeMeta) {
    return targets.changeTargets(this.#w, environment, key, change, meta);
  }
  /** One page of a flag's individual targets, in (variant, key) order. */
  listTargets(environment: string, key: string, query: TargetsQuery) {
    return targets.listTargets(this.#w, environment, key, query);
  }
  /** Creates an API key. `environment` is required for `client`/`server` keys, null for `admin`, which carries `grant`. */
  createKey(scope: KeyScope, environment: string | null, name: string, meta: ChangeMeta, grant: Grant | null = null) {
    return keys.createKey(this.#w, scope, environment, name, meta, grant);
  }
  /** The project's API keys (all, or one environment's); never their secrets. */
  listKeys(environment: string | null) {
    return keys.listKeys(this.#w, environment);
  }
  /** Revokes a key at once in this store; the edge stops accepting it within the propagation bound. */
  revokeKey(id: string, meta: ChangeMeta) {
    return keys.revokeKey(this.#w, id, meta);
  }
  /** Looks a key up by its hash; null when unknown or revoked. Records when it was last used. */
  /** The project's single sign-on (Cloudflare Access) configuration; null when none. */
  getAccess() {
    return access.getAccess(this.#w);
  }
  /** Replaces the single sign-on configuration (audited). */
  putAccess(config: AccessConfig, meta: ChangeMeta) {
    return access.putAccess(this.#w, config, meta);
  }
  /** Turns single sign-on off (audited). */
  removeAccess(meta: ChangeMeta) {
    return access.removeAccess(this.#w, meta);
  }
  authenticate(keyHash: string) {
    return keys.authenticate(this.#w, keyHash);
  }
  /**
   * Rotates a key: a new key with the same scope, environment and name, while the old one keeps
   * working for `overlapSeconds` so clients can switch without an outage.
   */
  rotateKey(id: string, overlapSeconds: number, meta: ChangeMeta) {
    return keys.rotateKey(this.#w, id, overlapSeconds, meta);
  }
  /** The project's segments, by name. */
  listSegments() {
    return segments.listSegments(this.#w);
  }
  /** One segment, with its member ids when it is a list. */
  getSegment(name: string) {
    return segments.getSegment(this.#w, name);
  }
  /**
   * Creates or replaces a segment. Every environment's flags are re-validated with it, and every
   * environment gets a new version, since each snapshot carries the segment.
   */
  putSegment(name: string, input: SegmentInput, meta: ChangeMeta & { ifMatch: number | null }) {
    return segments.putSegment(this.#w, name, input, meta);
  }
  /** Deletes a segment no flag uses; 409 naming the flags that still do. */
  deleteSegment(name: string, meta: ChangeMeta) {
    return segments.deleteSegment(this.#w, name, meta);
  }
  /**
   * Creates a flag in every environment at once: one definition (variants, default, targeting),
   * optionally adjusted per environment, plus the project-level facts (description, owner, tags,
   * lifetime). One transaction; 409 if the key exists anywhere.
   */
  createFlagEverywhere(
    key: string,
    info: FlagInfoInput,
    base: FlagDefinition,
    overrides: Record<string, Partial<FlagDefinition>>,
    meta: ChangeMeta,
  ) {
    return projectFlags.createFlagEverywhere(this.#w, key, info, base, overrides, meta);
  }
  /** Every flag of the project with its facts and its state in each environment, side by side. */
  listProjectFlags() {
    return projectFlags.listProjectFlags(this.#w);
  }
  /** One flag across the project: its facts and each environment's configuration. */
  getProjectFlag(key: string) {
    return projectFlags.getProjectFlag(this.#w, key);
  }
  /** Updates a flag's project-level facts (description, owner, tags, lifetime). */
  updateFlagInfo(key: string, patch: Partial<FlagInfoInput>, meta: ChangeMeta) {
    return projectFlags.updateFlagInfo(this.#w, key, patch, meta);
  }
  /** How two environments' flags differ: per flag, only in one, different (which fields), or the same. */
  compareEnvironments(from: string, to: string, keys: string[] | null) {
    return flags.compareEnvironments(this.#w, from, to, keys);
  }
  /**
   * Copies `from`'s configuration of the named flags (all of them when `keys` is null) to `to`,
   * atomically; flags only in `to` are left alone. With `dryRun`, only reports the diff.
   */
  promote(from: string, to: string, keys: string[] | null, meta: ChangeMeta & { dryRun: boolean; ifMatch: number | null }) {
    return flags.promote(this.#w, from, to, keys, meta);
  }
  /** Subscribes a URL to event types; the signing secret is returned this once. */
  createWebhook(input: WebhookInput, meta: ChangeMeta) {
    return webhooks.createWebhook(this.#w, input, meta);
  }
  /** The project's webhooks. */
  listWebhooks() {
    return webhooks.listWebhooks(this.#w);
  }
  /** One webhook. */
  getWebhook(id: string) {
    return webhooks.getWebhook(this.#w, id);
  }
  /** Changes a webhook's URL, events, description or activity. */
  updateWebhook(id: string, patch: WebhookPatch, meta: ChangeMeta) {
    return webhooks.updateWebhook(this.#w, id, patch, meta);
  }
  /** Deletes a webhook and its deliveries. */
  deleteWebhook(id: string, meta: ChangeMeta) {
    return webhooks.deleteWebhook(this.#w, id, meta);
  }
  /** Queues a `ping` event to one webhook, to test the receiver. */
  pingWebhook(id: string, meta: ChangeMeta) {
    return webhooks.pingWebhook(this.#w, id, meta);
  }
  /** A webhook's most recent deliveries, newest first. */
  listDeliveries(id: string, limit: number) {
    return webhooks.listDeliveries(this.#w, id, limit);
  }
  /** Queues a delivery again for a fresh series of attempts (409 while the webhook is inactive). */
  redeliver(id: string, deliveryId: string) {
    return webhooks.redeliver(this.#w, id, deliveryId);
  }
  /** Creates a trigger; returns its secret token (for the URL) and signing secret, shown once. */
  createTrigger(input: TriggerInput, meta: ChangeMeta) {
    return triggers.createTrigger(this.#w, input, meta);
  }
  /** The project's triggers; never their tokens or secrets. */
  listTriggers() {
    return triggers.listTriggers(this.#w);
  }
  /** Enables or disables a trigger. */
  setTriggerActive(id: string, active: boolean, meta: ChangeMeta) {
    return triggers.setTriggerActive(this.#w, id, active, meta);
  }
  /** New token and secret; the old URL stops working at once. */
  rotateTrigger(id: string, meta: ChangeMeta) {
    return triggers.rotateTrigger(this.#w, id, meta);
  }
  /** Deletes a trigger; its URL stops working at once. */
  deleteTrigger(id: string, meta: ChangeMeta) {
    return triggers.deleteTrigger(this.#w, id, meta);
  }
  /** Fires the trigger whose secret URL token hashes to `tokenHash`. Unknown and disabled triggers look the same. */
  fireTrigger(tokenHash: string, reason: string | null) {
    return triggers.fireTrigger(this.#w, tokenHash, reason);
  }
  /** Fires a trigger from a signed request: HMAC of the body with the trigger's secret, within the replay window. */
  fireSignedTrigger(id: string, body: string, signature: string | null, reason: string | null) {
    return triggers.fireSignedTrigger(this.#w, id, body, signature, reason);
  }
  /**
   * Starts a ramp of `variant` over `baseline` on a flag in one environment. The first step is
   * applied at once when it is due now; later steps by the alarm, each exactly once.
   */
  startRamp(environment: string, key: string, input: RampInput, meta: ChangeMeta) {
    return ramps.startRamp(this.#w, environment, key, input, meta);
  }
  /** A flag's ramp in one environment. */
  getRamp(environment: string, key: string) {
    return ramps.getRamp(this.#w, environment, key);
  }
  /** Pauses a running ramp; the flag keeps the step it reached. */
  pauseRamp(environment: string, key: string, meta: ChangeMeta) {
    return ramps.pauseRamp(this.#w, environment, key, meta);
  }
  /** Resumes a paused or rolled-back ramp: the next step is due after its own delay from now. */
  resumeRamp(environment: string, key: string, meta: ChangeMeta) {
    return ramps.resumeRamp(this.#w, environment, key, meta);
  }
  /** Rolls a ramp back to a named step, or to 0% when `toStep` is null; the ramp stays stopped until resumed. */
  rollbackRamp(environment: string, key: string, toStep: number | null, meta: ChangeMeta) {
    return ramps.rollbackRamp(this.#w, environment, key, toStep, meta);
  }
  /** Jumps a ramp to 100%. */
  completeRamp(environment: string, key: string, meta: ChangeMeta) {
    return ramps.completeRamp(this.#w, environment, key, meta);
  }
  /** Removes a ramp; the flag keeps the targeting of the step it reached. */
  deleteRamp(environment: string, key: string, meta: ChangeMeta) {
    return ramps.deleteRamp(this.#w, environment, key, meta);
  }
  /**
   * Marks a flag as an experiment with the weights its variants are meant to get; exposures start
   * counting. Without `weights`, they are the weights the flag actually serves (its fractional
   * split), so the sample-ratio test compares the traffic with what the flag really does; a flag
   * whose targeting is not one split needs them given (422).
   */
  startExperiment(environment: string, key: string, requested: Record<string, number> | null, meta: ChangeMeta) {
    return experiments.startExperiment(this.#w, environment, key, requested, meta);
  }
  /** Stops an experiment; stopping a stopped one changes nothing. */
  stopExperiment(id: string, meta: ChangeMeta) {
    return experiments.stopExperiment(this.#w, id, meta);
  }
  /** Experiments, newest first; only those of one environment and/or flag when given. */
  listExperiments(filter: { environment?: string | undefined; flag?: string | undefined } = {}) {
    return experiments.listExperiments(this.#w, filter);
  }
  /** One experiment with its unit counts and sample-ratio test. */
  getExperiment(id: string) {
    return experiments.getExperiment(this.#w, id);
  }
  /** Unique units and the SRM test of every step a ramp has reached. */
  rampExposures(environment: string, key: string) {
    return ramps.rampExposures(this.#w, environment, key);
  }
  /**
   * Takes a batch of evaluation telemetry from the edge; re-checks sample-ratio mismatch for every
   * experiment and ramp step that gained units, pausing a ramp whose split is off.
   */
  recordTelemetry(input: unknown) {
    return experiments.recordTelemetry(this.#w, input);
  }
  /** Flags nobody evaluates, flags serving one variant to everyone, and temporary flags past their date. */
  staleFlags(days: number) {
    return projectFlags.staleFlags(this.#w, days);
  }
  /** Last evaluation time and count per flag in one environment. */
  flagUsage(environment: string) {
    return projectFlags.flagUsage(this.#w, environment);
  }
  /**
   * Stages a draft configuration of an environment. The edge evaluates it beside live for
   * `sampleRate` of evaluations (answers still come from live) and reports which units would flip.
   */
  putDraft(environment: string, input: unknown, sampleRate: number, meta: ChangeMeta) {
    return drafts.putDraft(this.#w, environment, input, sampleRate, meta);
  }
  /** The environment's staged draft, with what shadow evaluation found. */
  getDraft(environment: string) {
    return drafts.getDraft(this.#w, environment);
  }
  /** Publishes the draft as the environment's flag set, in one call (audited with `meta.reason`); the draft is then gone. */
  publishDraft(environment: string, meta: ChangeMeta & { ifMatch: number | null }) {
    return drafts.publishDraft(this.#w, environment, meta);
  }
  /** Discards the environment's draft. */
  deleteDraft(environment: string, meta: ChangeMeta) {
    return drafts.deleteDraft(this.#w, environment, meta);
  }
  /**
   * Creates the manifest's flags the environment lacks (never changes one it has) and reports
   * drift; one transaction, so concurrent syncs create each flag once. `dryRun` writes nothing.
   */
  syncManifest(environment: string, flags: Record<string, ManifestFlag>, meta: ChangeMeta & { dryRun: boolean }) {
    return manifest.syncManifest(this.#w, environment, flags, meta);
  }
  /** The environment's flags as an OpenFeature CLI flag manifest. */
  getManifest(environment: string) {
    return manifest.getManifest(this.#w, environment);
  }
  /**
   * Applies an import plan in one transaction across environments (missing ones created), writing
   * only the flags that differ; `dryRun` answers the diff and writes nothing.
   */
  applyImport(plan: ImportPlan, options: { dryRun: boolean; pins: ImportPin[]; meta: ChangeMeta }) {
    return imports.applyImport(this.#w, plan, options);
  }
  /** Audit mode: every environment's (or one environment's) exit criterion and authority. */
  getMigration(environment: string | null) {
    return migration.getMigration(this.#w, environment);
  }
  /** Sets an environment's exit criterion, audited with the status under it (`changed: false` when the same). */
  setMigrationCriterion(environment: string, criterion: MigrationCriterion, status: CriterionStatus | null, meta: ChangeMeta) {
    return migration.setMigrationCriterion(this.#w, environment, criterion, status, meta);
  }
  /** Cuts an environment over to `decision.authority` on the evidence given (409 when unmet without override); a new version. */
  cutOver(environment: string, decision: CutOverDecision, meta: ChangeMeta) {
    return migration.cutOver(this.#w, environment, decision, meta);
  }
  /** An environment's protection: whether direct changes need approval, whether the kill switch is exempt. */
  getProtection(environment: string) {
    return protection.getProtection(this.#w, environment);
  }
  /** Sets an environment's protection (audited; `changed: false` when the same). */
  putProtection(environment: string, input: { requireApproval: boolean; killSwitchExempt: boolean }, meta: ChangeMeta) {
    return protection.putProtection(this.#w, environment, input, meta);
  }
  /** Why `asker` may not write directly into these environments (null: all of the project's), or `refused: null`. */
  checkProtection(environments: string[] | null, asker: protection.Asker, kind: protection.WriteKind) {
    return protection.checkProtection(this.#w, environments, asker, kind);
  }
  /** Opens a change request: a validated diff of some flags against the environment's current version. */
  openChangeRequest(environment: string, flags: changeRequests.FlagChanges, meta: ChangeMeta & { reason: string }) {
    return changeRequests.openChangeRequest(this.#w, environment, flags, meta);
  }
  /** An environment's change requests, newest first. */
  listChangeRequests(environment: string, status: ChangeRequestStatus | null) {
    return changeRequests.listChangeRequests(this.#w, environment, status);
  }
  /** One change request with its diff. */
  getChangeRequest(environment: string, id: string) {
    return changeRequests.getChangeRequest(this.#w, environment, id);
  }
  /** Approves (and applies, atomically, if the environment is still at its base version) a change request; not by its requester. */
  approveChangeRequest(environment: string, id: string, meta: ChangeMeta) {
    return changeRequests.approveChangeRequest(this.#w, environment, id, meta);
  }
  /** Moves a change request to the current version when none of its flags changed meanwhile. */
  rebaseChangeRequest(environment: string, id: string, asker: protection.Asker, meta: ChangeMeta) {
    return changeRequests.rebaseChangeRequest(this.#w, environment, id, asker, meta);
  }
  /** Rejects a change request, saying why. */
  rejectChangeRequest(environment: string, id: string, meta: ChangeMeta) {
    return changeRequests.rejectChangeRequest(this.#w, environment, id, meta);
  }
  /** Withdraws a change request (its requester or an admin). */
  withdrawChangeRequest(environment: string, id: string, asker: protection.Asker, meta: ChangeMeta) {
    return changeRequests.withdrawChangeRequest(this.#w, environment, id, asker, meta);
  }
  /** Schedules a change for the alarm to apply once at `at`. */
  createSchedule(
    environment: string,
    input: { at: string; change: ScheduledChange; reason: string },
    asker: protection.Asker,
    meta: ChangeMeta,
  ) {
    return schedules.createSchedule(this.#w, environment, input, asker, meta);
  }
  /** An environment's scheduled changes, soonest first. */
  listSchedules(environment: string, status: ScheduleStatus | null) {
    return schedules.listSchedules(this.#w, environment, status);
  }
  /** Cancels a pending scheduled change. */
  cancelSchedule(environment: string, id: string, meta: ChangeMeta) {
    return schedules.cancelSchedule(this.#w, environment, id, meta);
  }
  /** Audit entries, newest first, filtered and paged. */
  listAudit(filter: AuditFilter) {
    return projects.listAudit(this.#w, filter);
  }
  /**
   * Verifies the audit chain, and checks it against the head anchored in KV (truncation and
   * rewrites); an anchor KV cannot give within its deadline is reported as null, not guessed.
   */
  verifyAudit() {
    return projects.verifyAudit(this.#w);
  }
  /** The environment's current snapshot, for an edge that finds nothing (or nothing new enough) in KV. */
  async getSnapshot(environment: string) {
    return this.#snapshots.current(environment);
  }
  /** What KV holds of each environment, and the replication work still queued. */
  async replicationStatus() {
    return this.#w.ifProject(() => this.#publisher.status());
  }
  /** The project's metrics (on tracked events), by name. */
  listMetrics() {
    return metrics.listMetrics(this.#w);
  }
  /** One metric. */
  getMetric(name: string) {
    return metrics.getMetric(this.#w, name);
  }
  /** Creates or replaces a metric (the same definition again changes nothing). */
  putMetric(name: string, input: Omit<MetricBody, "reason">, meta: ChangeMeta) {
    return metrics.putMetric(this.#w, name, input, meta);
  }
  /** Deletes a metric no running or paused ramp guards with. */
  deleteMetric(name: string, meta: ChangeMeta) {
    return metrics.deleteMetric(this.#w, name, meta);
  }
  /** Sets the guardrails of a flag's ramp (an empty list removes them). */
  setRampGuardrails(environment: string, key: string, guardrails: Guardrail[], meta: ChangeMeta) {
    return metrics.setRampGuardrails(this.#w, environment, key, guardrails, meta);
  }
  /** A ramp's guardrails and the checks of each guarded metric. */
  getRampMetrics(environment: string, key: string) {
    return metrics.getRampMetrics(this.#w, environment, key);
  }
  /** Every metric's checks on an experiment, per arm against its baseline. */
  getExperimentMetrics(id: string) {
    return metrics.getExperimentMetrics(this.#w, id);
  }
  /** Runs the metric checks now, as the alarm does (a guardrail may stop its ramp). */
  checkMetricsNow() {
    return metrics.checkMetricsNow(this.#w);
  }
  /** Per arm of an exposure subject: its units and the sums of one tracked event attributed to it. */
  readArmAggregates(subject: string, eventName: string) {
    return telemetryRead.readArmAggregates(this.#w, subject, eventName);
  }
  /** Unique exposed units per variant of an exposure subject. */
  readUnitCounts(subject: string) {
    return telemetryRead.readUnitCounts(this.#w, subject);
  }
  /** Applies due scheduled changes and ramp steps, publishes due outbox rows, sends due webhook deliveries. */
  override async alarm(): Promise<void> {
    await this.#alarm.run();
  }
  /**
   * The environment's current version for the edge's per-location beacon (a lookup; the snapshot
   * is built once per version), with the snapshot itself only when it is newer than `haveVersion`.
   */
  async edgeVersion(environment: string, haveVersion: number) {
    const snapshot = this.#snapshots.current(environment);
    return (
      snapshot && { version: snapshot.version, updatedAt: snapshot.updatedAt, snapshot: snapshot.version > haveVersion ? snapshot : null }
    );
  }
}
