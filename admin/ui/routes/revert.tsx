/**
 * Reverting a flag change from the audit log: `GET /p/{project}/audit/{seq}/revert` shows what the
 * revert would change, `POST` writes the flag as it was before entry `seq` with `If-Match` on the
 * version shown (a change in between is refused, not overwritten).
 */
import { AuditPageSchema, FlagSchema, seg, type AdminClient, type AuditEntryView, type FlagView } from "../api";
import { FlagDefinitionSchema } from "../../../contracts/flag-definition";
import { apiFailure, apiPath, field, problemText, vars, type ConsoleApp, type ConsoleContext } from "../context";
import { ErrorPage } from "../pages/basic";
import { REVERTIBLE_ACTIONS } from "../pages/audit";
import { RevertPage, type RevertPageProps } from "../pages/revert";
import { projectPath } from "../layout";
import { PrerequisitesSchema } from "./rule-builder";

/** The fields of a flag a revert puts back (targets are recorded as counts, so they stay as they are). */
function restorable(definition: { state: string; variants: unknown; defaultVariant?: unknown; targeting?: unknown; metadata?: unknown }) {
  // Absent targeting is written by leaving it out (the API refuses `null`): a PUT replaces the flag.
  const hasTargeting = definition.targeting !== undefined && definition.targeting !== null;
  return {
    state: definition.state,
    variants: definition.variants,
    defaultVariant: definition.defaultVariant ?? null,
    ...(hasTargeting ? { targeting: definition.targeting } : {}),
    metadata: definition.metadata ?? {},
  };
}

type Loaded =
  | {
      ok: true;
      entry: AuditEntryView;
      flag: string;
      environment: string;
      current: FlagView;
      restored: ReturnType<typeof restorable>;
      later: number;
    }
  | { ok: false; response: Response | Promise<Response> };

async function load(c: ConsoleContext, api: AdminClient, project: string, seqText: string): Promise<Loaded> {
  const fail = (status: 400 | 404, title: string, detail: string): Loaded => ({
    ok: false,
    response: c.html(<ErrorPage title={title} detail={detail} session={c.get("session")} project={project} />, status),
  });
  if (!/^\d{1,15}$/.test(seqText)) return fail(404, "No such change", "That is not an entry of the audit log.");
  const seq = Number(seqText);
  // Entries are listed newest first from before a cursor: the one just before seq + 1 is seq.
  const page = await api.get(apiPath(project, `/audit?${new URLSearchParams({ cursor: String(seq + 1), limit: "1" })}`), AuditPageSchema);
  if (!page.ok) return { ok: false, response: apiFailure(c, page) };
  const entry = page.body.entries[0];
  if (!entry || entry.seq !== seq) return fail(404, "No such change", `The audit log of ${project} has no entry #${seq}.`);
  const flag = entry.target.startsWith("flag:") ? entry.target.slice("flag:".length) : null;
  const before = FlagDefinitionSchema.safeParse(entry.before);
  if (!REVERTIBLE_ACTIONS.has(entry.action) || flag === null || entry.environment === null || !before.success)
    return fail(
      400,
      "This change cannot be reverted here",
      `Entry #${seq} (${entry.action}) does not record a whole flag to go back to. Only changes to a flag's rules, variants or state can be reverted from the audit log.`,
    );
  const current = await api.get(apiPath(project, `/environments/${seg(entry.environment)}/flags/${seg(flag)}`), FlagSchema);
  if (!current.ok) {
    if (current.status === 404)
      return fail(
        404,
        "The flag is gone",
        `${flag} no longer exists in ${entry.environment}: there is nothing to revert. Create it again from the flags page.`,
      );
    return { ok: false, response: apiFailure(c, current) };
  }
  // How many changes to the flag came after this one (the revert undoes them too).
  const since = await api.get(
    apiPath(project, `/audit?${new URLSearchParams({ environment: entry.environment, flag, limit: "50" })}`),
    AuditPageSchema,
  );
  const later = since.ok ? since.body.entries.filter((e) => e.seq > seq && e.version !== null).length : 0;
  return { ok: true, entry, flag, environment: entry.environment, current: current.body, restored: restorable(before.data), later };
}

export function registerRevert(ui: ConsoleApp): void {
  const render = (c: ConsoleContext, project: string, loaded: Extract<Loaded, { ok: true }>, extra: Partial<RevertPageProps> = {}) => (
    <RevertPage
      session={c.get("session")}
      project={project}
      entry={loaded.entry}
      flag={loaded.flag}
      environment={loaded.environment}
      version={loaded.current.version}
      current={restorable(loaded.current)}
      restored={loaded.restored}
      later={loaded.later}
      reason={`Revert of change #${loaded.entry.seq}`}
      {...extra}
    />
  );

  ui.get("/p/:project/audit/:seq/revert", async (c) => {
    const { api, project } = vars(c);
    const loaded = await load(c, api, project, c.req.param("seq"));
    if (!loaded.ok) return loaded.response;
    return c.html(render(c, project, loaded));
  });

  ui.post("/p/:project/audit/:seq/revert", async (c) => {
    const { api, project } = vars(c);
    const loaded = await load(c, api, project, c.req.param("seq"));
    if (!loaded.ok) return loaded.response;
    const form = await c.req.parseBody();
    const version = field(form, "version");
    const reason = field(form, "reason");
    if (!reason) return c.html(render(c, project, loaded, { reason, error: "Say why: the reason is kept in the audit log." }), 400);
    if (!/^\d+$/.test(version))
      return c.html(render(c, project, loaded, { reason, error: "The form lost the version it was based on; reload the page." }), 400);
    const path = apiPath(project, `/environments/${seg(loaded.environment)}/flags/${seg(loaded.flag)}`);
    // A PUT replaces targets and prerequisites too: send the current ones back.
    const kept = await api.get(path, PrerequisitesSchema);
    if (!kept.ok) return apiFailure(c, kept);
    const body = {
      ...loaded.restored,
      ...(loaded.current.targets ? { targets: loaded.current.targets } : {}),
      ...(kept.body.prerequisites ? { prerequisites: kept.body.prerequisites } : {}),
      reason,
    };
    const result = await api.send("PUT", path, body, FlagSchema, { "if-match": `"${version}"` });
    if (result.ok) {
      const done = result.body.changed === false ? "unchanged" : "saved";
      const written = { env: loaded.environment, done, flag: loaded.flag, version: String(result.body.version) };
      return c.redirect(`${projectPath(project, `flags/${seg(loaded.flag)}`)}?${new URLSearchParams(written)}`, 303);
    }
    if (result.status === 412)
      return c.html(
        render(c, project, loaded, {
          reason,
          error: `Not reverted: ${loaded.flag} changed after this page was shown (${result.problem.detail}). The lines below are as it is now; check them and revert again.`,
        }),
        412,
      );
    if (result.status === 400 || result.status === 409)
      return c.html(render(c, project, loaded, { reason, error: `Not reverted: ${problemText(result.problem)}` }), result.status);
    return apiFailure(c, result);
  });
}
