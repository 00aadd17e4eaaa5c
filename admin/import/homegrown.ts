/**
 * The homegrown import format (documented in `docs/import-formats.md`): boolean flags, each on or
 * off per environment, with per-customer overrides. JSON or CSV, both turned into the same
 * `ImportPlan`: per environment a boolean flag (`on`/`off`, the default from `enabled`, `off` as
 * its off variant) whose customer overrides become individual targets — one target list per
 * variant, however many customers, never one rule per customer.
 *
 * @example
 * convertHomegrown({ flags: [{ key: "new-checkout", environments: { production: { enabled: false, customers: ["c-1"] } } }] },
 *   { format: "json" }); // ok: production serves "off", except "on" for c-1
 */
import * as z from "zod";
import { flagKeyProblem, OFF_VARIANT_METADATA_KEY } from "../../engine/index";
import type { FlagDefinition } from "../../engine/types";
import type { ImportedFlag, ImportPlan } from "../../contracts/import-plan";
import { ok, type Problem, type Result } from "../../contracts/result";
import { readJson } from "../json-body";
import { FlagInfoPatchSchema, toProblems } from "../schemas";
import { parseCsv, type CsvRow } from "./csv";
import { invalidImport as invalid, selectEnvironments, type ImportOptions } from "./options";

/** The most ids a flag may target (the engine's bound). */
const MAX_TARGETS = 100_000;

/** A customer id: what the engine accepts as a target (non-empty, ≤ 256 characters, no control characters). */
const CustomerIdSchema = z
  .string()
  .min(1, "a customer id must not be empty")
  .max(256, "a customer id has at most 256 characters")
  .refine(
    (id) => ![...id].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f),
    "a customer id must not hold control characters",
  );

const EnvironmentSchema = z
  .object({
    enabled: z.boolean(),
    /** Ids that get the flag on, or id → on (true) / off (false). */
    customers: z.union([z.array(CustomerIdSchema).max(MAX_TARGETS), z.record(CustomerIdSchema, z.boolean())]).optional(),
  })
  .strict();

const FlagSchema = z
  .object({
    key: z.string(),
    description: FlagInfoPatchSchema.shape.description,
    tags: FlagInfoPatchSchema.shape.tags,
    lifetime: FlagInfoPatchSchema.shape.lifetime,
    environments: z.record(z.string(), EnvironmentSchema),
  })
  .strict();

const FileSchema = z.object({ flags: z.array(FlagSchema).max(10_000) }).strict();

/** A flag's facts as CSV rows give them, checked as the JSON's are. */
const CsvInfoSchema = FlagSchema.pick({ description: true, tags: true, lifetime: true });

/** One flag in one environment, as the source says it: on or off, and the customers overridden. */
interface Setting {
  enabled: boolean;
  customers: Map<string, boolean>;
}

/** A flag as read from either format, before it becomes flag definitions. */
interface SourceFlag {
  key: string;
  description?: string;
  tags?: string[];
  lifetime?: "temporary" | "permanent";
  environments: Map<string, Setting>;
}

/**
 * Converts a homegrown export (JSON: the parsed document or its text; CSV: its text) into an
 * import plan. A malformed document is refused as a whole, naming the field or the CSV line.
 */
export function convertHomegrown(data: unknown, options: ImportOptions & { format: "json" | "csv" }): Result<ImportPlan> {
  const targets = Object.values(options.environments ?? {});
  const twice = targets.find((name, i) => targets.indexOf(name) !== i);
  if (twice !== undefined)
    return invalid([{ path: "environments", message: `two source environments are renamed to "${twice}"; map one to each` }]);
  const read = options.format === "csv" ? readCsv(data) : readJsonFlags(data);
  if (!read.ok) return read;
  const problems: Problem[] = [];
  for (const flag of read.value) {
    const problem = flagKeyProblem(flag.key);
    if (problem) problems.push({ path: `flag "${flag.key}"`, message: problem });
  }
  if (problems.length > 0) return invalid(problems);
  const selected = selectEnvironments([...new Set(read.value.flatMap((flag) => [...flag.environments.keys()]))], options);
  if (!selected.ok) return selected;
  return ok({ ...toPlan(read.value, options.environments), unmapped: selected.value });
}

function toPlan(flags: SourceFlag[], rename: Record<string, string> | undefined): ImportPlan {
  const environments: string[] = [];
  const planned: ImportedFlag[] = [];
  for (const flag of flags) {
    const perEnvironment: Record<string, FlagDefinition> = {};
    for (const [source, setting] of flag.environments) {
      const target = rename === undefined ? source : rename[source];
      if (target === undefined) continue;
      if (!environments.includes(target)) environments.push(target);
      perEnvironment[target] = booleanFlag(setting);
    }
    planned.push({ key: flag.key, ...facts(flag), perEnvironment });
  }
  return { source: "homegrown", environments, flags: planned, segments: [], unmapped: [], notes: [] };
}

