/** Change requests: the environment's list with diffs, opening one (prefilled from a flag with ?flag=), and each decision. */
import * as z from "zod";
import { FlagSchema, seg } from "../api";
import { apiFailure, apiPath, field, redirectDone, vars, type ConsoleApp, type ConsoleContext } from "../context";
import type { Notice } from "../layout";
import { chooseEnvironment } from "./environment-choice";
import { ChangeRequestsPage, type ChangeRequestForm } from "../pages/change-requests";
import { ChangeRequestListSchema, ChangeRequestSchema, ProtectionSchema } from "../../../contracts/approvals";
import type { Session } from "../../session";

const Json = z.json();

/** Notices after a decision, from fixed templates. */
const DONE: Record<string, string> = {
  "cr-opened": "Change request opened: it waits for an approver.",
  "cr-approve": "Approved.",
  "cr-reject": "Rejected.",
  "cr-rebase": "Rebased on the current version: it can be approved now.",
  "cr-withdraw": "Withdrawn.",
};

/** The signed-in identity as the audit log names it. */
export function sessionActor(session: Session): string {
  return session.keyId ? `key:${session.keyId}` : "token:bootstrap";
}

export function registerChangeRequests(ui: ConsoleApp): void {
  const page = async (
    c: ConsoleContext,
    requested: string | undefined,
    extra: { form?: ChangeRequestForm; errors?: Record<string, string[]>; status?: 200 | 400 | 403 | 404 | 409; notice?: Notice } = {},
  ) => {
    const { api, project, session } = vars(c);
    const chosen = await chooseEnvironment(c, requested);
    if (chosen instanceof Response) return chosen;
    const { environments, environment } = chosen;
    const base = apiPath(project, `/environments/${seg(environment)}`);
    const [list, protection] = await Promise.all([
      api.get(`${base}/change-requests`, ChangeRequestListSchema),
      api.get(`${base}/protection`, ProtectionSchema),
    ]);
    if (!list.ok) return apiFailure(c, list);
    let form = extra.form ?? { flag: c.req.query("flag") ?? "", definition: "", reason: "" };
    if (!extra.form && form.flag) {
      // Start from the flag as it is, so the request is an edit of it.
      const flag = await api.get(`${base}/flags/${seg(form.flag)}`, FlagSchema);
      if (flag.ok) {
        const { key: _k, environment: _e, version: _v, updatedAt: _u, updatedBy: _b, changed: _c, ...definition } = flag.body;
        form = { ...form, definition: JSON.stringify(definition, null, 2) };
      }
    }
    const done = DONE[c.req.query("done") ?? ""];
    return c.html(
      <ChangeRequestsPage
        session={session}
        project={project}
        environments={environments}
        environment={environment}
        protection={protection.ok ? protection.body : null}
        requests={list.body}
        me={sessionActor(session)}
        form={form}
        errors={extra.errors ?? {}}
        notice={extra.notice ?? (done ? { kind: "ok", text: done } : null)}
      />,
      extra.status ?? 200,
    );
  };

  ui.get("/p/:project/change-requests", (c) => page(c, c.req.query("env")));

  ui.post("/p/:project/change-requests", async (c) => {
    const { api, project } = vars(c);
    const raw = await c.req.parseBody();
    const environment = field(raw, "env");
    const form = { flag: field(raw, "flag"), definition: field(raw, "definition"), reason: field(raw, "reason") };
    let definition: unknown = null;
    if (form.definition !== "") {
      const parsed = Json.safeParse(
        (() => {
          try {
            return JSON.parse(form.definition);
          } catch {
            return undefined;
          }
        })(),
      );
      if (!parsed.success) return page(c, environment, { form, errors: { definition: ["This is not valid JSON."] }, status: 400 });
      definition = parsed.data;
    }
    const result = await api.send(
      "POST",
      apiPath(project, `/environments/${seg(environment)}/change-requests`),
      { flags: { [form.flag]: definition }, reason: form.reason },
      ChangeRequestSchema,
    );
    if (result.ok) return redirectDone(c, `change-requests?env=${encodeURIComponent(environment)}`, "cr-opened");
    if (result.status === 400 || result.status === 403 || result.status === 404 || result.status === 409) {
      const errors: Record<string, string[]> = {};
      for (const error of result.problem.errors ?? []) {
        const key = error.path === "reason" ? "reason" : error.path.startsWith("flags") ? "definition" : "form";
        (errors[key] ??= []).push(`${error.path}: ${error.message}`);
      }
      if (Object.keys(errors).length === 0) errors["form"] = [result.problem.detail];
      return page(c, environment, { form, errors, status: result.status });
    }
    return apiFailure(c, result);
  });

  for (const action of ["approve", "reject", "rebase", "withdraw"] as const) {
    ui.post(`/p/:project/change-requests/:id/${action}`, async (c) => {
      const { api, project } = vars(c);
      const raw = await c.req.parseBody();
      const environment = field(raw, "env");
      const path = apiPath(project, `/environments/${seg(environment)}/change-requests/${seg(c.req.param("id"))}`);
      const result =
        action === "withdraw"
          ? await api.send("DELETE", path, undefined, ChangeRequestSchema)
          : await api.send("POST", `${path}/${action}`, action === "reject" ? { reason: field(raw, "reason") } : {}, ChangeRequestSchema);
      if (result.ok) return redirectDone(c, `change-requests?env=${encodeURIComponent(environment)}`, `cr-${action}`);
      if (result.status === 400 || result.status === 403 || result.status === 404 || result.status === 409) {
        // The API's own words: a 409 says to rebase, or names the flags that changed.
        return page(c, environment, { status: result.status, notice: { kind: "error", text: `Not done: ${result.problem.detail}` } });
      }
      return apiFailure(c, result);
    });
  }
}
