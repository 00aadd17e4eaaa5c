/** Scheduled changes: the environment's list, scheduling one (prefilled from a flag with ?flag=), cancelling one. */
import * as z from "zod";
import { seg } from "../api";
import { apiFailure, apiPath, field, redirectDone, vars, type ConsoleApp, type ConsoleContext } from "../context";
import type { Notice } from "../layout";
import { chooseEnvironment } from "./environment-choice";
import { SchedulesPage, type ScheduleForm } from "../pages/schedules";
import { ScheduleListSchema, ScheduleSchema } from "../../../contracts/approvals";

const DONE: Record<string, string> = {
  scheduled: "Scheduled: it applies once at its time.",
  "schedule-cancelled": "Cancelled: it will not apply.",
};

/** `YYYY-MM-DDTHH:MM` (a datetime-local field, read as UTC) → ISO 8601, or null. */
function utc(local: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?$/.test(local)) return null;
  const ms = Date.parse(`${local}Z`);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** The form as the API's `change`, or the field error. */
function changeOf(form: ScheduleForm): { change: unknown } | { errors: Record<string, string[]> } {
  switch (form.kind) {
    case "state":
      if (form.value !== "on" && form.value !== "off") return { errors: { value: ['Write "on" or "off".'] } };
      return { change: { kind: "state", flag: form.flag, state: form.value === "on" ? "ENABLED" : "DISABLED" } };
    case "default-variant":
      return { change: { kind: "default-variant", flag: form.flag, variant: form.value } };
    case "targeting": {
      try {
        return { change: { kind: "targeting", flag: form.flag, targeting: z.json().parse(JSON.parse(form.value)) } };
      } catch {
        return { errors: { value: ["The targeting is not valid JSON."] } };
      }
    }
    default:
      return { change: { kind: "change-request", id: form.value } };
  }
}

export function registerSchedules(ui: ConsoleApp): void {
  const page = async (
    c: ConsoleContext,
    requested: string | undefined,
    extra: { form?: ScheduleForm; errors?: Record<string, string[]>; status?: 200 | 400 | 403 | 404 | 409; notice?: Notice } = {},
  ) => {
    const { api, project, session } = vars(c);
    const chosen = await chooseEnvironment(c, requested);
    if (chosen instanceof Response) return chosen;
    const { environments, environment } = chosen;
    const list = await api.get(apiPath(project, `/environments/${seg(environment)}/schedules`), ScheduleListSchema);
    if (!list.ok) return apiFailure(c, list);
    const done = DONE[c.req.query("done") ?? ""];
    return c.html(
      <SchedulesPage
        session={session}
        project={project}
        environments={environments}
        environment={environment}
        schedules={list.body}
        form={extra.form ?? { kind: "state", flag: c.req.query("flag") ?? "", value: "on", at: "", reason: "" }}
        errors={extra.errors ?? {}}
        notice={extra.notice ?? (done ? { kind: "ok", text: done } : null)}
      />,
      extra.status ?? 200,
    );
  };

  ui.get("/p/:project/schedules", (c) => page(c, c.req.query("env")));

  ui.post("/p/:project/schedules", async (c) => {
    const { api, project } = vars(c);
    const raw = await c.req.parseBody();
    const environment = field(raw, "env");
    const form: ScheduleForm = {
      kind: field(raw, "kind"),
      flag: field(raw, "flag"),
      value: field(raw, "value"),
      at: field(raw, "at"),
      reason: field(raw, "reason"),
    };
    const at = utc(form.at);
    if (at === null) return page(c, environment, { form, errors: { at: ["Give a date and a time (UTC)."] }, status: 400 });
    const change = changeOf(form);
    if ("errors" in change) return page(c, environment, { form, errors: change.errors, status: 400 });
    const result = await api.send(
      "POST",
      apiPath(project, `/environments/${seg(environment)}/schedules`),
      { at, change: change.change, reason: form.reason },
      ScheduleSchema,
    );
    if (result.ok) return redirectDone(c, `schedules?env=${encodeURIComponent(environment)}`, "scheduled");
    if (result.status === 400 || result.status === 403 || result.status === 404 || result.status === 409) {
      return page(c, environment, { form, errors: { form: [result.problem.detail] }, status: result.status });
    }
    return apiFailure(c, result);
  });

  ui.post("/p/:project/schedules/:id/cancel", async (c) => {
    const { api, project } = vars(c);
    const raw = await c.req.parseBody();
    const environment = field(raw, "env");
    const result = await api.send(
      "DELETE",
      apiPath(project, `/environments/${seg(environment)}/schedules/${seg(c.req.param("id"))}`),
      undefined,
      ScheduleSchema,
    );
    if (result.ok) return redirectDone(c, `schedules?env=${encodeURIComponent(environment)}`, "schedule-cancelled");
    if (result.status === 404 || result.status === 409) {
      return page(c, environment, { status: result.status, notice: { kind: "error", text: `Not cancelled: ${result.problem.detail}` } });
    }
    return apiFailure(c, result);
  });
}
