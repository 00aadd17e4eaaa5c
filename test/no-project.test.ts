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
    ["project.get", (s) => s.project().get()],
    ["audit.list", (s) => s.audit().list({ limit: 10 })],
    ["audit.verify", (s) => s.audit().verify()],
    ["segments.list", (s) => s.segments().list()],
    ["segments.get", (s) => s.segments().get("beta")],
    ["segments.put", (s) => s.segments().put("beta", { description: "", members: ["u1"] }, { ...meta, ifMatch: null })],
    ["segments.delete", (s) => s.segments().delete("beta", meta)],
    ["projectFlags.list", (s) => s.projectFlags().list()],
    ["projectFlags.get", (s) => s.projectFlags().get("f")],
    ["projectFlags.stale", (s) => s.projectFlags().stale(30)],
    ["keys.create", (s) => s.keys().create("server", null, "k", meta)],
    ["keys.list", (s) => s.keys().list(null)],
    [
      "webhooks.create",
      (s) => s.webhooks().create({ url: "https://receiver.example/hook", events: ["flag.toggled"], description: "", secret: null }, meta),
    ],
    ["webhooks.list", (s) => s.webhooks().list()],
    ["webhooks.get", (s) => s.webhooks().get("wh_x")],
    ["triggers.list", (s) => s.triggers().list()],
    ["migration.get", (s) => s.migration().get(null)],
    ["flags.list (an environment)", (s) => s.flags().list("production")],
  ])("%s answers the 404", async (_name, callIt) => {
    const s = store("never-created-project");
    expect(await callIt(s)).toEqual(NO_PROJECT);
    expect(await s.webhooks().list()).toEqual(NO_PROJECT);
  });
});
