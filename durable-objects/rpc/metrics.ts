import { StoreGroup } from "./group";
import type { Guardrail, MetricBody } from "../../contracts/metrics";
import * as metrics from "../aggregates/metrics";
import type { ChangeMeta } from "../store-types";

/** Metrics on tracked events and the guardrails they drive (`stub.metrics().forRamp(env, key)`), over `aggregates/metrics.ts`. */
export class MetricsRpc extends StoreGroup {
  /** The project's metrics, by name. */
  list() {
    return metrics.listMetrics(this.w);
  }
  /** One metric. */
  get(name: string) {
    return metrics.getMetric(this.w, name);
  }
  /** Creates or replaces a metric (the same definition again changes nothing). */
  put(name: string, input: Omit<MetricBody, "reason">, meta: ChangeMeta) {
    return metrics.putMetric(this.w, name, input, meta);
  }
  /** Deletes a metric no running or paused ramp guards with. */
  delete(name: string, meta: ChangeMeta) {
    return metrics.deleteMetric(this.w, name, meta);
  }
  /** Sets the guardrails of a flag's ramp (an empty list removes them). */
  setGuardrails(environment: string, key: string, guardrails: Guardrail[], meta: ChangeMeta) {
    return metrics.setRampGuardrails(this.w, environment, key, guardrails, meta);
  }
  /** A ramp's guardrails and the checks of each guarded metric. */
  forRamp(environment: string, key: string) {
    return metrics.getRampMetrics(this.w, environment, key);
  }
  /** Every metric's checks on an experiment, per arm against its baseline. */
  forExperiment(id: string) {
    return metrics.getExperimentMetrics(this.w, id);
  }
  /** Runs the metric checks now, as the alarm does (a guardrail may stop its ramp). */
  checkNow() {
    return metrics.checkMetricsNow(this.w);
  }
}
