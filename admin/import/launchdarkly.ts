/**
 * Converts a LaunchDarkly project (the REST API's "List feature flags" answer, `GET
 * /api/v2/flags/{project}?summary=0`: `{"items": [flag, …]}`, or those flags with the project's
 * segments per environment: `{"flags": …, "segments": {"<env>": [segment, …]}}`) into an import plan.
 *
 * Per flag and environment: `on` → `state` (off → DISABLED with `edgeflags.offVariant` the off
 * variation); user `targets` → `targets`; other context kinds' targets and the rules → an `if` chain
 * in order, each rule's clauses AND'ed, each clause's values OR'ed; the fallthrough → the chain's
 * last answer (or the default variant); percentage rollouts → `fractional` (a `rebucketed` note
 * each); prerequisites → `prerequisites`, with the off variation as the default variant so a
 * failed prerequisite serves it, as in LaunchDarkly. Whatever has no faithful equivalent is listed
 * in `unmapped` and its rule left out.
 */
import * as z from "zod";
import { flagKeyProblem } from "../../engine/index";
import type { FlagDefinition, JsonValue } from "../../engine/types";
import type { ImportedFlag, ImportedSegment, ImportPlan } from "../../contracts/import-plan";
import { ok } from "../../contracts/result";
import type { Result } from "../../contracts/result";
import { selectEnvironments, type ImportOptions } from "./options";
import {
  allOf,
  anyOf,
  Findings,
  finishPlan,
  notAnExport,
  conditionProblem,
  fullVersion,
  ifChain,
  quote,
  segmentName,
  targetEnvironment,
  toJson,
  uniqueName,
  variantValue,
} from "./vendor-common";
import { patternProblem } from "../../engine/regex";

const Clause = z.object({
  attribute: z.string(),
  op: z.string(),
  values: z.array(z.unknown()).max(100_000),
  negate: z.boolean().default(false),
  contextKind: z.string().optional(),
});
const Rollout = z.object({
  variations: z.array(z.object({ variation: z.number().int().min(0), weight: z.number().int().min(0) })),
  bucketBy: z.string().optional(),
  contextKind: z.string().optional(),
  kind: z.string().optional(),
  seed: z.number().nullable().optional(),
});
const Serve = z.object({ variation: z.number().int().min(0).optional(), rollout: Rollout.optional() });
const Rule = Serve.extend({ description: z.string().optional(), clauses: z.array(Clause), trackEvents: z.boolean().optional() });
const Target = z.object({ values: z.array(z.string()), variation: z.number().int().min(0), contextKind: z.string().optional() });
const Environment = z.object({
  on: z.boolean(),
  archived: z.boolean().optional(),
  targets: z.array(Target).default([]),
  contextTargets: z.array(Target).default([]),
  rules: z.array(Rule).default([]),
  fallthrough: Serve.optional(),
  offVariation: z.number().int().min(0).nullable().optional(),
  prerequisites: z.array(z.object({ key: z.string(), variation: z.number().int().min(0) })).default([]),
  trackEventsFallthrough: z.boolean().optional(),
});
const Flag = z.object({
  key: z.string().min(1),
  name: z.string().optional(),
  description: z.string().optional(),
  tags: z.array(z.string()).default([]),
  temporary: z.boolean().optional(),
  archived: z.boolean().optional(),
  variations: z.array(z.object({ value: z.unknown(), name: z.string().optional() })).min(1),
  environments: z.record(z.string(), Environment).default({}),
});
const SegmentRule = z.object({
  clauses: z.array(Clause),
  weight: z.number().nullable().optional(),
  bucketBy: z.string().optional(),
});
const ContextList = z.array(z.object({ contextKind: z.string(), values: z.array(z.string()) }));
const Segment = z.object({
  key: z.string().min(1),
  name: z.string().optional(),
  description: z.string().optional(),
  included: z.array(z.string()).default([]),
  excluded: z.array(z.string()).default([]),
  includedContexts: ContextList.default([]),
  excludedContexts: ContextList.default([]),
  rules: z.array(SegmentRule).default([]),
  unbounded: z.boolean().optional(),
});
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** A list as the API pages it (`{"items": [...]}`) or bare. */
const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (isRecord(v) && Array.isArray(v["items"]) ? v["items"] : v), z.array(item));
/** The flags alone (an API answer) or `{"flags", "segments"}`. */
const Export = z.preprocess(
  (v) => (Array.isArray(v) || (isRecord(v) && !("flags" in v)) ? { flags: v } : v),
  z.object({ flags: listOf(Flag), segments: z.record(z.string(), listOf(Segment)).default({}) }),
);

