/**
 * A FlagStore whose project was never created answers every project-wide call with the same 404,
 * and changes nothing: one guard (`requireProject`) decides it for all of them.
 */
import { describe, expect, it } from "vitest";
import { store } from "./helpers";

const meta = { actor: "test", reason: null };
const NO_PROJECT = { ok: false, error: { kind: "not_found", detail: expect.stringContaining("this project does not exist") } };

type Stub = ReturnType<typeof store>;

describe("a store without a project", () => {
  it.each<[string, (s: Stub) => Promise<unknown>]>([
    ["getProject", (s) => s.getProject()],
    ["listAudit", (s) => s.listAudit({ limit: 10 })],
    ["verifyAudit", (s) => s.verifyAudit()],
    ["listSegments", (s) => s.listSegments()],
    ["getSegment", (s) => s.getSegment("beta")],
    ["putSegment", (s) => s.putSegment("beta", { description: "", members: ["u1"] }, { ...meta, ifMatch: null })],
    ["deleteSegment", (s) => s.deleteSegment("beta", meta)],
    ["listProjectFlags", (s) => s.listProjectFlags()],
    ["getProjectFlag", (s) => s.getProjectFlag("f")],
    ["staleFlags", (s) => s.staleFlags(30)],
    ["createKey", (s) => s.createKey("server", null, "k", meta)],
    ["listKeys", (s) => s.listKeys(null)],
    [
      "createWebhook",
      (s) => s.createWebhook({ url: "https://receiver.example/hook", events: ["flag.toggled"], description: "", secret: null }, meta),
    ],
    ["listWebhooks", (s) => s.listWebhooks()],
    ["getWebhook", (s) => s.getWebhook("wh_x")],
    ["listTriggers", (s) => s.listTriggers()],
    ["getMigration", (s) => s.getMigration(null)],
    ["listFlags (an environment)", (s) => s.listFlags("production")],
  ])("%s answers the 404", async (_name, callIt) => {
    const s = store("never-created-project");
    expect(await callIt(s)).toEqual(NO_PROJECT);
    expect(await s.listWebhooks()).toEqual(NO_PROJECT);
  });
});
