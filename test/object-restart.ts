/**
 * Restarts a project's FlagStore as a deploy, a crash or an eviction does: the running instance
 * is aborted, and the next call constructs a fresh one over the same storage.
 */
import { runInDurableObject } from "cloudflare:test";
import { store } from "./helpers";

export async function restartObject(project: string, why = "restart"): Promise<void> {
  await runInDurableObject(store(project), (_instance, state) => {
    state.abort(why);
  }).catch(() => {});
}
