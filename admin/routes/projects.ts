/** Projects: create one (or add and reorder environments), read its environments. */
import { ProjectSchema } from "../../contracts/admin-responses";
import { log, requestId } from "../../lib/log";
import { problem, storeProblem } from "../problem";
import { knownProject, registerProject } from "../projects";
import { ProjectBodySchema } from "../schemas";
import { adminApp, adminRoute, defineRoute, noteWritten, P, readBody, respond, call, meta } from "./kit";

export const projects = adminApp();

const put = adminRoute({
  method: "put",
  permission: "admin",
  path: P,
  summary: "Create a project or add, reorder environments",
  body: ProjectBodySchema,
  status: 201,
  response: ProjectSchema,
});
defineRoute(projects, put, async (c) => {
  const body = await readBody(c, put);
  if (body instanceof Response) return body;
  // A new project enters the registry before its FlagStore exists, so key sign-ins and trigger
  // URLs find it at once; if KV cannot take it, nothing is created.
  const project = c.get("project");
  const known = await knownProject(c.env, project);
  if (known instanceof Response) return known;
  if (!known) {
    try {
      await registerProject(c.env, project);
    } catch (error) {
      log("warn", "project-registry-write-failed", { requestId: requestId(c.req.raw), project, error });
      return problem("unavailable", `project "${project}" was not created: the project registry (KV) could not be written; retry shortly`, {
        headers: { "retry-after": "5" },
      });
    }
  }
  const result = await call(c, (s) => s.project().put(c.get("project"), body.environments, meta(c, null)));
  if (!result.ok) return storeProblem(result.error);
  for (const env of result.value.environments) noteWritten(c, result.value.project, env.name, env.version);
  const { created, ...info } = result.value;
  return c.json(info, created ? 201 : 200);
});

const get = adminRoute({
  method: "get",
  path: P,
  summary: "A project's environments with versions and flag counts",
  response: ProjectSchema,
});
defineRoute(projects, get, async (c) => respond(c, await call(c, (s) => s.project().get())));
