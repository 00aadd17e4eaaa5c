/**
 * Protected environments and change requests: a direct write by a non-admin is refused with the
 * way forward; a change request is applied atomically by another person, only if the environment
 * has not moved since its base version; each step is audited and announced.
 */
import { describe, expect, it } from "vitest";
import { call } from "./helpers";
import { setupProject } from "./helpers";
import { E, P, keyWithRole, protect, queuedEvents, subscribe } from "./approvals-helpers";

const on = { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" };
const off = { ...on, defaultVariant: "off" };

describe("a protected environment", () => {
  it("refuses an editor's direct writes with a 403 that says to open a change request, and lets admins through", async () => {
    const project = "cr-protect";
    await setupProject(project);
    const editor = await keyWithRole(project, "editor");
    // Before protection, the editor may write.
    expect((await call("POST", `${E(project)}/flags/dark-launch/toggle`, { token: editor.token })).status).toBe(200);
    expect((await call("PUT", `${E(project)}/protection`, { token: editor.token, body: { requireApproval: true } })).status).toBe(403);
    await protect(project);
    const protection = await call("GET", `${E(project)}/protection`, { token: editor.token });
    expect(protection.body).toMatchObject({ environment: "production", requireApproval: true, killSwitchExempt: false });

    const writes: [string, string, unknown][] = [
      ["POST", `${E(project)}/flags`, { key: "fresh", ...on }],
      ["PUT", `${E(project)}/flags/kill-switch`, off],
      ["DELETE", `${E(project)}/flags/kill-switch`, undefined],
      ["POST", `${E(project)}/flags/kill-switch/toggle`, {}],
      ["PUT", `${E(project)}/flagd`, { flags: {} }],
      ["POST", `${E(project)}/flags/kill-switch/targets`, { add: { on: ["user-1"] } }],
      ["POST", `${E(project)}/flags/new-checkout/ramp`, { variant: "on", baseline: "off", steps: [{ percent: 10 }] }],
      ["POST", `${E(project)}/draft/publish`, {}],
      ["POST", `${P(project)}/promote`, { from: "staging", to: "production" }],
      ["PUT", `${P(project)}/segments/staff`, { rule: { "==": [{ var: "staff" }, true] } }],
    ];
    for (const [method, path, body] of writes) {
      const refused = await call(method, path, { token: editor.token, body, headers: { "if-match": '"1"' } });
      expect(refused.status, `${method} ${path}`).toBe(403);
      expect(refused.headers.get("content-type")).toContain("application/problem+json");
      expect(refused.body.detail, `${method} ${path}`).toContain("open a change request");
    }
    const flags = await call("GET", `${E(project)}/flagd`);
    expect(Object.keys(flags.body.flags).sort()).toEqual(["banner-color", "dark-launch", "kill-switch", "new-checkout", "no-default"]);
    // Other environments are not protected; reads, evaluation and change requests are not writes.
    expect((await call("POST", `${E(project, "staging")}/flags`, { token: editor.token, body: { key: "fresh", ...on } })).status).toBe(201);
    expect((await call("POST", `${E(project)}/evaluate`, { token: editor.token, body: { context: {} } })).status).toBe(200);
    // The guard reads a promotion's target from its body; the route still reads the body after it.
    const promoted = await call("POST", `${P(project)}/promote`, {
      token: editor.token,
      body: { from: "production", to: "staging", flags: ["kill-switch"] },
    });
    expect(promoted.status).toBe(200);
    expect(promoted.body.version).not.toBeNull();
    // An admin is never held back (break-glass).
    expect((await call("POST", `${E(project)}/flags/kill-switch/toggle`)).status).toBe(200);
  });

  it("lets the kill switch through when it is exempt, and nothing else", async () => {
    const project = "cr-exempt";
    await setupProject(project);
    const editor = await keyWithRole(project, "editor");
    await protect(project, true);
    const toggled = await call("POST", `${E(project)}/flags/kill-switch/toggle`, { token: editor.token, body: { state: "DISABLED" } });
    expect(toggled.status).toBe(200);
    expect(toggled.body.state).toBe("DISABLED");
    expect(
      (
        await call("PUT", `${E(project)}/flags/kill-switch`, {
          token: editor.token,
          body: off,
          headers: { "if-match": `"${toggled.body.version}"` },
        })
      ).status,
    ).toBe(403);
  });

  it("holds back a trigger unless the kill switch is exempt: an alerting system's kill switch", async () => {
    const project = "cr-trigger";
    await setupProject(project);
    const trigger = await call("POST", `${P(project)}/triggers`, {
      body: { name: "errors", environment: "production", flag: "kill-switch", action: "disable" },
    });
    expect(trigger.status).toBe(201);
    await protect(project);
    const held = await call("POST", new URL(trigger.body.url).pathname, { token: null });
    expect(held.status).toBe(409);
    expect(held.body.detail).toContain("requires approval");
    expect((await call("GET", `${E(project)}/flags/kill-switch`)).body.state).toBe("ENABLED");
    await protect(project, true);
    expect((await call("POST", new URL(trigger.body.url).pathname, { token: null })).status).toBe(200);
    expect((await call("GET", `${E(project)}/flags/kill-switch`)).body.state).toBe("DISABLED");
  });
});

describe("change requests", () => {
  it("wait for another person, then apply atomically: audited as the approver with the requester named, announced at each step", async () => {
    const project = "cr-flow";
    await setupProject(project);
    await subscribe(project, [
      "change-request.opened",
      "change-request.approved",
      "change-request.applied",
      "flag.updated",
      "flag.created",
    ]);
    await protect(project);
    const editor = await keyWithRole(project, "editor");
    const approver = await keyWithRole(project, "approver");
    const before = (await call("GET", `${E(project)}/flagd`)).headers.get("etag");

    const opened = await call("POST", `${E(project)}/change-requests`, {
      token: editor.token,
      body: { flags: { "kill-switch": off, fresh: on }, reason: "launch checkout" },
    });
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ status: "open", requestedBy: editor.name, reason: "launch checkout" });
    expect(opened.body.flags.map((f: { key: string; change: string }) => [f.key, f.change])).toEqual([
      ["fresh", "create"],
      ["kill-switch", "update"],
    ]);
    expect(opened.body.flags[1].before.defaultVariant).toBe("on");
    expect(opened.body.flags[1].after.defaultVariant).toBe("off");
    // Nothing changed yet.
    expect((await call("GET", `${E(project)}/flagd`)).headers.get("etag")).toBe(before);

    const path = `${E(project)}/change-requests/${opened.body.id}`;
    // An editor may not approve; the requester may not approve their own.
    expect((await call("POST", `${path}/approve`, { token: editor.token })).status).toBe(403);
    const own = await call("POST", `${E(project)}/change-requests`, {
      token: approver.token,
      body: { flags: { fresh: on }, reason: "mine" },
    });
    const self = await call("POST", `${E(project)}/change-requests/${own.body.id}/approve`, { token: approver.token });
    expect(self.status).toBe(403);
    expect(self.body.detail).toContain("another person must approve it");

    const approved = await call("POST", `${path}/approve`, { token: approver.token, body: { reason: "looks right" } });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: "applied", decidedBy: approver.name });
    const flags = (await call("GET", `${E(project)}/flagd`)).body.flags;
    expect(flags["kill-switch"].defaultVariant).toBe("off");
    expect(flags.fresh).toMatchObject(on);
    expect(approved.body.appliedVersion).toBe(Number(before!.replaceAll('"', "")) + 1);

    const audit = (await call("GET", `${P(project)}/audit?flag=kill-switch&limit=5`)).body.entries;
    expect(audit[0]).toMatchObject({ action: "flag.updated", actor: approver.name });
    expect(audit[0].reason).toContain(`by ${editor.name}: launch checkout`);

    const events = (await queuedEvents(project)).filter((e) => e.type.startsWith("change-request") || e.type.startsWith("flag"));
    expect(events.map((e) => e.type).sort()).toEqual([
      "change-request.applied",
      "change-request.approved",
      "change-request.opened",
      "change-request.opened",
      "flag.created",
      "flag.updated",
    ]);
    expect(events.find((e) => e.type === "change-request.applied")).toMatchObject({
      actor: approver.name,
      data: { changeRequest: opened.body.id, requestedBy: editor.name, appliedVersion: approved.body.appliedVersion },
    });
    // Approving again changes nothing.
    expect((await call("POST", `${path}/approve`, { token: approver.token })).status).toBe(409);
  });

  it("refuses approval with 409 'rebase' once the environment moved, rebases when its flags did not change, and names them when they did", async () => {
    const project = "cr-rebase";
    await setupProject(project);
    await protect(project);
    const editor = await keyWithRole(project, "editor");
    const approver = await keyWithRole(project, "approver");
    const opened = await call("POST", `${E(project)}/change-requests`, {
      token: editor.token,
      body: { flags: { "kill-switch": off }, reason: "r" },
    });
    const path = `${E(project)}/change-requests/${opened.body.id}`;
    // Another flag moves the environment on.
    expect((await call("POST", `${E(project)}/flags/dark-launch/toggle`)).status).toBe(200);
    const stale = await call("POST", `${path}/approve`, { token: approver.token });
    expect(stale.status).toBe(409);
    expect(stale.body.detail).toContain("rebase");
    expect((await call("GET", `${E(project)}/flags/kill-switch`)).body.defaultVariant).toBe("on");

    const rebased = await call("POST", `${path}/rebase`, { token: editor.token });
    expect(rebased.status).toBe(200);
    expect(rebased.body.baseVersion).toBe(rebased.body.currentVersion);
    expect((await call("POST", `${path}/approve`, { token: approver.token })).body.status).toBe("applied");

    const second = await call("POST", `${E(project)}/change-requests`, {
      token: editor.token,
      body: { flags: { "kill-switch": on }, reason: "r" },
    });
    expect((await call("POST", `${E(project)}/flags/kill-switch/toggle`)).status).toBe(200);
    const conflict = await call("POST", `${E(project)}/change-requests/${second.body.id}/rebase`, { token: editor.token });
    expect(conflict.status).toBe(409);
    expect(conflict.body.detail).toContain('"kill-switch"');
  });

  it("are rejected with a reason, withdrawn only by their requester, and refuse a diff that is invalid or changes nothing", async () => {
    const project = "cr-reject";
    await setupProject(project);
    await subscribe(project, ["change-request.rejected"]);
    await protect(project);
    const editor = await keyWithRole(project, "editor");
    const other = await keyWithRole(project, "editor");
    const approver = await keyWithRole(project, "approver");
    const body = { flags: { "kill-switch": off }, reason: "r" };
    const first = await call("POST", `${E(project)}/change-requests`, { token: editor.token, body });
    expect((await call("POST", `${E(project)}/change-requests/${first.body.id}/reject`, { token: approver.token, body: {} })).status).toBe(
      400,
    );
    const rejected = await call("POST", `${E(project)}/change-requests/${first.body.id}/reject`, {
      token: approver.token,
      body: { reason: "not now" },
    });
    expect(rejected.body).toMatchObject({ status: "rejected", decisionReason: "not now", decidedBy: approver.name });
    expect((await queuedEvents(project)).map((e) => e.type)).toEqual(["change-request.rejected"]);

    const second = await call("POST", `${E(project)}/change-requests`, { token: editor.token, body });
    expect((await call("DELETE", `${E(project)}/change-requests/${second.body.id}`, { token: other.token })).status).toBe(403);
    expect((await call("DELETE", `${E(project)}/change-requests/${second.body.id}`, { token: editor.token })).body.status).toBe(
      "withdrawn",
    );
    const list = await call("GET", `${E(project)}/change-requests?status=open`, { token: editor.token });
    expect(list.body).toEqual([]);

    for (const flags of [{ "kill-switch": on }, { "kill-switch": { ...on, defaultVariant: "nope" } }, { missing: null }]) {
      const refused = await call("POST", `${E(project)}/change-requests`, { token: editor.token, body: { flags, reason: "r" } });
      expect(refused.status, JSON.stringify(flags)).toBe(400);
    }
    expect((await call("GET", `${E(project)}/change-requests`, { token: editor.token })).body).toHaveLength(2);
  });
});
