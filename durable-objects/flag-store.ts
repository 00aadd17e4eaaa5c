/**
 * FlagStore: the source of truth for one project (addressed by `idFromName(project)`), and its
 * typed RPC surface. The methods the edge calls (snapshots, versions, key checks, telemetry) are
 * on the class itself; the admin API's are grouped per aggregate in `rpc/`, each group an
 * `RpcTarget` handed out by a method of the same name, so a call names its resource and
 * pipelines in one round trip (the group's stub is never awaited on its own):
 *
 * @example
 * const stub = env.FLAG_STORE.get(env.FLAG_STORE.idFromName("shop"));
 * await stub.flags().setState("production", "new-checkout", "DISABLED", { actor: "ops", reason: "errors", ifMatch: null });
 *
 * Every method is one line over the module that owns its aggregate (`aggregates/`); every change
 * goes through the unit of work (`unit-of-work.ts`): one SQLite transaction that bumps the
 * environment's version, applies the change, appends its audit entries, queues its webhook events
 * and its outbox rows. The broadcaster's notice goes out right after the commit; the alarm
 * (`alarm.ts`) publishes the rest through `replication/`, retrying with backoff until each row succeeds. Methods return a `Result` for every failure a caller is
 * expected to handle.
 */
import { DurableObject } from "cloudflare:workers";
import { signingSecret } from "../lib/signing";
import * as access from "./aggregates/access";
import * as experiments from "./aggregates/experiments";
import * as flags from "./aggregates/flags";
import * as keys from "./aggregates/keys";
import * as ramps from "./aggregates/ramps";
import { AlarmPass } from "./alarm";
import { auditKey } from "./audit";
import { Publisher } from "./replication/publisher";
import { Snapshots } from "./replication/snapshot";
import { AccessRpc } from "./rpc/access";
import { AuditRpc } from "./rpc/audit";
import { ChangeRequestsRpc } from "./rpc/change-requests";
import { DraftsRpc } from "./rpc/drafts";
import { ExperimentsRpc } from "./rpc/experiments";
import { FlagsRpc } from "./rpc/flags";
import { ImportsRpc } from "./rpc/imports";
import { KeysRpc } from "./rpc/keys";
import { ManifestRpc } from "./rpc/manifest";
import { MetricsRpc } from "./rpc/metrics";
import { MigrationRpc } from "./rpc/migration";
import { ProjectRpc } from "./rpc/project";
import { ProjectFlagsRpc } from "./rpc/project-flags";
import { ProtectionRpc } from "./rpc/protection";
import { RampsRpc } from "./rpc/ramps";
import { SchedulesRpc } from "./rpc/schedules";
import { SegmentsRpc } from "./rpc/segments";
import { TargetsRpc } from "./rpc/targets";
import { TriggersRpc } from "./rpc/triggers";
import { WebhooksRpc } from "./rpc/webhooks";
import { migrate } from "./schema";
import * as telemetryRead from "./telemetry-read";
import { UnitOfWork } from "./unit-of-work";

// What the RPC methods return, for callers of the stub.
export type * from "./store-types";

export class FlagStore extends DurableObject<Env> {
  // SIGNING_SECRET is the dedicated secret; a deployment without one yet (legacy) keys the audit
  // chain from ADMIN_TOKEN, with the same derivation. `env` is read at each use.
  readonly #w = new UnitOfWork(this.ctx.storage, () => this.env, auditKey(signingSecret(this.env) ?? this.env.ADMIN_TOKEN));
  readonly #snapshots = new Snapshots(this.#w);
  readonly #publisher = new Publisher(this.#w, this.#snapshots);
  readonly #alarm = new AlarmPass(this.#w, this.#publisher);
  // The admin API's groups: one instance each for the object's life. RPC exposes the methods below, never
  // fields. They are methods, not getters: workerd pipelines through either, but the Workers test
  // pool's Durable Object wrapper turns every property into a callable thenable that a pipelined
  // call cannot walk into ("does not implement the method"), and the tests must run what ships.
  readonly #project = new ProjectRpc(this.#w);
  readonly #audit = new AuditRpc(this.#w);
  readonly #flags = new FlagsRpc(this.#w);
  readonly #targets = new TargetsRpc(this.#w);
  readonly #projectFlags = new ProjectFlagsRpc(this.#w);
  readonly #keys = new KeysRpc(this.#w);
  readonly #access = new AccessRpc(this.#w);
  readonly #segments = new SegmentsRpc(this.#w);
  readonly #webhooks = new WebhooksRpc(this.#w);
  readonly #triggers = new TriggersRpc(this.#w);
  readonly #ramps = new RampsRpc(this.#w);
  readonly #experiments = new ExperimentsRpc(this.#w);
  readonly #drafts = new DraftsRpc(this.#w);
  readonly #manifest = new ManifestRpc(this.#w);
  readonly #imports = new ImportsRpc(this.#w);
  readonly #migration = new MigrationRpc(this.#w);
  readonly #protection = new ProtectionRpc(this.#w);
  readonly #changeRequests = new ChangeRequestsRpc(this.#w);
  readonly #schedules = new SchedulesRpc(this.#w);
  readonly #metrics = new MetricsRpc(this.#w);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const upgraded = ctx.storage.transactionSync(() => migrate(ctx.storage.sql));
    // An upgrade may have queued outbox work (the project's registry entry): arm the alarm for it.
    if (upgraded) void ctx.blockConcurrencyWhile(() => this.#w.scheduleDrain());
  }