type LdFlag = z.infer<typeof Flag>;
type LdEnvironment = z.infer<typeof Environment>;
type LdClause = z.infer<typeof Clause>;
type LdServe = z.infer<typeof Serve>;

/** Segment refs of one source environment: key → segment name, or why it cannot be used. */
type SegmentRefs = Map<string, { name: string } | { reason: string }>;

/**
 * Converts a LaunchDarkly export; fails only when the data is not one (the problems name the path).
 *
 * @example convertLaunchDarkly({ items: [flag] }, { environments: { production: "prod" } })
 */
export function convertLaunchDarkly(data: unknown, options: ImportOptions): Result<ImportPlan> {
  const parsed = Export.safeParse(data);
  if (!parsed.success) return notAnExport(parsed.error, "not a LaunchDarkly flag export (GET /api/v2/flags/{project}?summary=0)");
  const findings = new Findings();
  const selected = selectEnvironments([...new Set(parsed.data.flags.flatMap((f) => Object.keys(f.environments)))], options);
  if (!selected.ok) return selected;
  findings.unmapped.push(...selected.value);
  const { segments, refs } = convertSegments(parsed.data.segments, options, findings);
  const variantNames = new Map(parsed.data.flags.map((f) => [f.key, variationNames(f)]));
  const environments: string[] = [];
  const flags: ImportedFlag[] = [];
  for (const flag of parsed.data.flags) {
    const keyProblem = flagKeyProblem(flag.key);
    if (keyProblem) {
      findings.unmappable(flag.key, null, "flag key", `not imported: ${keyProblem}`);
      continue;
    }
    if (flag.archived) {
      findings.unmappable(flag.key, null, "archived flag", "not imported: the flag is archived in LaunchDarkly");
      continue;
    }
    const names = variantNames.get(flag.key)!;
    const variants: Record<string, JsonValue> = {};
    const bad = flag.variations.findIndex((v, i) => {
      const value = variantValue(v.value);
      if (value !== undefined) variants[names[i]!] = value;
      return value === undefined;
    });
    if (bad !== -1) {
      findings.unmappable(
        flag.key,
        null,
        `variation ${bad} value`,
        `not imported: ${JSON.stringify(flag.variations[bad]!.value)} is not a boolean, string, number or object, which edgeflags variants must be`,
      );
      continue;
    }
    const imported: ImportedFlag = {
      key: flag.key,
      tags: flag.tags,
      lifetime: flag.temporary ? "temporary" : "permanent",
      perEnvironment: {},
    };
    const description = flag.description || flag.name;
    if (description) imported.description = description;
    for (const [source, env] of Object.entries(flag.environments)) {
      const target = targetEnvironment(source, options);
      if (target === null) continue;
      if (!environments.includes(target)) environments.push(target);
      const context: FlagContext = { flag, names, environment: target, findings, refs: refs.get(source) ?? new Map(), variantNames };
      imported.perEnvironment[target] = convertEnvironment(env, variants, context);
    }
    flags.push(imported);
  }
  return ok(finishPlan("launchdarkly", environments, flags, segments, findings));
}

