/** Drafts and shadow evaluation: stage, watch the flips, publish (If-Match the live version) or discard. */
import * as z from "zod";
import { ProjectSchema, seg } from "../api";
import { apiFailure, apiPath, doneNotice, field, redirectDone, vars, type ConsoleApp, type ConsoleContext } from "../context";
import { pickEnvironment } from "../model";
import { DraftsPage, type DraftsPageProps } from "../pages/drafts";
import { DeletedSchema, DraftSchema, PublishedSchema } from "../../../contracts/admin-responses";

const FlagSetJson = z.json();

export function registerDrafts(ui: ConsoleApp): void {
  const page = async (
    c: ConsoleContext,
    requested: string | undefined,
    extra: { form?: DraftsPageProps["form"]; errors?: Record<string, string[]>; status?: 200 | 400 | 404 | 409 | 412 } = {},
  ) => {
    const { api, project, session } = vars(c);
    const info = await api.get(apiPath(project), ProjectSchema);
    if (!info.ok) return apiFailure(c, info);
    const environments = info.body.environments.map((e) => e.name);
    const environment = pickEnvironment(environments, requested);
    const [draft, live] = await Promise.all([
      api.get(apiPath(project, `/environments/${seg(environment)}/draft`), DraftSchema),
      api.get(apiPath(project, `/environments/${seg(environment)}/flagd`), FlagSetJson),
    ]);
    if (!draft.ok && draft.status !== 404) return apiFailure(c, draft);
    const start = draft.ok ? draft.body.flagSet : live.ok ? live.body : { flags: {} };
    const form = extra.form ?? {
      sampleRate: draft.ok ? String(draft.body.sampleRate) : "0.1",
      flagSet: JSON.stringify(start, null, 2),
      reason: "",
    };
    return c.html(
      <DraftsPage
        session={session}
        project={project}
        environments={environments}
        environment={environment}
        liveVersion={info.body.environments.find((e) => e.name === environment)?.version ?? 0}
        draft={draft.ok ? draft.body : null}
        form={form}
        errors={extra.errors ?? {}}
        notice={doneNotice(c)}
      />,
      extra.status ?? 200,
    );
  };

  ui.get("/p/:project/drafts", (c) => page(c, c.req.query("env")));

  ui.post("/p/:project/drafts", async (c) => {
    const { api, project } = vars(c);
    const raw = await c.req.parseBody();
    const environment = field(raw, "env");
    const form = { sampleRate: field(raw, "sampleRate"), flagSet: field(raw, "flagSet"), reason: field(raw, "reason") };
    let flagSet: unknown;
    try {
      flagSet = JSON.parse(form.flagSet);
    } catch (error) {
      return page(c, environment, {
        form,
        errors: { flagSet: [`This is not valid JSON: ${error instanceof Error ? error.message : String(error)}`] },
        status: 400,
      });
    }
    const sampleRate = form.sampleRate === "" ? 0.1 : Number(form.sampleRate);
    const result = await api.send(
      "PUT",
      apiPath(project, `/environments/${seg(environment)}/draft`),
      { sampleRate, flagSet, ...(form.reason ? { reason: form.reason } : {}) },
      DraftSchema,
    );
    if (result.ok) return redirectDone(c, `drafts?env=${encodeURIComponent(environment)}`, "draft-staged", { env: environment });
    if (result.status === 400) {
      const errors: Record<string, string[]> = {};
      for (const error of result.problem.errors ?? []) {
        const key = error.path.startsWith("sampleRate") ? "sampleRate" : "flagSet";
        (errors[key] ??= []).push(`${error.path}: ${error.message}`);
      }
      if (Object.keys(errors).length === 0) errors["flagSet"] = [result.problem.detail];
      return page(c, environment, { form, errors, status: 400 });
    }
    return apiFailure(c, result);
  });

  ui.post("/p/:project/drafts/publish", async (c) => {
    const { api, project } = vars(c);
    const raw = await c.req.parseBody();
    const environment = field(raw, "env");
    const version = field(raw, "version");
    const result = await api.send(
      "POST",
      apiPath(project, `/environments/${seg(environment)}/draft/publish`),
      undefined,
      PublishedSchema,
      /^\d+$/.test(version) ? { "if-match": `"${version}"` } : {},
    );
    if (result.ok)
      return redirectDone(c, `drafts?env=${encodeURIComponent(environment)}`, "draft-published", {
        env: environment,
        version: String(result.body.version),
      });
    if (result.status === 412 || result.status === 400 || result.status === 404) {
      const text =
        result.status === 412
          ? `Not published: ${environment} changed since you opened this page (${result.problem.detail}). Check the draft again.`
          : `Not published: ${result.problem.detail}`;
      return page(c, environment, { errors: { form: [text] }, status: result.status });
    }
    return apiFailure(c, result);
  });

  ui.post("/p/:project/drafts/discard", async (c) => {
    const { api, project } = vars(c);
    const raw = await c.req.parseBody();
    const environment = field(raw, "env");
    const result = await api.send("DELETE", apiPath(project, `/environments/${seg(environment)}/draft`), undefined, DeletedSchema);
    if (!result.ok) return apiFailure(c, result);
    return redirectDone(c, `drafts?env=${encodeURIComponent(environment)}`, "draft-discarded", { env: environment });
  });
}
