/** Tracked events: one event name in one environment, a page at a time (`GET …/tracked-events`). */
import * as z from "zod";
import { ProjectSchema, seg, type AdminClient } from "../api";
import { apiFailure, apiPath, doneNotice, vars, type ConsoleApp } from "../context";
import { pickEnvironment } from "../model";
import { EventsPage, type EventsProblem, type TrackedEvents } from "../pages/events";
import { MetricListSchema } from "../../../contracts/metrics";
import { TrackedEventPageSchema } from "../../../contracts/tracking";

/** Events per page. */
const PAGE = 50;

// Lengths are the admin API's to judge: what it refuses is said on the page with its detail.
const QuerySchema = z.object({ env: z.string().optional(), name: z.string().optional(), cursor: z.string().optional() });

/**
 * A page of `name`'s tracked events in `environment` from the admin API, or why not: its detail
 * with each field it names ("name: too long"), so a person knows what to change, and whether
 * trying again may help (the shards did not answer).
 */
export async function readTrackedEvents(
  api: AdminClient,
  project: string,
  environment: string,
  name: string,
  limit: number,
  cursor?: string,
): Promise<{ events: TrackedEvents; next: string | null } | { problem: EventsProblem }> {
  const params = new URLSearchParams({ name, limit: String(limit), ...(cursor ? { cursor } : {}) });
  const page = await api.get(
    apiPath(project, `/environments/${seg(environment)}/tracked-events?${params.toString()}`),
    TrackedEventPageSchema,
  );
  if (page.ok) return { events: page.body.events, next: page.body.next };
  const fields = (page.problem.errors ?? []).map((e) => `${e.path}: ${e.message}`);
  return { problem: { detail: [page.problem.detail, ...fields].join("; "), retry: page.status >= 500 } };
}

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
      const page = await readTrackedEvents(api, project, environment, name, PAGE, asked.cursor);
      if ("problem" in page) problem = page.problem;
      else ({ events, next } = page);
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
