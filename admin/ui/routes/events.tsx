/** Tracked events: one event name in one environment, a page at a time (`GET …/tracked-events`). */
import * as z from "zod";
import { ProjectSchema, seg } from "../api";
import { apiFailure, apiPath, doneNotice, vars, type ConsoleApp } from "../context";
import { pickEnvironment } from "../model";
import { EventsPage, type EventsProblem, type TrackedEvents } from "../pages/events";
import { MetricListSchema } from "../../../contracts/metrics";
import { TrackedEventPageSchema } from "../../../contracts/tracking";

/** Events per page. */
const PAGE = 50;

// Lengths are the admin API's to judge: what it refuses is said on the page with its detail.
const QuerySchema = z.object({ env: z.string().optional(), name: z.string().optional(), cursor: z.string().optional() });

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
    let events: TrackedEvents | null = null;
    let problem: EventsProblem | null = null;
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
      } else {
        // The detail with each field it names ("name: too long"), so a person knows what to change.
        const fields = (page.problem.errors ?? []).map((e) => `${e.path}: ${e.message}`);
        problem = { detail: [page.problem.detail, ...fields].join("; "), retry: page.status >= 500 };
      }
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
      // A name or cursor the API refuses is the caller's to fix (400); shards that did not answer
      // leave the form usable (200, with the notice).
      problem && !problem.retry ? 400 : 200,
    );
  });
}