  // ---- The edge's methods (and the sign-in path's): names and signatures other Workers and objects rely on.

  /** The environment's current snapshot, for an edge that finds nothing (or nothing new enough) in KV. */
  async getSnapshot(environment: string) {
    return this.#snapshots.current(environment);
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
  /** The environment's flags as a flagd flag set, with the version it was read at. */
  getFlagSet(environment: string) {
    return flags.getFlagSet(this.#w, environment);
  }
  /** What KV holds of each environment, and the replication work still queued. */
  async replicationStatus() {
    return this.#w.ifProject(() => this.#publisher.status());
  }
  /** Looks a key up by its hash; null when unknown or revoked. Records when it was last used. */
  authenticate(keyHash: string) {
    return keys.authenticate(this.#w, keyHash);
  }
  /** The project's single sign-on (Cloudflare Access) configuration; null when none. Changed through `access`. */
  getAccess() {
    return access.getAccess(this.#w);
  }
  /**
   * Takes a batch of evaluation telemetry from the edge; re-checks sample-ratio mismatch for every
   * experiment and ramp step that gained units, pausing a ramp whose split is off.
   */
  recordTelemetry(input: unknown) {
    return experiments.recordTelemetry(this.#w, input);
  }
  /** Unique units and the SRM test of every step a ramp has reached. */
  rampExposures(environment: string, key: string) {
    return ramps.rampExposures(this.#w, environment, key);
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

  // ---- The admin API's groups, one per aggregate (`rpc/`): `stub.ramps().start(…)`.

  /** The project and its environments: `get`, `put`. */
  project() {
    return this.#project;
  }
  /** The audit log: `list`, `verify`. */
  audit() {
    return this.#audit;
  }
  /** One environment's flags: `list`, `get`, `create`, `update`, `setState`, `delete`, `replaceSet`, `compare`, `promote`. */
  flags() {
    return this.#flags;
  }
  /** A flag's individual targets: `list`, `change`. */
  targets() {
    return this.#targets;
  }
  /** Flags across environments: `create`, `list`, `get`, `updateInfo`, `stale`, `usage`. */
  projectFlags() {
    return this.#projectFlags;
  }
  /** API keys: `create`, `list`, `revoke`, `rotate`. */
  keys() {
    return this.#keys;
  }
  /** Single sign-on: `put`, `remove` (read with `getAccess`). */
  access() {
    return this.#access;
  }
  /** Segments: `list`, `get`, `put`, `delete`. */
  segments() {
    return this.#segments;
  }
  /** Webhooks: `create`, `list`, `get`, `update`, `delete`, `ping`, `deliveries`, `redeliver`. */
  webhooks() {
    return this.#webhooks;
  }
  /** Triggers: `create`, `list`, `setActive`, `rotate`, `delete`, `fire`, `fireSigned`. */
  triggers() {
    return this.#triggers;
  }
  /** Ramps: `start`, `get`, `pause`, `resume`, `rollback`, `complete`, `delete`. */
  ramps() {
    return this.#ramps;
  }
  /** Experiments: `start`, `stop`, `list`, `get`. */
  experiments() {
    return this.#experiments;
  }
  /** Drafts: `put`, `get`, `publish`, `delete`. */
  drafts() {
    return this.#drafts;
  }
  /** Flag manifests: `sync`, `get`. */
  manifest() {
    return this.#manifest;
  }
  /** Imports: `apply`. */
  imports() {
    return this.#imports;
  }
  /** Audit mode: `get`, `setCriterion`, `cutOver`. */
  migration() {
    return this.#migration;
  }
  /** Environment protection: `get`, `put`, `check`. */
  protection() {
    return this.#protection;
  }
  /** Change requests: `open`, `list`, `get`, `approve`, `rebase`, `reject`, `withdraw`. */
  changeRequests() {
    return this.#changeRequests;
  }
  /** Scheduled changes: `create`, `list`, `cancel`. */
  schedules() {
    return this.#schedules;
  }
  /** Metrics and guardrails: `list`, `get`, `put`, `delete`, `setGuardrails`, `forRamp`, `forExperiment`, `checkNow`. */
  metrics() {
    return this.#metrics;
  }
}
