/**
 * Nothing acknowledged is lost: outbox rows stay until their work has succeeded, survive a reset
 * of the FlagStore in the middle of a KV write, and a KV call that never settles holds nothing up.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { broadcasterName } from "../contracts/broadcast";
import { ProjectEntrySchema, projectKvKey, snapshotKvKey } from "../contracts/snapshot";
import { DEADLINE_MS } from "../lib/deadline";
import { advanceRamps, call, drainOutbox, setupProject, store } from "./helpers";
import { restartObject } from "./object-restart";

async function kvVersion(project: string, environment = "production"): Promise<number | undefined> {
  return (await env.FLAGS_KV.get<{ version: number }>(snapshotKvKey(project, environment), "json"))?.version;
}

/** A KV binding whose snapshot writes never settle; `started` resolves when the first one begins. */
function hangingKv(): { kv: KVNamespace; started: Promise<void> } {
  let began: () => void = () => {};
  const started = new Promise<void>((resolve) => (began = resolve));
  const kv = Object.create(env.FLAGS_KV) as KVNamespace;
  kv.put = ((key: string, value: string, options?: KVNamespacePutOptions) => {
    if (!key.startsWith("snapshot:")) return env.FLAGS_KV.put(key, value, options);
    began();
    return new Promise<void>(() => {});
  }) as KVNamespace["put"];
  return { kv, started };
}

/** Starts the alarm with a KV whose snapshot write hangs; resolves once that write is in flight. */
async function alarmStuckInKvWrite(project: string): Promise<void> {
  const { kv, started } = hangingKv();
  await runInDurableObject(store(project), (instance, state) => {
    Object.assign(instance, { env: { ...env, FLAGS_KV: kv } });
    // The snapshot's row first among the KV rows: the pass stops in its write (the notice has
    // gone out before it).
    state.storage.sql.exec("UPDATE outbox SET next_attempt_at = 0 WHERE kind = 'publish'");
    void instance.alarm().catch(() => {});
  });
  await started;
}

/** The version the environment's broadcaster (its one shard here) last announced. */
async function announced(project: string): Promise<number | undefined> {
  const shard = env.BROADCASTER.getByName(broadcasterName(project, "production", 0));
  return runInDurableObject(shard, async (_i, state) => (await state.storage.get<{ version: number }>("latest"))?.version);
}

/** A broadcaster binding whose `notify` never settles. */
const hungBroadcaster = () => ({ getByName: () => ({ notify: () => new Promise<never>(() => {}) }) });

/** Gives the project's FlagStore other bindings (they stay until the object is reset). */
async function substitute(project: string, bindings: Partial<Env>): Promise<void> {
  await runInDurableObject(store(project), (instance) => {
    Object.assign(instance, { env: { ...env, ...bindings } });
  });
}

