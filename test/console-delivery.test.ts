/**
 * The flag page's delivery panels tell the truth: experiment weights pre-filled from the flag's
 * split, a ramp's effective share, and a ramp that would reach nobody (rules that answer everyone,
 * a flag turned off) said before it is started, in the words of the rule builder.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, setupProject } from "./helpers";

const ORIGIN = "http://edgeflags.test";

async function page(path: string, cookie: string): Promise<string> {
  const response = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { headers: { cookie }, redirect: "manual" }));
  return response.text();
}

async function signIn(project: string): Promise<string> {
  const response = await exports.default.fetch(
    new Request(`${ORIGIN}/console/sign-in`, {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ project, credential: ADMIN_TOKEN }).toString(),
      redirect: "manual",
    }),
  );
  return (response.headers.get("set-cookie") ?? "").split(";")[0]!;
}

describe("delivery panels", () => {
  it("pre-fills the experiment's intended weights with the split the flag serves", async () => {
    const project = "ui-exp-weights";
    await setupProject(project, {
      flags: {
        split: {
          state: "ENABLED",
          variants: { a: "A", b: "B" },
          defaultVariant: "a",
          targeting: {
            fractional: [
              ["a", 20],
              ["b", 80],
            ],
          },
        },
      },
    });
    const html = await page(`/console/p/${project}/flags/split?env=production`, await signIn(project));
    expect(html).toMatch(/id="weight-a"[^>]*value="20"/);
    expect(html).toMatch(/id="weight-b"[^>]*value="80"/);
  });

  it("shows a ramp's effective share when the flag's own rules answer first", async () => {
    const project = "ui-ramp-effective";
    await setupProject(project);
    const flag = `/admin/v1/projects/${project}/environments/production/flags/kill-switch`;
    const current = (await call("GET", flag)).body;
    await call("PUT", flag, {
      headers: { "if-match": `"${current.version}"` },
      body: {
        state: "ENABLED",
        variants: current.variants,
        defaultVariant: "off",
        targeting: { if: [{ "==": [{ var: "plan" }, "staff"] }, "on", null] },
      },
    });
    expect(
      (
        await call("POST", `${flag}/ramp`, {
          body: { variant: "on", baseline: "off", steps: [{ percent: 10 }, { percent: 50, afterSeconds: 3600 }] },
        })
      ).status,
    ).toBe(201);
    const html = await page(`/console/p/${project}/flags/kill-switch?env=production`, await signIn(project));
    expect(html).toContain("Effective share: at most 10%");
  });

  it("says why a ramp on a flag whose rules answer everyone is refused, on the form", async () => {
    const project = "ui-ramp-refused";
    await setupProject(project);
    const cookie = await signIn(project);
    const response = await exports.default.fetch(
      new Request(`${ORIGIN}/console/p/${project}/flags/new-checkout/ramp`, {
        method: "POST",
        headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          env: "production",
          variant: "on",
          baseline: "off",
          "percent-0": "25",
          "delay-0": "0",
          "unit-0": "minutes",
        }).toString(),
        redirect: "manual",
      }),
    );
    expect(response.status).toBe(409);
    const html = await response.text();
    // The refusal in the rule builder's words, with what to change; not the API's JsonLogic.
    expect(html).toContain('id="ramp-error"');
    expect(html).toContain("A ramp here would reach nobody, so it is refused");
    expect(html).toContain("&quot;everyone: 50% on, 50% off&quot;");
    expect(html).toContain("set &quot;Everyone else gets&quot; to &quot;the default variant&quot;");
    expect(html).not.toContain("fractional split answers every context");
    expect((await call("GET", `/admin/v1/projects/${project}/environments/production/flags/new-checkout/ramp`)).status).toBe(404);
  });

  it("warns before a ramp is started behind rules that answer everyone, and not where the rules leave contexts undecided", async () => {
    const project = "ui-ramp-warned";
    await setupProject(project);
    const cookie = await signIn(project);
    const blocked = await page(`/console/p/${project}/flags/new-checkout?env=production`, cookie);
    expect(blocked).toMatch(/<div class="notice warn" role="status" id="ramp-blocked">A ramp here would reach nobody/);
    expect(blocked).toContain("the rules of new-checkout in production already give every context a variant");
    // banner-color's rule leaves everyone outside CA and US to the default: a ramp decides for them.
    const open = await page(`/console/p/${project}/flags/banner-color?env=production`, cookie);
    expect(open).toContain("Start the ramp");
    expect(open).not.toContain('id="ramp-blocked"');
    expect(open).not.toContain('id="ramp-turned-off"');
  });

  it("says that a ramp on a flag turned off in the environment reaches nobody, before and while it runs", async () => {
    const project = "ui-ramp-off";
    await setupProject(project);
    const cookie = await signIn(project);
    const before = await page(`/console/p/${project}/flags/dark-launch?env=production`, cookie);
    expect(before).toMatch(
      /id="ramp-turned-off">dark-launch is turned off in production: while it is off, callers get their code default whatever step a ramp is at, so the ramp reaches nobody/,
    );
    const flag = `/admin/v1/projects/${project}/environments/production/flags/dark-launch`;
    expect((await call("POST", `${flag}/ramp`, { body: { variant: "on", baseline: "off", steps: [{ percent: 10 }] } })).status).toBe(201);
    const running = await page(`/console/p/${project}/flags/dark-launch?env=production`, cookie);
    expect(running).toContain('id="ramp-status"');
    expect(running).toContain('id="ramp-turned-off"');
    // Said once: the admin API's own note (effective share 0) is not repeated beside it.
    expect(running).not.toContain('id="ramp-effective"');
    // Turned on, the warning goes.
    expect((await call("POST", `${flag}/toggle`, { body: { state: "ENABLED" } })).status).toBe(200);
    expect(await page(`/console/p/${project}/flags/dark-launch?env=production`, cookie)).not.toContain('id="ramp-turned-off"');
  });
});
