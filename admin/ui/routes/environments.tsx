/** Compare two environments and promote between them (dry run first, then apply with If-Match). */
import { ProjectSchema } from "../api";
import { apiFailure, apiPath, doneNotice, field, fields, redirectDone, vars, type ConsoleApp, type ConsoleContext } from "../context";
import type { Notice } from "../layout";
import { changesOf, EnvironmentsPage, type PromotePreview } from "../pages/environments";
import { EnvironmentDiffSchema, PromoteSchema, type EnvironmentDiffView } from "../../../contracts/admin-responses";

export function registerEnvironments(ui: ConsoleApp): void {
  const render = async (
    c: ConsoleContext,
    choice: { from?: string | undefined; to?: string | undefined; flag?: string | undefined },
    extra: { preview?: PromotePreview | null; error?: string | null; notice?: Notice | null; status?: 200 | 400 | 404 | 409 | 412 } = {},
  ) => {
    const { api, project, session } = vars(c);
    const info = await api.get(apiPath(project), ProjectSchema);
    if (!info.ok) return apiFailure(c, info);
    const names = info.body.environments.map((e) => e.name);
    const to = choice.to && names.includes(choice.to) ? choice.to : names.includes("production") ? "production" : (names.at(-1) ?? "");
    const from = choice.from && names.includes(choice.from) ? choice.from : (names.filter((n) => n !== to).at(-1) ?? to);
    const flagFilter = choice.flag ?? "";
    let diff: EnvironmentDiffView | null = null;
    let error = extra.error ?? null;
    if (!extra.preview && from !== to) {
      const query = new URLSearchParams({ from, to });
      for (const key of splitKeys(flagFilter)) query.append("flag", key);
      const compared = await api.get(apiPath(project, `/compare?${query}`), EnvironmentDiffSchema);
      if (compared.ok) diff = compared.body;
      else if (compared.status === 400 || compared.status === 404) error ??= compared.problem.detail;
      else return apiFailure(c, compared);
    } else if (from === to) error ??= "Choose two different environments to compare.";
    return c.html(
      <EnvironmentsPage
        session={session}
        project={project}
        environments={info.body.environments}
        from={from}
        to={to}
        flagFilter={flagFilter}
        diff={diff}
        preview={extra.preview ?? null}
        error={error}
        notice={extra.notice ?? doneNotice(c)}
      />,
      extra.status ?? 200,
    );
  };

  ui.get("/p/:project/environments", (c) => render(c, { from: c.req.query("from"), to: c.req.query("to"), flag: c.req.query("flag") }));

  ui.post("/p/:project/environments/promote", async (c) => {
    const { api, project } = vars(c);
    const form = await c.req.parseBody({ all: true });
    const from = field(form, "from");
    const to = field(form, "to");
    const reason = field(form, "reason");
    const chosen = fields(form, "flags");
    const step = field(form, "step");
    const body = { from, to, ...(chosen.length ? { flags: chosen } : {}), ...(reason ? { reason } : {}) };
    if (step === "apply") {
      const version = field(form, "version");
      const headers: Record<string, string> = /^\d+$/.test(version) ? { "if-match": `"${version}"` } : {};
      const applied = await api.send("POST", apiPath(project, "/promote"), body, PromoteSchema, headers);
      if (applied.ok) {
        return redirectDone(c, "environments", "promoted", {
          from,
          to,
          count: String(changesOf(applied.body.diff).length),
          version: String(applied.body.version ?? "unchanged"),
        });
      }
      if (applied.status === 412 || applied.status === 400 || applied.status === 404 || applied.status === 409) {
        const text =
          applied.status === 412
            ? `Not promoted: ${applied.problem.detail}. Here is the comparison as it is now.`
            : `Not promoted: ${applied.problem.detail}`;
        return render(c, { from, to }, { error: text, status: applied.status });
      }
      return apiFailure(c, applied);
    }
    if (chosen.length === 0) return render(c, { from, to }, { error: "Choose at least one flag to promote.", status: 400 });
    const [info, dry] = await Promise.all([
      api.get(apiPath(project), ProjectSchema),
      api.send("POST", apiPath(project, "/promote?dryRun=true"), body, PromoteSchema),
    ]);
    if (!info.ok) return apiFailure(c, info);
    if (!dry.ok) {
      if (dry.status === 400 || dry.status === 404 || dry.status === 409)
        return render(c, { from, to }, { error: dry.problem.detail, status: dry.status });
      return apiFailure(c, dry);
    }
    const targetVersion = info.body.environments.find((e) => e.name === to)?.version ?? 0;
    return render(c, { from, to, flag: chosen.join(", ") }, { preview: { diff: dry.body.diff, flags: chosen, reason, targetVersion } });
  });
}

function splitKeys(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((k) => k.trim())
    .filter(Boolean);
}