/** Ramps the kill switch to 10% now and to 50% an hour later. */
function startTwoStepRamp(project: string) {
  return call("POST", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/ramp`, {
    body: { variant: "on", baseline: "off", steps: [{ percent: 10 }, { percent: 50, afterSeconds: 3600 }] },
  });
}

/** Resets the object, as a deploy or an eviction does: the next call gets a fresh instance. */
const resetObject = (project: string) => restartObject(project, "reset mid-publish");

afterEach(() => vi.restoreAllMocks());
afterEach(() => vi.unstubAllGlobals());

describe("queued work survives a restart of the object before its alarm runs", () => {
  it("keeps the outbox rows, the webhook delivery and the alarm; a fresh instance performs them all", async () => {
    const project = "dur-restart";
    const { version } = await setupProject(project);
    const hook = await call("POST", `/admin/v1/projects/${project}/webhooks`, {
      body: { url: "https://receiver.example/hook", events: ["flag.toggled"] },
    });
    expect(hook.status).toBe(201);
    // The change's notice is sent right after its commit; here it is still in flight (the
    // broadcaster does not answer) when the object is evicted, before the alarm ran.
    await substitute(project, { BROADCASTER: hungBroadcaster() as unknown as Env["BROADCASTER"] });
    const off = await call("POST", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/toggle`, {
      body: { state: "DISABLED" },
    });
    expect(off.body.version).toBe(version + 1);

    await restartObject(project, "evicted before the alarm");
    const queued = await call("GET", `/admin/v1/projects/${project}/replication`);
    expect(queued.body.pending.map((row: { kind: string }) => row.kind).sort()).toEqual(["audit-head", "notify", "publish"]);
    expect(await runInDurableObject(store(project), (_i, state) => state.storage.getAlarm())).not.toBeNull();
    const [pending] = (await call("GET", `/admin/v1/projects/${project}/webhooks/${hook.body.id}/deliveries`)).body;
    expect(pending).toMatchObject({ eventType: "flag.toggled", status: "pending", attempts: 0 });
    expect(await kvVersion(project)).toBe(version);

    const received: string[] = [];
    vi.stubGlobal("fetch", async (_url: string, init: RequestInit) => {
      received.push(new Headers(init.headers).get("edgeflags-event") ?? "");
      return new Response("ok");
    });
    await drainOutbox(project);
    expect(await kvVersion(project)).toBe(version + 1);
    expect(await announced(project)).toBe(version + 1);
    expect(received).toEqual(["flag.toggled"]);
    expect((await call("GET", `/admin/v1/projects/${project}/webhooks/${hook.body.id}/deliveries`)).body[0]).toMatchObject({
      status: "delivered",
    });
    expect((await call("GET", `/admin/v1/projects/${project}/replication`)).body.pending).toEqual([]);
  });

  it("keeps a ramp's due step across a restart and applies it once", async () => {
    const project = "dur-restart-ramp";
    await setupProject(project);
    await startTwoStepRamp(project);
    await drainOutbox(project);
    await restartObject(project, "evicted while the next step waits");
    await advanceRamps(project);
    const ramp = (await call("GET", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/ramp`)).body;
    expect(ramp).toMatchObject({ currentPercent: 50, status: "completed" });
    expect(ramp.history.map((h: { percent: number }) => h.percent)).toEqual([10, 50]);
  });
});

describe("a change's notice goes out right after its commit", () => {
  it("reaches the broadcaster while the snapshot's KV write is still in flight", async () => {
    const project = "dur-notify-first";
    const { version } = await setupProject(project);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const gated = Object.create(env.FLAGS_KV) as KVNamespace;
    gated.put = (async (key: string, value: string, options?: KVNamespacePutOptions) => {
      if (key.startsWith("snapshot:")) await gate;
      return env.FLAGS_KV.put(key, value, options);
    }) as KVNamespace["put"];
    let noticed: (version: number) => void = () => {};
    const notice = new Promise<number>((resolve) => (noticed = resolve));
    const recording = {
      getByName: (name: string) => ({
        notify: async (event: { version: number }) => {
          const answer = await env.BROADCASTER.getByName(name).notify(event as never);
          noticed(event.version);
          return answer;
        },
      }),
    };
    await substitute(project, { FLAGS_KV: gated, BROADCASTER: recording as unknown as Env["BROADCASTER"] });
    // Nothing of the snapshot can reach KV before the notice, whatever runs first.
    await runInDurableObject(store(project), (_i, state) => {
      state.storage.sql.exec("UPDATE published SET published_at = 0");
    });
    const off = await call("POST", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/toggle`, {
      body: { state: "DISABLED" },
    });
    expect(await notice).toBe(version + 1);
    expect(await announced(project)).toBe(version + 1);
    expect(off.body.version).toBe(version + 1);
    expect(await kvVersion(project)).toBe(version);
    // The snapshot's write has neither succeeded nor failed (its deadline has not passed): the
    // notice did not wait for it.
    const pending = (await call("GET", `/admin/v1/projects/${project}/replication`)).body.pending;
    expect(pending.find((r: { kind: string }) => r.kind === "publish")).toMatchObject({ attempts: 0, lastError: null });
    expect(pending.map((r: { kind: string }) => r.kind)).not.toContain("notify");
    release();
    await substitute(project, {});
    await drainOutbox(project);
    expect(await kvVersion(project)).toBe(version + 1);
  });
});

