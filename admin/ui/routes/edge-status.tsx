/**
 * `GET /console/p/:project/edge-status?env=&version=`: whether the edge serves a version yet, for
 * the line the console shows after a change ("saved as version 42 — live at the edge"). "Live"
 * means the FlagStore has written that snapshot version (or a newer one) to KV, which is what
 * every edge isolate revalidates against within its refresh interval (`SNAPSHOT_REFRESH_SECONDS`);
 * until then the answer says the publish is queued, with its attempts and last error.
 */
import { ProjectSchema, ReplicationSchema, type ApiResult } from "../api";
import { apiPath, vars, type ConsoleApp } from "../context";
import type { EdgeStatus } from "../../../contracts/edge-status";

export function registerEdgeStatus(ui: ConsoleApp): void {
  /** A failed admin call, passed on as its status (404, 401, 403) or a 502, with its detail. */
  const failure = (result: Extract<ApiResult<unknown>, { ok: false }>) =>
    Response.json(
      { status: result.status, detail: result.problem.detail },
      { status: [401, 403, 404].includes(result.status) ? result.status : 502, headers: { "cache-control": "no-store" } },
    );
  ui.get("/p/:project/edge-status", async (c) => {
    const { api, project } = vars(c);
    const environment = c.req.query("env") ?? "";
    const asked = /^\d{1,15}$/.test(c.req.query("version") ?? "") ? Number(c.req.query("version")) : null;
    const [info, replication] = await Promise.all([
      api.get(apiPath(project), ProjectSchema),
      api.get(apiPath(project, "/replication"), ReplicationSchema),
    ]);
    if (!info.ok) return failure(info);
    if (!replication.ok) return failure(replication);
    const env = info.body.environments.find((e) => e.name === environment);
    if (!env) return c.json({ status: 404, detail: `there is no environment "${environment}" in ${project}` }, 404);
    const published = replication.body.published.find((row) => row.kind === "publish" && row.target === environment) ?? null;
    const pending = replication.body.pending.find((row) => row.kind === "publish" && row.target === environment) ?? null;
    const version = asked ?? env.version;
    const live = published !== null && published.version >= version;
    const status: EdgeStatus = {
      environment,
      committed: env.version,
      published: published?.version ?? null,
      publishedAt: published?.publishedAt ?? null,
      state: live ? "live" : "queued",
      version,
      pending: live || !pending ? null : { attempts: pending.attempts, lastError: pending.lastError, nextAttemptAt: pending.nextAttemptAt },
    };
    return c.json(status);
  });
}
