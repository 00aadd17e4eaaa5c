import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { createHmac } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { resetEdgeState } from "../worker/edge-state";
import { pendingFlush } from "../worker/telemetry";
import { call, drainOutbox, evaluate, setupProject, store } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;

describe("key rotation", () => {
  it("keeps the old key working through the overlap window, beside the new one", async () => {
    const { key, keyId } = await setupProject("rotate-overlap");
    const rotated = await call("POST", `${P("rotate-overlap")}/keys/${keyId}/rotate`, { body: { overlapSeconds: 3600 } });
    expect(rotated.status).toBe(201);
    expect(rotated.body.key.key).toMatch(/^ef_client_/);
    expect(rotated.body.previous).toMatchObject({ id: keyId, replacedBy: rotated.body.key.id, expiresAt: expect.any(String) });
    await drainOutbox("rotate-overlap");
    resetEdgeState(["keys"]);
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    expect((await evaluate(rotated.body.key.key, "kill-switch", {})).status).toBe(200);
    const again = await call("POST", `${P("rotate-overlap")}/keys/${keyId}/rotate`, { body: {} });
    expect(again.status).toBe(409);
  });

  it("stops the old key at the end of the window, at the edge as in the store", async () => {
    const { key, keyId } = await setupProject("rotate-expire");
    await evaluate(key, "kill-switch", {}); // cached in this isolate before the rotation
    const rotated = await call("POST", `${P("rotate-expire")}/keys/${keyId}/rotate`, { body: { overlapSeconds: 0 } });
    await drainOutbox("rotate-expire");
    resetEdgeState(["keys"]);
    expect((await evaluate(key, "kill-switch", {})).status).toBe(401);
    expect((await evaluate(rotated.body.key.key, "kill-switch", {})).status).toBe(200);
  });

  it("withdraws a rotated key at once when it is revoked during its overlap", async () => {
    const { key, keyId } = await setupProject("rotate-revoke");
    await call("POST", `${P("rotate-revoke")}/keys/${keyId}/rotate`, { body: { overlapSeconds: 3600 } });
    await drainOutbox("rotate-revoke");
    resetEdgeState(["keys"]);
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    expect((await call("DELETE", `${P("rotate-revoke")}/keys/${keyId}`)).status).toBe(200);
    await runInDurableObject(store("rotate-revoke"), async (instance, state) => {
      // Ten seconds pass, not the hour of the overlap: the withdrawal must not wait for its end.
      state.storage.sql.exec("UPDATE outbox SET next_attempt_at = 0 WHERE next_attempt_at < ?", Date.now() + 10_000);
      await instance.alarm();
    });
    resetEdgeState(["keys"]);
    expect((await evaluate(key, "kill-switch", {})).status).toBe(401);
  });

  it("rejects an overlap longer than 30 days", async () => {
    const { keyId } = await setupProject("rotate-bad");
    const res = await call("POST", `${P("rotate-bad")}/keys/${keyId}/rotate`, { body: { overlapSeconds: 31 * 86400 } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe("overlapSeconds");
  });
});

describe("segments", () => {
  const ids = Array.from({ length: 4000 }, (_, i) => `customer-${i}`);

  it("shares a 4,000-id list across flags through $ref, exports it and round-trips", async () => {
    const { key } = await setupProject("seg-list");
    const put = await call("PUT", `${P("seg-list")}/segments/beta-customers`, { body: { description: "early access", members: ids } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: "beta-customers", memberCount: 4000, attribute: "targetingKey", version: 1 });
    const flag = await call("POST", `${P("seg-list")}/environments/production/flags`, {
      body: {
        key: "beta-ui",
        state: "ENABLED",
        variants: { on: true, off: false },
        defaultVariant: "off",
        targeting: { if: [{ $ref: "beta-customers" }, "on", "off"] },
      },
    });
    expect(flag.status).toBe(201);
    expect((await evaluate(key, "beta-ui", { targetingKey: "customer-3999" })).body.value).toBe(true);
    expect((await evaluate(key, "beta-ui", { targetingKey: "customer-4000" })).body.value).toBe(false);

    const exported = await call("GET", `${P("seg-list")}/environments/production/flagd`);
    expect(exported.body.$evaluators["beta-customers"].in[1]).toHaveLength(4000);
    const reimported = await call("PUT", `${P("seg-list")}/environments/production/flagd`, { body: exported.body });
    expect(reimported.body).toMatchObject({ version: expect.any(Number) });
    const changed = structuredClone(exported.body);
    changed.$evaluators["beta-customers"] = { "==": [{ var: "plan" }, "beta"] };
    const shadowed = await call("PUT", `${P("seg-list")}/environments/production/flagd`, { body: changed });
    expect(shadowed.status).toBe(409);
    expect(shadowed.body.detail).toMatch(/is a project segment/);
  });

  it("refuses to delete a segment in use, naming the flags, and deletes it once unused", async () => {
    await setupProject("seg-delete");
    await call("PUT", `${P("seg-delete")}/segments/enterprise`, { body: { rule: { "==": [{ var: "plan" }, "enterprise"] } } });
    await call("POST", `${P("seg-delete")}/flags`, {
      body: {
        key: "sso",
        variants: { on: true, off: false },
        defaultVariant: "off",
        targeting: { if: [{ $ref: "enterprise" }, "on", null] },
      },
    });
    const refused = await call("DELETE", `${P("seg-delete")}/segments/enterprise`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain("development/sso");
    expect(refused.body.detail).toContain("production/sso");
    for (const environment of ["development", "staging", "production"]) {
      expect((await call("DELETE", `${P("seg-delete")}/environments/${environment}/flags/sso`)).status).toBe(204);
    }
    expect((await call("DELETE", `${P("seg-delete")}/segments/enterprise`)).status).toBe(204);
    expect((await call("GET", `${P("seg-delete")}/segments/enterprise`)).status).toBe(404);
  });

  it.each([
    { id: "both", body: { rule: true, members: ["a"] }, path: "rule" },
    { id: "neither", body: { description: "x" }, path: "rule" },
    { id: "attribute", body: { rule: true, attribute: "email" }, path: "attribute" },
  ])("rejects a malformed segment ($id)", async ({ id, body, path }) => {
    await setupProject(`seg-bad-${id}`);
    const res = await call("PUT", `${P(`seg-bad-${id}`)}/segments/s`, { body });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect((await call("GET", `${P(`seg-bad-${id}`)}/segments`)).body).toEqual([]);
  });

  it("rejects a segment rule that does not compile", async () => {
    await setupProject("seg-bad-rule");
    const res = await call("PUT", `${P("seg-bad-rule")}/segments/s`, { body: { rule: { nope: [] } } });
    expect(res.status).toBe(400);
  });
});

describe("environments managed together", () => {
  it("creates a flag in every environment in one call, with project-level facts", async () => {
    await setupProject("env-create");
    const res = await call("POST", `${P("env-create")}/flags`, {
      body: {
        key: "new-search",
        description: "Search v2",
        owner: "search-team",
        tags: ["search", "q4"],
        lifetime: "temporary",
        expectedRemovalAt: "2027-03-01T00:00:00Z",
        variants: { on: true, off: false },
        defaultVariant: "off",
        environments: { development: { defaultVariant: "on" } },
      },
    });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body.environments).sort()).toEqual(["development", "production", "staging"]);
    expect(res.body.environments.development.definition.defaultVariant).toBe("on");
    expect(res.body.environments.production.definition.defaultVariant).toBe("off");
    expect(res.body.info).toMatchObject({ owner: "search-team", tags: ["search", "q4"], lifetime: "temporary" });
    const list = await call("GET", `${P("env-create")}/flags`);
    expect(list.body.environments).toEqual(["development", "staging", "production"]);
    expect(list.body.flags.find((f: { key: string }) => f.key === "new-search").info.description).toBe("Search v2");
    expect(
      (await call("POST", `${P("env-create")}/flags`, { body: { key: "new-search", variants: { a: 1 }, defaultVariant: "a" } })).status,
    ).toBe(409);
  });

  it("rejects a flag that would be invalid in one environment, and writes it nowhere", async () => {
    await setupProject("env-create-bad");
    const res = await call("POST", `${P("env-create-bad")}/flags`, {
      body: { key: "x", variants: { on: true }, defaultVariant: "on", environments: { staging: { defaultVariant: "nope" } } },
    });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/staging/);
    expect((await call("GET", `${P("env-create-bad")}/flags/x`)).status).toBe(404);
  });

  it("compares two environments and promotes with a dry run first, atomically", async () => {
    await setupProject("env-promote");
    const url = `${P("env-promote")}/environments/staging/flagd`;
    await call("PUT", url, {
      body: {
        flags: {
          a: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
          b: { state: "DISABLED", variants: { x: "1" }, defaultVariant: "x" },
        },
      },
    });
    const compare = await call("GET", `${P("env-promote")}/compare?from=staging&to=production`);
    expect(compare.status).toBe(200);
    const status = Object.fromEntries(compare.body.flags.map((f: { key: string; status: string }) => [f.key, f.status]));
    expect(status).toMatchObject({ a: "only-in-staging", b: "only-in-staging", "kill-switch": "only-in-production" });

    const before = (await call("GET", P("env-promote"))).body.environments.find((e: { name: string }) => e.name === "production").version;
    const dry = await call("POST", `${P("env-promote")}/promote?dryRun=true`, {
      body: { from: "staging", to: "production", flags: ["a"] },
    });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, version: null });
    expect(dry.body.diff.flags).toEqual([expect.objectContaining({ key: "a", status: "only-in-staging" })]);
    expect((await call("GET", `${P("env-promote")}/environments/production/flags/a`)).status).toBe(404);

    const applied = await call("POST", `${P("env-promote")}/promote`, {
      body: { from: "staging", to: "production", reason: "release 42" },
    });
    expect(applied.body.version).toBe(before + 1);
    const after = await call("GET", `${P("env-promote")}/compare?from=staging&to=production&flag=a&flag=b`);
    expect(after.body.flags.map((f: { status: string }) => f.status)).toEqual(["same", "same"]);
    expect((await call("GET", `${P("env-promote")}/environments/production/flags/kill-switch`)).status).toBe(200);
    const audit = await call("GET", `${P("env-promote")}/audit?environment=production&limit=1`);
    expect(audit.body.entries[0]).toMatchObject({ action: "flags.promoted", reason: "release 42", version: before + 1 });
  });
});

