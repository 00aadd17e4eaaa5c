/** Flags across environments: side by side, created everywhere at once, compared, promoted, stale. */
import {
  EnvironmentDiffSchema,
  ProjectFlagListSchema,
  ProjectFlagSchema,
  PromoteSchema,
  StaleSchema,
} from "../../contracts/admin-responses";
import type { FlagDefinition } from "../../engine/types";
import { storeProblem } from "../problem";
import { CompareQuerySchema, FlagInfoPatchSchema, ProjectFlagBodySchema, PromoteBodySchema, StaleQuerySchema } from "../schemas";
import { adminApp, adminRoute, defineRoute, meta, noteWritten, P, param, readBody, readIfMatch, readQuery, respond, call } from "./kit";

export const projectFlags = adminApp();

const list = adminRoute({
  method: "get",
  path: `${P}/flags`,
  summary: "Every flag across environments, side by side",
  response: ProjectFlagListSchema,
});
defineRoute(projectFlags, list, async (c) => respond(c, await call(c, (s) => s.projectFlags().list())));

const create = adminRoute({
  method: "post",
  path: `${P}/flags`,
  summary: "Create a flag in every environment",
  body: ProjectFlagBodySchema,
  status: 201,
  response: ProjectFlagSchema,
});
defineRoute(projectFlags, create, async (c) => {
  const body = await readBody(c, create);
  if (body instanceof Response) return body;
  const { key, description, owner, tags, lifetime, expectedRemovalAt, environments, reason, ...definition } = body;
  const result = await call(c, (s) =>
    s
      .projectFlags()
      .create(
        key,
        { description, owner, tags, lifetime, expectedRemovalAt },
        definition as FlagDefinition,
        environments as Record<string, Partial<FlagDefinition>>,
        meta(c, reason),
      ),
  );
  if (!result.ok) return storeProblem(result.error);
  for (const record of Object.values(result.value.environments)) noteWritten(c, c.get("project"), record.environment, record.version);
  return c.json(result.value, 201);
});

const read = adminRoute({ method: "get", path: `${P}/flags/{flag}`, summary: "A flag across environments", response: ProjectFlagSchema });
defineRoute(projectFlags, read, async (c) => respond(c, await call(c, (s) => s.projectFlags().get(param(c, "flag")))));

const patch = adminRoute({
  method: "patch",
  path: `${P}/flags/{flag}`,
  summary: "Update a flag's description, owner, tags, lifetime",
  body: FlagInfoPatchSchema,
  response: ProjectFlagSchema,
});
defineRoute(projectFlags, patch, async (c) => {
  const body = await readBody(c, patch);
  if (body instanceof Response) return body;
  const { reason, ...info } = body;
  return respond(c, await call(c, (s) => s.projectFlags().updateInfo(param(c, "flag"), info, meta(c, reason))));
});

const compare = adminRoute({
  method: "get",
  path: `${P}/compare`,
  summary: "Compare two environments",
  query: CompareQuerySchema,
  response: EnvironmentDiffSchema,
});
defineRoute(projectFlags, compare, async (c) => {
  const query = readQuery(c, compare, "compare needs ?from=<environment>&to=<environment>", {
    ...c.req.query(),
    flag: c.req.queries("flag"),
  });
  if (query instanceof Response) return query;
  const only = query.flag === undefined ? null : ([] as string[]).concat(query.flag);
  return respond(c, await call(c, (s) => s.flags().compare(query.from, query.to, only)));
});

const promote = adminRoute({
  method: "post",
  path: `${P}/promote`,
  summary: "Promote flags between environments (?dryRun=true for the diff only)",
  body: PromoteBodySchema,
  ifMatch: "optional",
  response: PromoteSchema,
});
defineRoute(projectFlags, promote, async (c) => {
  const body = await readBody(c, promote);
  if (body instanceof Response) return body;
  const ifMatch = readIfMatch(c);
  if (ifMatch instanceof Response) return ifMatch;
  const dryRun = c.req.query("dryRun") === "true";
  const result = await call(c, (s) =>
    s.flags().promote(body.from, body.to, body.flags ?? null, { ...meta(c, body.reason), dryRun, ifMatch }),
  );
  if (!result.ok) return storeProblem(result.error);
  if (result.value.version !== null) noteWritten(c, c.get("project"), body.to, result.value.version);
  return c.json({ dryRun, ...result.value });
});

const stale = adminRoute({
  method: "get",
  path: `${P}/stale`,
  summary: "Stale flags: not evaluated, single variant, past removal date",
  query: StaleQuerySchema,
  response: StaleSchema,
});
defineRoute(projectFlags, stale, async (c) => {
  const query = readQuery(c, stale, "stale takes ?days=<1-3650>");
  if (query instanceof Response) return query;
  return respond(c, await call(c, (s) => s.projectFlags().stale(query.days)));
});
