/**
 * Converts an Unleash feature export (`GET /api/admin/features-batch/export`, one environment per
 * export: `features`, `featureStrategies`, `featureEnvironments`, `segments`, `dependencies`,
 * `featureTags`), or a list of such exports (one per environment), into an import plan.
 *
 * A flag without variants becomes a boolean flag (`on`/`off`); one with variants a flag of those
 * variants (their payloads as values, else their names) whose default is the caller's: Unleash's
 * "disabled" variant. Strategies are OR'ed in their order, each the AND of its constraints, its
 * segments (`$ref`) and its own condition: `default` always, `flexibleRollout` and the gradual
 * rollouts a `fractional` split with their stickiness (a `rebucketed` note each), `userWithId` the
 * flag's `targets` (or a condition, for variant flags), `remoteAddress` a list of addresses. A
 * strategy's variants answer for the contexts it matches, else the environment's. Dependencies
 * become prerequisites. What has no faithful equivalent is listed in `unmapped`, its strategy left
 * out.
 */
import * as z from "zod";
import { flagKeyProblem } from "../../engine/index";
import { patternProblem } from "../../engine/regex";
import type { FlagDefinition, JsonValue } from "../../engine/types";
import type { ImportedFlag, ImportedSegment, ImportPlan } from "../../contracts/import-plan";
import { fail, ok } from "../../contracts/result";
import type { Result } from "../../contracts/result";
import { selectEnvironments, type ImportOptions } from "./options";
import {
  allOf,
  anyOf,
  conditionProblem,
  Findings,
  finishPlan,
  notAnExport,
  fullVersion,
  ifChain,
  quote,
  segmentName,
  targetEnvironment,
  toJson,
  uniqueName,
} from "./vendor-common";

const Constraint = z.object({
  contextName: z.string().min(1),
  operator: z.string(),
  values: z.array(z.string()).max(100_000).default([]),
  value: z.string().optional(),
  inverted: z.boolean().default(false),
  caseInsensitive: z.boolean().default(false),
});
const Variant = z.object({
  name: z.string().min(1),
  weight: z.number().int().min(0),
  weightType: z.string().optional(),
  stickiness: z.string().optional(),
  payload: z.object({ type: z.string(), value: z.string() }).optional(),
  overrides: z.array(z.object({ contextName: z.string(), values: z.array(z.string()) })).default([]),
});
const Strategy = z.object({
  name: z.string(),
  featureName: z.string(),
  title: z.string().nullable().optional(),
  parameters: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
  constraints: z.array(Constraint).default([]),
  variants: z.array(Variant).default([]),
  disabled: z.boolean().nullable().optional(),
  segments: z.array(z.number()).default([]),
  sortOrder: z.number().optional(),
  environment: z.string().optional(),
});
const Export = z.object({
  features: z.array(
    z.object({
      name: z.string().min(1),
      description: z.string().nullable().optional(),
      type: z.string().optional(),
      archived: z.boolean().optional(),
      impressionData: z.boolean().optional(),
    }),
  ),
  featureStrategies: z.array(Strategy).default([]),
  featureEnvironments: z
    .array(z.object({ enabled: z.boolean(), featureName: z.string(), environment: z.string(), variants: z.array(Variant).default([]) }))
    .default([]),
  segments: z
    .array(
      z.object({
        id: z.number(),
        name: z.string(),
        description: z.string().nullable().optional(),
        constraints: z.array(Constraint).default([]),
      }),
    )
    .default([]),
  dependencies: z
    .array(
      z.object({
        feature: z.string(),
        dependencies: z.array(
          z.object({ feature: z.string(), enabled: z.boolean().default(true), variants: z.array(z.string()).default([]) }),
        ),
      }),
    )
    .default([]),
  featureTags: z.array(z.object({ featureName: z.string(), tagType: z.string().optional(), tagValue: z.string() })).default([]),
});
/** One export, or a list of them (one per environment). */
const Input = z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(Export).min(1));

type UnleashExport = z.infer<typeof Export>;
type UnleashStrategy = z.infer<typeof Strategy>;
type UnleashConstraint = z.infer<typeof Constraint>;
type UnleashVariant = z.infer<typeof Variant>;