describe("webhooks out", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("delivers an event exactly once, signed, to a receiver that fails three times first", async () => {
    await setupProject("hooks-retry");
    const created = await call("POST", `${P("hooks-retry")}/webhooks`, {
      body: { url: "https://receiver.example/hook", events: ["flag.toggled"] },
    });
    expect(created.status).toBe(201);
    const secret: string = created.body.secret;
    expect(secret).toMatch(/^whsec_/);
    const received: { body: string; signature: string; event: string }[] = [];
    let calls = 0;
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      if (String(url) !== "https://receiver.example/hook") throw new Error(`unexpected fetch ${url}`);
      calls++;
      if (calls <= 3) return new Response("down", { status: 503 });
      const headers = new Headers(init.headers);
      received.push({ body: String(init.body), signature: headers.get("edgeflags-signature")!, event: headers.get("edgeflags-event")! });
      return new Response("ok");
    });
    await call("POST", `${P("hooks-retry")}/environments/production/flags/kill-switch/toggle`, {
      headers: { "x-change-reason": "incident" },
    });
    for (let i = 0; i < 6; i++) await drainOutbox("hooks-retry");
    expect(calls).toBe(4);
    expect(received).toHaveLength(1);
    const [delivery] = received;
    const event = JSON.parse(delivery!.body);
    expect(event).toMatchObject({
      type: "flag.toggled",
      project: "hooks-retry",
      environment: "production",
      actor: "token:bootstrap",
      reason: "incident",
    });
    expect(event.data).toMatchObject({ target: "flag:kill-switch", before: { state: "ENABLED" }, after: { state: "DISABLED" } });
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(delivery!.signature)!;
    expect(createHmac("sha256", secret).update(`${t}.${delivery!.body}`).digest("hex")).toBe(v1);
    expect(Math.abs(Date.now() / 1000 - Number(t))).toBeLessThan(60);

    const log = await call("GET", `${P("hooks-retry")}/webhooks/${created.body.id}/deliveries`);
    expect(log.body).toEqual([expect.objectContaining({ eventType: "flag.toggled", status: "delivered", attempts: 4, lastStatus: 200 })]);
  });

  it("gives up after the documented number of attempts, and redelivers by hand", async () => {
    await setupProject("hooks-give-up");
    const hook = (await call("POST", `${P("hooks-give-up")}/webhooks`, { body: { url: "https://down.example/", events: ["ping"] } })).body;
    let calls = 0;
    vi.stubGlobal("fetch", async () => {
      calls++;
      return new Response("no", { status: 500 });
    });
    expect((await call("POST", `${P("hooks-give-up")}/webhooks/${hook.id}/ping`)).status).toBe(201);
    for (let i = 0; i < 15; i++) await drainOutbox("hooks-give-up");
    expect(calls).toBe(12);
    const [failed] = (await call("GET", `${P("hooks-give-up")}/webhooks/${hook.id}/deliveries`)).body;
    expect(failed).toMatchObject({ status: "failed", attempts: 12, lastStatus: 500 });
    vi.stubGlobal("fetch", async () => new Response("ok"));
    const again = await call("POST", `${P("hooks-give-up")}/webhooks/${hook.id}/deliveries/${failed.id}/redeliver`);
    expect(again.body.status).toBe("pending");
    await drainOutbox("hooks-give-up");
    expect((await call("GET", `${P("hooks-give-up")}/webhooks/${hook.id}/deliveries`)).body[0].status).toBe("delivered");
  });

  it("only sends subscribed event types, and nothing to an inactive webhook", async () => {
    await setupProject("hooks-filter");
    const hook = (await call("POST", `${P("hooks-filter")}/webhooks`, { body: { url: "https://r.example/", events: ["flag.deleted"] } }))
      .body;
    const seen: string[] = [];
    vi.stubGlobal("fetch", async (_url: string, init: RequestInit) => {
      seen.push(new Headers(init.headers).get("edgeflags-event")!);
      return new Response("ok");
    });
    await call("POST", `${P("hooks-filter")}/environments/production/flags/kill-switch/toggle`);
    await call("DELETE", `${P("hooks-filter")}/environments/production/flags/dark-launch`);
    await drainOutbox("hooks-filter");
    expect(seen).toEqual(["flag.deleted"]);
    await call("PATCH", `${P("hooks-filter")}/webhooks/${hook.id}`, { body: { active: false } });
    await call("DELETE", `${P("hooks-filter")}/environments/production/flags/kill-switch`);
    await drainOutbox("hooks-filter");
    expect(seen).toEqual(["flag.deleted"]);
  });

  it("reads one subscription by id, without its secret", async () => {
    await setupProject("hooks-get");
    const hook = (await call("POST", `${P("hooks-get")}/webhooks`, { body: { url: "https://r.example/", events: ["ping"] } })).body;
    const read = await call("GET", `${P("hooks-get")}/webhooks/${hook.id}`);
    expect(read.body).toMatchObject({ id: hook.id, url: "https://r.example/", events: ["ping"], active: true });
    expect(JSON.stringify(read.body)).not.toContain(hook.secret);
    expect((await call("GET", `${P("hooks-get")}/webhooks/wh_nope`)).status).toBe(404);
  });

  it("stops delivering to a webhook once it is deactivated, even what was already queued", async () => {
    await setupProject("hooks-deactivate");
    const hook = (
      await call("POST", `${P("hooks-deactivate")}/webhooks`, { body: { url: "https://gone.example/", events: ["flag.toggled"] } })
    ).body;
    let calls = 0;
    vi.stubGlobal("fetch", async () => {
      calls++;
      return new Response("no", { status: 503 });
    });
    await call("POST", `${P("hooks-deactivate")}/environments/production/flags/kill-switch/toggle`);
    await drainOutbox("hooks-deactivate");
    expect(calls).toBe(1);
    await call("PATCH", `${P("hooks-deactivate")}/webhooks/${hook.id}`, { body: { active: false } });
    for (let i = 0; i < 3; i++) await drainOutbox("hooks-deactivate");
    expect(calls).toBe(1);
    const [delivery] = (await call("GET", `${P("hooks-deactivate")}/webhooks/${hook.id}/deliveries`)).body;
    expect((await call("POST", `${P("hooks-deactivate")}/webhooks/${hook.id}/deliveries/${delivery.id}/redeliver`)).status).toBe(409);
  });

  it.each([
    { id: "url", body: { url: "ftp://x", events: ["ping"] }, path: "url" },
    { id: "events", body: { url: "https://x.example", events: [] }, path: "events" },
    { id: "type", body: { url: "https://x.example", events: ["flag.exploded"] }, path: "events.0" },
    { id: "secret", body: { url: "https://x.example", events: ["ping"], secret: "short" }, path: "secret" },
  ])("rejects a malformed subscription ($id)", async ({ id, body, path }) => {
    await setupProject(`hooks-bad-${id}`);
    const res = await call("POST", `${P(`hooks-bad-${id}`)}/webhooks`, { body });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect((await call("GET", `${P(`hooks-bad-${id}`)}/webhooks`)).body).toEqual([]);
  });
});