/** The project-level facts a flag gives (those it leaves out stay as the project has them). */
function facts(flag: Pick<SourceFlag, "description" | "tags" | "lifetime">): Pick<SourceFlag, "description" | "tags" | "lifetime"> {
  return {
    ...(flag.description === undefined ? {} : { description: flag.description }),
    ...(flag.tags === undefined ? {} : { tags: flag.tags }),
    ...(flag.lifetime === undefined ? {} : { lifetime: flag.lifetime }),
  };
}

/** A boolean flag: `on`/`off`, the default from `enabled`, `off` when killed, overrides as targets. */
function booleanFlag(setting: Setting): FlagDefinition {
  const on: string[] = [];
  const off: string[] = [];
  for (const [id, enabled] of setting.customers) (enabled ? on : off).push(id);
  const targets: Record<string, string[]> = {};
  if (on.length > 0) targets["on"] = on.sort();
  if (off.length > 0) targets["off"] = off.sort();
  return {
    state: "ENABLED",
    variants: { on: true, off: false },
    defaultVariant: setting.enabled ? "on" : "off",
    metadata: { [OFF_VARIANT_METADATA_KEY]: "off" },
    ...(Object.keys(targets).length > 0 ? { targets } : {}),
  };
}

// ---- JSON ---------------------------------------------------------------------------------------

function readJsonFlags(data: unknown): Result<SourceFlag[]> {
  let document = data;
  if (typeof data === "string") {
    const parsed = readJson(data);
    if (!parsed.ok) return invalid([{ path: "data", message: parsed.detail }]);
    document = parsed.value;
  }
  const parsed = FileSchema.safeParse(document);
  if (!parsed.success)
    return invalid(toProblems(parsed.error).map((p) => ({ ...p, path: p.path === "(body)" ? "data" : `data.${p.path}` })));
  const flags: SourceFlag[] = [];
  const seen = new Set<string>();
  for (const [index, flag] of parsed.data.flags.entries()) {
    if (seen.has(flag.key))
      return invalid([{ path: `data.flags.${index}.key`, message: `flag "${flag.key}" is listed twice; list it once` }]);
    seen.add(flag.key);
    const environments = new Map<string, Setting>();
    for (const [name, setting] of Object.entries(flag.environments)) {
      const customers = new Map<string, boolean>();
      if (Array.isArray(setting.customers)) for (const id of setting.customers) customers.set(id, true);
      else for (const [id, enabled] of Object.entries(setting.customers ?? {})) customers.set(id, enabled);
      environments.set(name, { enabled: setting.enabled, customers });
    }
    flags.push({ key: flag.key, ...facts(flag), environments });
  }
  return ok(flags);
}

// ---- CSV ----------------------------------------------------------------------------------------

const REQUIRED_COLUMNS = ["flag", "environment", "enabled", "customers"] as const;
const OPTIONAL_COLUMNS = ["description", "tags", "lifetime"] as const;
const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

/** A CSV flag while its rows are merged: where each fact came from, to name both lines of a conflict. */
interface CsvFlag {
  flag: SourceFlag;
  description?: { value: string; line: number };
  tags?: { value: string; line: number };
  lifetime?: { value: string; line: number };
  enabled: Map<string, { value: boolean; line: number }>;
  customers: Map<string, Map<string, { value: boolean; line: number }>>;
}

function readCsv(data: unknown): Result<SourceFlag[]> {
  if (typeof data !== "string") return invalid([{ path: "data", message: "a CSV import sends the CSV text as a string" }]);
  const parsed = parseCsv(data);
  if (!parsed.ok) return lineProblem(parsed.line, parsed.detail);
  const [header, ...rows] = parsed.rows;
  if (!header) return invalid([{ path: "data", message: `the CSV is empty; it needs the header ${REQUIRED_COLUMNS.join(",")}` }]);
  const columns = header.fields.map((name) => name.trim().toLowerCase());
  const known: readonly string[] = [...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS];
  const unknown = columns.find((name) => !known.includes(name));
  if (unknown !== undefined) return lineProblem(header.line, `unknown column "${unknown}" (the columns are ${known.join(", ")})`);
  const missing = REQUIRED_COLUMNS.find((name) => !columns.includes(name));
  if (missing !== undefined)
    return lineProblem(header.line, `the header has no "${missing}" column (it needs ${REQUIRED_COLUMNS.join(",")})`);
  if (new Set(columns).size !== columns.length) return lineProblem(header.line, "a column is named twice");
  const flags = new Map<string, CsvFlag>();
  for (const row of rows) {
    const added = addRow(flags, row, (name) => row.fields[columns.indexOf(name)]?.trim() ?? "", columns.length);
    if (!added.ok) return added;
  }
  const out: SourceFlag[] = [];
  for (const entry of flags.values()) {
    for (const [environment, customers] of entry.customers) {
      const enabled = entry.enabled.get(environment);
      if (enabled === undefined) {
        const line = Math.min(...[...customers.values()].map((c) => c.line));
        return lineProblem(
          line,
          `no row says whether "${entry.flag.key}" is enabled in "${environment}"; fill in "enabled" (true or false)`,
        );
      }
      const map = new Map<string, boolean>();
      for (const [id, value] of customers) map.set(id, value.value);
      entry.flag.environments.set(environment, { enabled: enabled.value, customers: map });
    }
    out.push(entry.flag);
  }
  return ok(out);
}

