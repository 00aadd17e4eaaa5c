/**
 * Single sign-on settings (Cloudflare Access): which team's tokens the console accepts for this
 * project, the application's audience, and the role each person or group gets. Admins only.
 */
import * as z from "zod";
import { AccessConfigSchema, AccessSettingsSchema } from "../../contracts/access";
import { problem, storeProblem } from "../problem";
import { adminApp, adminRoute, defineRoute, meta, P, readBody, respond, call } from "./kit";

export const access = adminApp();

const read = adminRoute({
  permission: "admin",
  method: "get",
  path: `${P}/access`,
  summary: "The project's single sign-on (Cloudflare Access) settings",
  response: AccessSettingsSchema,
});
defineRoute(access, read, async (c) => {
  const result = await call(c, (s) => s.getAccess());
  if (!result.ok) return storeProblem(result.error);
  if (result.value === null) {
    return problem("not_found", "single sign-on is not set up for this project; PUT its teamDomain, audience and members");
  }
  return c.json(result.value);
});

const put = adminRoute({
  permission: "admin",
  method: "put",
  path: `${P}/access`,
  summary: "Set up single sign-on: the Access team, the application's audience, members and their roles (first match wins)",
  body: AccessConfigSchema,
  response: AccessSettingsSchema.extend({ changed: z.boolean() }),
});
defineRoute(access, put, async (c) => {
  const body = await readBody(c, put);
  if (body instanceof Response) return body;
  return respond(c, await call(c, (s) => s.access().put(body, meta(c, null))));
});

const remove = adminRoute({
  permission: "admin",
  method: "delete",
  path: `${P}/access`,
  summary: "Turn single sign-on off: Access tokens are no longer accepted",
  response: z.object({ removed: z.boolean() }),
});
defineRoute(access, remove, async (c) => {
  return respond(c, await call(c, (s) => s.access().remove(meta(c, null))));
});