describe("triggers in", () => {
  it("turns a flag off through its secret URL, audited as the trigger, and the next evaluation sees it", async () => {
    const { key } = await setupProject("trigger-url");
    const trigger = await call("POST", `${P("trigger-url")}/triggers`, {
      body: { name: "checkout-errors", environment: "production", flag: "kill-switch", action: "disable" },
    });
    expect(trigger.status).toBe(201);
    expect(trigger.body.url).toMatch(/\/admin\/v1\/hooks\/projects\/trigger-url\/triggers\/eft_/);
    const path = new URL(trigger.body.url).pathname;
    const fired = await call("POST", path, {
      token: null,
      body: { alert: "error rate high" },
      headers: { "x-change-reason": "Grafana: error rate > 5%" },
    });
    expect(fired.status).toBe(200);
    expect(fired.body).toMatchObject({ trigger: "checkout-errors", flag: "kill-switch", state: "DISABLED" });
    expect((await evaluate(key, "kill-switch", {})).body.reason).toBe("DISABLED");
    const audit = await call("GET", `${P("trigger-url")}/audit?flag=kill-switch&limit=1`);
    expect(audit.body.entries[0]).toMatchObject({
      actor: "trigger:checkout-errors",
      action: "flag.disabled",
      reason: "Grafana: error rate > 5%",
    });
  });

  it("stops answering a disabled or rotated trigger URL", async () => {
    await setupProject("trigger-rotate");
    const trigger = (
      await call("POST", `${P("trigger-rotate")}/triggers`, {
        body: { name: "t", environment: "production", flag: "kill-switch", action: "disable" },
      })
    ).body;
    const oldPath = new URL(trigger.url).pathname;
    await call("PATCH", `${P("trigger-rotate")}/triggers/${trigger.id}`, { body: { active: false } });
    expect((await call("POST", oldPath, { token: null })).status).toBe(404);
    await call("PATCH", `${P("trigger-rotate")}/triggers/${trigger.id}`, { body: { active: true } });
    const rotated = (await call("POST", `${P("trigger-rotate")}/triggers/${trigger.id}/rotate`)).body;
    expect((await call("POST", oldPath, { token: null })).status).toBe(404);
    expect((await call("POST", new URL(rotated.url).pathname, { token: null })).status).toBe(200);
  });

  it("accepts a signed request within the replay window and refuses bad or stale signatures", async () => {
    await setupProject("trigger-signed");
    const trigger = (
      await call("POST", `${P("trigger-signed")}/triggers`, {
        body: { name: "sig", environment: "production", flag: "banner-color", action: "set-default", variant: "blue" },
      })
    ).body;
    const path = new URL(trigger.signedUrl).pathname;
    const body = JSON.stringify({ alert: "x" });
    const signAt = (t: number, secret = trigger.secret) => `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")}`;
    const now = Math.floor(Date.now() / 1000);
    const stale = await call("POST", path, { token: null, body, headers: { "edgeflags-signature": signAt(now - 600) } });
    expect(stale.status).toBe(401);
    expect(stale.body.detail).toMatch(/300 seconds/);
    expect((await call("POST", path, { token: null, body, headers: { "edgeflags-signature": signAt(now, "trsec_wrong") } })).status).toBe(
      401,
    );
    expect((await call("POST", path, { token: null, body })).status).toBe(401);
    const ok = await call("POST", path, { token: null, body, headers: { "edgeflags-signature": signAt(now) } });
    expect(ok.status).toBe(200);
    expect(ok.body.defaultVariant).toBe("blue");
    // The same signed request again, inside the window: refused, and the flag is not touched again.
    const replay = await call("POST", path, { token: null, body, headers: { "edgeflags-signature": signAt(now) } });
    expect(replay.status).toBe(401);
    expect(replay.body.detail).toMatch(/already used/);
  });

  it("rejects a trigger for a variant the flag does not have", async () => {
    await setupProject("trigger-bad");
    const res = await call("POST", `${P("trigger-bad")}/triggers`, {
      body: { name: "t", environment: "production", flag: "banner-color", action: "set-default", variant: "purple" },
    });
    expect(res.status).toBe(400);
    expect((await call("GET", `${P("trigger-bad")}/triggers`)).body).toEqual([]);
  });
});