/** The current time in milliseconds, Unleash's `currentTime`. */
const NOW: JsonValue = { "*": [{ var: "$flagd.timestamp" }, 1000] };
const TEMPORARY_TYPES = new Set(["release", "experiment"]);

/**
 * Converts an Unleash export; fails only when the data is not one (the problems name the path).
 *
 * @example convertUnleash(exportJson, {})
 */
export function convertUnleash(data: unknown, options: ImportOptions): Result<ImportPlan> {
  const parsed = Input.safeParse(data);
  if (!parsed.success) return notAnExport(parsed.error, "not an Unleash feature export (GET /api/admin/features-batch/export)");
  const findings = new Findings();
  const selected = selectEnvironments([...new Set(parsed.data.flatMap((e) => e.featureEnvironments.map((fe) => fe.environment)))], options);
  if (!selected.ok) return selected;
  findings.unmapped.push(...selected.value);
  const segments: ImportedSegment[] = [];
  const taken = new Set<string>();
  const environments: string[] = [];
  const flags = new Map<string, ImportedFlag>();
  for (const exported of parsed.data) {
    const envs = [...new Set(exported.featureEnvironments.map((e) => e.environment))];
    const ambiguous = envs.length > 1 && exported.featureStrategies.some((s) => s.environment === undefined);
    if (ambiguous) {
      return fail({
        kind: "invalid",
        detail: `the export holds environments ${envs.join(", ")} but its strategies do not say which they belong to: export one environment per file and send them as a list`,
        problems: [{ path: "featureStrategies", message: "strategies without an environment in an export of several" }],
      });
    }
    const segmentRefs = convertSegments(exported, envs[0] ?? null, segments, taken, findings, options);
    const kinds = new Map(exported.features.map((f) => [f.name, hasVariants(exported, f.name) ? "variants" : "boolean"]));
    for (const feature of exported.features) {
      const keyProblem = flagKeyProblem(feature.name);
      if (keyProblem || feature.archived) {
        if (!flags.has(feature.name))
          findings.unmappable(
            feature.name,
            null,
            feature.archived ? "archived feature" : "feature name",
            `not imported: ${keyProblem ?? "the feature is archived"}`,
          );
        continue;
      }
      let flag = flags.get(feature.name);
      if (!flag) {
        flag = {
          key: feature.name,
          perEnvironment: {},
          lifetime: TEMPORARY_TYPES.has(feature.type ?? "release") ? "temporary" : "permanent",
        };
        if (feature.description) flag.description = feature.description;
        const tags = exported.featureTags
          .filter((t) => t.featureName === feature.name)
          .map((t) => (t.tagType ? `${t.tagType}:${t.tagValue}` : t.tagValue));
        if (tags.length > 0) flag.tags = tags;
        if (feature.impressionData) findings.unmappable(feature.name, null, "impressionData", "impression events are not imported");
        flags.set(feature.name, flag);
      }
      for (const fe of exported.featureEnvironments.filter((e) => e.featureName === feature.name)) {
        const target = targetEnvironment(fe.environment, options);
        if (target === null) continue;
        if (!environments.includes(target)) environments.push(target);
        const strategies = exported.featureStrategies
          .filter((s) => s.featureName === feature.name && (s.environment ?? fe.environment) === fe.environment)
          .sort((a, b) => (a.sortOrder ?? 0) - (b.sortOrder ?? 0));
        const ctx: Ctx = { flag: feature.name, environment: target, findings, segmentRefs };
        const definition = convertEnvironment(fe.enabled, fe.variants, strategies, kinds.get(feature.name) === "variants", ctx);
        const prerequisites = convertDependencies(exported, feature.name, kinds, ctx);
        if (prerequisites.length > 0) definition.prerequisites = prerequisites;
        flag.perEnvironment[target] = definition;
      }
    }
  }
  return ok(finishPlan("unleash", environments, [...flags.values()], segments, findings));
}

interface Ctx {
  flag: string;
  environment: string;
  findings: Findings;
  segmentRefs: Map<number, { name: string } | { reason: string }>;
}

