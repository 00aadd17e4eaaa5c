/**
 * Nothing silent: an answer the edge degrades, an error it did not expect and telemetry it could
 * not deliver each write one structured log line (`lib/log.ts`) naming the request and project.
 * KV and the FlagStore are made to fail under the Worker's own fetch handler (a wrapped `env`).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import worker from "../worker/index";
import { resetEdgeState } from "../worker/edge-state";
import { flush, pendingFlush, recordKeyUse } from "../worker/telemetry";
import { LogThrottle } from "../lib/log";
import { evaluate, setupProject } from "./helpers";

const injected = () => Promise.reject(new Error("injected fault"));

/** FLAGS_KV whose reads fail. */
const failingKv = { get: injected, getWithMetadata: injected, list: injected } as unknown as KVNamespace;

/** FLAG_STORE whose objects fail every call. */
function failingStore(): Env["FLAG_STORE"] {
  const real = env.FLAG_STORE;
  const stub = new Proxy({}, { get: (_target, prop) => (prop === "then" ? undefined : injected) });
  return { idFromName: real.idFromName.bind(real), get: () => stub, getByName: () => stub } as unknown as Env["FLAG_STORE"];
}

/** Calls the Worker with `overrides` in its env, as request `ray` (Cloudflare's `cf-ray`). */
async function send(overrides: { [K in keyof Env]?: unknown }, method: string, path: string, key: string, ray: string): Promise<Response> {
  const request = new Request(`http://edgeflags.test${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "cf-ray": ray },
    body: method === "GET" ? undefined : JSON.stringify({ context: { targetingKey: "u1" } }),
  });
  // Test doubles stand in for bindings.
  return worker.fetch(request, { ...env, ...overrides } as Env, createExecutionContext());
}

/** The structured lines written to `console[level]` while the test runs. */
function captured(level: "warn" | "error"): () => Record<string, unknown>[] {
  const spy = vi.spyOn(console, level).mockImplementation(() => {});
  return () =>
    spy.mock.calls.flatMap(([line]) => {
      if (typeof line !== "string") return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("degraded answers are logged", () => {
  it("logs one line naming the request and project when a stale snapshot is served", async () => {
    const { key, version } = await setupProject("log-stale");
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    const lines = captured("warn");
    // The caller was told of a version neither KV nor the FlagStore can deliver.
    const answer = await send(
      { FLAG_STORE: failingStore() },
      "POST",
      `/ofrep/v1/evaluate/flags/kill-switch?flagConfigEtag=${version + 1}`,
      key,
      "ray-stale",
    );
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-edgeflags-stale")).toBe("newer-version-unavailable");
    const logged = lines().filter((line) => line.event === "stale-snapshot-served");
    expect(logged).toEqual([
      expect.objectContaining({
        level: "warn",
        requestId: "ray-stale",
        method: "POST",
        path: "/ofrep/v1/evaluate/flags/kill-switch",
        project: "log-stale",
        environment: "production",
        version,
        reason: "newer-version-unavailable",
        detail: expect.stringContaining("injected fault"),
      }),
    ]);
  });

  it("logs a stale answer once per version and reason, however many are served; each answer still says it is stale", async () => {
    const { key, version } = await setupProject("log-stale-storm");
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200);
    const lines = captured("warn");
    const path = `/ofrep/v1/evaluate/flags/kill-switch?flagConfigEtag=${version + 1}`;
    const answers: Response[] = [];
    for (let i = 0; i < 5; i++) answers.push(await send({ FLAG_STORE: failingStore() }, "POST", path, key, `ray-storm-${i}`));
    const bulk = await send(
      { FLAG_STORE: failingStore() },
      "POST",
      `/ofrep/v1/evaluate/flags?flagConfigEtag=${version + 1}`,
      key,
      "ray-storm-bulk",
    );
    for (const answer of [...answers, bulk]) {
      expect(answer.status).toBe(200);
      expect(answer.headers.get("x-edgeflags-stale")).toBe("newer-version-unavailable");
      expect(await answer.json()).toMatchObject({ metadata: { stale: true, staleReason: expect.stringContaining("injected fault") } });
    }
    const logged = lines().filter((line) => line.event === "stale-snapshot-served");
    expect(logged).toEqual([
      expect.objectContaining({
        requestId: "ray-storm-0",
        project: "log-stale-storm",
        version,
        reason: "newer-version-unavailable",
        suppressed: 0,
      }),
    ]);
  });

  it("logs one line naming the request and project when there is nothing to serve (503)", async () => {
    const { key } = await setupProject("log-unavailable");
    expect((await evaluate(key, "kill-switch", {})).status).toBe(200); // the key is known here
    resetEdgeState(["snapshots"]);
    const lines = captured("error");
    const answer = await send({ FLAGS_KV: failingKv, FLAG_STORE: failingStore() }, "POST", "/ofrep/v1/evaluate/flags", key, "ray-503");
    expect(answer.status).toBe(503);
    const logged = lines().filter((line) => line.event === "edge-unavailable");
    expect(logged).toEqual([
      expect.objectContaining({
        level: "error",
        requestId: "ray-503",
        method: "POST",
        path: "/ofrep/v1/evaluate/flags",
        project: "log-unavailable",
        environment: "production",
        detail: expect.stringContaining("injected fault"),
      }),
    ]);
  });

  it("logs an unexpected error with the request id, method and path, and answers a generic 500", async () => {
    const { key } = await setupProject("log-bug", undefined, "server");
    const lines = captured("error");
    // A binding that throws where no failure is expected stands in for a bug.
    const broken = {
      idFromName: () => {
        throw new Error("injected bug");
      },
      get: () => {
        throw new Error("injected bug");
      },
    };
    const answer = await send({ FLAG_STORE: broken }, "GET", "/sync/v1/flagd", key, "ray-bug");
    expect(answer.status).toBe(500);
    expect(await answer.json()).toEqual({ errorDetails: "an unexpected error occurred while evaluating flags" });
    const logged = lines().filter((line) => line.event === "unhandled-error");
    expect(logged).toEqual([
      expect.objectContaining({
        level: "error",
        requestId: "ray-bug",
        method: "GET",
        path: "/sync/v1/flagd",
        error: expect.objectContaining({ name: "Error", message: "injected bug" }),
      }),
    ]);
  });
});

describe("a line that could be written on every request is written once per key and interval", () => {
  /** A throttle on a clock the test moves, and the lines it writes. */
  function throttled(intervalMs = 1_000) {
    let now = 10_000;
    const lines = captured("warn");
    const throttle = new LogThrottle(intervalMs, 2, () => now);
    const line = (key: string, n: number) => throttle.log("warn", "degraded", key, { key, n }, () => ({ requestId: `ray-${key}-${n}` }));
    return { throttle, line, lines, advance: (ms: number) => (now += ms) };
  }

  it("writes the first at once, counts the rest of the interval, and writes the count with the first after it", () => {
    const { line, lines, advance } = throttled();
    line("a", 1);
    advance(400);
    line("a", 2);
    line("b", 1);
    advance(599);
    line("a", 3);
    expect(lines()).toEqual([
      { level: "warn", event: "degraded", requestId: "ray-a-1", key: "a", n: 1, suppressed: 0 },
      { level: "warn", event: "degraded", requestId: "ray-b-1", key: "b", n: 1, suppressed: 0 },
    ]);
    advance(1);
    line("a", 4);
    expect(lines().at(-1)).toEqual({ level: "warn", event: "degraded", requestId: "ray-a-4", key: "a", n: 4, suppressed: 2 });
  });

  it("writes a count nothing later carries once its interval has passed, without the request's fields", () => {
    const { throttle, line, lines, advance } = throttled();
    line("a", 1);
    line("a", 2);
    line("a", 3);
    throttle.sweep();
    advance(999);
    throttle.sweep();
    expect(lines()).toHaveLength(1);
    advance(1);
    throttle.sweep();
    throttle.sweep();
    expect(lines()).toEqual([
      { level: "warn", event: "degraded", requestId: "ray-a-1", key: "a", n: 1, suppressed: 0 },
      { level: "warn", event: "degraded", key: "a", n: 3, suppressed: 2 },
    ]);
    // The sweep's line starts the next interval.
    line("a", 4);
    advance(1_000);
    line("a", 5);
    expect(lines().slice(2)).toEqual([{ level: "warn", event: "degraded", requestId: "ray-a-5", key: "a", n: 5, suppressed: 1 }]);
  });

  it("writes the count of a key it drops for a new one when full", () => {
    const { line, lines } = throttled();
    line("a", 1);
    line("a", 2);
    line("b", 1);
    line("c", 1);
    expect(lines().map(({ key, suppressed, requestId }) => ({ key, suppressed, requestId }))).toEqual([
      { key: "a", suppressed: 0, requestId: "ray-a-1" },
      { key: "b", suppressed: 0, requestId: "ray-b-1" },
      { key: "a", suppressed: 1, requestId: undefined },
      { key: "c", suppressed: 0, requestId: "ray-c-1" },
    ]);
  });
});

describe("telemetry the store cannot take is logged", () => {
  it("logs one line naming the project when a batch is not delivered, and keeps the batch", async () => {
    await pendingFlush();
    recordKeyUse("log-telemetry", "key-1");
    const lines = captured("error");
    let attempts = 0;
    const ids = new Set<unknown>();
    const sending = flush(() => ({
      recordTelemetry: (batch) => {
        attempts++;
        ids.add((batch as { id?: unknown }).id);
        return injected();
      },
    }));
    expect(sending).not.toBeNull();
    await sending;
    expect(attempts).toBeGreaterThan(1);
    const logged = lines().filter((line) => line.event === "telemetry-not-delivered");
    expect(logged).toEqual([
      expect.objectContaining({
        level: "error",
        project: "log-telemetry",
        attempts,
        kept: "whole",
        keys: 1,
        error: expect.objectContaining({ message: "injected fault" }),
      }),
    ]);
    // Kept: the next flush delivers it.
    let delivered: unknown;
    await flush(() => ({
      recordTelemetry: async (batch) => {
        delivered = batch;
        return { ok: true };
      },
    }));
    expect(delivered).toMatchObject({ keys: [{ id: "key-1" }] });
    // Every attempt and the later delivery carry one id: a shard that committed a lost-answer
    // attempt takes the part again as already applied, not as new counts.
    expect(ids.size).toBe(1);
    expect([...ids][0]).toEqual(expect.any(String));
    expect((delivered as { id?: unknown }).id).toBe([...ids][0]);
  }, 10_000);
});
