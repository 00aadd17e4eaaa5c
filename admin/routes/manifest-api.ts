/**
 * The OpenFeature CLI's Manifest Management API (`api/v0/sync.yaml` of open-feature/cli) over one
 * environment, so `openfeature pull` and `openfeature push` work against edgeflags with no plugin.
 * Point the CLI at the environment's base URL; it appends `/openfeature/v0/manifest`:
 *
 *   openfeature pull --provider-url https://flags.example.com/admin/v1/projects/shop/environments/qa \
 *     --auth-token "$EDGEFLAGS_ADMIN_KEY"
 *
 * - `GET …/openfeature/v0/manifest`: the environment's flags as `{flags: [{key, name, type,
 *   description, defaultValue}]}`. The API has no floating-point type, so a flag of fractional
 *   numbers is left out and named in `X-Edgeflags-Skipped`, as are flags without one type or a default.
 * - `POST …/flags`: creates a flag (as manifest sync does: a boolean gets `on`/`off` with `off` as
 *   its off variant, any other type one variant `default`); 409 when the key exists.
 * - `PUT …/flags/{key}`: the description, and the default value when one of the flag's variants
 *   serves it (the default variant moves there); a changed type, or a value no variant serves, is 409.
 * - `DELETE …/flags/{key}`: deletes the flag in this environment (a hard delete: `archivedAt` null).
 *
 * Errors carry the API's `{"error": {"message", "status"}}` inside the problem+json body, so both
 * the OpenFeature CLI and problem+json readers understand them.
 */
import * as z from "../../contracts/zod";
import { JsonValueSchema } from "../../contracts/admin-responses";
import { isOfType, type ManifestFlagType } from "../../contracts/flag-manifest";
import type { JsonValue } from "../../engine/types";
import { FlagKeySchema } from "../schemas";
import { adminApp, adminRoute, defineRoute, E, meta, noteWritten, param, call, type AdminContext } from "./kit";

export const manifestApi = adminApp();

const M = `${E}/openfeature/v0/manifest`;
const API_TYPES = ["boolean", "string", "integer", "object"] as const;

const ManifestApiFlagSchema = z
  .object({
    key: z.string(),
    name: z.string(),
    type: z.enum(API_TYPES),
    description: z.string().nullable(),
    defaultValue: JsonValueSchema,
  })
  .openapi("ManifestApiFlag");
const FlagResponseSchema = z.object({ flag: ManifestApiFlagSchema, updatedAt: z.string() }).openapi("ManifestApiFlagResponse");
const CreateBodySchema = z.strictObject({
  key: FlagKeySchema,
  type: z.enum(API_TYPES),
  name: z.string().max(200).optional(),
  description: z.string().max(2000).nullable().optional(),
  defaultValue: JsonValueSchema,
});
const UpdateBodySchema = CreateBodySchema.extend({ defaultValue: JsonValueSchema.optional() });

/** A problem+json answer that also carries the Manifest Management API's error object. */
function apiError(status: 400 | 404 | 409, message: string, details?: { field: string; message: string }[]): Response {
  const title = status === 400 ? "Bad Request" : status === 404 ? "Not Found" : "Conflict";
  return new Response(
    JSON.stringify({ type: "about:blank", title, status, detail: message, error: { message, status, ...(details ? { details } : {}) } }),
    { status, headers: { "content-type": "application/problem+json" } },
  );
}

/** What this credential may do through the API (`X-Manifest-Capabilities`). */
function capabilities(c: AdminContext): string {
  void c;
  return "read,write,delete";
}

const sameValue = (a: JsonValue | undefined, b: JsonValue | undefined) => JSON.stringify(a) === JSON.stringify(b);

/** The environment's flags as the API's entries, and what it had to leave out. */
async function entries(c: AdminContext, environment: string) {
  const result = await call(c, (s) => s.manifest().get(environment));
  if (!result.ok) return result;
  const flags: z.infer<typeof ManifestApiFlagSchema>[] = [];
  const skipped = (result.value.manifest["x-edgeflags-skipped"] ?? []).map((s) => s.flag);
  for (const [key, flag] of Object.entries(result.value.manifest.flags)) {
    const type = flag.flagType as ManifestFlagType;
    if (type === "float") {
      skipped.push(key);
      continue;
    }
    flags.push({ key, name: key, type, description: flag.description ?? null, defaultValue: flag.defaultValue });
  }
  return { ok: true as const, value: { flags, skipped } };
}

async function readJson(c: AdminContext): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    return undefined;
  }
}

function invalid(error: z.ZodError): Response {
  const details = error.issues.map((issue) => ({ field: issue.path.join(".") || "(body)", message: issue.message }));
  return apiError(400, `Validation failed: ${details.map((d) => `${d.field}: ${d.message}`).join("; ")}`, details);
}

const get = adminRoute({
  method: "get",
  path: M,
  summary: "The environment's flags for the OpenFeature CLI (Manifest Management API)",
  response: z.object({ flags: z.array(ManifestApiFlagSchema) }).openapi("ManifestApiEnvelope"),
});
defineRoute(manifestApi, get, async (c) => {
  const result = await entries(c, param(c, "env"));
  if (!result.ok) return result.error.kind === "not_found" ? apiError(404, result.error.detail) : apiError(409, result.error.detail);
  c.header("X-Manifest-Capabilities", capabilities(c));
  if (result.value.skipped.length) c.header("X-Edgeflags-Skipped", result.value.skipped.join(","));
  return c.json({ flags: result.value.flags });
});

