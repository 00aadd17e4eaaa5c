import { StoreGroup } from "./group";
import * as protection from "../aggregates/protection";
import type { ChangeMeta } from "../store-types";

/** Environments whose direct changes need approval (`stub.protection().check(envs, asker, kind)`), over `aggregates/protection.ts`. */
export class ProtectionRpc extends StoreGroup {
  /** An environment's protection: whether direct changes need approval, whether the kill switch is exempt. */
  get(environment: string) {
    return protection.getProtection(this.w, environment);
  }
  /** Sets an environment's protection (audited; `changed: false` when the same). */
  put(environment: string, input: { requireApproval: boolean; killSwitchExempt: boolean }, meta: ChangeMeta) {
    return protection.putProtection(this.w, environment, input, meta);
  }
  /** Why `asker` may not write directly into these environments (null: all of the project's), or `refused: null`. */
  check(environments: string[] | null, asker: protection.Asker, kind: protection.WriteKind) {
    return protection.checkProtection(this.w, environments, asker, kind);
  }
}