interface FlagContext {
  flag: LdFlag;
  names: string[];
  environment: string;
  findings: Findings;
  refs: SegmentRefs;
  variantNames: Map<string, string[]>;
}

/** Variant names: the variation's name, else its value, else `variation-<i>`; unique. */
function variationNames(flag: LdFlag): string[] {
  const taken = new Set<string>();
  return flag.variations.map((v, i) => {
    const value = v.value;
    const preferred =
      v.name?.trim() || (typeof value === "string" || typeof value === "boolean" || typeof value === "number" ? String(value) : "");
    const name = preferred === "" || preferred === "__proto__" || taken.has(preferred) ? `variation-${i}` : preferred;
    taken.add(name);
    return name;
  });
}

function convertEnvironment(env: LdEnvironment, variants: Record<string, JsonValue>, ctx: FlagContext): FlagDefinition {
  const { findings, flag, environment } = ctx;
  const name = (i: number | null | undefined): string | null => (i === null || i === undefined ? null : (ctx.names[i] ?? null));
  const off = name(env.offVariation);
  const definition: FlagDefinition = { state: env.on ? "ENABLED" : "DISABLED", variants };
  if (off !== null) definition.metadata = { "edgeflags.offVariant": off };

  const targets: Record<string, string[]> = {};
  const pairs: [JsonValue, JsonValue][] = [];
  for (const t of [...env.targets, ...env.contextTargets]) {
    const variant = name(t.variation);
    if (variant === null) continue;
    if (t.contextKind === undefined || t.contextKind === "user") {
      if (t.values.length > 0) targets[variant] = [...new Set([...(targets[variant] ?? []), ...t.values])];
      continue;
    }
    pairs.push([{ in: [{ var: `${t.contextKind}.key` }, t.values] }, variant]);
    findings.note(
      flag.key,
      environment,
      "approximated",
      `targets of context kind "${t.contextKind}" match the context attribute "${t.contextKind}.key", after the user targets`,
    );
  }
  if (Object.keys(targets).length > 0) definition.targets = targets;

  env.rules.forEach((rule, i) => {
    const label = `rule ${i + 1}${rule.description ? ` ("${rule.description}")` : ""}`;
    const conditions: JsonValue[] = [];
    for (const clause of rule.clauses) {
      const condition = convertClause(clause, ctx);
      if (typeof condition === "string") {
        findings.unmappable(
          flag.key,
          environment,
          `${label} clause op "${clause.op}" on "${clause.attribute}"`,
          `${condition}; the rule is left out`,
        );
        return;
      }
      conditions.push(condition);
    }
    const served = serve(rule, label, ctx);
    if (served === undefined) return;
    if (rule.trackEvents)
      findings.unmappable(flag.key, environment, `${label} trackEvents`, "event tracking per rule is not imported; the rule is");
    pairs.push([conditions.length === 0 ? true : allOf(conditions), served]);
  });

  const fallthrough = env.fallthrough ? serve(env.fallthrough, "the default rule", ctx) : undefined;
  if (env.trackEventsFallthrough)
    findings.unmappable(
      flag.key,
      environment,
      "the default rule trackEvents",
      "event tracking of the default rule is not imported; the rule is",
    );
  const prerequisites = convertPrerequisites(env, ctx);
  if (prerequisites.length > 0) {
    definition.prerequisites = prerequisites;
    // LaunchDarkly serves the off variation when a prerequisite fails; edgeflags the default variant.
    definition.defaultVariant = off;
    const targeting = ifChain(pairs, fallthrough);
    if (targeting !== undefined && typeof targeting === "object") definition.targeting = targeting;
    else if (typeof targeting === "string") definition.targeting = { if: [true, targeting, null] };
  } else if (typeof fallthrough === "string" || fallthrough === undefined) {
    definition.defaultVariant = typeof fallthrough === "string" ? fallthrough : off;
    const targeting = ifChain(pairs, undefined);
    if (targeting !== undefined) definition.targeting = targeting;
  } else {
    definition.defaultVariant = off;
    definition.targeting = ifChain(pairs, fallthrough)!;
  }
  return definition;
}