const create = adminRoute({
  method: "post",
  path: `${M}/flags`,
  summary: "Create a flag from the OpenFeature CLI (Manifest Management API)",
  body: CreateBodySchema,
  response: FlagResponseSchema,
  status: 201,
});
defineRoute(manifestApi, create, async (c) => {
  const parsed = CreateBodySchema.safeParse(await readJson(c));
  if (!parsed.success) return invalid(parsed.error);
  const body = parsed.data;
  if (!isOfType(body.type, body.defaultValue)) {
    return apiError(400, `defaultValue is not a ${body.type}`, [{ field: "defaultValue", message: `must be a ${body.type}` }]);
  }
  const environment = param(c, "env");
  const result = await call(c, (s) =>
    s.manifest().sync(
      environment,
      {
        [body.key]: {
          flagType: body.type,
          defaultValue: body.defaultValue,
          ...(body.description ? { description: body.description } : {}),
        },
      },
      { ...meta(c, null), dryRun: false },
    ),
  );
  if (!result.ok) return result.error.kind === "not_found" ? apiError(404, result.error.detail) : apiError(409, result.error.detail);
  if (!result.value.created.includes(body.key)) {
    return apiError(409, `Flag "${body.key}" already exists in ${environment}.`, [
      { field: "key", message: "a flag with this key exists" },
    ]);
  }
  noteWritten(c, c.get("project"), environment, result.value.version);
  const flag = await call(c, (s) => s.flags().get(environment, body.key));
  c.header("X-Manifest-Capabilities", capabilities(c));
  return c.json(
    {
      flag: {
        key: body.key,
        name: body.name ?? body.key,
        type: body.type,
        description: body.description ?? null,
        defaultValue: body.defaultValue,
      },
      updatedAt: flag.ok ? flag.value.updatedAt : new Date().toISOString(),
    },
    201,
  );
});

const update = adminRoute({
  method: "put",
  path: `${M}/flags/{key}`,
  summary: "Update a flag's description or default value from the OpenFeature CLI (Manifest Management API)",
  body: UpdateBodySchema,
  response: FlagResponseSchema,
});
defineRoute(manifestApi, update, async (c) => {
  const parsed = UpdateBodySchema.safeParse(await readJson(c));
  if (!parsed.success) return invalid(parsed.error);
  const body = parsed.data;
  const key = param(c, "key");
  if (body.key !== key)
    return apiError(400, "Flag key in path and payload must match.", [{ field: "key", message: "Path key and payload key differ." }]);
  const environment = param(c, "env");
  const current = await call(c, (s) => s.flags().get(environment, key));
  if (!current.ok) return apiError(404, `Flag "${key}" was not found in ${environment}.`);
  const listed = await entries(c, environment);
  const entry = listed.ok ? listed.value.flags.find((f) => f.key === key) : undefined;
  if (!entry)
    return apiError(409, `Flag "${key}" cannot be described by the manifest API (mixed types, fractional numbers or no default).`);
  if (entry.type !== body.type) return apiError(409, `Flag type cannot be changed from ${entry.type} to ${body.type}.`);
  const definition = current.value.definition;
  let updatedAt = current.value.updatedAt;
  if (body.defaultValue !== undefined && !sameValue(body.defaultValue, entry.defaultValue)) {
    const variant = Object.entries(definition.variants).find(([, value]) => sameValue(value, body.defaultValue))?.[0];
    if (variant === undefined) {
      return apiError(409, `No variant of "${key}" serves ${JSON.stringify(body.defaultValue)}; add one in edgeflags first.`, [
        { field: "defaultValue", message: "no variant serves this value" },
      ]);
    }
    const written = await call(c, (s) =>
      s.flags().update(
        environment,
        key,
        { ...definition, defaultVariant: variant },
        {
          ...meta(c, "default value set through the OpenFeature manifest API"),
          ifMatch: current.value.version,
        },
      ),
    );
    if (!written.ok) return apiError(409, written.error.detail);
    noteWritten(c, c.get("project"), environment, written.value.version);
    updatedAt = new Date().toISOString();
  }
  if (body.description !== undefined && (body.description ?? "") !== (entry.description ?? "")) {
    const facts = await call(c, (s) =>
      s
        .projectFlags()
        .updateInfo(key, { description: body.description ?? "" }, meta(c, "description set through the OpenFeature manifest API")),
    );
    if (!facts.ok) return apiError(409, facts.error.detail);
  }
  c.header("X-Manifest-Capabilities", capabilities(c));
  return c.json({
    flag: {
      key,
      name: body.name ?? key,
      type: body.type,
      description: body.description === undefined ? entry.description : body.description,
      defaultValue: body.defaultValue ?? entry.defaultValue,
    },
    updatedAt,
  });
});

const remove = adminRoute({
  method: "delete",
  path: `${M}/flags/{key}`,
  summary: "Delete a flag in this environment from the OpenFeature CLI (Manifest Management API)",
  response: z.object({ message: z.string(), archivedAt: z.string().nullable() }).openapi("ManifestApiArchive"),
});
defineRoute(manifestApi, remove, async (c) => {
  const environment = param(c, "env");
  const key = param(c, "key");
  const result = await call(c, (s) =>
    s.flags().delete(environment, key, { ...meta(c, "deleted through the OpenFeature manifest API"), ifMatch: null }),
  );
  if (!result.ok)
    return result.error.kind === "not_found"
      ? apiError(404, `Flag "${key}" was not found in ${environment}.`)
      : apiError(409, result.error.detail);
  c.header("X-Manifest-Capabilities", capabilities(c));
  return c.json({ message: `Flag "${key}" deleted from ${environment}; its audit history is kept.`, archivedAt: null });
});
