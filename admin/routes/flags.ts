/**
 * One environment's flags: the whole set as a flagd document, single flags (create, read, replace,
 * kill switch, delete), evaluating a context against them, and their usage.
 */
import {
  EvaluationSchema,
  FlagListSchema,
  FlagSchema,
  FlagSetWrittenSchema,
  TargetsChangedSchema,
  TargetsPageSchema,
  UsageSchema,
} from "../../contracts/admin-responses";
import type { Result } from "../../contracts/result";
import { toOfrep } from "../../contracts/ofrep-wire";
import { compileFlagSet, toPlainFlagd } from "../../engine/index";
import type { EvaluationContext, FlagDefinition } from "../../engine/types";
import { problem, storeProblem } from "../problem";
import {
  CreateFlagBodySchema,
  EvaluateBodySchema,
  FlagdFlagSetSchema,
  TargetsBodySchema,
  TargetsQuerySchema,
  ToggleBodySchema,
  UpdateFlagBodySchema,
} from "../schemas";
import {
  adminApp,
  adminRoute,
  defineRoute,
  E,
  F,
  flagKey,
  meta,
  noteWritten,
  param,
  parseJson,
  readBody,
  readIfMatch,
  readQuery,
  respond,
  call,
  type AdminContext,
} from "./kit";

export const flags = adminApp();

// ---- whole flag sets (flagd documents) --------------------------------------------------------

const exportSet = adminRoute({
  method: "get",
  path: `${E}/flagd`,
  summary: "Export an environment as a flagd flag set (?format=plain rewrites extensions)",
  response: FlagdFlagSetSchema,
  etag: true,
});
defineRoute(flags, exportSet, async (c) => {
  const result = await call(c, (s) => s.getFlagSet(param(c, "env")));
  if (!result.ok) return storeProblem(result.error);
  c.header("ETag", `"${result.value.version}"`);
  c.header("X-Edgeflags-Config-Version", String(result.value.version));
  // ?format=plain: edgeflags extensions (prerequisites) rewritten into plain flagd targeting.
  return c.json(c.req.query("format") === "plain" ? toPlainFlagd(result.value.flagSet) : result.value.flagSet);
});

// The body is documented as a flagd flag set; the FlagStore validates it in full with the engine.
const replaceSet = adminRoute({
  method: "put",
  path: `${E}/flagd`,
  summary: "Replace an environment's flags with a flagd flag set",
  body: FlagdFlagSetSchema,
  ifMatch: "optional",
  response: FlagSetWrittenSchema,
  etag: true,
});
defineRoute(flags, replaceSet, async (c) => {
  const body = await parseJson(c);
  if (body instanceof Response) return body;
  const ifMatch = readIfMatch(c);
  if (ifMatch instanceof Response) return ifMatch;
  const environment = param(c, "env");
  const result = await call(c, (s) => s.flags().replaceSet(environment, body, { ...meta(c, null), ifMatch }));
  if (!result.ok) return storeProblem(result.error);
  noteWritten(c, c.get("project"), environment, result.value.version);
  c.header("ETag", `"${result.value.version}"`);
  return c.json({ project: c.get("project"), environment, version: result.value.version, changed: result.value.changed });
});

// ---- single flags -----------------------------------------------------------------------------

const list = adminRoute({ method: "get", path: `${E}/flags`, summary: "List an environment's flags", response: FlagListSchema });
defineRoute(flags, list, async (c) => {
  const result = await call(c, (s) => s.flags().list(param(c, "env")));
  if (!result.ok) return storeProblem(result.error);
  return c.json({ version: result.value.version, flags: result.value.flags.map(flagJson) });
});

const create = adminRoute({
  method: "post",
  path: `${E}/flags`,
  summary: "Create a flag in one environment",
  body: CreateFlagBodySchema,
  status: 201,
  response: FlagSchema,
  etag: true,
});
defineRoute(flags, create, async (c) => {
  const body = await readBody(c, create);
  if (body instanceof Response) return body;
  const { key, reason, ...definition } = body;
  const result = await call(c, (s) => s.flags().create(param(c, "env"), key, definition as FlagDefinition, meta(c, reason)));
  return flagWritten(c, result, 201);
});

const read = adminRoute({ method: "get", path: F, summary: "Read a flag (ETag = its version)", response: FlagSchema, etag: true });
defineRoute(flags, read, async (c) => {
  const key = flagKey(c);
  if (key instanceof Response) return key;
  const result = await call(c, (s) => s.flags().get(param(c, "env"), key));
  if (!result.ok) return storeProblem(result.error);
  c.header("ETag", `"${result.value.version}"`);
  return c.json(flagJson(result.value));
});

const replace = adminRoute({
  method: "put",
  path: F,
  summary: "Replace a flag",
  body: UpdateFlagBodySchema,
  ifMatch: "required",
  response: FlagSchema,
  etag: true,
});
defineRoute(flags, replace, async (c) => {
  const key = flagKey(c);
  if (key instanceof Response) return key;
  const ifMatch = readIfMatch(c);
  if (ifMatch instanceof Response) return ifMatch;
  if (ifMatch === null) {
    return problem(
      "precondition_required",
      "send If-Match with the flag's version (its ETag from GET) so a concurrent change is not overwritten",
    );
  }
  const body = await readBody(c, replace);
  if (body instanceof Response) return body;
  const { reason, ...definition } = body;
  const result = await call(c, (s) =>
    s.flags().update(param(c, "env"), key, definition as FlagDefinition, { ...meta(c, reason), ifMatch }),
  );
  return flagWritten(c, result, 200);
});

