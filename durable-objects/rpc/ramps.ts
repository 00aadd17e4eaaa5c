import { StoreGroup } from "./group";
import * as ramps from "../aggregates/ramps";
import type { RampInput } from "../ramps";
import type { ChangeMeta } from "../store-types";

/**
 * A flag's ramp in one environment (`stub.ramps().start(env, key, input, meta)`), over
 * `aggregates/ramps.ts`. Its exposures are the top-level `rampExposures`; its guardrails, `metrics`.
 */
export class RampsRpc extends StoreGroup {
  /**
   * Starts a ramp of `variant` over `baseline` on a flag in one environment. The first step is
   * applied at once when it is due now; later steps by the alarm, each exactly once.
   */
  start(environment: string, key: string, input: RampInput, meta: ChangeMeta) {
    return ramps.startRamp(this.w, environment, key, input, meta);
  }
  /** A flag's ramp in one environment. */
  get(environment: string, key: string) {
    return ramps.getRamp(this.w, environment, key);
  }
  /** Pauses a running ramp; the flag keeps the step it reached. */
  pause(environment: string, key: string, meta: ChangeMeta) {
    return ramps.pauseRamp(this.w, environment, key, meta);
  }
  /** Resumes a paused or rolled-back ramp: the next step is due after its own delay from now. */
  resume(environment: string, key: string, meta: ChangeMeta) {
    return ramps.resumeRamp(this.w, environment, key, meta);
  }
  /** Rolls a ramp back to a named step, or to 0% when `toStep` is null; the ramp stays stopped until resumed. */
  rollback(environment: string, key: string, toStep: number | null, meta: ChangeMeta) {
    return ramps.rollbackRamp(this.w, environment, key, toStep, meta);
  }
  /** Applies a running ramp's next step now; the step after it is due after its own delay from now. */
  advance(environment: string, key: string, meta: ChangeMeta) {
    return ramps.advanceRamp(this.w, environment, key, meta);
  }
  /** Jumps a ramp to 100%. */
  complete(environment: string, key: string, meta: ChangeMeta) {
    return ramps.completeRamp(this.w, environment, key, meta);
  }
  /** Removes a ramp; the flag keeps the targeting of the step it reached. */
  delete(environment: string, key: string, meta: ChangeMeta) {
    return ramps.deleteRamp(this.w, environment, key, meta);
  }
}
