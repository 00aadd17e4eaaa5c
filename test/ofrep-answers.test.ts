/**
 * What the evaluation hot path keeps between requests must never show in an answer: telemetry
 * counts every evaluation of a remembered bulk answer, the rate limiter's 429 still comes before
 * anything about the body (which is read while the limiter answers), each answer's headers are
 * its own although they are built once, and a remembered answer is rebuilt for another key.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { handle } from "../worker/app";
import { evaluateAndSettle } from "./edge-settle";
import { call, drainOutbox, evaluate, setupProject } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;

async function usageOf(project: string): Promise<Record<string, { evaluations: number }>> {
  return (await call("GET", `${P(project)}/environments/production/usage`)).body;
}

describe("telemetry of remembered answers", () => {
  it("counts every evaluation: a bulk answer asked again for the same context, other contexts, single flags", async () => {
    const project = "hot2-usage";
    const { key } = await setupProject(project);
    for (let i = 0; i < 4; i++) await evaluateAndSettle(key, "/ofrep/v1/evaluate/flags", [{ targetingKey: "same-visitor" }]);
    await evaluateAndSettle(key, "/ofrep/v1/evaluate/flags", [{ targetingKey: "a" }, { targetingKey: "b" }]);
    await evaluateAndSettle(key, "/ofrep/v1/evaluate/flags/kill-switch", [{ targetingKey: "a" }, {}, { targetingKey: "c" }]);
    await evaluateAndSettle(key, "/ofrep/v1/evaluate/flags/no-such-flag", [{ targetingKey: "a" }]);
    const usage = await usageOf(project);
    expect(usage["kill-switch"]?.evaluations).toBe(9);
    expect(usage["banner-color"]?.evaluations).toBe(6);
    expect(usage["no-such-flag"]).toBeUndefined();
  });
});

describe("telemetry of many distinct contexts", () => {
  it("counts each of 150 bulk evaluations of distinct contexts exactly once, however many are held before the batch is sent", async () => {
    const project = "hot2-usage-many";
    const { key } = await setupProject(project);
    const contexts = Array.from({ length: 150 }, (_, i) => ({ targetingKey: `visitor-${i}` }));
    await evaluateAndSettle(key, "/ofrep/v1/evaluate/flags", contexts);
    await evaluateAndSettle(key, "/ofrep/v1/evaluate/flags", contexts.slice(0, 10));
    const usage = await usageOf(project);
    expect(usage["kill-switch"]?.evaluations).toBe(160);
    expect(usage["banner-color"]?.evaluations).toBe(160);
  });
});

describe("the rate limiter and the body", () => {
  const from = (address: string) => ({ "cf-connecting-ip": address });

  it("answers 429 past the limit whatever the body: malformed, too large, valid", async () => {
    const { key } = await setupProject("hot2-limit-body");
    for (let i = 0; i < 5; i++) expect((await evaluate(key, "kill-switch", {}, from("203.0.113.20"))).status).toBe(200);
    const malformed = await call("POST", "/ofrep/v1/evaluate/flags", { token: key, body: "{", headers: from("203.0.113.20") });
    const tooLarge = await call("POST", "/ofrep/v1/evaluate/flags/kill-switch", {
      token: key,
      body: JSON.stringify({ context: { pad: "x".repeat(70 * 1024) } }),
      headers: from("203.0.113.20"),
    });
    const valid = await evaluate(key, null, { targetingKey: "u1" }, from("203.0.113.20"));
    expect([malformed.status, tooLarge.status, valid.status]).toEqual([429, 429, 429]);
    for (const answer of [malformed, tooLarge, valid]) expect(answer.body.errorDetails).toMatch(/retry in 60 s/);
    // Below the limit, the same bodies are judged as bodies.
    const elsewhere = from("198.51.100.20");
    expect((await call("POST", "/ofrep/v1/evaluate/flags", { token: key, body: "{", headers: elsewhere })).status).toBe(400);
  });
});

describe("a body the connection does not deliver", () => {
  it("is a 400 OFREP refusal saying so, never a 500, with a declared length or without", async () => {
    const { key } = await setupProject("hot2-broken-body");
    for (const path of ["/ofrep/v1/evaluate/flags/kill-switch", "/ofrep/v1/evaluate/flags"]) {
      for (const declared of [true, false]) {
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"context":'));
            controller.error(new Error("connection reset"));
          },
        });
        const headers: Record<string, string> = { authorization: `Bearer ${key}`, "content-type": "application/json" };
        if (declared) headers["content-length"] = "40";
        const ctx = createExecutionContext();
        const response = await handle(new Request(`http://edgeflags.test${path}`, { method: "POST", headers, body }), env, ctx);
        await waitOnExecutionContext(ctx);
        expect(response.status, `${path} declared=${declared}`).toBe(400);
        expect(((await response.json()) as { errorDetails: string }).errorDetails).toMatch(/could not be read/);
      }
    }
  });
});

describe("answers built from kept parts", () => {
  async function answer(key: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
    const ctx = createExecutionContext();
    const response = await handle(
      new Request(`http://edgeflags.test${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
        body: JSON.stringify({ context: { targetingKey: "kept-visitor" } }),
      }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return response;
  }

  it("gives every answer headers of its own: a header set on one answer is not on the next", async () => {
    const { key } = await setupProject("hot2-headers");
    for (const path of ["/ofrep/v1/evaluate/flags/kill-switch", "/ofrep/v1/evaluate/flags"]) {
      const first = await answer(key, path);
      expect(first.status).toBe(200);
      first.headers.set("x-probe", "changed");
      first.headers.set("content-type", "text/plain");
      const second = await answer(key, path);
      expect(second.headers.get("x-probe")).toBeNull();
      expect(second.headers.get("content-type")).toBe("application/json");
      expect(second.headers.get("access-control-allow-origin")).toBe("*");
      expect(await second.json()).toEqual(await first.json());
    }
    const ok = await answer(key, "/ofrep/v1/evaluate/flags");
    const etag = ok.headers.get("etag")!;
    const notModified = await answer(key, "/ofrep/v1/evaluate/flags", { "if-none-match": etag });
    expect(notModified.status).toBe(304);
    notModified.headers.set("x-probe", "changed");
    const again = await answer(key, "/ofrep/v1/evaluate/flags", { "if-none-match": etag });
    expect(again.status).toBe(304);
    expect(again.headers.get("x-probe")).toBeNull();
    expect(again.headers.get("content-type")).toBeNull();
    expect(again.headers.get("etag")).toBe(etag);
  });

  it("rebuilds a remembered bulk answer for another key of the same environment: its own event-stream URL and ETag", async () => {
    const project = "hot2-two-keys";
    const { key } = await setupProject(project);
    const other = (await call("POST", `${P(project)}/environments/production/keys`, { body: { scope: "client" } })).body.key as string;
    await drainOutbox(project);
    const context = { targetingKey: "shared-visitor" };
    const first = await evaluate(key, null, context);
    const second = await evaluate(other, null, context);
    const firstAgain = await evaluate(key, null, context);
    expect(second.body.flags).toEqual(first.body.flags);
    expect([first.status, second.status, firstAgain.status]).toEqual([200, 200, 200]);
    expect(first.body.eventStreams[0].url).toMatch(/token=/);
    expect(second.body.eventStreams[0].url).not.toBe(first.body.eventStreams[0].url);
    expect(second.headers.get("etag")).not.toBe(first.headers.get("etag"));
    expect(firstAgain.body).toEqual(first.body);
    expect(firstAgain.headers.get("etag")).toBe(first.headers.get("etag"));
  });
});
