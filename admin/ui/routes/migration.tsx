/** Migration: the audit-mode overview and one environment's detail, and the cut-over form. */
import { AuditPageSchema } from "../../../contracts/admin-responses";
import { CutOverSchema, MigrationDetailSchema, MigrationOverviewSchema } from "../../../contracts/migration";
import { seg } from "../api";
import { apiFailure, apiPath, field, redirectDone, vars, type ConsoleApp, type ConsoleContext } from "../context";
import type { Notice } from "../layout";
import { cutOverHistory, MigrationPage, type CutOverForm, type CutOverRecord } from "../pages/migration";

export function registerMigration(ui: ConsoleApp): void {
  const render = async (
    c: ConsoleContext,
    choice: { env?: string | undefined; flag?: string | undefined },
    extra: { form?: CutOverForm | null; notice?: Notice | null; status?: 200 | 400 | 404 | 409 } = {},
  ) => {
    const { api, project, session } = vars(c);
    const overview = await api.get(apiPath(project, "/migration"), MigrationOverviewSchema);
    if (!overview.ok) return apiFailure(c, overview);
    const names = overview.body.environments.map((e) => e.environment);
    const environment = choice.env && names.includes(choice.env) ? choice.env : names[0];
    let notice = extra.notice ?? cutOverNotice(c);
    let flag = (choice.flag ?? "").trim().slice(0, 256);
    let detail = null;
    let history: CutOverRecord[] | null = null;
    if (environment !== undefined) {
      const path = apiPath(project, `/environments/${seg(environment)}/migration`);
      let found = await api.get(flag ? `${path}?${new URLSearchParams({ flag })}` : path, MigrationDetailSchema);
      if (!found.ok && found.status === 400 && flag) {
        notice = { kind: "error", text: found.problem.detail };
        flag = "";
        found = await api.get(path, MigrationDetailSchema);
      }
      if (!found.ok) return apiFailure(c, found);
      detail = found.body;
      const query = new URLSearchParams({ action: "migration.cut-over", environment, limit: "20" });
      const audit = await api.get(apiPath(project, `/audit?${query}`), AuditPageSchema);
      history = audit.ok ? cutOverHistory(audit.body.entries) : null;
    }
    return c.html(
      <MigrationPage
        session={session}
        project={project}
        overview={overview.body}
        detail={detail}
        history={history}
        flagFilter={flag}
        form={extra.form ?? null}
        notice={notice}
      />,
      extra.status ?? 200,
    );
  };

  ui.get("/p/:project/migration", (c) => render(c, { env: c.req.query("env"), flag: c.req.query("flag") }));

  ui.post("/p/:project/migration/cut-over", async (c) => {
    const { api, project } = vars(c);
    const form = await c.req.parseBody();
    const env = field(form, "env");
    const authority = field(form, "authority") === "legacy" ? "legacy" : "edgeflags";
    const reason = field(form, "reason");
    const graceDays = field(form, "graceDays") || "14";
    const override = field(form, "override") === "yes";
    const again = (status: 400 | 404 | 409, error: string) =>
      render(c, { env }, { form: { authority, reason, graceDays, override: false, error }, status });
    if (!/^\d{1,3}$/.test(graceDays) || Number(graceDays) > 365) return again(400, "The grace period is a whole number of days, 0 to 365.");
    if (!reason) return again(400, "Say why: the reason is kept in the audit log with the evidence.");
    const body = { authority, graceDays: Number(graceDays), reason, ...(override ? { override: true } : {}) };
    const result = await api.send("POST", apiPath(project, `/environments/${seg(env)}/migration/cut-over`), body, CutOverSchema);
    if (!result.ok) {
      if (result.status === 409) {
        return again(409, `Not cut over: ${result.problem.detail}. To cut over anyway, tick the override below and confirm.`);
      }
      if (result.status === 400 || result.status === 404) return again(result.status, `Not cut over: ${result.problem.detail}`);
      return apiFailure(c, result);
    }
    return redirectDone(c, "migration", "cut-over", {
      env,
      authority: result.body.authority,
      changed: result.body.changed ? "1" : "0",
      overridden: result.body.overridden ? "1" : "0",
    });
  });
}

/** The notice after a cut-over's redirect, from fixed templates (never from free text in the URL). */
function cutOverNotice(c: ConsoleContext): Notice | null {
  if (c.req.query("done") !== "cut-over") return null;
  const env = c.req.query("env") ?? "";
  const who = c.req.query("authority") === "edgeflags" ? "edgeflags" : "the legacy system";
  if (c.req.query("changed") !== "1") return { kind: "ok", text: `${env} was already answered by ${who}: nothing changed.` };
  const overridden = c.req.query("overridden") === "1" ? " The exit criterion was overridden; that is on record." : "";
  return { kind: "ok", text: `${env} is now answered by ${who}. Applications follow within a minute.${overridden}` };
}
