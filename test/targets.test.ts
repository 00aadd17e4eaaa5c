/**
 * Individual targets (customer overrides) as first-class operations: add, move and remove keys
 * of one flag without rewriting its rules; every read of a flag carries them, every whole-flag
 * write replaces them; the edge answers with them and does not count them as split exposures.
 */
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { FlagSet } from "../engine/types";
import { snapshotKvKey } from "../contracts/snapshot";
import { resetEdgeState } from "../worker/edge-state";
import { ADMIN_TOKEN, advanceRamps, call, drainOutbox, evaluate, setupProject, store } from "./helpers";
import { evaluateAndSettle } from "./edge-settle";

const P = (project: string) => `/admin/v1/projects/${project}`;
const flagPath = (project: string, flag: string, env = "production") => `${P(project)}/environments/${env}/flags/${flag}`;

const plans: FlagSet = {
  flags: {
    plan: {
      state: "ENABLED",
      variants: { free: "free", pro: "pro", enterprise: "enterprise" },
      defaultVariant: "free",
      targeting: { if: [{ "==": [{ var: "country" }, "NZ"] }, "pro", null] },
    },
    "kill-switch": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
  },
};

/** The target rows of a flag, straight from SQLite, and whether its stored definition JSON holds targets. */
async function rows(project: string, flag: string, environment = "production") {
  return runInDurableObject(store(project), (_i, state) => ({
    targets: state.storage.sql
      .exec<{ target: string; variant: string }>(
        "SELECT target, variant FROM flag_targets WHERE environment = ? AND flag = ? ORDER BY target",
        environment,
        flag,
      )
      .toArray()
      .map((r) => `${r.target}=${r.variant}`),
    definitionHasTargets: state.storage.sql
      .exec<{ definition: string }>("SELECT definition FROM flags WHERE environment = ? AND key = ?", environment, flag)
      .toArray()
      .some((r) => "targets" in JSON.parse(r.definition)),
  }));
}

async function auditOf(project: string, flag: string): Promise<any[]> {
  return (await call("GET", `${P(project)}/audit?flag=${flag}&limit=500`)).body.entries;
}

async function envVersion(project: string): Promise<number> {
  return (await call("GET", P(project))).body.environments.find((e: { name: string }) => e.name === "production").version;
}

