/**
 * Metrics on tracked events, per arm of an exposure subject (`ramp:<id>:<step>` or `exp:<id>`).
 * The aggregates are additive: telemetry kept in several places (shards) sums to the whole.
 */

import type { ArmTotals } from "../lib/sequential";
import * as z from "./zod.ts";

/**
 * Additive per-arm aggregates of one tracked event within one exposure subject: the totals the
 * sequential test reads (`ArmTotals`: exposed units, units with at least one such event after
 * exposure, events, the sum over units of their event count squared, and the count, sum and sum
 * of squares of the events' values), named by the arm's variant.
 */
export interface ArmAggregate extends ArmTotals {
  variant: string;
}

// ---- metric definitions, guardrails and their results ----------------------------------------
// Declared once here: the admin routes, the OpenAPI document, the console and the store use these.

/** What is measured of the event: a rate of units, a count per unit, or a mean of its value. */
export const MetricKindSchema = z.enum(["rate", "count", "mean"]);
export const MetricDirectionSchema = z.enum(["higher-is-better", "higher-is-worse"]);

/** Longest tracked event name a metric may watch: the longest `POST /ofrep/v1/track` accepts (`contracts/tracking.ts`). */
export const MAX_EVENT_NAME = 128;

/** A metric as defined (PUT /metrics/{name}). */
export const MetricBodySchema = z
  .object({
    /** The tracked event (`track(name)`) the metric is computed from. */
    event: z.string().min(1).max(MAX_EVENT_NAME),
    kind: MetricKindSchema,
    direction: MetricDirectionSchema,
    description: z.string().max(1000).optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("MetricBody");
export type MetricBody = z.infer<typeof MetricBodySchema>;

export const MetricSchema = z
  .object({
    name: z.string(),
    event: z.string(),
    kind: MetricKindSchema,
    direction: MetricDirectionSchema,
    description: z.string(),
    createdAt: z.string(),
    createdBy: z.string(),
    updatedAt: z.string(),
    updatedBy: z.string(),
  })
  .openapi("Metric");
export type MetricView = z.infer<typeof MetricSchema>;
export const MetricListSchema = z.array(MetricSchema).openapi("MetricList");
/** The answer to a PUT: the metric, and whether anything was written (the same definition again writes nothing). */
export const MetricWriteSchema = MetricSchema.extend({ changed: z.boolean() }).openapi("MetricWrite");

/** How much worse the new variant may be: relative to the baseline (0.1 = 10%) or in the metric's unit. */
export const ToleranceSchema = z
  .object({ kind: z.enum(["relative", "absolute"]), value: z.number().min(0).max(1e9) })
  .strict()
  .openapi("Tolerance");

/** Least observations per arm a guardrail may be given: below it the normal approximation is not safe. */
export const MIN_GUARDRAIL_SAMPLE = 100;

/** A guardrail of a ramp: the metric, how much worse is tolerated, and what to do past it. */
export const GuardrailSchema = z
  .object({
    metric: z.string().min(1).max(63),
    tolerance: ToleranceSchema.default({ kind: "relative", value: 0 }),
    action: z.enum(["pause", "rollback"]).default("pause"),
    /** Observations each arm needs before the guardrail decides anything. */
    minSample: z.number().int().min(MIN_GUARDRAIL_SAMPLE).max(100_000_000).default(500),
    /** The bound on the false-alarm rate under continuous checking. */
    alpha: z.number().gt(0).max(0.2).default(0.05),
  })
  .strict()
  .openapi("Guardrail");
export type Guardrail = z.infer<typeof GuardrailSchema>;
export const GuardrailListSchema = z
  .array(GuardrailSchema)
  .max(10, "a ramp has at most 10 guardrails")
  .refine((g) => new Set(g.map((x) => x.metric)).size === g.length, "name each metric once");

export const GuardrailsBodySchema = z
  .object({ guardrails: GuardrailListSchema, reason: z.string().max(1000).optional() })
  .strict()
  .openapi("GuardrailsBody");

const IntervalSchema = z.object({ estimate: z.number(), lower: z.number(), upper: z.number() });
const ArmEstimateSchema = IntervalSchema.extend({
  variant: z.string(),
  /** Observations: units for rate and count, valued events for mean. */
  n: z.number(),
  units: z.number(),
  events: z.number(),
});

/** One check of one metric on one arm against the baseline: what the chart draws, point by point. */
export const MetricCheckSchema = z
  .object({
    at: z.string(),
    subject: z.string(),
    metric: z.string(),
    decision: z.enum(["continue", "degraded", "insufficient-data"]),
    baseline: ArmEstimateSchema,
    variant: ArmEstimateSchema,
    difference: IntervalSchema,
    threshold: z.number(),
    contrast: IntervalSchema,
    alpha: z.number(),
    minSample: z.number(),
    tolerance: ToleranceSchema,
    reason: z.string(),
  })
  .openapi("MetricCheck");
export type MetricCheck = z.infer<typeof MetricCheckSchema>;

/** A metric's results on a subject: its definition, the latest check per compared arm and the history. */
export const MetricSeriesSchema = z.object({
  metric: MetricSchema,
  guardrail: GuardrailSchema.nullable(),
  latest: z.array(MetricCheckSchema),
  history: z.array(MetricCheckSchema),
});
export type MetricSeries = z.infer<typeof MetricSeriesSchema>;

export const RampMetricsSchema = z
  .object({ ramp: z.string(), subject: z.string().nullable(), guardrails: z.array(GuardrailSchema), metrics: z.array(MetricSeriesSchema) })
  .openapi("RampMetrics");
export type RampMetricsView = z.infer<typeof RampMetricsSchema>;

export const ExperimentMetricsSchema = z
  .object({ experiment: z.string(), baseline: z.string(), metrics: z.array(MetricSeriesSchema) })
  .openapi("ExperimentMetrics");
export type ExperimentMetricsView = z.infer<typeof ExperimentMetricsSchema>;
