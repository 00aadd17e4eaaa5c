/**
 * Replacing a whole flag set (`flags push`, `PUT …/flagd`, publishing a draft) is audited and
 * announced per flag, and a replace that changes nothing changes nothing.
 */
import { describe, expect, it } from "vitest";
import { call, demoFlags, drainOutbox, setupProject } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;

describe("replacing a flag set", () => {
  it("audits each flag added, updated, toggled and deleted, and sends per-flag events", async () => {
    const project = "replace-per-flag";
    const { version } = await setupProject(project);
    const hook = await call("POST", `${P(project)}/webhooks`, {
      body: {
        url: "https://receiver.example/hook",
        events: ["flag.created", "flag.updated", "flag.toggled", "flag.deleted", "flagset.replaced"],
      },
    });
    const next = structuredClone(demoFlags);
    next.flags["kill-switch"]!.state = "DISABLED";
    next.flags["banner-color"]!.defaultVariant = "blue";
    delete next.flags["dark-launch"];
    next.flags["from-code"] = { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" };
    const put = await call("PUT", `${P(project)}/environments/production/flagd`, { body: next, headers: { "x-change-reason": "sync" } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ version: version + 1, changed: true });

    const entries = (await call("GET", `${P(project)}/audit?environment=production&limit=20`)).body.entries.filter(
      (e: { version: number }) => e.version === version + 1,
    );
    expect(entries.map((e: { action: string; target: string }) => `${e.action} ${e.target}`).sort()).toEqual([
      "flag.created flag:from-code",
      "flag.deleted flag:dark-launch",
      "flag.disabled flag:kill-switch",
      "flag.updated flag:banner-color",
      "flagset.replaced flagset",
    ]);
    expect(entries.every((e: { reason: string }) => e.reason === "sync")).toBe(true);
    const events = (await call("GET", `${P(project)}/webhooks/${hook.body.id}/deliveries?limit=20`)).body
      .map((d: { eventType: string }) => d.eventType)
      .sort();
    expect(events).toEqual(["flag.created", "flag.deleted", "flag.toggled", "flag.updated", "flagset.replaced"]);
  });

  it("changes nothing when the set is what is stored", async () => {
    const project = "replace-same";
    const { version } = await setupProject(project);
    await drainOutbox(project);
    const auditBefore = (await call("GET", `${P(project)}/audit?limit=100`)).body.entries.length;
    const exported = (await call("GET", `${P(project)}/environments/production/flagd`)).body;
    const put = await call("PUT", `${P(project)}/environments/production/flagd`, { body: exported });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ version, changed: false });
    expect((await call("GET", `${P(project)}/audit?limit=100`)).body.entries.length).toBe(auditBefore);
    expect((await call("GET", `${P(project)}/replication`)).body.pending).toEqual([]);
  });
});
