/**
 * Segments for people who do not write JsonLogic: a new segment is a list of ids by default, and
 * ids typed while "a rule" is chosen are refused with what to do, instead of a segment saved with
 * the example rule and the ids dropped.
 */
import { describe, expect, it } from "vitest";
import { call, setupProject } from "./helpers";
import { consoleRequest, consoleSignIn, formFieldsOf } from "./console-helpers";

describe("creating a segment from the console", () => {
  it("offers a member list first, and saves the ids typed into the untouched form", async () => {
    const project = "ui-segment-members";
    await setupProject(project);
    const cookie = await consoleSignIn(project);
    const page = await consoleRequest("GET", `/console/p/${project}/segments`, cookie);
    expect(page.text).toContain("the rule builder&#39;s condition &quot;is in segment&quot;");
    const form = await formFieldsOf(page.text, 'form[action$="/segments"]');
    expect(form["kind"]).toBe("members");
    const created = await consoleRequest("POST", `/console/p/${project}/segments`, cookie, {
      ...form,
      name: "beta-customers",
      members: "acme-42\nglobex",
    });
    expect(created.status, created.text).toBe(303);
    const segment = await call("GET", `/admin/v1/projects/${project}/segments/beta-customers`);
    expect(segment.body).toMatchObject({ memberCount: 2, rule: null, attribute: "targetingKey" });
  });

  it("refuses ids typed while a rule is chosen, saying what to do, and saves nothing", async () => {
    const project = "ui-segment-mixed";
    await setupProject(project);
    const cookie = await consoleSignIn(project);
    const form = await formFieldsOf(
      (await consoleRequest("GET", `/console/p/${project}/segments`, cookie)).text,
      'form[action$="/segments"]',
    );
    const mixed = await consoleRequest("POST", `/console/p/${project}/segments`, cookie, {
      ...form,
      kind: "rule",
      name: "beta-customers",
      members: "acme-42",
    });
    expect(mixed.status).toBe(400);
    expect(mixed.text).toContain("You typed members, but &quot;Matches&quot; is set to a rule, so they would be ignored");
    expect(mixed.text).toMatch(/id="sg-members"[^>]*aria-invalid="true"/);
    expect((await call("GET", `/admin/v1/projects/${project}/segments/beta-customers`)).status).toBe(404);
  });
});