/** Merges one CSV row into its flag; a row contradicting an earlier one is refused naming both lines. */
function addRow(flags: Map<string, CsvFlag>, row: CsvRow, field: (name: string) => string, width: number): Result<void> {
  if (row.fields.length !== width) return lineProblem(row.line, `${row.fields.length} fields, the header has ${width}`);
  const key = field("flag");
  const environment = field("environment");
  if (key === "") return lineProblem(row.line, "the flag key is empty");
  if (environment === "") return lineProblem(row.line, "the environment is empty");
  let entry = flags.get(key);
  if (!entry) {
    entry = { flag: { key, environments: new Map() }, enabled: new Map(), customers: new Map() };
    flags.set(key, entry);
  }
  for (const fact of OPTIONAL_COLUMNS) {
    const value = field(fact);
    if (value === "") continue;
    const earlier = entry[fact];
    if (earlier && earlier.value !== value) return lineProblem(row.line, `${fact} of "${key}" differs from line ${earlier.line}`);
    entry[fact] = { value, line: row.line };
  }
  if (entry.description) entry.flag.description = entry.description.value;
  if (entry.tags) entry.flag.tags = splitList(entry.tags.value);
  const info = CsvInfoSchema.safeParse({
    description: entry.flag.description,
    tags: entry.flag.tags,
    lifetime: entry.lifetime?.value.toLowerCase(),
  });
  if (info.success && info.data.lifetime) entry.flag.lifetime = info.data.lifetime;
  if (!info.success)
    return lineProblem(
      row.line,
      toProblems(info.error)
        .map((p) => `${p.path}: ${p.message}`)
        .join("; "),
    );
  const enabledText = field("enabled").toLowerCase();
  if (enabledText !== "") {
    if (!TRUE.has(enabledText) && !FALSE.has(enabledText))
      return lineProblem(row.line, `enabled must be true or false, got "${field("enabled").slice(0, 50)}"`);
    const value = TRUE.has(enabledText);
    const earlier = entry.enabled.get(environment);
    if (earlier && earlier.value !== value)
      return lineProblem(
        row.line,
        `"${key}" in "${environment}" is enabled=${value} here but enabled=${earlier.value} on line ${earlier.line}`,
      );
    entry.enabled.set(environment, { value, line: row.line });
  }
  let customers = entry.customers.get(environment);
  if (!customers) {
    customers = new Map();
    entry.customers.set(environment, customers);
  }
  for (const item of splitList(field("customers"))) {
    const at = item.lastIndexOf("=");
    const id = (at < 0 ? item : item.slice(0, at)).trim();
    const setting =
      at < 0
        ? "true"
        : item
            .slice(at + 1)
            .trim()
            .toLowerCase();
    if (!TRUE.has(setting) && !FALSE.has(setting))
      return lineProblem(row.line, `customer "${id.slice(0, 50)}": write id (on), id=true or id=false, got "=${setting.slice(0, 20)}"`);
    const checked = CustomerIdSchema.safeParse(id);
    if (!checked.success) return lineProblem(row.line, `customer "${id.slice(0, 50)}": ${checked.error.issues[0]!.message}`);
    const value = TRUE.has(setting);
    const earlier = customers.get(id);
    if (earlier && earlier.value !== value)
      return lineProblem(
        row.line,
        `customer "${id}" of "${key}" in "${environment}" is ${value ? "on" : "off"} here, ${earlier.value ? "on" : "off"} on line ${earlier.line}`,
      );
    customers.set(id, { value, line: row.line });
    if (customers.size > MAX_TARGETS)
      return lineProblem(row.line, `"${key}" in "${environment}" overrides more than ${MAX_TARGETS} customers`);
  }
  return ok(undefined);
}

/** `a; b;c;` → `["a", "b", "c"]`. */
function splitList(text: string): string[] {
  return text
    .split(";")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function lineProblem<T>(line: number, message: string): Result<T> {
  return invalid([{ path: `data line ${line}`, message }]);
}