function hasVariants(exported: UnleashExport, feature: string): boolean {
  return (
    exported.featureEnvironments.some((e) => e.featureName === feature && e.variants.length > 0) ||
    exported.featureStrategies.some((s) => s.featureName === feature && s.variants.length > 0)
  );
}

function convertEnvironment(
  enabled: boolean,
  envVariants: UnleashVariant[],
  strategies: UnleashStrategy[],
  variantFlag: boolean,
  ctx: Ctx,
): FlagDefinition {
  const definition: FlagDefinition = variantFlag
    ? {
        state: enabled ? "ENABLED" : "DISABLED",
        variants: variantValues([...envVariants, ...strategies.flatMap((s) => s.variants)], ctx),
        defaultVariant: null,
      }
    : {
        state: enabled ? "ENABLED" : "DISABLED",
        variants: { on: true, off: false },
        defaultVariant: "off",
        metadata: { "edgeflags.offVariant": "off" },
      };
  const targets: string[] = [];
  const pairs: [JsonValue, JsonValue][] = [];
  const active = strategies.filter((s) => {
    if (!s.disabled) return true;
    ctx.findings.unmappable(ctx.flag, ctx.environment, `strategy "${s.name}" (disabled)`, "inactive in Unleash; not imported");
    return false;
  });
  for (const strategy of active) {
    const label = `strategy "${strategy.name}"${strategy.title ? ` ("${strategy.title}")` : ""}`;
    const condition = strategyCondition(strategy, label, ctx);
    if (condition === undefined) continue;
    const served = variantFlag ? variantSplit(strategy.variants.length > 0 ? strategy.variants : envVariants, label, ctx) : "on";
    if (served === undefined) continue;
    // A userWithId strategy of a boolean flag is what individual targets are.
    if (!variantFlag && strategy.name === "userWithId" && strategy.constraints.length === 0 && strategy.segments.length === 0) {
      targets.push(...userIds(strategy));
      continue;
    }
    pairs.push([condition, served]);
  }
  if (targets.length > 0) definition.targets = { on: [...new Set(targets)] };
  if (active.length === 0 && enabled) {
    // An enabled feature without strategies is on for everyone.
    const everyone = variantFlag ? variantSplit(envVariants, "the feature's variants", ctx) : "on";
    if (everyone !== undefined) pairs.push([true, everyone]);
  }
  if (pairs.length > 0) definition.targeting = ifChain(mergeTrue(pairs), variantFlag ? null : "off")!;
  return definition;
}

/** Drops the pairs after one whose condition is `true` (they can never answer). */
function mergeTrue(pairs: [JsonValue, JsonValue][]): [JsonValue, JsonValue][] {
  const at = pairs.findIndex(([c]) => c === true);
  return at === -1 ? pairs : pairs.slice(0, at + 1);
}

function userIds(strategy: UnleashStrategy): string[] {
  return String(strategy.parameters["userIds"] ?? "")
    .split(",")
    .map((id) => id.trim())
    .filter((id) => id !== "");
}

/** The variants of a flag and their values: payloads when they agree in type, else the names. */
function variantValues(variants: UnleashVariant[], ctx: Ctx): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  const values = new Map<string, JsonValue | undefined>();
  for (const v of variants) if (!values.has(v.name)) values.set(v.name, payloadValue(v));
  const kinds = new Set([...values.values()].map((v) => (v === undefined ? "none" : typeof v)));
  if (kinds.size === 1 && !kinds.has("none")) {
    for (const [name, value] of values) out[name] = value!;
    return out;
  }
  if ([...values.values()].some((v) => v !== undefined)) {
    ctx.findings.unmappable(
      ctx.flag,
      ctx.environment,
      "variant payloads",
      "payloads of different types (or some missing) cannot share one flag; each variant's value is its name",
    );
  }
  for (const name of values.keys()) out[name] = name;
  return out;
}

function payloadValue(variant: UnleashVariant): JsonValue | undefined {
  const payload = variant.payload;
  if (!payload) return undefined;
  if (payload.type === "number") {
    const n = Number(payload.value);
    return Number.isFinite(n) ? n : undefined;
  }
  if (payload.type === "json") {
    try {
      const json = toJson(JSON.parse(payload.value), 0);
      return json !== null && typeof json === "object" && !Array.isArray(json) ? json : undefined;
    } catch {
      return undefined;
    }
  }
  return payload.value; // string, csv
}

