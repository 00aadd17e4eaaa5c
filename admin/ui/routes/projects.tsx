/** `/console/p/:project/projects`: the projects this session may open (`GET /admin/v1/projects`). */
import { ProjectListSchema } from "../../../contracts/project-list";
import { apiFailure, vars, type ConsoleApp } from "../context";
import { ProjectsPage } from "../pages/projects";

export function registerProjects(ui: ConsoleApp): void {
  ui.get("/p/:project/projects", async (c) => {
    const { api, project, session } = vars(c);
    const cursor = c.req.query("cursor");
    const query = new URLSearchParams({ limit: "100", ...(cursor ? { cursor } : {}) });
    const list = await api.get(`/projects?${query}`, ProjectListSchema);
    if (!list.ok && list.status !== 503 && list.status !== 400) return apiFailure(c, list);
    return c.html(
      <ProjectsPage
        session={session}
        project={project}
        projects={list.ok ? list.body.projects.map((p) => p.name) : []}
        next={list.ok ? list.body.cursor : null}
        later={Boolean(cursor)}
        notice={
          list.ok
            ? null
            : { kind: "warn", text: `The project list could not be read: ${list.problem.detail}. You can still open a project by name.` }
        }
      />,
      list.ok ? 200 : list.status === 400 ? 400 : 503,
    );
  });
}
