/**
 * The snapshot builder: an environment's published state (`contracts/snapshot.ts`) — its flag
 * set with the project's segments, the exposure subjects the edge records, and the draft to shadow.
 */
import { shareConstantLists } from "../../engine/index";
import type { FlagSet, JsonValue } from "../../engine/types";
import { snapshotEtag, SNAPSHOT_FORMAT, type Snapshot } from "../../contracts/snapshot";
import { iso } from "../store-records";
import { snapshotMigration } from "../aggregates/migration";
import type { RampRow } from "../ramps";
import type { UnitOfWork } from "../unit-of-work";
import type { DraftRow, EnvironmentRow, ExperimentRow } from "../store-types";

/** Builds snapshots and keeps the last one of each environment while its version is the same. */
export class Snapshots {
  /** Built snapshots by environment, reused while the environment's version is the same. */
  readonly #built = new Map<string, Snapshot>();

  constructor(private readonly w: UnitOfWork) {}

  /** The environment's current snapshot, or null when the project or the environment does not exist. */
  current(environment: string): Snapshot | null {
    const project = this.w.project();
    const env = this.w.sql.exec<EnvironmentRow>("SELECT * FROM environments WHERE name = ?", environment).toArray()[0];
    if (project === null || !env) return null;
    return this.of(project, env);
  }

  /**
   * The environment's snapshot at its current version. Every change that alters a snapshot bumps
   * the version, so a built one is reused until then: an edge demanding a version that does not
   * exist yet (a bogus or early `flagConfigEtag`) costs a lookup here, not a rebuild.
   */
  of(project: string, env: EnvironmentRow): Snapshot {
    const cached = this.#built.get(env.name);
    if (cached && cached.version === env.version && cached.project === project) return cached;
    const built = this.#build(project, env);
    this.#built.set(env.name, built);
    return built;
  }

  #build(project: string, env: EnvironmentRow): Snapshot {
    return {
      format: SNAPSHOT_FORMAT,
      project,
      environment: env.name,
      version: env.version,
      etag: snapshotEtag(env.version),
      updatedAt: iso(env.updated_at),
      // Long lists copied into many flags are stored once in the snapshot, and long id lists are
      // sorted with each id once (same meaning): the edge searches them in place, building nothing.
      flagSet: shareConstantLists(this.w.flagSet(env)),
      ...this.#tracking(env.name),
      ...snapshotMigration(this.w, env.name),
    };
  }

  /** What the edge records for an environment: exposure subjects per flag, and the draft to shadow. */
  #tracking(environment: string): Pick<Snapshot, "tracking" | "rampRules" | "draft"> {
    const sql = this.w.sql;
    const tracking: Record<string, string[]> = {};
    const rampRules: Record<string, JsonValue> = {};
    for (const ramp of sql.exec<RampRow>(
      "SELECT id, flag, current_step, base_targeting FROM ramps WHERE environment = ? AND current_step >= 0",
      environment,
    )) {
      (tracking[ramp.flag] ??= []).push(`ramp:${ramp.id}:${ramp.current_step}`);
      if (ramp.base_targeting !== null) rampRules[ramp.flag] = JSON.parse(ramp.base_targeting) as JsonValue;
    }
    for (const experiment of sql.exec<ExperimentRow>(
      "SELECT id, flag FROM experiments WHERE environment = ? AND status = 'running'",
      environment,
    )) {
      (tracking[experiment.flag] ??= []).push(`exp:${experiment.id}`);
    }
    const draft = sql.exec<DraftRow>("SELECT * FROM drafts WHERE environment = ?", environment).toArray()[0];
    return {
      ...(Object.keys(tracking).length > 0 ? { tracking } : {}),
      ...(Object.keys(rampRules).length > 0 ? { rampRules } : {}),
      ...(draft ? { draft: { id: draft.id, sampleRate: draft.sample_rate, flagSet: JSON.parse(draft.flagset) as FlagSet } } : {}),
    };
  }
}