/** What a set of variants serves: overrides first, then the weighted split. */
function variantSplit(variants: UnleashVariant[], label: string, ctx: Ctx): JsonValue | undefined {
  if (variants.length === 0) {
    ctx.findings.unmappable(ctx.flag, ctx.environment, `${label} variants`, "no variants to serve; left out");
    return undefined;
  }
  const overrides: [JsonValue, JsonValue][] = [];
  for (const v of variants) for (const o of v.overrides) overrides.push([{ in: [{ var: contextPath(o.contextName) }, o.values] }, v.name]);
  const weighted = variants.filter((v) => v.weight > 0);
  let split: JsonValue;
  if (weighted.length === 1) split = weighted[0]!.name;
  else {
    const stickiness = variants[0]!.stickiness ?? "default";
    const by = stickinessPath(stickiness, `${label} variant stickiness`, ctx);
    const buckets: JsonValue[] = weighted.map((v) => [v.name, v.weight]);
    split = { fractional: by === "targetingKey" ? buckets : [{ cat: [{ var: "$flagd.flagKey" }, { var: by }] }, ...buckets] };
    ctx.findings.note(
      ctx.flag,
      ctx.environment,
      "rebucketed",
      `${label}'s variant split (${weighted.map((v) => `${v.name} ${v.weight / 10}%`).join(", ")}) is re-bucketed: edgeflags hashes ${by === "targetingKey" ? "the targeting key" : `"${by}"`} differently from Unleash, so units may change variant; pin today's assignments to keep them`,
    );
  }
  return ifChain(overrides, split);
}

/** The context attribute a stickiness reads. */
function stickinessPath(stickiness: string, what: string, ctx: Ctx): string {
  if (stickiness === "random") {
    ctx.findings.unmappable(
      ctx.flag,
      ctx.environment,
      `${what} "random"`,
      "a new random draw on every evaluation has no equivalent; units are bucketed by the targeting key instead",
    );
    return "targetingKey";
  }
  return stickiness === "default" ? "targetingKey" : contextPath(stickiness);
}

/** An Unleash context field as an OpenFeature context attribute. */
function contextPath(field: string): string {
  return field === "userId" ? "targetingKey" : field;
}

/** A strategy's condition (constraints, segments and its own), or `undefined` (noted) when it cannot be mapped. */
function strategyCondition(strategy: UnleashStrategy, label: string, ctx: Ctx): JsonValue | undefined {
  const parts: JsonValue[] = [];
  for (const constraint of strategy.constraints) {
    const condition = convertConstraint(constraint);
    if (typeof condition === "string") {
      ctx.findings.unmappable(
        ctx.flag,
        ctx.environment,
        `${label} constraint ${constraint.operator} on "${constraint.contextName}"`,
        `${condition}; the strategy is left out`,
      );
      return undefined;
    }
    parts.push(condition);
  }
  for (const id of strategy.segments) {
    const ref = ctx.segmentRefs.get(id);
    if (!ref || "reason" in ref) {
      ctx.findings.unmappable(
        ctx.flag,
        ctx.environment,
        `${label} segment ${id}`,
        `${ref ? ref.reason : "the segment is not in the export"}; the strategy is left out`,
      );
      return undefined;
    }
    parts.push({ $ref: ref.name });
  }
  const own = ownCondition(strategy, label, ctx);
  if (own === undefined) return undefined;
  if (own !== true) parts.push(own);
  return parts.length === 0 ? true : allOf(parts);
}