function convertPrerequisites(env: LdEnvironment, ctx: FlagContext): { flag: string; variant: string }[] {
  const out: { flag: string; variant: string }[] = [];
  for (const p of env.prerequisites) {
    const variant = ctx.variantNames.get(p.key)?.[p.variation];
    if (variant === undefined) {
      ctx.findings.unmappable(
        ctx.flag.key,
        ctx.environment,
        `prerequisite "${p.key}"`,
        `flag "${p.key}" (variation ${p.variation}) is not in the export; the prerequisite is left out`,
      );
      continue;
    }
    out.push({ flag: p.key, variant });
  }
  return out;
}

/** A variation name or a `fractional` for a rule or the fallthrough; `undefined` (noted) when neither. */
function serve(served: LdServe, label: string, ctx: FlagContext): JsonValue | undefined {
  if (served.variation !== undefined) {
    const name = ctx.names[served.variation];
    if (name !== undefined) return name;
  }
  const rollout = served.rollout;
  if (!rollout) {
    ctx.findings.unmappable(ctx.flag.key, ctx.environment, `${label} variation`, "serves no variation of the flag; left out");
    return undefined;
  }
  const buckets: JsonValue[] = [];
  for (const v of rollout.variations) {
    const name = ctx.names[v.variation];
    if (name === undefined) {
      ctx.findings.unmappable(ctx.flag.key, ctx.environment, `${label} rollout`, `variation ${v.variation} does not exist; left out`);
      return undefined;
    }
    buckets.push([name, v.weight]);
  }
  if (rollout.kind === "experiment") {
    ctx.findings.unmappable(
      ctx.flag.key,
      ctx.environment,
      `${label} experiment`,
      "the experiment (its metrics and allocation) is not imported; its split is, as a percentage rollout",
    );
  }
  const by = rollout.bucketBy && rollout.bucketBy !== "key" ? attributePath(rollout.bucketBy, rollout.contextKind) : null;
  const byKind = rollout.contextKind !== undefined && rollout.contextKind !== "user" ? attributePath("key", rollout.contextKind) : null;
  const bucketBy = by ?? byKind;
  ctx.findings.note(
    ctx.flag.key,
    ctx.environment,
    "rebucketed",
    `${label}'s percentage rollout (${rollout.variations.map((v) => `${ctx.names[v.variation]} ${v.weight / 1000}%`).join(", ")}) is re-bucketed: edgeflags hashes ${bucketBy ? `"${bucketBy}"` : "the targeting key"} differently from LaunchDarkly, so units may change variation; pin today's assignments to keep them`,
  );
  return { fractional: bucketBy ? [{ cat: [{ var: "$flagd.flagKey" }, { var: bucketBy }] }, ...buckets] : buckets };
}

/** A LaunchDarkly attribute (a name or a `/`-reference) as a context path. */
function attributePath(attribute: string, contextKind: string | undefined): string {
  const path = attribute.startsWith("/")
    ? attribute
        .slice(1)
        .split("/")
        .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
        .join(".")
    : attribute;
  const own = path === "key" ? "targetingKey" : path;
  return contextKind === undefined || contextKind === "user" ? own : `${contextKind}.${path}`;
}

const SEM_VER: Readonly<Record<string, string>> = { semVerEqual: "=", semVerLessThan: "<", semVerGreaterThan: ">" };
const NUMERIC: Readonly<Record<string, string>> = { lessThan: "<", lessThanOrEqual: "<=", greaterThan: ">", greaterThanOrEqual: ">=" };