describe("an outbox row survives a reset in the middle of its work", () => {
  it("keeps the change queued while the KV write is in flight, and a fresh instance publishes it", async () => {
    const project = "dur-reset";
    const { version } = await setupProject(project);
    const off = await call("POST", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/toggle`, {
      body: { state: "DISABLED" },
    });
    expect(off.body.version).toBe(version + 1);

    await alarmStuckInKvWrite(project);
    const during = await call("GET", `/admin/v1/projects/${project}/replication`);
    expect(during.body.pending).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: "publish", target: "production", inFlight: true })]),
    );

    await resetObject(project);
    expect(await kvVersion(project)).toBe(version);
    const after = await call("GET", `/admin/v1/projects/${project}/replication`);
    expect(after.body.pending).toEqual(expect.arrayContaining([expect.objectContaining({ kind: "publish", target: "production" })]));

    await drainOutbox(project);
    expect(await kvVersion(project)).toBe(version + 1);
    const snapshot = await env.FLAGS_KV.get<{ flagSet: { flags: Record<string, { state: string }> } }>(
      snapshotKvKey(project, "production"),
      "json",
    );
    expect(snapshot?.flagSet.flags["kill-switch"]?.state).toBe("DISABLED");
    expect((await call("GET", `/admin/v1/projects/${project}/replication`)).body.pending).toEqual([]);
  });

  it("keeps a ramp step's publish queued across a reset", async () => {
    const project = "dur-ramp";
    const { version } = await setupProject(project);
    const started = await startTwoStepRamp(project);
    expect(started.status).toBe(201);
    await drainOutbox(project);
    const stepOne = await kvVersion(project);
    expect(stepOne).toBeGreaterThan(version);

    // The step is applied; its publish waits out KV's write interval, then hangs.
    await advanceRamps(project);
    expect(await kvVersion(project)).toBe(stepOne);
    await alarmStuckInKvWrite(project);
    await resetObject(project);
    const ramp = await call("GET", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/ramp`);
    expect(ramp.body.currentPercent).toBe(50);
    expect(await kvVersion(project)).toBe(stepOne);

    await drainOutbox(project);
    expect(await kvVersion(project)).toBe(stepOne! + 1);
  });

  it("publishes a change committed while an older version's write is in flight", async () => {
    const project = "dur-newer";
    const { version } = await setupProject(project);
    await call("POST", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/toggle`, { body: { state: "DISABLED" } });
    const writes: number[] = [];
    await runInDurableObject(store(project), async (instance, state) => {
      const kv = Object.create(env.FLAGS_KV) as KVNamespace;
      kv.put = (async (key: string, value: string, options?: KVNamespacePutOptions) => {
        if (key.startsWith("snapshot:")) {
          writes.push(JSON.parse(value).version);
          // The next change commits while this write (of the version before it) is in flight.
          if (writes.length === 1)
            await instance.flags().setState("production", "kill-switch", "ENABLED", { actor: "test", reason: null, ifMatch: null });
        }
        return env.FLAGS_KV.put(key, value, options);
      }) as KVNamespace["put"];
      Object.assign(instance, { env: { ...env, FLAGS_KV: kv } });
      state.storage.sql.exec("UPDATE outbox SET next_attempt_at = 0");
      await instance.alarm();
    });
    expect(await kvVersion(project)).toBe(version + 1);
    expect((await call("GET", `/admin/v1/projects/${project}/replication`)).body.pending).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: "publish", target: "production", inFlight: false })]),
    );
    await drainOutbox(project);
    expect(writes).toEqual([version + 1, version + 2]);
    expect(await kvVersion(project)).toBe(version + 2);
  });
});

describe("a KV write that never settles", () => {
  it("times out, is retried, and does not wedge later alarms", async () => {
    const project = "dur-hang";
    const { version } = await setupProject(project);
    await call("POST", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/toggle`, { body: { state: "DISABLED" } });
    const { kv } = hangingKv();
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    await runInDurableObject(store(project), async (instance, state) => {
      Object.assign(instance, { env: { ...env, FLAGS_KV: kv } });
      state.storage.sql.exec("UPDATE outbox SET next_attempt_at = 0");
      // Settles once the write's deadline has passed, not never.
      await instance.alarm();
    });
    const status = await call("GET", `/admin/v1/projects/${project}/replication`);
    const row = status.body.pending.find((r: { kind: string }) => r.kind === "publish");
    expect(row).toMatchObject({ target: "production", attempts: 1, inFlight: false });
    expect(row.lastError).toContain(`did not answer within ${DEADLINE_MS.kvWrite} ms`);
    // The retry is logged as one structured line an operator can search for.
    const retries = warnings.mock.calls.map(([line]) => JSON.parse(String(line))).filter((entry) => entry.event === "outbox-retry");
    expect(retries).toContainEqual(
      expect.objectContaining({
        level: "warn",
        project,
        kind: "publish",
        target: "production",
        attempts: 1,
        error: expect.stringContaining("did not answer"),
      }),
    );

    // KV recovers: the next alarm publishes; nothing waits behind the abandoned write.
    await runInDurableObject(store(project), (instance) => {
      Object.assign(instance, { env });
    });
    await drainOutbox(project);
    expect(await kvVersion(project)).toBe(version + 1);
  }, 20_000);
});

