import { StoreGroup } from "./group";
import * as experiments from "../aggregates/experiments";
import type { ChangeMeta } from "../store-types";

/**
 * Experiments (`stub.experiments().start(env, key, weights, meta)`), over `aggregates/experiments.ts`.
 * The edge's telemetry arrives through the top-level `recordTelemetry`.
 */
export class ExperimentsRpc extends StoreGroup {
  /**
   * Marks a flag as an experiment with the weights its variants are meant to get; exposures start
   * counting. Without `weights`, they are the weights the flag actually serves (its fractional
   * split), so the sample-ratio test compares the traffic with what the flag really does; a flag
   * whose targeting is not one split needs them given (422).
   */
  start(environment: string, key: string, requested: Record<string, number> | null, meta: ChangeMeta) {
    return experiments.startExperiment(this.w, environment, key, requested, meta);
  }
  /** Stops an experiment; stopping a stopped one changes nothing. */
  stop(id: string, meta: ChangeMeta) {
    return experiments.stopExperiment(this.w, id, meta);
  }
  /** Experiments, newest first; only those of one environment and/or flag when given. */
  list(filter: { environment?: string | undefined; flag?: string | undefined } = {}) {
    return experiments.listExperiments(this.w, filter);
  }
  /** One experiment with its unit counts and sample-ratio test. */
  get(id: string) {
    return experiments.getExperiment(this.w, id);
  }
}