/** One clause as JsonLogic, or why it cannot be. */
function convertClause(clause: LdClause, ctx: FlagContext | { refs: SegmentRefs }): JsonValue | string {
  if (clause.op === "segmentMatch") {
    const refs: JsonValue[] = [];
    for (const key of clause.values) {
      const ref = typeof key === "string" ? ctx.refs.get(key) : undefined;
      if (!ref) return `segment ${JSON.stringify(key)} is not in the export (export the project's segments with the flags)`;
      if ("reason" in ref) return ref.reason;
      refs.push({ $ref: ref.name });
    }
    const any = anyOf(refs);
    return clause.negate ? { "!": any } : any;
  }
  if (clause.attribute === "kind" || clause.attribute === "/kind")
    return "clauses on the context kind have no equivalent in an OpenFeature context";
  const subject: JsonValue = { var: attributePath(clause.attribute, clause.contextKind) };
  const values: JsonValue[] = [];
  for (const v of clause.values) {
    const json = toJson(v, 0);
    if (json === undefined) return "a clause value is not JSON";
    values.push(json);
  }
  const strings = values.filter((v): v is string => typeof v === "string");
  if (clause.op === "in" && values.some((v) => v !== null && typeof v === "object"))
    return "in with JSON object or array values has no equivalent";
  if ((clause.op === "startsWith" || clause.op === "endsWith" || clause.op === "contains") && strings.length !== values.length)
    return `${clause.op} takes strings`;
  if (Object.hasOwn(NUMERIC, clause.op) && values.some((v) => typeof v !== "number")) return `${clause.op} takes numbers`;
  const byValue = (build: (v: JsonValue) => JsonValue | string): JsonValue | string => {
    const out: JsonValue[] = [];
    for (const v of values) {
      const one = build(v);
      if (typeof one === "string") return one;
      out.push(one);
    }
    return out.length === 0 ? false : anyOf(out);
  };
  /** The clause applied to one attribute value `x`. */
  const test = (x: JsonValue): JsonValue | string => {
    switch (clause.op) {
      case "in":
        return { in: [x, values] };
      case "startsWith":
      case "endsWith":
        return byValue((v) => ({ [clause.op === "startsWith" ? "starts_with" : "ends_with"]: [x, v] }));
      case "contains":
        return byValue((v) => ({ matches: [x, quote(String(v))] }));
      case "matches":
        return byValue((v) => {
          const problem = patternProblem(v, undefined);
          return problem === null ? { matches: [x, v] } : `pattern ${JSON.stringify(v)}: ${problem}`;
        });
      case "before":
      case "after":
        return byValue((v) => ({ [clause.op]: [x, v] }));
    }
    if (Object.hasOwn(NUMERIC, clause.op)) {
      // LaunchDarkly compares numbers only: `{"+": [x]}` equals x exactly when x is a number.
      return { and: [{ "===": [{ "+": [x] }, x] }, byValue((v) => ({ [NUMERIC[clause.op]!]: [x, v] }))] };
    }
    if (Object.hasOwn(SEM_VER, clause.op)) return byValue((v) => ({ sem_ver: [x, SEM_VER[clause.op]!, fullVersion(v)] }));
    return `operator "${clause.op}" has no equivalent`;
  };
  const direct = test(subject);
  if (typeof direct === "string") return direct;
  const problem = conditionProblem(direct);
  if (problem !== null) return problem;
  // LaunchDarkly applies a clause to each element of an array attribute: any may match.
  const element = test({ var: "" });
  if (typeof element === "string") return element;
  const condition: JsonValue = { or: [direct, { some: [subject, element] }] };
  // LaunchDarkly: a clause on an attribute the context lacks is false, negated or not.
  return clause.negate ? { and: [{ "!=": [subject, null] }, { "!": condition }] } : condition;
}

/**
 * The project's segments as edgeflags segments. A segment identical in every environment is one
 * segment named after its key; one that differs gets one per environment (`<key>-<env>`).
 */