describe("scopes", () => {
  it("refuses a client key on the governance routes", async () => {
    const { key } = await setupProject("gov-scope");
    for (const [method, path] of [
      ["GET", "segments"],
      ["GET", "webhooks"],
      ["GET", "triggers"],
      ["GET", "flags"],
      ["GET", "compare?from=staging&to=production"],
    ] as const) {
      expect((await call(method, `${P("gov-scope")}/${path}`, { token: key })).status, path).toBe(403);
    }
    expect(env.ADMIN_TOKEN).toBeTruthy();
  });
});

describe("small promises kept", () => {
  it("validates a promote dry run exactly like the promotion: a child without its parent is the same 400", async () => {
    const project = "gov-promote-dry";
    await setupProject(project);
    const staging = {
      flags: {
        parent: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
        child: {
          state: "ENABLED",
          variants: { on: true, off: false },
          defaultVariant: "on",
          prerequisites: [{ flag: "parent", variant: "on" }],
        },
      },
    };
    expect((await call("PUT", `${P(project)}/environments/staging/flagd`, { body: staging })).status).toBe(200);
    const body = { from: "staging", to: "development", flags: ["child"] };
    const dry = await call("POST", `${P(project)}/promote?dryRun=true`, { body });
    const real = await call("POST", `${P(project)}/promote`, { body });
    expect(real.status).toBe(400);
    expect(dry.status).toBe(400);
    expect(dry.body.detail).toBe(real.body.detail);
  });

  it("keeps the reason sent in a draft/publish body", async () => {
    const project = "gov-draft-reason";
    await setupProject(project);
    const flagSet = (await call("GET", `${P(project)}/environments/production/flagd`)).body;
    flagSet.flags["kill-switch"].state = "DISABLED";
    expect((await call("PUT", `${P(project)}/environments/production/draft`, { body: { flagSet } })).status).toBe(200);
    const published = await call("POST", `${P(project)}/environments/production/draft/publish`, { body: { reason: "INC-42 rollout" } });
    expect(published.status).toBe(200);
    const entry = (await call("GET", `${P(project)}/audit?flag=kill-switch&limit=1`)).body.entries[0];
    expect(entry).toMatchObject({ action: "flag.disabled", reason: "INC-42 rollout" });
  });

  it("records the member ids a segment change adds and removes", async () => {
    const project = "gov-seg-ids";
    await setupProject(project);
    await call("PUT", `${P(project)}/segments/beta`, { body: { members: ["u1", "u2", "u3"] } });
    await call("PUT", `${P(project)}/segments/beta`, { body: { members: ["u2", "u3", "u4", "u5"] } });
    const entry = (await call("GET", `${P(project)}/audit?environment=production&limit=1`)).body.entries[0];
    expect(entry.action).toBe("segment.changed");
    expect(entry.after).toMatchObject({ membersAdded: ["u4", "u5"], membersRemoved: ["u1"] });
  });
});

