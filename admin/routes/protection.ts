/**
 * Protected environments: reading and setting an environment's protection, and the guard that
 * refuses a direct write into a protected environment to anyone but an admin (403, saying to
 * open a change request). The guard runs in front of every admin route (`protectEnvironments`,
 * mounted in `../routes.ts`), so a route added later is covered without declaring anything; the
 * decision itself is the FlagStore's (`requiresApproval`).
 *
 * What counts as a direct write into an environment: every non-GET route under
 * `/environments/{env}/` (flags, flagd, targets, ramps, experiments, draft publish, manifest
 * sync), except the routes that do not change what the environment serves (its change requests,
 * its schedules, its protection, evaluating a context, staging or discarding a draft); the kill
 * switch (`…/toggle`) passes when the environment exempts it. Outside an environment's path:
 * promoting into it (`to`), creating a flag in every environment, and a segment change (it gives
 * every environment a new version). Routes that need the admin role anyway (keys, import,
 * cut-over) are never held back, since an admin is not.
 */
import { ProtectionSchema } from "../../contracts/approvals";
import { readJson } from "../json-body";
import { problem, storeProblem } from "../problem";
import { actorOf, adminApp, adminRoute, defineRoute, E, meta, param, readBody, respond, call, type AdminContext } from "./kit";
import * as z from "../../contracts/zod";

export const protection = adminApp();

const PATH = `${E}/protection`;

const ProtectionBodySchema = z
  .object({
    requireApproval: z.boolean(),
    /** The kill switch (`…/toggle`, a trigger, a scheduled state change) stays direct for editors. */
    killSwitchExempt: z.boolean().default(false),
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .openapi("ProtectionBody");

const read = adminRoute({ method: "get", path: PATH, summary: "An environment's protection", response: ProtectionSchema });
defineRoute(protection, read, async (c) => respond(c, await call(c, (s) => s.protection().get(param(c, "env")))));

const put = adminRoute({
  method: "put",
  permission: "admin",
  path: PATH,
  summary: "Require approval for changes to an environment (and exempt the kill switch or not)",
  body: ProtectionBodySchema,
  response: ProtectionSchema.extend({ changed: z.boolean() }),
});
defineRoute(protection, put, async (c) => {
  const body = await readBody(c, put);
  if (body instanceof Response) return body;
  const { reason, ...input } = body;
  return respond(c, await call(c, (s) => s.protection().put(param(c, "env"), input, meta(c, reason))));
});

/** Sub-paths of `/environments/{env}/` that never change what the environment serves. */
const NOT_A_WRITE = /^(?:change-requests(?:\/.*)?|schedules(?:\/.*)?|protection|evaluate|draft)$/;
const ENVIRONMENT_PATH = /\/projects\/[^/]+\/environments\/([^/]+)\/(.+)$/;
const PROJECT_PATH = /\/projects\/[^/]+\/(promote|flags|segments\/[^/]+)$/;

/**
 * What a request writes into: the environments (null: every one) and whether it is the kill
 * switch; null when it writes into no environment's flags.
 */
async function writeTarget(c: AdminContext): Promise<{ environments: string[] | null; kind: "write" | "kill-switch" } | null> {
  const path = c.req.path;
  const inEnvironment = ENVIRONMENT_PATH.exec(path);
  if (inEnvironment) {
    const [, environment, rest] = inEnvironment;
    if (NOT_A_WRITE.test(rest!)) return null;
    return { environments: [decodeURIComponent(environment!)], kind: /^flags\/[^/]+\/toggle$/.test(rest!) ? "kill-switch" : "write" };
  }
  const inProject = PROJECT_PATH.exec(path);
  if (!inProject) return null;
  const [, what] = inProject;
  if (what === "flags") return c.req.method === "POST" ? { environments: null, kind: "write" } : null;
  if (what !== "promote") return { environments: null, kind: "write" };
  if (c.req.query("dryRun") === "true") return null;
  // The body is read again by the route (Hono keeps the text); one it cannot read is its 400.
  const body = readJson(await c.req.text());
  const to = body.ok && body.value !== null && typeof body.value === "object" && "to" in body.value ? body.value.to : null;
  return typeof to === "string" ? { environments: [to], kind: "write" } : null;
}

/** Refuses a direct write into a protected environment to a non-admin (403 saying to open a change request). */
export async function protectEnvironments(c: AdminContext, next: () => Promise<void>): Promise<Response | undefined> {
  const actor = actorOf(c);
  const pass = async () => {
    await next();
    return undefined;
  };
  if (c.req.method === "GET" || c.req.method === "HEAD" || !actor || actor.role === "admin") return pass();
  const target = await writeTarget(c);
  if (target === null) return pass();
  const checked = await call(c, (s) => s.protection().check(target.environments, { role: actor.role }, target.kind));
  if (!checked.ok) return storeProblem(checked.error);
  if (checked.value.refused !== null) return problem("forbidden", checked.value.refused);
  return pass();
}