function ownCondition(strategy: UnleashStrategy, label: string, ctx: Ctx): JsonValue | undefined {
  const p = strategy.parameters;
  const rollout = (percent: unknown, stickiness: string, groupId: unknown): JsonValue | undefined => {
    const share = Number(percent);
    if (!Number.isFinite(share) || share < 0 || share > 100) {
      ctx.findings.unmappable(
        ctx.flag,
        ctx.environment,
        `${label} rollout ${JSON.stringify(percent)}`,
        "not a percentage; the strategy is left out",
      );
      return undefined;
    }
    if (share === 0) return false;
    if (share === 100) return true;
    const by = stickinessPath(stickiness, `${label} stickiness`, ctx);
    const bps = Math.round(share * 100);
    ctx.findings.note(
      ctx.flag,
      ctx.environment,
      "rebucketed",
      `${label} (${share}% by ${by === "targetingKey" ? "the targeting key" : `"${by}"`}) is re-bucketed: edgeflags hashes differently from Unleash, so units may move in or out; pin today's assignments to keep them`,
    );
    // Unleash hashes "<groupId>:<stickiness value>": flags sharing a group id roll out to the same units here too.
    // Its default stickiness is the user id, else the session id; a context with neither is left out
    // (Unleash draws at random) rather than all such contexts sharing one bucket.
    const unit: JsonValue = stickiness === "default" ? { var: ["targetingKey", { var: "sessionId" }] } : { var: by };
    const value: JsonValue = { if: [unit, { cat: [String(groupId ?? strategy.featureName), ":", unit] }, null] };
    return { "===": [{ fractional: [value, ["in", bps], ["out", 10_000 - bps]] }, "in"] };
  };
  switch (strategy.name) {
    case "default":
      return true;
    case "flexibleRollout":
      return rollout(p["rollout"], String(p["stickiness"] ?? "default"), p["groupId"]);
    case "gradualRolloutUserId":
      return rollout(p["percentage"], "userId", p["groupId"]);
    case "gradualRolloutSessionId":
      return rollout(p["percentage"], "sessionId", p["groupId"]);
    case "userWithId":
      return { in: [{ var: "targetingKey" }, userIds(strategy)] };
    case "remoteAddress": {
      const ips = String(p["IPs"] ?? "")
        .split(",")
        .map((ip) => ip.trim())
        .filter((ip) => ip !== "");
      if (ips.some((ip) => ip.includes("/"))) {
        ctx.findings.unmappable(
          ctx.flag,
          ctx.environment,
          `${label} CIDR ranges`,
          "address ranges have no equivalent (exact addresses do); the strategy is left out",
        );
        return undefined;
      }
      return { in: [{ var: "remoteAddress" }, ips] };
    }
    default: {
      const why =
        strategy.name === "applicationHostname"
          ? "it tests the host name of the SDK's machine, which an OpenFeature context does not carry"
          : strategy.name === "gradualRolloutRandom"
            ? "a new random draw on every evaluation has no equivalent"
            : "a custom strategy runs code in the Unleash SDK";
      ctx.findings.unmappable(ctx.flag, ctx.environment, label, `${why}; the strategy is left out`);
      return undefined;
    }
  }
}

const NUMERIC: Readonly<Record<string, string>> = { NUM_EQ: "==", NUM_GT: ">", NUM_GTE: ">=", NUM_LT: "<", NUM_LTE: "<=" };
const SEM_VER: Readonly<Record<string, string>> = { SEMVER_EQ: "=", SEMVER_GT: ">", SEMVER_LT: "<" };

