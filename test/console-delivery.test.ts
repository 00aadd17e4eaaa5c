/** The flag page's delivery panels tell the truth: experiment weights pre-filled from the flag's split, a ramp's effective share. */
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
    expect(await response.text()).toContain("already answers every context");
  });
});
