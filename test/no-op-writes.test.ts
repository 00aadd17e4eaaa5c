/**
 * A write that changes nothing says so and bumps, audits and announces nothing; the kill switch
 * is read and written in one call, so concurrent toggles cannot each think they changed it.
 */
import { describe, expect, it } from "vitest";
import { call, setupProject } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;

async function auditOf(project: string, flag: string): Promise<{ action: string }[]> {
  return (await call("GET", `${P(project)}/audit?flag=${flag}&limit=100`)).body.entries;
}

describe("writes that change nothing", () => {
  it("30 concurrent flips to DISABLED: one version bump, one audit entry, one webhook event", async () => {
    const project = "noop-flips";
    const { version } = await setupProject(project);
    const hook = await call("POST", `${P(project)}/webhooks`, { body: { url: "https://receiver.example/hook", events: ["flag.toggled"] } });
    expect(hook.status).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 30 }, () =>
        call("POST", `${P(project)}/environments/production/flags/kill-switch/toggle`, { body: { state: "DISABLED" } }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
    expect(answers.filter((a) => a.body.changed === true)).toHaveLength(1);
    expect(answers.filter((a) => a.body.changed === false)).toHaveLength(29);
    expect(new Set(answers.map((a) => a.body.version))).toEqual(new Set([version + 1]));
    expect((await call("GET", `${P(project)}/environments/production/flagd`)).headers.get("etag")).toBe(`"${version + 1}"`);
    expect((await auditOf(project, "kill-switch")).filter((e) => e.action === "flag.disabled")).toHaveLength(1);
    const deliveries = await call("GET", `${P(project)}/webhooks/${hook.body.id}/deliveries`);
    expect(deliveries.body).toHaveLength(1);
  });

  it("a toggle without a state flips in one call: two flips give two changes, back where it started", async () => {
    const project = "noop-flip-pair";
    const { version } = await setupProject(project);
    const [a, b] = await Promise.all([
      call("POST", `${P(project)}/environments/production/flags/kill-switch/toggle`),
      call("POST", `${P(project)}/environments/production/flags/kill-switch/toggle`),
    ]);
    expect([a!.body.changed, b!.body.changed]).toEqual([true, true]);
    expect(new Set([a!.body.state, b!.body.state])).toEqual(new Set(["ENABLED", "DISABLED"]));
    expect(Math.max(a!.body.version, b!.body.version)).toBe(version + 2);
  });

  it("saving an unchanged flag changes nothing and says so", async () => {
    const project = "noop-save";
    const { version } = await setupProject(project);
    const flag = await call("GET", `${P(project)}/environments/production/flags/banner-color`);
    const { key: _key, environment: _env, version: flagVersion, updatedAt: _u, updatedBy: _b, ...definition } = flag.body;
    const before = (await auditOf(project, "banner-color")).length;
    // Same definition, fields in another order.
    const reordered = Object.fromEntries(Object.entries(definition).reverse());
    const saved = await call("PUT", `${P(project)}/environments/production/flags/banner-color`, {
      body: reordered,
      headers: { "if-match": `"${flagVersion}"` },
    });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ changed: false, version: flagVersion });
    expect((await auditOf(project, "banner-color")).length).toBe(before);
    expect((await call("GET", `${P(project)}/environments/production/flagd`)).headers.get("etag")).toBe(`"${version}"`);
  });
});
