import { StoreGroup } from "./group";
import type { CriterionStatus, CutOverDecision, MigrationCriterion } from "../../contracts/migration";
import * as migration from "../aggregates/migration";
import type { ChangeMeta } from "../store-types";

/** Audit mode: exit criteria and the cut-over (`stub.migration().cutOver(env, decision, meta)`), over `aggregates/migration.ts`. */
export class MigrationRpc extends StoreGroup {
  /** Every environment's (or one environment's) exit criterion and authority. */
  get(environment: string | null) {
    return migration.getMigration(this.w, environment);
  }
  /** Every environment's (or one environment's) flag keys, sorted: the coverage of audit mode is measured against them. */
  flagKeys(environment: string | null) {
    return migration.migrationFlagKeys(this.w, environment);
  }
  /** Sets an environment's exit criterion, audited with the status under it (`changed: false` when the same). */
  setCriterion(environment: string, criterion: MigrationCriterion, status: CriterionStatus | null, meta: ChangeMeta) {
    return migration.setMigrationCriterion(this.w, environment, criterion, status, meta);
  }
  /** Cuts an environment over to `decision.authority` on the evidence given (409 when unmet without override); a new version. */
  cutOver(environment: string, decision: CutOverDecision, meta: ChangeMeta) {
    return migration.cutOver(this.w, environment, decision, meta);
  }
}
