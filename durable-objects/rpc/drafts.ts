import { StoreGroup } from "./group";
import * as drafts from "../aggregates/drafts";
import type { ChangeMeta } from "../store-types";

/** An environment's staged draft (`stub.drafts().publish(env, meta)`), over `aggregates/drafts.ts`. */
export class DraftsRpc extends StoreGroup {
  /**
   * Stages a draft configuration of an environment. The edge evaluates it beside live for
   * `sampleRate` of evaluations (answers still come from live) and reports which units would flip.
   */
  put(environment: string, input: unknown, sampleRate: number, meta: ChangeMeta) {
    return drafts.putDraft(this.w, environment, input, sampleRate, meta);
  }
  /** The environment's staged draft, with what shadow evaluation found. */
  get(environment: string) {
    return drafts.getDraft(this.w, environment);
  }
  /** Publishes the draft as the environment's flag set, in one call (audited with `meta.reason`); the draft is then gone. */
  publish(environment: string, meta: ChangeMeta & { ifMatch: number | null }) {
    return drafts.publishDraft(this.w, environment, meta);
  }
  /** Discards the environment's draft. */
  delete(environment: string, meta: ChangeMeta) {
    return drafts.deleteDraft(this.w, environment, meta);
  }
}
