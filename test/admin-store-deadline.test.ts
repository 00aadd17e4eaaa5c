/**
 * Every admin call into the FlagStore has a deadline (`call` in admin/routes/kit.ts). A call that
 * never answers becomes a 503 problem+json with Retry-After, whose detail says what a person can
 * do: retry a read; re-read before retrying a write, because the store may have applied it after
 * the deadline. The store is the real one, behind a binding whose `flags()` group never answers.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { setStoreDeadlineForTests } from "../admin/routes/kit";
import { WRITTEN_HEADER } from "../contracts/written";
import { callWithBindings } from "./edge-call";
import { ADMIN_TOKEN, call, setupProject } from "./helpers";

const PROJECT = "admin-deadline";
const FLAG = `/admin/v1/projects/${PROJECT}/environments/production/flags/kill-switch`;
/** The store deadline under test: short enough not to hold the suite up, long enough for the request's real calls. */
const DEADLINE = 2_000;

/**
 * A FLAG_STORE binding whose `flags().<method>` calls never answer. With `reach`, each call is
 * first made on the real store (so its change is applied) and only its answer is lost; `applied`
 * settles when the real store has answered. Every other call goes to the real store.
 */
function lateFlags(method: string, reach: boolean | "throw") {
  const applied: Promise<unknown>[] = [];
  const namespace = {
    idFromName: (name: string) => env.FLAG_STORE.idFromName(name),
    get: (id: DurableObjectId) => {
      const real = env.FLAG_STORE.get(id) as unknown as Record<string, (...args: unknown[]) => unknown>;
      return new Proxy(real, {
        get: (target, prop: string) =>
          prop !== "flags"
            ? (...args: unknown[]) => target[prop]!(...args)
            : () => ({
                [method]: (...args: unknown[]) => {
                  if (reach === "throw") return Promise.reject(new Error("Durable Object reset because its code was updated."));
                  if (reach) applied.push((target.flags!() as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!(...args));
                  return new Promise(() => {});
                },
              }),
      });
    },
  };
  return { namespace, applied: () => Promise.all(applied) };
}

async function flagNow(): Promise<{ state: string; version: number }> {
  const read = await call("GET", FLAG);
  expect(read.status).toBe(200);
  return { state: read.body.state, version: read.body.version };
}

async function auditLength(): Promise<number> {
  const page = await call("GET", `/admin/v1/projects/${PROJECT}/audit?limit=200`);
  expect(page.status).toBe(200);
  return page.body.entries.length;
}

function expectUnavailable(answer: { status: number; headers: Headers; body: any }) {
  expect(answer.status).toBe(503);
  expect(answer.headers.get("content-type")).toBe("application/problem+json");
  expect(answer.headers.get("retry-after")).toBe("5");
  expect(answer.headers.get(WRITTEN_HEADER)).toBeNull();
  expect(answer.body).toMatchObject({ type: "https://edgeflags.dev/problems/unavailable", status: 503 });
}

describe("an admin call the FlagStore does not answer", () => {
  beforeAll(async () => {
    await setupProject(PROJECT);
  });
  afterEach(() => setStoreDeadlineForTests(null));

  it("answers a write 503 with Retry-After, says to re-read before retrying, and changes nothing else", async () => {
    const before = await flagNow();
    const entries = await auditLength();
    setStoreDeadlineForTests(DEADLINE);
    const late = lateFlags("setState", false);
    const answer = await callWithBindings({ FLAG_STORE: late.namespace }, `${FLAG}/toggle`, {
      key: ADMIN_TOKEN,
      body: { state: "DISABLED" },
    });
    expectUnavailable(answer);
    expect(answer.body.detail).toMatch(/may still have been applied: re-read .* audit log.* before retrying/);
    setStoreDeadlineForTests(null);
    expect(await flagNow()).toEqual(before);
    expect(await auditLength()).toBe(entries);
  });

  it("says so because a write past its deadline may have been applied", async () => {
    const before = await flagNow();
    setStoreDeadlineForTests(DEADLINE);
    const late = lateFlags("setState", true);
    const answer = await callWithBindings({ FLAG_STORE: late.namespace }, `${FLAG}/toggle`, {
      key: ADMIN_TOKEN,
      body: { state: before.state === "ENABLED" ? "DISABLED" : "ENABLED" },
    });
    expectUnavailable(answer);
    await late.applied();
    setStoreDeadlineForTests(null);
    const after = await flagNow();
    expect(after.state).not.toBe(before.state);
    expect(after.version).toBeGreaterThan(before.version);
  });

  it("answers a read 503 with Retry-After, saying nothing changed", async () => {
    setStoreDeadlineForTests(DEADLINE);
    const answer = await callWithBindings({ FLAG_STORE: lateFlags("get", false).namespace }, FLAG, { key: ADMIN_TOKEN, method: "GET" });
    expectUnavailable(answer);
    expect(answer.body.detail).toMatch(new RegExp(`did not answer within ${DEADLINE} ms; nothing was changed: retry after 5 s`));
  });

  it("answers a call that fails (the object reset mid-call) 503 with Retry-After, never a 500, and changes nothing", async () => {
    const before = await flagNow();
    const entries = await auditLength();
    const failing = lateFlags("setState", "throw");
    const write = await callWithBindings({ FLAG_STORE: failing.namespace }, `${FLAG}/toggle`, {
      key: ADMIN_TOKEN,
      body: { state: "DISABLED" },
    });
    expectUnavailable(write);
    expect(write.body.detail).toMatch(/failed while handling this change; it may or may not have been applied: re-read/);
    const read = await callWithBindings({ FLAG_STORE: lateFlags("get", "throw").namespace }, FLAG, { key: ADMIN_TOKEN, method: "GET" });
    expectUnavailable(read);
    expect(read.body.detail).toContain("nothing was changed");
    expect(await flagNow()).toEqual(before);
    expect(await auditLength()).toBe(entries);
  });
});
