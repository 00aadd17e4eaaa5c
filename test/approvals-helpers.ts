/** Shared by the approvals and schedules tests: keys with a role, a protected production, queued webhook events. */
import { runInDurableObject } from "cloudflare:test";
import { call, store } from "./helpers";

export const P = (project: string) => `/admin/v1/projects/${project}`;
export const E = (project: string, env = "production") => `${P(project)}/environments/${env}`;

/** An admin-API key carrying `role`; its token and its audit name. */
export async function keyWithRole(
  project: string,
  role: "viewer" | "editor" | "approver" | "admin",
): Promise<{ token: string; name: string }> {
  const created = await call("POST", `${P(project)}/keys`, { body: { scope: "admin", role } });
  if (created.status !== 201) throw new Error(`key failed: ${created.status} ${JSON.stringify(created.body)}`);
  return { token: created.body.key, name: `key:${created.body.id}` };
}

/** Requires approval in `env` (production by default). */
export async function protect(project: string, killSwitchExempt = false, env = "production") {
  const put = await call("PUT", `${E(project, env)}/protection`, { body: { requireApproval: true, killSwitchExempt } });
  if (put.status !== 200) throw new Error(`protection failed: ${put.status} ${JSON.stringify(put.body)}`);
}

/** Subscribes a receiver to `events`, so their deliveries are queued. */
export async function subscribe(project: string, events: string[]) {
  const hook = await call("POST", `${P(project)}/webhooks`, { body: { url: "https://receiver.example/hook", events } });
  if (hook.status !== 201) throw new Error(`webhook failed: ${hook.status} ${JSON.stringify(hook.body)}`);
}

/** The webhook events queued so far, oldest first. */
export function queuedEvents(project: string): Promise<{ type: string; data: Record<string, unknown>; actor: string }[]> {
  return runInDurableObject(store(project), (_instance, state) =>
    state.storage.sql
      .exec<{ payload: string }>("SELECT payload FROM webhook_deliveries ORDER BY created_at, rowid")
      .toArray()
      .map((row) => JSON.parse(row.payload)),
  );
}
