/** Keys: client and server keys per environment, admin keys per project; revoke and rotate. */
import { CreatedKeySchema, KeyListSchema, KeySchema, RotatedKeySchema } from "../../contracts/admin-responses";
import { CreateAdminKeyBodySchema, CreateKeyBodySchema, RotateKeyBodySchema } from "../schemas";
import { adminApp, adminRoute, defineRoute, E, meta, P, param, readBody, respond, call } from "./kit";

export const keys = adminApp();

const create = adminRoute({
  method: "post",
  permission: "admin",
  path: `${E}/keys`,
  summary: "Create a client or server key (shown once)",
  body: CreateKeyBodySchema,
  status: 201,
  response: CreatedKeySchema,
});
defineRoute(keys, create, async (c) => {
  const body = await readBody(c, create);
  if (body instanceof Response) return body;
  const environment = param(c, "env");
  const name = body.name ?? `${body.scope} key for ${environment}`;
  return respond(c, await call(c, (s) => s.keys().create(body.scope, environment, name, meta(c, null))), 201);
});

const list = adminRoute({ method: "get", path: `${E}/keys`, summary: "List an environment's keys", response: KeyListSchema });
defineRoute(keys, list, async (c) => respond(c, await call(c, (s) => s.keys().list(param(c, "env")))));

const createAdmin = adminRoute({
  method: "post",
  permission: "admin",
  path: `${P}/keys`,
  summary: "Create an admin-API key with a role (shown once)",
  body: CreateAdminKeyBodySchema,
  status: 201,
  response: CreatedKeySchema,
});
defineRoute(keys, createAdmin, async (c) => {
  const body = await readBody(c, createAdmin);
  if (body instanceof Response) return body;
  const grant = { role: body.role, environments: body.environments ?? null };
  const name = body.name ?? (body.role === "admin" ? "admin key" : `${body.role} key`);
  return respond(c, await call(c, (s) => s.keys().create("admin", null, name, meta(c, null), grant)), 201);
});

const listAll = adminRoute({ method: "get", path: `${P}/keys`, summary: "List every key of the project", response: KeyListSchema });
defineRoute(keys, listAll, async (c) => respond(c, await call(c, (s) => s.keys().list(null))));

const revoke = adminRoute({ permission: "admin", method: "delete", path: `${P}/keys/{id}`, summary: "Revoke a key", response: KeySchema });
defineRoute(keys, revoke, async (c) => respond(c, await call(c, (s) => s.keys().revoke(param(c, "id"), meta(c, null)))));

const rotate = adminRoute({
  method: "post",
  permission: "admin",
  path: `${P}/keys/{id}/rotate`,
  summary: "Rotate a key with an overlap window",
  body: RotateKeyBodySchema,
  status: 201,
  response: RotatedKeySchema,
});
defineRoute(keys, rotate, async (c) => {
  const body = await readBody(c, rotate, {});
  if (body instanceof Response) return body;
  return respond(c, await call(c, (s) => s.keys().rotate(param(c, "id"), body.overlapSeconds, meta(c, null))), 201);
});
