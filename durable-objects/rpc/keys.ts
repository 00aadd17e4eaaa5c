import { StoreGroup } from "./group";
import type { Grant } from "../../contracts/roles";
import type { KeyScope } from "../../contracts/snapshot";
import * as keys from "../aggregates/keys";
import type { ChangeMeta } from "../store-types";

/**
 * The project's API keys (`stub.keys().rotate(id, overlapSeconds, meta)`), over `aggregates/keys.ts`.
 * The edge checks a key with the top-level `authenticate`.
 */
export class KeysRpc extends StoreGroup {
  /** Creates an API key. `environment` is required for `client`/`server` keys, null for `admin`, which carries `grant`. */
  create(scope: KeyScope, environment: string | null, name: string, meta: ChangeMeta, grant: Grant | null = null) {
    return keys.createKey(this.w, scope, environment, name, meta, grant);
  }
  /** The project's API keys (all, or one environment's); never their secrets. */
  list(environment: string | null) {
    return keys.listKeys(this.w, environment);
  }
  /** Revokes a key at once in this store; the edge stops accepting it within the propagation bound. */
  revoke(id: string, meta: ChangeMeta) {
    return keys.revokeKey(this.w, id, meta);
  }
  /**
   * Rotates a key: a new key with the same scope, environment and name, while the old one keeps
   * working for `overlapSeconds` so clients can switch without an outage.
   */
  rotate(id: string, overlapSeconds: number, meta: ChangeMeta) {
    return keys.rotateKey(this.w, id, overlapSeconds, meta);
  }
}
