import { StoreGroup } from "./group";
import * as triggers from "../aggregates/triggers";
import type { ChangeMeta, TriggerInput } from "../store-types";

/** Triggers and their firing (`stub.triggers().fire(tokenHash, reason)`), over `aggregates/triggers.ts`. */
export class TriggersRpc extends StoreGroup {
  /** Creates a trigger; returns its secret token (for the URL) and signing secret, shown once. */
  create(input: TriggerInput, meta: ChangeMeta) {
    return triggers.createTrigger(this.w, input, meta);
  }
  /** The project's triggers; never their tokens or secrets. */
  list() {
    return triggers.listTriggers(this.w);
  }
  /** Enables or disables a trigger. */
  setActive(id: string, active: boolean, meta: ChangeMeta) {
    return triggers.setTriggerActive(this.w, id, active, meta);
  }
  /** New token and secret; the old URL stops working at once. */
  rotate(id: string, meta: ChangeMeta) {
    return triggers.rotateTrigger(this.w, id, meta);
  }
  /** Deletes a trigger; its URL stops working at once. */
  delete(id: string, meta: ChangeMeta) {
    return triggers.deleteTrigger(this.w, id, meta);
  }
  /** Fires the trigger whose secret URL token hashes to `tokenHash`. Unknown and disabled triggers look the same. */
  fire(tokenHash: string, reason: string | null) {
    return triggers.fireTrigger(this.w, tokenHash, reason);
  }
  /** Fires a trigger from a signed request: HMAC of the body with the trigger's secret, within the replay window. */
  fireSigned(id: string, body: string, signature: string | null, reason: string | null) {
    return triggers.fireSignedTrigger(this.w, id, body, signature, reason);
  }
}