const toggle = adminRoute({
  method: "post",
  path: `${F}/toggle`,
  summary: "Kill switch: flip a flag's state, or set it",
  body: ToggleBodySchema,
  ifMatch: "optional",
  response: FlagSchema,
  etag: true,
});
defineRoute(flags, toggle, async (c) => {
  const key = flagKey(c);
  if (key instanceof Response) return key;
  const ifMatch = readIfMatch(c);
  if (ifMatch instanceof Response) return ifMatch;
  const body = await readBody(c, toggle, {});
  if (body instanceof Response) return body;
  const result = await call(c, (s) => s.flags().setState(param(c, "env"), key, body.state ?? null, { ...meta(c, body.reason), ifMatch }));
  return flagWritten(c, result, 200);
});

const remove = adminRoute({ method: "delete", path: F, summary: "Delete a flag", status: 204, ifMatch: "optional" });
defineRoute(flags, remove, async (c) => {
  const key = flagKey(c);
  if (key instanceof Response) return key;
  const ifMatch = readIfMatch(c);
  if (ifMatch instanceof Response) return ifMatch;
  const environment = param(c, "env");
  const result = await call(c, (s) => s.flags().delete(environment, key, { ...meta(c, null), ifMatch }));
  if (!result.ok) return storeProblem(result.error);
  noteWritten(c, c.get("project"), environment, result.value.version);
  return c.body(null, 204);
});

// ---- individual targets -----------------------------------------------------------------------

/**
 * Adds, moves and removes targeting keys of one flag without rewriting its rules: the cost is the
 * keys in the call, whatever the flag already lists.
 */
const changeTargets = adminRoute({
  method: "post",
  path: `${F}/targets`,
  summary: "Add, move or remove a flag's individual targets (customer overrides)",
  body: TargetsBodySchema,
  response: TargetsChangedSchema,
  etag: true,
});
defineRoute(flags, changeTargets, async (c) => {
  const key = flagKey(c);
  if (key instanceof Response) return key;
  const body = await readBody(c, changeTargets);
  if (body instanceof Response) return body;
  const environment = param(c, "env");
  const { reason, ...change } = body;
  const result = await call(c, (s) => s.targets().change(environment, key, change, meta(c, reason)));
  if (!result.ok) return storeProblem(result.error);
  if (result.value.changed) noteWritten(c, c.get("project"), environment, result.value.version);
  c.header("ETag", `"${result.value.version}"`);
  return c.json(result.value);
});

const listTargets = adminRoute({
  method: "get",
  path: `${F}/targets`,
  summary: "Page a flag's individual targets (?variant= one variant only)",
  query: TargetsQuerySchema,
  response: TargetsPageSchema,
});
defineRoute(flags, listTargets, async (c) => {
  const key = flagKey(c);
  if (key instanceof Response) return key;
  const query = readQuery(c, listTargets, "the targets query is not valid");
  if (query instanceof Response) return query;
  return respond(c, await call(c, (s) => s.targets().list(param(c, "env"), key, query)));
});

/**
 * Evaluates a context against the environment's current flags, straight from the FlagStore (not
 * the edge's replica): what the console's "try a context" panel shows.
 */
const evaluate = adminRoute({
  method: "post",
  permission: "view",
  path: `${E}/evaluate`,
  summary: "Evaluate a context against the current flags",
  body: EvaluateBodySchema,
  response: EvaluationSchema,
});
defineRoute(flags, evaluate, async (c) => {
  const body = await readBody(c, evaluate);
  if (body instanceof Response) return body;
  const result = await call(c, (s) => s.getFlagSet(param(c, "env")));
  if (!result.ok) return storeProblem(result.error);
  const compiled = compileFlagSet(result.value.flagSet);
  const context = body.context as EvaluationContext;
  const evaluated = body.flags ? body.flags.map((key) => compiled.evaluate(key, context)) : compiled.evaluateAll(context);
  return c.json({ version: result.value.version, flags: evaluated.map((r) => toOfrep(r)) });
});

const usage = adminRoute({
  method: "get",
  path: `${E}/usage`,
  summary: "Evaluation counts and last evaluation per flag",
  response: UsageSchema,
});
defineRoute(flags, usage, async (c) => respond(c, await call(c, (s) => s.projectFlags().usage(param(c, "env")))));

type FlagRecord = { key: string; environment: string; version: number; updatedAt: string; updatedBy: string; definition: FlagDefinition };

function flagJson(record: FlagRecord) {
  return {
    key: record.key,
    environment: record.environment,
    version: record.version,
    updatedAt: record.updatedAt,
    updatedBy: record.updatedBy,
    ...record.definition,
  };
}

function flagWritten(c: AdminContext, result: Result<FlagRecord & { changed: boolean }>, status: 200 | 201): Response {
  if (!result.ok) return storeProblem(result.error);
  noteWritten(c, c.get("project"), result.value.environment, result.value.version);
  c.header("ETag", `"${result.value.version}"`);
  return c.json({ ...flagJson(result.value), changed: result.value.changed }, status);
}
