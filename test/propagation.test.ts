import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { snapshotKvKey } from "../contracts/snapshot";
import { resetEdgeState } from "../worker/edge-state";
import { call, drainOutbox, evaluate, setupProject, store } from "./helpers";

async function kvSnapshot(project: string, environment = "production") {
  return env.FLAGS_KV.get<{ version: number; flagSet: { flags: Record<string, { state: string }> } }>(
    snapshotKvKey(project, environment),
    "json",
  );
}

describe("write → KV snapshot → edge", () => {
  it("publishes each committed change to KV through the outbox, and a fresh isolate reads it", async () => {
    const { key, version } = await setupProject("prop-kv");
    expect((await kvSnapshot("prop-kv"))?.version).toBe(version);
    const toggled = await call("POST", "/admin/v1/projects/prop-kv/environments/production/flags/kill-switch/toggle");
    expect(toggled.body.version).toBe(version + 1);
    await drainOutbox("prop-kv");
    const published = await kvSnapshot("prop-kv");
    expect(published?.version).toBe(version + 1);
    expect(published?.flagSet.flags["kill-switch"]?.state).toBe("DISABLED");
    resetEdgeState(["snapshots"]);
    const res = await evaluate(key, "kill-switch", { targetingKey: "u" });
    expect(res.body.reason).toBe("DISABLED");
    expect(res.headers.get("x-edgeflags-config-version")).toBe(String(version + 1));
  });

  it("serves the next evaluation in the isolate that took the write at the new version, before KV has it", async () => {
    const { key, version } = await setupProject("prop-ryw");
    expect((await evaluate(key, "kill-switch", {})).body.value).toBe(true);
    await call("POST", "/admin/v1/projects/prop-ryw/environments/production/flags/kill-switch/toggle");
    expect((await kvSnapshot("prop-ryw"))?.version).toBeLessThanOrEqual(version + 1);
    const res = await evaluate(key, "kill-switch", {});
    expect(res.body.reason).toBe("DISABLED");
    expect(res.body.metadata.configVersion).toBe(version + 1);
  });

  it("honours a flagConfigEtag naming a version newer than the isolate has", async () => {
    const { key, version } = await setupProject("prop-min-version");
    await evaluate(key, "kill-switch", {});
    // Change the flag through the DO directly, as another isolate's write would: this isolate has
    // not heard of it, and KV has not been published yet.
    const result = await store("prop-min-version").flags().setState("production", "kill-switch", "DISABLED", {
      actor: "test",
      reason: null,
      ifMatch: null,
    });
    expect(result.ok).toBe(true);
    const stale = await evaluate(key, "kill-switch", {});
    expect(stale.body.metadata.configVersion).toBe(version);
    const fresh = await call("POST", `/ofrep/v1/evaluate/flags?flagConfigEtag=${encodeURIComponent(`"${version + 1}"`)}`, {
      token: key,
      body: {},
    });
    expect(fresh.body.metadata.configVersion).toBe(version + 1);
  });

  it("falls back to the FlagStore when KV has no snapshot", async () => {
    const { key, version } = await setupProject("prop-fallback");
    await env.FLAGS_KV.delete(snapshotKvKey("prop-fallback", "production"));
    resetEdgeState(["snapshots"]);
    const res = await evaluate(key, "banner-color", { country: "US" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ variant: "green", metadata: { configVersion: version } });
  });

  it("falls back to the FlagStore for a set whose long lists the snapshot shares (it crosses RPC)", async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `customer-${i}`);
    const flagSet = {
      flags: {
        beta: {
          state: "ENABLED" as const,
          variants: { on: true, off: false },
          defaultVariant: "off",
          targeting: { if: [{ in: [{ var: "targetingKey" }, ids] }, "on", null] },
        },
        "beta-2": {
          state: "ENABLED" as const,
          variants: { on: true, off: false },
          defaultVariant: "off",
          targeting: { if: [{ in: [{ var: "targetingKey" }, ids] }, "on", null] },
        },
      },
    };
    const { key, version } = await setupProject("prop-fallback-lists", flagSet);
    await env.FLAGS_KV.delete(snapshotKvKey("prop-fallback-lists", "production"));
    resetEdgeState(["snapshots"]);
    const res = await evaluate(key, "beta", { targetingKey: "customer-7" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ value: true, metadata: { configVersion: version } });
  });

  it("retries a failed KV write until it succeeds, and never goes backwards", async () => {
    const { version } = await setupProject("prop-retry");
    const failures: string[] = [];
    await runInDurableObject(store("prop-retry"), (instance) => {
      const real = env.FLAGS_KV;
      const failing = Object.create(real) as KVNamespace;
      failing.put = async (key: string) => {
        failures.push(key);
        throw new Error("KV is unavailable");
      };
      Object.assign(instance, { env: { ...env, FLAGS_KV: failing } });
    });
    await call("POST", "/admin/v1/projects/prop-retry/environments/production/flags/kill-switch/toggle");
    await drainOutbox("prop-retry");
    await drainOutbox("prop-retry");
    expect(failures.length).toBeGreaterThanOrEqual(2);
    const status = await call("GET", "/admin/v1/projects/prop-retry/replication");
    const publishes = status.body.pending.filter((row: { kind: string }) => row.kind === "publish");
    expect(publishes).toEqual([
      expect.objectContaining({ kind: "publish", target: "production", attempts: expect.any(Number), lastError: "KV is unavailable" }),
    ]);
    expect(publishes[0].attempts).toBeGreaterThanOrEqual(2);
    expect((await kvSnapshot("prop-retry"))?.version).toBe(version);
    expect(await runInDurableObject(store("prop-retry"), (_i, state) => state.storage.getAlarm())).not.toBeNull();

    await runInDurableObject(store("prop-retry"), (instance) => {
      Object.assign(instance, { env });
    });
    await drainOutbox("prop-retry");
    expect((await kvSnapshot("prop-retry"))?.version).toBe(version + 1);
    expect((await call("GET", "/admin/v1/projects/prop-retry/replication")).body.pending).toEqual([]);
  });

  it("coalesces a burst of changes into one publish of the latest snapshot", async () => {
    const { version } = await setupProject("prop-burst");
    await runDurableObjectAlarm(store("prop-burst"));
    const writes: number[] = [];
    await runInDurableObject(store("prop-burst"), (instance) => {
      const counting = Object.create(env.FLAGS_KV) as KVNamespace;
      counting.put = ((key: string, value: string, options?: KVNamespacePutOptions) => {
        writes.push(JSON.parse(value).version);
        return env.FLAGS_KV.put(key, value, options);
      }) as KVNamespace["put"];
      Object.assign(instance, { env: { ...env, FLAGS_KV: counting } });
    });
    for (let i = 0; i < 10; i++) {
      await store("prop-burst")
        .flags()
        .setState("production", "kill-switch", i % 2 ? "ENABLED" : "DISABLED", {
          actor: "test",
          reason: null,
          ifMatch: null,
        });
    }
    await drainOutbox("prop-burst");
    // Ten commits inside KV's one-write-per-second window: one write, of the latest version.
    expect(writes.length).toBeLessThan(10);
    expect(writes.at(-1)).toBe(version + 10);
    expect((await kvSnapshot("prop-burst"))?.version).toBe(version + 10);
  });
});
