/** Tracked events: one event name in one environment, a page at a time (`GET …/tracked-events`). */
import * as z from "zod";
import { ProjectSchema, seg } from "../api";
import { apiFailure, apiPath, doneNotice, vars, type ConsoleApp } from "../context";
import { pickEnvironment } from "../model";
import { EventsPage } from "../pages/events";
import { MetricListSchema } from "../../../contracts/metrics";
import { TrackedEventPageSchema } from "../../../contracts/tracking";

/** Events per page. */
const PAGE = 50;

const QuerySchema = z.object({
  env: z.string().optional(),
  name: z.string().max(128).optional(),
  cursor: z.string().max(1_000).optional(),
});

export function registerEvents(ui: ConsoleApp): void {
  ui.get("/p/:project/events", async (c) => {
    const { api, project, session } = vars(c);
    const query = QuerySchema.safeParse(c.req.query());
    const asked = query.success ? query.data : {};
    const [info, metrics] = await Promise.all([
      api.get(apiPath(project), ProjectSchema),
      api.get(apiPath(project, "/metrics"), MetricListSchema),
    ]);
    if (!info.ok) return apiFailure(c, info);
    const environments = info.body.environments.map((e) => e.name);
    const environment = pickEnvironment(environments, asked.env);
    const watched = metrics.ok ? [...new Set(metrics.body.map((m) => m.event))].sort() : [];
    const name = asked.name?.trim() ?? "";
    let events = null;
    let problem: string | null = null;
    let next: string | null = null;
    if (name !== "") {
      const params = new URLSearchParams({ name, limit: String(PAGE), ...(asked.cursor ? { cursor: asked.cursor } : {}) });
      const page = await api.get(
        apiPath(project, `/environments/${seg(environment)}/tracked-events?${params.toString()}`),
        TrackedEventPageSchema,
      );
      if (page.ok) {
        events = page.body.events;
        next = page.body.next;
      } else problem = page.problem.detail;
    }
    return c.html(
      <EventsPage
        session={session}
        project={project}
        environments={environments}
        environment={environment}
        name={name}
        watched={watched}
        events={events}
        problem={problem}
        next={next}
        older={asked.cursor !== undefined && asked.cursor !== ""}
        notice={doneNotice(c)}
      />,
    );
  });
}