describe("POST …/flags/{flag}/targets", () => {
  it("adds, moves and removes keys; reads carry them; the definition JSON never holds them", async () => {
    const project = "targets-ops";
    await setupProject(project, plans);
    const base = flagPath(project, "plan");
    const added = await call("POST", `${base}/targets`, {
      body: { add: { pro: ["acme", "globex"], enterprise: ["initech"] }, reason: "sales deal" },
    });
    expect(added.status).toBe(200);
    expect(added.body).toEqual({
      changed: true,
      version: added.body.version,
      added: 3,
      moved: 0,
      removed: 0,
      notPresent: 0,
      counts: { enterprise: 1, pro: 2 },
    });
    expect(added.headers.get("etag")).toBe(`"${added.body.version}"`);

    const moved = await call("POST", `${base}/targets`, { body: { add: { enterprise: ["acme"] }, remove: ["globex", "nobody"] } });
    expect(moved.body).toMatchObject({ changed: true, added: 0, moved: 1, removed: 1, notPresent: 1, counts: { enterprise: 2 } });
    expect(moved.body.version).toBe(added.body.version + 1);

    const flag = await call("GET", base);
    expect(flag.body.targets).toEqual({ enterprise: ["acme", "initech"] });
    expect(flag.headers.get("etag")).toBe(`"${moved.body.version}"`);
    expect(
      (await call("GET", `${P(project)}/environments/production/flags`)).body.flags.find((f: { key: string }) => f.key === "plan").targets,
    ).toEqual({
      enterprise: ["acme", "initech"],
    });
    expect((await call("GET", `${P(project)}/environments/production/flagd`)).body.flags.plan.targets).toEqual({
      enterprise: ["acme", "initech"],
    });
    expect(await rows(project, "plan")).toEqual({ targets: ["acme=enterprise", "initech=enterprise"], definitionHasTargets: false });

    const page = await call("GET", `${base}/targets?limit=1`);
    expect(page.body).toMatchObject({
      version: moved.body.version,
      counts: { enterprise: 2 },
      targets: [{ id: "acme", variant: "enterprise", addedBy: "token:bootstrap" }],
    });
    const second = await call("GET", `${base}/targets?limit=1&cursor=${page.body.next}`);
    expect(second.body.targets.map((t: { id: string }) => t.id)).toEqual(["initech"]);
    expect(second.body.next).toBeNull();
    expect((await call("GET", `${base}/targets?variant=pro`)).body.targets).toEqual([]);
    expect((await call("GET", `${base}/targets?cursor=bogus`)).status).toBe(400);

    const audit = (await auditOf(project, "plan")).filter((e) => e.action === "flag.targets-changed");
    expect(audit).toHaveLength(2);
    // Newest first: the move names the key it moved on both sides, and the removal.
    expect(audit[0]).toMatchObject({
      before: { targets: { pro: ["acme", "globex"] } },
      after: { targets: { enterprise: ["acme"] }, added: 0, moved: 1, removed: 1 },
    });
    expect(audit[1]).toMatchObject({ reason: "sales deal", after: { targets: { pro: ["acme", "globex"], enterprise: ["initech"] } } });
  });

  it("a call that changes nothing commits, audits and announces nothing", async () => {
    const project = "targets-noop";
    await setupProject(project, plans);
    const hook = await call("POST", `${P(project)}/webhooks`, { body: { url: "https://receiver.example/hook", events: ["flag.updated"] } });
    const base = flagPath(project, "plan");
    const first = await call("POST", `${base}/targets`, { body: { add: { pro: ["acme"] } } });
    const version = await envVersion(project);
    const audited = (await auditOf(project, "plan")).length;
    const again = await call("POST", `${base}/targets`, { body: { add: { pro: ["acme"] }, remove: ["ghost"] } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({
      changed: false,
      version: first.body.version,
      added: 0,
      moved: 0,
      removed: 0,
      notPresent: 1,
      counts: { pro: 1 },
    });
    expect(await envVersion(project)).toBe(version);
    expect((await auditOf(project, "plan")).length).toBe(audited);
    const deliveries = (await call("GET", `${P(project)}/webhooks/${hook.body.id}/deliveries`)).body;
    expect(deliveries.map((d: { eventType: string }) => d.eventType)).toEqual(["flag.updated"]);
  });

  it.each([
    ["an unknown variant", { add: { platinum: ["acme"] } }, "add.platinum"],
    ["an empty key", { add: { pro: [""] } }, "add.pro.0"],
    ["a key with a control character", { add: { pro: ["ac\u0000me"] } }, "add.pro[0]"],
    ["a key over 256 characters", { remove: ["x".repeat(257)] }, "remove.0"],
    ["a key under two variants", { add: { pro: ["acme"], enterprise: ["acme"] } }, "add.enterprise[0]"],
    ["a key added and removed", { add: { pro: ["acme"] }, remove: ["acme"] }, "remove[0]"],
    ["more than 10,000 keys", { remove: Array.from({ length: 10_001 }, (_, i) => `k${i}`) }, "remove"],
    ["an empty change", {}, "(body)"],
    ["an unknown field", { add: { pro: ["acme"] }, replace: true }, ""],
  ])("refuses %s with a 400 naming it, changing nothing", async (_name, body, path) => {
    const project = "targets-bad";
    const created = await call("PUT", P(project), { body: { environments: ["production"] } });
    if (created.status === 201) await call("PUT", `${P(project)}/environments/production/flagd`, { body: plans });
    await call("POST", `${flagPath(project, "plan")}/targets`, { body: { add: { pro: ["kept"] } } });
    const version = await envVersion(project);
    const res = await call("POST", `${flagPath(project, "plan")}/targets`, { body });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(typeof res.body.detail).toBe("string");
    if (path) expect(JSON.stringify(res.body)).toContain(path);
    expect(await envVersion(project)).toBe(version);
    expect((await rows(project, "plan")).targets).toEqual(["kept=pro"]);
  });

  it("answers 404 for a flag or environment that does not exist", async () => {
    const project = "targets-404";
    await setupProject(project, plans);
    expect((await call("POST", `${flagPath(project, "ghost")}/targets`, { body: { add: { on: ["a"] } } })).status).toBe(404);
    expect((await call("GET", `${flagPath(project, "plan", "nowhere")}/targets`)).status).toBe(404);
  });

  it("a batch of 10,000 keys is one change whose audit entry names every key, within a bounded size", async () => {
    const project = "targets-batch";
    await setupProject(project, plans);
    const ids = Array.from({ length: 10_000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
    const res = await call("POST", `${flagPath(project, "plan")}/targets`, { body: { add: { enterprise: ids } } });
    expect(res.body).toMatchObject({ changed: true, added: 10_000, counts: { enterprise: 10_000 } });
    const size = await runInDurableObject(
      store(project),
      (_i, state) =>
        state.storage.sql
          .exec<{ n: number }>(
            "SELECT length(coalesce(before, '')) + length(coalesce(after, '')) AS n FROM audit WHERE action = 'flag.targets-changed'",
          )
          .one().n,
    );
    expect(size).toBeGreaterThan(10_000 * 36);
    expect(size).toBeLessThan(1024 * 1024);
    const [entry] = (await auditOf(project, "plan")).filter((e) => e.action === "flag.targets-changed");
    expect(entry.after.targets.enterprise).toHaveLength(10_000);
    // The long keys of the worst case are refused before they could make a row too large.
    const long = Array.from({ length: 10_000 }, (_, i) => `${"k".repeat(250)}${String(i).padStart(6, "0")}`);
    const refused = await call("POST", `${flagPath(project, "plan")}/targets`, { body: { add: { pro: long } } });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toMatch(/split the batch/);
  });
});

describe("targets through whole-flag writes", () => {
  it("PUT flag replaces them (absent: none) and keeps If-Match: a targets change makes an earlier read stale", async () => {
    const project = "targets-put";
    await setupProject(project, plans);
    const base = flagPath(project, "plan");
    const read = (await call("GET", base)).body;
    const { key: _k, environment: _e, version, updatedAt: _u, updatedBy: _b, ...definition } = read;
    const changed = await call("POST", `${base}/targets`, { body: { add: { pro: ["acme"] } } });
    const stale = await call("PUT", base, {
      headers: { "if-match": `"${version}"` },
      body: { ...definition, targets: { enterprise: ["initech"] } },
    });
    expect(stale.status).toBe(412);
    expect((await rows(project, "plan")).targets).toEqual(["acme=pro"]);

    const put = await call("PUT", base, {
      headers: { "if-match": `"${changed.body.version}"` },
      body: { ...definition, targets: { enterprise: ["initech"], pro: ["acme"] } },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ changed: true, targets: { enterprise: ["initech"], pro: ["acme"] } });
    expect(await rows(project, "plan")).toEqual({ targets: ["acme=pro", "initech=enterprise"], definitionHasTargets: false });
    // The same targets in another order: nothing to do.
    const same = await call("PUT", base, {
      headers: { "if-match": `"${put.body.version}"` },
      body: { ...definition, targets: { pro: ["acme"], enterprise: ["initech"] } },
    });
    expect(same.body).toMatchObject({ changed: false, version: put.body.version });
    const cleared = await call("PUT", base, { headers: { "if-match": `"${put.body.version}"` }, body: definition });
    expect(cleared.body.changed).toBe(true);
    expect(cleared.body.targets).toBeUndefined();
    expect((await rows(project, "plan")).targets).toEqual([]);
    // A PUT with an unknown target variant is refused and changes nothing.
    const bad = await call("PUT", base, {
      headers: { "if-match": `"${cleared.body.version}"` },
      body: { ...definition, targets: { gold: ["a"] } },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("targets.gold");
  });

  it("the kill switch and a trigger keep them; POST flag sets them; delete removes them", async () => {
    const project = "targets-keep";
    await setupProject(project, plans);
    const base = flagPath(project, "plan");
    await call("POST", `${base}/targets`, { body: { add: { pro: ["acme"] } } });
    expect((await call("POST", `${base}/toggle`, { body: { state: "DISABLED" } })).body.targets).toEqual({ pro: ["acme"] });
    expect((await call("POST", `${base}/toggle`, { body: { state: "ENABLED" } })).body.changed).toBe(true);
    const trigger = await call("POST", `${P(project)}/triggers`, {
      body: { name: "plan-default", environment: "production", flag: "plan", action: "set-default", variant: "pro" },
    });
    expect(trigger.status).toBe(201);
    expect((await call("POST", trigger.body.url.replace(/^https?:\/\/[^/]+/, ""), { token: null })).status).toBe(200);
    expect((await call("GET", base)).body).toMatchObject({ defaultVariant: "pro", targets: { pro: ["acme"] } });

    const created = await call("POST", `${P(project)}/environments/production/flags`, {
      body: { key: "beta", state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off", targets: { on: ["acme"] } },
    });
    expect(created.status).toBe(201);
    expect((await rows(project, "beta")).targets).toEqual(["acme=on"]);
    expect((await call("DELETE", flagPath(project, "beta"))).status).toBe(204);
    expect((await rows(project, "beta")).targets).toEqual([]);
    // Re-created under the same key, it starts without the old targets.
    await call("POST", `${P(project)}/environments/production/flags`, { body: { key: "beta", state: "ENABLED", variants: { on: true } } });
    expect((await call("GET", flagPath(project, "beta"))).body.targets).toBeUndefined();
  });

  it("saving a flag's rule in the console keeps its targets", async () => {
    const project = "targets-console";
    await setupProject(project, plans);
    await call("POST", `${flagPath(project, "plan")}/targets`, { body: { add: { enterprise: ["initech"] } } });
    const version = (await call("GET", flagPath(project, "plan"))).body.version;
    const origin = "http://edgeflags.test";
    const form = (fields: Record<string, string>) => ({
      method: "POST",
      headers: { origin, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
      redirect: "manual" as const,
    });
    const signedIn = await exports.default.fetch(new Request(`${origin}/console/sign-in`, form({ project, credential: ADMIN_TOKEN })));
    expect(signedIn.status).toBe(303);
    const cookie = (signedIn.headers.get("set-cookie") ?? "").split(";")[0]!;
    const edit = form({ env: "production", version: String(version), targeting: "", defaultVariant: "pro" });
    const saved = await exports.default.fetch(
      new Request(`${origin}/console/p/${project}/flags/plan/edit`, { ...edit, headers: { ...edit.headers, cookie } }),
    );
    expect(saved.status, await saved.text()).toBe(303);
    expect((await call("GET", flagPath(project, "plan"))).body).toMatchObject({
      defaultVariant: "pro",
      targets: { enterprise: ["initech"] },
    });
  });

  it("PUT flagd sets and replaces them, drops a removed flag's, and exports them inline as plain flagd", async () => {
    const project = "targets-flagd";
    await setupProject(project, plans);
    const flagd = `${P(project)}/environments/production/flagd`;
    const withTargets = structuredClone(plans);
    withTargets.flags["plan"]!.targets = { enterprise: ["initech"] };
    withTargets.flags["kill-switch"]!.targets = { off: ["acme"] };
    const put = await call("PUT", flagd, { body: withTargets });
    expect(put.body.changed).toBe(true);
    expect((await call("PUT", flagd, { body: withTargets })).body.changed).toBe(false);
    expect((await call("GET", flagd)).body.flags["kill-switch"].targets).toEqual({ off: ["acme"] });
    const plain = (await call("GET", `${flagd}?format=plain`)).body;
    expect(JSON.stringify(plain)).not.toContain('"targets"');
    expect(plain.flags["kill-switch"].targeting).toEqual({ if: [{ in: [{ var: "targetingKey" }, ["acme"]] }, "off", null] });
    // A flag.updated audit entry records counts, not every key (a flag may list 100,000).
    const [updated] = (await auditOf(project, "kill-switch")).filter((e) => e.action === "flag.updated");
    expect(updated.after).toMatchObject({ targetCounts: { off: 1 } });
    expect(updated.after.targets).toBeUndefined();

    const { "kill-switch": _dropped, ...rest } = withTargets.flags;
    expect((await call("PUT", flagd, { body: { flags: rest } })).body.changed).toBe(true);
    expect((await rows(project, "kill-switch")).targets).toEqual([]);
    expect((await rows(project, "plan")).targets).toEqual(["initech=enterprise"]);
  });

  it("promote copies them with the flag, compare sees them, and a ramp leaves them alone", async () => {
    const project = "targets-promote";
    await setupProject(project, plans);
    await call("PUT", `${P(project)}/environments/staging/flagd`, { body: plans });
    await call("POST", `${flagPath(project, "plan", "staging")}/targets`, { body: { add: { enterprise: ["initech"] } } });
    const compare = await call("GET", `${P(project)}/compare?from=staging&to=production`);
    expect(JSON.stringify(compare.body)).toContain("targets");
    const promoted = await call("POST", `${P(project)}/promote`, { body: { from: "staging", to: "production", flags: ["plan"] } });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
    expect(promoted.body.version, JSON.stringify(promoted.body)).not.toBeNull();
    expect((await rows(project, "plan")).targets).toEqual(["initech=enterprise"]);

    const { key } = await setupProject("targets-ramp", plans);
    await call("POST", `${flagPath("targets-ramp", "kill-switch")}/targets`, { body: { add: { off: ["vip"] } } });
    const ramp = await call("POST", `${flagPath("targets-ramp", "kill-switch")}/ramp`, {
      body: { variant: "on", baseline: "off", steps: [{ percent: 10 }, { percent: 100, afterSeconds: 60 }] },
    });
    expect(ramp.status).toBe(201);
    await advanceRamps("targets-ramp");
    const flag = (await call("GET", flagPath("targets-ramp", "kill-switch"))).body;
    expect(flag.targets).toEqual({ off: ["vip"] });
    expect(await rows("targets-ramp", "kill-switch")).toEqual({ targets: ["vip=off"], definitionHasTargets: false });
    await drainOutbox("targets-ramp");
    resetEdgeState(["snapshots"]);
    expect((await evaluate(key, "kill-switch", { targetingKey: "vip" })).body).toMatchObject({ value: false, reason: "TARGETING_MATCH" });
    expect((await evaluate(key, "kill-switch", { targetingKey: "someone" })).body.value).toBe(true);
  });
});

describe("targets at the edge", () => {
  it("OFREP answers follow a target change: at once in the isolate that wrote it, and from KV elsewhere", async () => {
    const project = "targets-ofrep";
    const { key } = await setupProject(project, plans);
    expect((await evaluate(key, "plan", { targetingKey: "acme" })).body).toMatchObject({ value: "free", reason: "DEFAULT" });
    await call("POST", `${flagPath(project, "plan")}/targets`, { body: { add: { enterprise: ["acme"] } } });
    expect((await evaluate(key, "plan", { targetingKey: "acme", country: "NZ" })).body).toMatchObject({
      value: "enterprise",
      variant: "enterprise",
      reason: "TARGETING_MATCH",
    });
    expect((await evaluate(key, "plan", { targetingKey: "other", country: "NZ" })).body.value).toBe("pro");
    await call("POST", `${flagPath(project, "plan")}/targets`, { body: { remove: ["acme"] } });
    await drainOutbox(project);
    resetEdgeState(["snapshots"]);
    expect((await evaluate(key, "plan", { targetingKey: "acme" })).body).toMatchObject({ value: "free", reason: "DEFAULT" });
  });

  it("shares a long list of targets repeated in several flags once in the snapshot", async () => {
    const project = "targets-shared";
    const ids = Array.from({ length: 100 }, (_, i) => `customer-${i}`);
    const set: FlagSet = {
      flags: Object.fromEntries(
        ["a", "b", "c"].map((k) => [
          k,
          { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off", targets: { on: ids } },
        ]),
      ),
    };
    const { key } = await setupProject(project, set);
    const snapshot = await env.FLAGS_KV.get<{ flagSet: FlagSet }>(snapshotKvKey(project, "production"), "json");
    expect(snapshot?.flagSet.flags["b"]?.targets).toEqual({ on: { $ref: "edgeflags.list.0" } });
    // The same snapshot crosses Durable Object RPC (the edge's cold fallback): plain objects only.
    const overRpc = await store(project).getSnapshot("production");
    expect(overRpc?.flagSet.flags["c"]?.targets).toEqual({ on: { $ref: "edgeflags.list.0" } });
    expect(overRpc?.flagSet.$evaluators?.["edgeflags.list.0"]).toEqual([...ids].sort());
    resetEdgeState(["snapshots"]);
    const bulk = await call("POST", "/ofrep/v1/evaluate/flags", { token: key, body: { context: { targetingKey: "customer-42" } } });
    expect(bulk.body.flags.map((f: { value: unknown }) => f.value)).toEqual([true, true, true]);
  });

  it("a context a target decides is no exposure of an experiment's or a ramp's split", async () => {
    const project = "targets-exposure";
    const { key } = await setupProject(project);
    await call("POST", `${flagPath(project, "new-checkout")}/targets`, {
      body: { add: { on: Array.from({ length: 10 }, (_, i) => `vip-${i}`) } },
    });
    const started = (await call("POST", `${flagPath(project, "new-checkout")}/experiment`, { body: { weights: { on: 50, off: 50 } } }))
      .body;
    await call("POST", `${flagPath(project, "kill-switch")}/targets`, {
      body: { add: { off: Array.from({ length: 10 }, (_, i) => `vip-${i}`) } },
    });
    const ramp = await call("POST", `${flagPath(project, "kill-switch")}/ramp`, {
      body: { variant: "on", baseline: "off", steps: [{ percent: 50 }, { percent: 100, afterSeconds: 3600 }] },
    });
    expect(ramp.status).toBe(201);
    const vips = Array.from({ length: 10 }, (_, i) => ({ targetingKey: `vip-${i}` }));
    const others = Array.from({ length: 30 }, (_, i) => ({ targetingKey: `visitor-${i}` }));
    const answers = await evaluateAndSettle(key, "/ofrep/v1/evaluate/flags", [...vips, ...others]);
    const served = (flag: string) => answers.map((a) => a.flags.find((f: { key: string }) => f.key === flag));
    expect(
      served("new-checkout")
        .slice(0, 10)
        .every((f: { variant: string; reason: string }) => f.variant === "on" && f.reason === "TARGETING_MATCH"),
    ).toBe(true);
    const experiment = (await call("GET", `${P(project)}/experiments/${started.id}`)).body;
    const units = Object.values(experiment.units as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(units).toBe(30);
    const report = (await call("GET", `${flagPath(project, "kill-switch")}/ramp/exposures`)).body;
    const counted = Object.values(report.steps[0].srm.observed as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(counted).toBe(30);
  });
});
