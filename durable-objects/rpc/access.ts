import { StoreGroup } from "./group";
import type { AccessConfig } from "../../contracts/access";
import * as access from "../aggregates/access";
import type { ChangeMeta } from "../store-types";

/**
 * The project's single sign-on (Cloudflare Access) configuration (`stub.access().put(config, meta)`),
 * over `aggregates/access.ts`. Sign-in reads it with the top-level `getAccess`.
 */
export class AccessRpc extends StoreGroup {
  /** Replaces the single sign-on configuration (audited). */
  put(config: AccessConfig, meta: ChangeMeta) {
    return access.putAccess(this.w, config, meta);
  }
  /** Turns single sign-on off (audited). */
  remove(meta: ChangeMeta) {
    return access.removeAccess(this.w, meta);
  }
}
