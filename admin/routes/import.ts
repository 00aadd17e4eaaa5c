/**
 * `POST /admin/v1/projects/{p}/import`: brings flags from another system (a homegrown export,
 * a LaunchDarkly project, an Unleash export; the converters in `../import/`) into the project in
 * one transaction. `?dryRun=true` answers the diff and writes nothing; re-running an import
 * changes nothing (`changed: false`). The formats are described in `docs/import-formats.md`.
 *
 * @example
 * curl -X POST 'localhost:8787/admin/v1/projects/shop/import?dryRun=true' -H "authorization: Bearer $ADMIN_TOKEN" \
 *   -d '{"source": "homegrown", "format": "csv", "data": "flag,environment,enabled,customers\nnew-checkout,production,false,c-1;c-2\n"}'
 */
import * as z from "../../contracts/zod";
import type { ImportPlan } from "../../contracts/import-plan";
import { IMPORT_EDITED_POLICIES, ImportResultSchema } from "../../contracts/import-result";
import { ok, type Problem, type Result } from "../../contracts/result";
import { convertHomegrown } from "../import/homegrown";
import { convertLaunchDarkly } from "../import/launchdarkly";
import { invalidImport as invalid, type ImportOptions } from "../import/options";
import { convertUnleash } from "../import/unleash";
import { storeProblem } from "../problem";
import { FlagKeySchema, NameSchema, SegmentBodySchema, toProblems } from "../schemas";
import { adminApp, adminRoute, defineRoute, meta, noteWritten, P, readBody, readQuery, call } from "./kit";

export const imports = adminApp();

/** A unit whose assignment today is kept: it becomes a target of `variant` in that flag and environment. */
const PinSchema = z
  .object({
    flag: FlagKeySchema,
    environment: NameSchema,
    targetingKey: z.string().min(1).max(256),
    variant: z.string().min(1).max(200),
  })
  .strict();

export const ImportBodySchema = z
  .object({
    source: z.enum(["homegrown", "launchdarkly", "unleash"]),
    /** For `homegrown`: `json` (the default for a JSON value) or `csv` (the default for a string). */
    format: z.enum(["json", "csv"]).optional(),
    /** The export: a JSON document, or the CSV (or JSON) text. */
    data: z.unknown().refine((data) => data !== undefined && data !== null, "send the export in `data`"),
    /** Source environment → edgeflags environment; only the environments named are imported. */
    environments: z.record(z.string().min(1).max(200), NameSchema).optional(),
    pin: z.array(PinSchema).max(100_000).optional(),
    /**
     * A flag changed in edgeflags since an import wrote it: `refuse` (default, 409 naming each),
     * `keep` it as edgeflags has it, or `overwrite` it with the export.
     */
    edited: z.enum(IMPORT_EDITED_POLICIES).optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("ImportBody");

const ImportQuerySchema = z.object({ dryRun: z.enum(["true", "false"]).optional() });

const run = adminRoute({
  method: "post",
  permission: "admin",
  path: `${P}/import`,
  summary: "Import flags from a homegrown export, LaunchDarkly or Unleash (?dryRun=true for the diff only)",
  body: ImportBodySchema,
  query: ImportQuerySchema,
  response: ImportResultSchema,
});
defineRoute(imports, run, async (c) => {
  const query = readQuery(c, run, "dryRun is true or false");
  if (query instanceof Response) return query;
  const body = await readBody(c, run);
  if (body instanceof Response) return body;
  const plan = convert(body);
  if (!plan.ok) return storeProblem(plan.error);
  const names = checkNames(plan.value);
  if (!names.ok) return storeProblem(names.error);
  const dryRun = query.dryRun === "true";
  // The plan crosses RPC by structured clone, which refuses objects without a prototype (a
  // converter's safe records): it travels as the plain JSON it is.
  const portable: ImportPlan = JSON.parse(JSON.stringify(plan.value));
  const result = await call(c, (s) =>
    s.imports().apply(portable, { dryRun, pins: body.pin ?? [], edited: body.edited ?? "refuse", meta: meta(c, body.reason) }),
  );
  if (!result.ok) return storeProblem(result.error);
  if (!dryRun && result.value.changed) {
    for (const [environment, entry] of Object.entries(result.value.environments))
      noteWritten(c, c.get("project"), environment, entry.version);
  }
  return c.json(result.value);
});

/** The plan of the body's source. */
function convert(body: z.output<typeof ImportBodySchema>): Result<ImportPlan> {
  const options: ImportOptions = body.environments ? { environments: body.environments } : {};
  switch (body.source) {
    case "homegrown":
      return convertHomegrown(body.data, { ...options, format: body.format ?? (typeof body.data === "string" ? "csv" : "json") });
    case "launchdarkly":
    case "unleash": {
      if (body.format === "csv") return invalid([{ path: "format", message: `a ${body.source} export is JSON; leave out "format"` }]);
      return body.source === "launchdarkly" ? convertLaunchDarkly(body.data, options) : convertUnleash(body.data, options);
    }
  }
}

/**
 * The names a plan brings in, checked as the admin API checks them everywhere else: environment
 * names, flag keys, segment names and bodies. Whatever the source held, nothing ill-named is stored.
 */
function checkNames(plan: ImportPlan): Result<void> {
  const problems: Problem[] = [];
  for (const name of plan.environments) {
    const parsed = NameSchema.safeParse(name);
    if (!parsed.success)
      problems.push({ path: `environment "${name}"`, message: `${parsed.error.issues[0]!.message}; rename it with "environments"` });
  }
  for (const flag of plan.flags) {
    const parsed = FlagKeySchema.safeParse(flag.key);
    if (!parsed.success) problems.push({ path: `flag "${flag.key}"`, message: parsed.error.issues[0]!.message });
  }
  for (const segment of plan.segments) {
    const parsed = NameSchema.safeParse(segment.name);
    if (!parsed.success) problems.push({ path: `segment "${segment.name}"`, message: parsed.error.issues[0]!.message });
    const { name: _name, ...input } = segment;
    const body = SegmentBodySchema.safeParse(input);
    if (!body.success)
      for (const p of toProblems(body.error)) problems.push({ path: `segment "${segment.name}".${p.path}`, message: p.message });
  }
  return problems.length > 0 ? invalid(problems) : ok(undefined);
}
