import { StoreGroup } from "./group";
import type { TargetsChange, TargetsQuery } from "../../contracts/targets";
import * as targets from "../aggregates/targets";
import type { ChangeMeta } from "../store-types";

/** A flag's individual targets (`stub.targets().change(env, key, change, meta)`), over `aggregates/targets.ts`. */
export class TargetsRpc extends StoreGroup {
  /** One page of a flag's individual targets, in (variant, key) order. */
  list(environment: string, key: string, query: TargetsQuery) {
    return targets.listTargets(this.w, environment, key, query);
  }
  /** Adds, moves and removes a flag's individual targets without rewriting its definition; `changed: false` when nothing changes. */
  change(environment: string, key: string, change: TargetsChange, meta: ChangeMeta) {
    return targets.changeTargets(this.w, environment, key, change, meta);
  }
}
