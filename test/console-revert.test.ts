/**
 * Undoing a mistake from the audit log: a change to a flag's rules or its kill switch is reverted
 * from its entry, after a page showing what the revert changes; individual targets added since are
 * kept; a change made in between is refused (412), not overwritten; entries that do not record a
 * whole flag offer no revert.
 */
import { describe, expect, it } from "vitest";
import { call, setupProject } from "./helpers";
import { consoleRequest, consoleSignIn, formFieldsOf } from "./console-helpers";

const flagApi = (project: string, flag: string) => `/admin/v1/projects/${project}/environments/production/flags/${flag}`;

/** Replaces new-checkout's 50/50 split by "everyone on" (the mistake), and returns its audit entry's number. */
async function mistake(project: string): Promise<number> {
  const current = (await call("GET", flagApi(project, "new-checkout"))).body;
  const put = await call("PUT", flagApi(project, "new-checkout"), {
    headers: { "if-match": `"${current.version}"`, "x-change-reason": "launch" },
    body: { state: "ENABLED", variants: current.variants, defaultVariant: "off", targeting: { fractional: [["on", 100]] } },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  const audit = await call("GET", `/admin/v1/projects/${project}/audit?flag=new-checkout&limit=1`);
  expect(audit.body.entries[0].action).toBe("flag.updated");
  return audit.body.entries[0].seq;
}

describe("reverting a change from the audit log", () => {
  it("puts the rules back as they were, keeping the targets added since, after showing what changes", async () => {
    const project = "ui-revert";
    await setupProject(project);
    const cookie = await consoleSignIn(project);
    const seq = await mistake(project);
    expect(
      (await call("POST", `${flagApi(project, "new-checkout")}/targets`, { body: { add: { on: ["acme-42"] }, reason: "support" } })).status,
    ).toBe(200);

    const audit = await consoleRequest("GET", `/console/p/${project}/audit`, cookie);
    expect(audit.text).toContain(`href="/console/p/${project}/audit/${seq}/revert"`);
    const page = await consoleRequest("GET", `/console/p/${project}/audit/${seq}/revert`, cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain("Individual targets stay as they are now.");
    // The change after it (the targets) touched none of the fields a revert writes: still, it is said.
    expect(page.text).toContain('id="revert-later"');
    expect(page.text).toMatch(/<del aria-label="was \[&quot;on&quot;,100\]">/);
    const fields = await formFieldsOf(page.text, "#revert-form");
    expect(fields["reason"]).toBe(`Revert of change #${seq}`);

    const reverted = await consoleRequest("POST", `/console/p/${project}/audit/${seq}/revert`, cookie, fields);
    expect(reverted.status, reverted.text).toBe(303);
    expect(reverted.headers.get("location")).toMatch(/\/flags\/new-checkout\?env=production&done=saved&flag=new-checkout&version=\d+/);
    const flag = (await call("GET", flagApi(project, "new-checkout"))).body;
    expect(flag.targeting).toEqual({
      fractional: [
        ["on", 50],
        ["off", 50],
      ],
    });
    expect(flag.targets).toEqual({ on: ["acme-42"] });
    const entry = (await call("GET", `/admin/v1/projects/${project}/audit?flag=new-checkout&limit=1`)).body.entries[0];
    expect(entry).toMatchObject({ action: "flag.updated", reason: `Revert of change #${seq}` });

    // Reverted, the same entry has nothing left to revert.
    const again = await consoleRequest("GET", `/console/p/${project}/audit/${seq}/revert`, cookie);
    expect(again.text).toContain('id="revert-nothing"');
    expect(again.text).not.toContain('id="revert-form"');
  });

  it("refuses a revert when the flag changed after the page was shown, and writes nothing", async () => {
    const project = "ui-revert-stale";
    await setupProject(project);
    const cookie = await consoleSignIn(project);
    const seq = await mistake(project);
    const fields = await formFieldsOf(
      (await consoleRequest("GET", `/console/p/${project}/audit/${seq}/revert`, cookie)).text,
      "#revert-form",
    );
    const between = (await call("GET", flagApi(project, "new-checkout"))).body;
    expect(
      (
        await call("PUT", flagApi(project, "new-checkout"), {
          headers: { "if-match": `"${between.version}"` },
          body: { state: "ENABLED", variants: between.variants, defaultVariant: "on", targeting: between.targeting },
        })
      ).status,
    ).toBe(200);
    const stale = await consoleRequest("POST", `/console/p/${project}/audit/${seq}/revert`, cookie, fields);
    expect(stale.status).toBe(412);
    expect(stale.text).toContain("Not reverted: new-checkout changed after this page was shown");
    const flag = (await call("GET", flagApi(project, "new-checkout"))).body;
    expect(flag).toMatchObject({ defaultVariant: "on", targeting: { fractional: [["on", 100]] } });
  });

  it("turns a kill switch back the way it was, and offers no revert for entries without a whole flag", async () => {
    const project = "ui-revert-toggle";
    await setupProject(project);
    const cookie = await consoleSignIn(project);
    expect((await call("POST", `${flagApi(project, "kill-switch")}/toggle`, { body: { state: "DISABLED", reason: "oops" } })).status).toBe(
      200,
    );
    const [toggled] = (await call("GET", `/admin/v1/projects/${project}/audit?flag=kill-switch&limit=1`)).body.entries;
    expect(toggled.action).toBe("flag.disabled");
    const page = await consoleRequest("GET", `/console/p/${project}/audit/${toggled.seq}/revert`, cookie);
    const fields = await formFieldsOf(page.text, "#revert-form");
    const reverted = await consoleRequest("POST", `/console/p/${project}/audit/${toggled.seq}/revert`, cookie, {
      ...fields,
      reason: "undo",
    });
    expect(reverted.status, reverted.text).toBe(303);
    expect((await call("GET", flagApi(project, "kill-switch"))).body.state).toBe("ENABLED");

    // A key's creation records no flag: no link, and the page says why.
    const [keyEntry] = (await call("GET", `/admin/v1/projects/${project}/audit?action=key.created&limit=1`)).body.entries;
    expect(keyEntry).toBeDefined();
    const audit = await consoleRequest("GET", `/console/p/${project}/audit`, cookie);
    expect(audit.text).not.toContain(`/audit/${keyEntry.seq}/revert`);
    const refused = await consoleRequest("GET", `/console/p/${project}/audit/${keyEntry.seq}/revert`, cookie);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("Only changes to a flag&#39;s rules, variants or state can be reverted");
    expect((await consoleRequest("GET", `/console/p/${project}/audit/999999/revert`, cookie)).status).toBe(404);
    expect((await consoleRequest("GET", `/console/p/${project}/audit/not-a-number/revert`, cookie)).status).toBe(404);
  });
});