// Ramps are advanced by the same alarm; a due step is applied once however often it runs.
it("applies a due ramp step once although the alarm runs again", async () => {
  const project = "dur-ramp-once";
  await setupProject(project);
  await startTwoStepRamp(project);
  await advanceRamps(project);
  const before = (await call("GET", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/ramp`)).body;
  await drainOutbox(project);
  const after = (await call("GET", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/ramp`)).body;
  expect(after.history).toEqual(before.history);
});

describe("the project registry in KV", () => {
  it("is written through the outbox when a project is created", async () => {
    const project = "dur-registry";
    await setupProject(project);
    const entry = ProjectEntrySchema.parse(await env.FLAGS_KV.get(projectKvKey(project), "json"));
    expect(entry.project).toBe(project);
    expect(Date.parse(entry.createdAt)).toBeGreaterThan(0);
  });

  it("is written on upgrade for a project created before the registry existed", async () => {
    const project = "dur-registry-upgrade";
    await setupProject(project);
    // Stand the object back to a release without the registry: no entry, no queued row, schema 5.
    await runInDurableObject(store(project), (_i, state) => {
      state.storage.sql.exec("DELETE FROM outbox WHERE kind = 'project'");
      state.storage.sql.exec("DELETE FROM meta WHERE key = 'created_at'");
      state.storage.sql.exec("UPDATE schema_version SET version = 5");
    });
    await env.FLAGS_KV.delete(projectKvKey(project));
    await resetObject(project);
    expect(await call("GET", `/admin/v1/projects/${project}`)).toMatchObject({ status: 200 });
    expect(await runInDurableObject(store(project), (_i, state) => state.storage.getAlarm())).not.toBeNull();
    await drainOutbox(project);
    expect(ProjectEntrySchema.parse(await env.FLAGS_KV.get(projectKvKey(project), "json")).project).toBe(project);
  });
});

describe("a broadcaster that never answers", () => {
  it("fails the notify row after its deadline; the row is retried and later alarms run", async () => {
    const project = "dur-notify-hang";
    await setupProject(project);
    await substitute(project, { BROADCASTER: hungBroadcaster() as unknown as Env["BROADCASTER"] });
    // The notice sent after the commit hangs; the alarm waits for it to fail, then runs on.
    await call("POST", `/admin/v1/projects/${project}/environments/production/flags/kill-switch/toggle`, { body: { state: "DISABLED" } });
    await runInDurableObject(store(project), async (instance, state) => {
      state.storage.sql.exec("UPDATE outbox SET next_attempt_at = 0");
      await instance.alarm();
    });
    const status = await call("GET", `/admin/v1/projects/${project}/replication`);
    const notify = status.body.pending.find((r: { kind: string }) => r.kind === "notify");
    expect(notify).toMatchObject({ target: "production", attempts: 1, inFlight: false });
    expect(notify.lastError).toContain(`did not answer within ${DEADLINE_MS.broadcaster} ms`);
    await runInDurableObject(store(project), (instance) => {
      Object.assign(instance, { env });
    });
    await drainOutbox(project);
    expect((await call("GET", `/admin/v1/projects/${project}/replication`)).body.pending).toEqual([]);
  }, 20_000);
});