describe("key use reported by the edge", () => {
  it("shows lastUsedAt for a client key used for evaluations, once the edge's batch is sent", async () => {
    const project = "gov-key-last-used";
    const { key, keyId } = await setupProject(project);
    const listed = async () =>
      (await call("GET", `${P(project)}/environments/production/keys`)).body.find((k: { id: string }) => k.id === keyId);
    expect((await listed()).lastUsedAt).toBeNull();
    for (let i = 0; i < 3; i++) expect((await evaluate(key, "kill-switch", { targetingKey: `u${i}` })).status).toBe(200);
    await pendingFlush();
    const used = await listed();
    expect(used.lastUsedAt).not.toBeNull();
    expect(Date.now() - Date.parse(used.lastUsedAt)).toBeLessThan(60_000);
  });

  it("shows lastUsedAt for a server key used only for flagd sync", async () => {
    const project = "gov-key-last-used-sync";
    const { key, keyId } = await setupProject(project, undefined, "server");
    const listed = async () =>
      (await call("GET", `${P(project)}/environments/production/keys`)).body.find((k: { id: string }) => k.id === keyId);
    expect((await listed()).lastUsedAt).toBeNull();
    expect((await call("GET", "/sync/v1/flagd", { token: key })).status).toBe(200);
    await pendingFlush();
    expect((await listed()).lastUsedAt).not.toBeNull();
  });
});

describe("segments used by what runs", () => {
  it("refuses to delete a segment a staged draft uses, naming the draft", async () => {
    const project = "seg-draft-user";
    await setupProject(project);
    await call("PUT", `${P(project)}/segments/enterprise`, { body: { rule: { "==": [{ var: "plan" }, "enterprise"] } } });
    const flagSet = (await call("GET", `${P(project)}/environments/production/flagd`)).body;
    flagSet.flags.sso = {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      targeting: { if: [{ $ref: "enterprise" }, "on", null] },
    };
    expect((await call("PUT", `${P(project)}/environments/production/draft`, { body: { flagSet } })).status).toBe(200);
    const refused = await call("DELETE", `${P(project)}/segments/enterprise`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain("the draft of production");
  });
});
