/** The project's environments and the one a page shows (`?env=`, else production, else the first). */
import { ProjectSchema } from "../api";
import { apiFailure, apiPath, vars, type ConsoleContext } from "../context";
import { pickEnvironment } from "../model";

export async function chooseEnvironment(
  c: ConsoleContext,
  requested: string | undefined,
): Promise<{ environments: string[]; environment: string } | Response> {
  const { api, project } = vars(c);
  const info = await api.get(apiPath(project), ProjectSchema);
  if (!info.ok) return apiFailure(c, info);
  const environments = info.body.environments.map((e) => e.name);
  return { environments, environment: pickEnvironment(environments, requested) };
}
