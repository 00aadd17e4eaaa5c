/**
 * Promoting between environments tells a person what they would lose: individual targets the
 * target environment lists and the source does not (customers added by hand in production) are
 * named in the dry run before anything is written, and rules that differ are read in plain words.
 */
import { describe, expect, it } from "vitest";
import { demoFlags, call, setupProject } from "./helpers";
import { consoleRequest, consoleSignIn } from "./console-helpers";

async function project(name: string): Promise<string> {
  await setupProject(name);
  const staging = await call("PUT", `/admin/v1/projects/${name}/environments/staging/flagd`, { body: demoFlags });
  expect(staging.status, JSON.stringify(staging.body)).toBe(200);
  return consoleSignIn(name);
}

/** The console's dry run of promoting new-checkout from staging to production. */
function promotionPreview(name: string, cookie: string) {
  return consoleRequest(
    "POST",
    `/console/p/${name}/environments/promote`,
    cookie,
    new URLSearchParams([
      ["from", "staging"],
      ["to", "production"],
      ["flags", "new-checkout"],
    ]),
  );
}

describe("promoting", () => {
  it("names the individual targets of the target environment a promotion would remove, before it writes anything", async () => {
    const name = "ui-promote-targets";
    const cookie = await project(name);
    const targets = await call("POST", `/admin/v1/projects/${name}/environments/production/flags/new-checkout/targets`, {
      body: { add: { on: ["acme-42", "globex"] }, reason: "support" },
    });
    expect(targets.status, JSON.stringify(targets.body)).toBe(200);
    const preview = await promotionPreview(name, cookie);
    expect(preview.status).toBe(200);
    expect(preview.text).toContain(
      '<div class="notice warn" role="status" id="lost-targets-new-checkout">new-checkout: 2 individual targets in production (acme-42, globex) are not in staging and would be removed by this promotion. Add them to new-checkout in staging first, or leave new-checkout out of the promotion.</div>',
    );
    // The rules as each side reads them, in words.
    expect(preview.text).toContain("<li>2 individual targets → on</li>");
    expect(preview.text).toContain("<li>everyone: 50% on, 50% off</li>");
    // A dry run: production still lists them.
    const flag = await call("GET", `/admin/v1/projects/${name}/environments/production/flags/new-checkout`);
    expect(flag.body.targets).toEqual({ on: ["acme-42", "globex"] });
  });

  it("warns about nothing when the source lists the same targets", async () => {
    const name = "ui-promote-same";
    const cookie = await project(name);
    for (const env of ["staging", "production"]) {
      await call("POST", `/admin/v1/projects/${name}/environments/${env}/flags/new-checkout/targets`, {
        body: { add: { on: ["acme-42"] } },
      });
    }
    const current = (await call("GET", `/admin/v1/projects/${name}/environments/staging/flags/new-checkout`)).body;
    await call("PUT", `/admin/v1/projects/${name}/environments/staging/flags/new-checkout`, {
      headers: { "if-match": `"${current.version}"` },
      body: { state: "ENABLED", variants: current.variants, defaultVariant: "on", targeting: current.targeting, targets: current.targets },
    });
    const preview = await promotionPreview(name, cookie);
    expect(preview.text).toContain('id="promote-preview"');
    expect(preview.text).not.toContain("lost-targets-");
  });
});