function convertSegments(
  input: Record<string, z.infer<typeof Segment>[]>,
  options: ImportOptions,
  findings: Findings,
): { segments: ImportedSegment[]; refs: Map<string, SegmentRefs> } {
  const converted = new Map<string, { environment: string; segment: Omit<ImportedSegment, "name"> | string }[]>();
  for (const [source, list] of Object.entries(input)) {
    const target = targetEnvironment(source, options);
    if (target === null) continue;
    for (const segment of list) {
      converted.set(segment.key, [
        ...(converted.get(segment.key) ?? []),
        { environment: source, segment: convertSegment(segment, target, findings) },
      ]);
    }
  }
  const segments: ImportedSegment[] = [];
  const refs = new Map<string, SegmentRefs>();
  const taken = new Set<string>();
  for (const [key, versions] of converted) {
    const same = versions.every((v) => JSON.stringify(v.segment) === JSON.stringify(versions[0]!.segment));
    let shared: string | undefined;
    for (const { environment, segment } of versions) {
      const envRefs = refs.get(environment) ?? new Map();
      refs.set(environment, envRefs);
      if (typeof segment === "string") {
        envRefs.set(key, { reason: segment });
        continue;
      }
      if (!same || shared === undefined) {
        const name = uniqueName(segmentName(same ? key : `${key}-${targetEnvironment(environment, options)}`), taken);
        segments.push({ name, ...segment });
        if (same) shared = name;
        envRefs.set(key, { name });
      } else envRefs.set(key, { name: shared });
    }
  }
  return { segments, refs };
}

function convertSegment(segment: z.infer<typeof Segment>, environment: string, findings: Findings): Omit<ImportedSegment, "name"> | string {
  const description = segment.description || segment.name || `LaunchDarkly segment ${segment.key}`;
  const where = `segment "${segment.key}"`;
  if (segment.unbounded) {
    findings.unmappable(
      null,
      environment,
      where,
      "a big (unbounded) segment keeps its members outside the export; flags using it keep those rules out",
    );
    return "the segment is unbounded (its members are not in the export)";
  }
  const other = [...segment.includedContexts, ...segment.excludedContexts].filter((c) => c.contextKind !== "user");
  if (other.length > 0) {
    findings.unmappable(
      null,
      environment,
      where,
      `members of context kind ${other.map((c) => `"${c.contextKind}"`).join(", ")} have no equivalent; flags using it keep those rules out`,
    );
    return "the segment lists members of other context kinds";
  }
  const included = [...segment.included, ...segment.includedContexts.flatMap((c) => c.values)];
  const excluded = [...segment.excluded, ...segment.excludedContexts.flatMap((c) => c.values)];
  if (excluded.length === 0 && segment.rules.length === 0) return { description, members: included };
  const rules: JsonValue[] = [];
  for (const [i, rule] of segment.rules.entries()) {
    if (rule.weight !== undefined && rule.weight !== null) {
      findings.unmappable(
        null,
        environment,
        `${where} rule ${i + 1} weight`,
        "a percentage of a segment rule has no equivalent; flags using the segment keep those rules out",
      );
      return "a segment rule includes a percentage of contexts";
    }
    const clauses: JsonValue[] = [];
    for (const clause of rule.clauses) {
      const condition = convertClause(clause, { refs: new Map() });
      if (typeof condition === "string") {
        findings.unmappable(
          null,
          environment,
          `${where} rule ${i + 1} clause op "${clause.op}"`,
          `${condition}; flags using the segment keep those rules out`,
        );
        return `a clause of the segment cannot be mapped (${condition})`;
      }
      clauses.push(condition);
    }
    rules.push(allOf(clauses));
  }
  const key = { var: "targetingKey" };
  const matched: JsonValue = rules.length > 0 ? anyOf(rules) : false;
  const byRules: JsonValue = excluded.length > 0 ? { and: [{ "!": { in: [key, excluded] } }, matched] } : matched;
  return { description, rule: included.length > 0 ? { or: [{ in: [key, included] }, byRules] } : byRules };
}