/** A constraint as JsonLogic, or why it cannot be. */
function convertConstraint(c: UnleashConstraint): JsonValue | string {
  const subject: JsonValue = c.contextName === "currentTime" ? NOW : { var: contextPath(c.contextName) };
  const single = c.value ?? c.values[0];
  let condition: JsonValue;
  switch (c.operator) {
    case "IN":
    case "NOT_IN": {
      const inList: JsonValue = { in: [subject, c.values] };
      condition = c.operator === "IN" ? inList : { "!": inList };
      break;
    }
    case "STR_CONTAINS":
    case "STR_STARTS_WITH":
    case "STR_ENDS_WITH": {
      if (c.values.length === 0) return `${c.operator} without values`;
      if (c.caseInsensitive) {
        const alternatives = c.values.map(quote).join("|");
        const pattern =
          c.operator === "STR_STARTS_WITH"
            ? `^(?:${alternatives})`
            : c.operator === "STR_ENDS_WITH"
              ? `(?:${alternatives})$`
              : alternatives;
        const problem = patternProblem(pattern, "i");
        if (problem) return problem;
        condition = { matches: [subject, pattern, "i"] };
      } else {
        const op = c.operator === "STR_STARTS_WITH" ? "starts_with" : c.operator === "STR_ENDS_WITH" ? "ends_with" : null;
        condition = anyOf(c.values.map((v): JsonValue => (op ? { [op]: [subject, v] } : { matches: [subject, quote(v)] })));
      }
      break;
    }
    case "DATE_AFTER":
    case "DATE_BEFORE":
      if (single === undefined) return `${c.operator} without a value`;
      condition = { [c.operator === "DATE_AFTER" ? "after" : "before"]: [subject, single] };
      break;
    default:
      if (Object.hasOwn(NUMERIC, c.operator)) {
        const n = Number(single);
        if (single === undefined || single.trim() === "" || !Number.isFinite(n)) return `${JSON.stringify(single)} is not a number`;
        // Unleash: a missing field fails a numeric constraint (JsonLogic would read null as 0).
        condition = { and: [{ "!=": [subject, null] }, { [NUMERIC[c.operator]!]: [subject, n] }] };
      } else if (Object.hasOwn(SEM_VER, c.operator)) {
        if (single === undefined) return `${c.operator} without a value`;
        condition = { sem_ver: [subject, SEM_VER[c.operator]!, String(fullVersion(single))] };
      } else return `operator ${c.operator} has no equivalent`;
  }
  const problem = conditionProblem(condition);
  if (problem !== null) return problem;
  return c.inverted ? { "!": condition } : condition;
}

/** Unleash dependencies as prerequisites: the parent on (or off), or serving its one listed variant. */
function convertDependencies(
  exported: UnleashExport,
  feature: string,
  kinds: Map<string, string>,
  ctx: Ctx,
): { flag: string; variant: string }[] {
  const out: { flag: string; variant: string }[] = [];
  for (const d of exported.dependencies.filter((x) => x.feature === feature).flatMap((x) => x.dependencies)) {
    const kind = kinds.get(d.feature);
    const what = `dependency on "${d.feature}"`;
    if (kind === undefined) ctx.findings.unmappable(feature, ctx.environment, what, "the parent feature is not in the export; left out");
    else if (kind === "boolean" && d.variants.length === 0) out.push({ flag: d.feature, variant: d.enabled ? "on" : "off" });
    else if (kind === "variants" && d.enabled && d.variants.length === 1) out.push({ flag: d.feature, variant: d.variants[0]! });
    else
      ctx.findings.unmappable(
        feature,
        ctx.environment,
        what,
        `a prerequisite names one variant of its parent (this one: ${d.enabled ? `any of ${d.variants.join(", ") || "its variants"}` : "disabled"}); left out`,
      );
  }
  return out;
}

/** The export's segments as edgeflags segments; refs by Unleash segment id. */
function convertSegments(
  exported: UnleashExport,
  environment: string | null,
  segments: ImportedSegment[],
  taken: Set<string>,
  findings: Findings,
  options: ImportOptions,
): Map<number, { name: string } | { reason: string }> {
  const refs = new Map<number, { name: string } | { reason: string }>();
  const target = environment === null ? null : targetEnvironment(environment, options);
  for (const segment of exported.segments) {
    const parts: JsonValue[] = [];
    let reason: string | undefined;
    for (const c of segment.constraints) {
      const condition = convertConstraint(c);
      if (typeof condition === "string") {
        reason = `segment "${segment.name}": ${c.operator} on "${c.contextName}": ${condition}`;
        break;
      }
      parts.push(condition);
    }
    if (reason !== undefined) {
      findings.unmappable(null, target, `segment "${segment.name}"`, `${reason}; strategies using it are left out`);
      refs.set(segment.id, { reason });
      continue;
    }
    const rule: JsonValue = parts.length === 0 ? true : allOf(parts);
    const existing = segments.find(
      (s) =>
        JSON.stringify(s.rule) === JSON.stringify(rule) && s.description === (segment.description || `Unleash segment ${segment.name}`),
    );
    if (existing) {
      refs.set(segment.id, { name: existing.name });
      continue;
    }
    const name = uniqueName(segmentName(segment.name), taken);
    segments.push({ name, description: segment.description || `Unleash segment ${segment.name}`, rule });
    refs.set(segment.id, { name });
  }
  return refs;
}
