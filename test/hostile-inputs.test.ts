/**
 * Inputs an attacker or a careless client sends, inside workerd: every admin operation of the
 * OpenAPI document swept with hostile path segments, queries and bodies (never a 5xx, always
 * problem+json with a detail), flag sets whose prerequisites or `$ref`s would make evaluation or
 * validation blow up, and tracked events dated before the epoch.
 */
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { compileFlagSet, MAX_PREREQUISITE_TREE } from "../engine/index";
import { MAX_REF_DEPTH } from "../engine/compile";
import { ADMIN_TOKEN, call, drainOutbox, evaluate, setupProject } from "./helpers";

const BASE = "http://edgeflags.test";
const P = (project: string) => `/admin/v1/projects/${project}`;

interface Answer {
  status: number;
  type: string | null;
  text: string;
}

async function send(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await exports.default.fetch(
    new Request(`${BASE}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", ...headers },
      body,
    }),
  );
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
}

/** What is wrong with an answer to a hostile request, or null: no 5xx, and every 4xx problem+json with a detail. */
function fault(answer: Answer): string | null {
  if (answer.status >= 500) return `${answer.status}: ${answer.text.slice(0, 200)}`;
  if (answer.status < 400) return null;
  if (answer.type !== "application/problem+json") return `${answer.status} as ${answer.type}: ${answer.text.slice(0, 200)}`;
  const detail: unknown = JSON.parse(answer.text).detail;
  return typeof detail === "string" && detail.length > 0 ? null : `${answer.status} without a detail`;
}

const flag = (extra: Record<string, unknown> = {}) => ({
  state: "ENABLED",
  variants: { on: true, off: false },
  defaultVariant: "on",
  ...extra,
});

/** `n` flags, each requiring the next two to be "on": 2^(n/1.44) ways to reach the last one. */
function lattice(n: number, extra: Record<string, unknown> = {}): { flags: Record<string, unknown> } {
  const flags: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const prerequisites = [i + 1, i + 2].filter((j) => j < n).map((j) => ({ flag: `f${j}`, variant: "on" }));
    flags[`f${i}`] = flag({ ...extra, ...(prerequisites.length > 0 ? { prerequisites } : {}) });
  }
  return { flags };
}

describe("every admin operation, swept with hostile input: never a 5xx, always problem+json", () => {
  const project = "hostile-sweep";
  const operations: Array<{ id: string; method: string; path: string; query: string[]; body: string[] }> = [];

  beforeAll(async () => {
    await setupProject(project);
    const document = JSON.parse((await send("GET", "/admin/v1/openapi.json")).text) as {
      paths: Record<
        string,
        Record<
          string,
          { parameters?: { in: string; name: string }[]; requestBody?: { content: Record<string, { schema: { properties?: object } }> } }
        >
      >;
    };
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const schema = operation.requestBody?.content["application/json"]?.schema;
        operations.push({
          id: `${method.toUpperCase()} ${path}`,
          method: method.toUpperCase(),
          path,
          query: (operation.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name),
          body: schema ? Object.keys(schema.properties ?? {}) : [],
        });
      }
    }
    expect(operations.length).toBeGreaterThan(60);
  });

  const ids: Record<string, string> = { project, env: "production", flag: "kill-switch", name: "beta", key: "kill-switch" };
  const fill = (path: string, over: Record<string, string> = {}) =>
    `/admin/v1${path.replace(/\{(\w+)\}/g, (_, name: string) => over[name] ?? ids[name] ?? "x")}`;

  const segments = ["%ED%A0%80", "%00", "a".repeat(5000), "__proto__", "constructor", "toString", "%2F..%2F", "%FF"];
  const queries = ["", "-1", "1e309", "99999999999999999999", "NaN", "%ED%A0%80", "x".repeat(10_000), "[]", "__proto__"];
  const values: unknown[] = [null, [], {}, "x".repeat(100_000), 1e308, -1, 1.5, true, "\ud800", [null, {}, "\udfff", 1e308]];
  const bodies = ["", "null", "[]", '"x"', "1", '{"\\ud800": 1}', `${"[".repeat(99)}${"]".repeat(99)}`];

  it("hostile path segments, query values, duplicate parameters and bodies of the wrong shape", async () => {
    const faults: string[] = [];
    const check = async (what: string, method: string, path: string, body?: string) => {
      const problem = fault(await send(method, path, body));
      if (problem) faults.push(`${what}: ${problem}`);
    };
    for (const op of operations) {
      const body = op.body.length > 0 || op.method !== "GET" ? "{}" : undefined;
      for (const name of [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!)) {
        for (const segment of segments)
          await check(`${op.id} {${name}}=${segment.slice(0, 12)}`, op.method, fill(op.path, { [name]: segment }), body);
      }
      for (const name of op.query) {
        for (const value of queries)
          await check(`${op.id} ?${name}=${value.slice(0, 12)}`, op.method, `${fill(op.path)}?${name}=${value}`, body);
        await check(`${op.id} ?${name} twice`, op.method, `${fill(op.path)}?${name}=1&${name}=2`, body);
      }
      if (op.body.length === 0) continue;
      for (const text of bodies) await check(`${op.id} body ${text.slice(0, 12)}`, op.method, fill(op.path), text);
      for (const field of op.body) {
        for (const value of values)
          await check(
            `${op.id} ${field}=${JSON.stringify(value).slice(0, 12)}`,
            op.method,
            fill(op.path),
            JSON.stringify({ [field]: value }),
          );
      }
    }
    expect(faults).toEqual([]);
  });
});

describe("prerequisites that would make evaluation explode are refused, and cannot stall the edge", () => {
  const project = "hostile-prereq";
  const flagd = `${P(project)}/environments/production/flagd`;
  let key = "";

  beforeAll(async () => {
    ({ key } = await setupProject(project));
  });

  async function unchanged(run: () => Promise<void>): Promise<void> {
    const before = await call("GET", flagd);
    const audit = (await call("GET", `${P(project)}/audit?limit=500`)).body.entries.length;
    await run();
    expect((await call("GET", flagd)).headers.get("etag")).toBe(before.headers.get("etag"));
    expect((await call("GET", `${P(project)}/audit?limit=500`)).body.entries.length).toBe(audit);
  }

  it("a lattice of 40 flags (10^8 ways through it) is a 400 naming the flag and the limit; nothing changes", async () => {
    await unchanged(async () => {
      const put = await call("PUT", flagd, { body: lattice(40) });
      expect(put.status, JSON.stringify(put.body).slice(0, 300)).toBe(400);
      expect(put.headers.get("content-type")).toBe("application/problem+json");
      expect(put.body.errors).toContainEqual({
        path: "flags.f0.prerequisites",
        message: expect.stringContaining(`more than ${MAX_PREREQUISITE_TREE} prerequisite flags`),
      });
    });
  });

  it("a chain of 20,000 prerequisites is a 400 saying what to change, not a stack overflow answered as 503", async () => {
    const flags: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++) flags[`c${i}`] = flag(i + 1 < 20_000 ? { prerequisites: [{ flag: `c${i + 1}`, variant: "on" }] } : {});
    await unchanged(async () => {
      const put = await call("PUT", flagd, { body: { flags } });
      expect(put.status, JSON.stringify(put.body).slice(0, 300)).toBe(400);
      expect(put.body.detail).toContain(`more than ${MAX_PREREQUISITE_TREE} prerequisite flags`);
    });
  });

  it("a graph within the limit is saved and evaluates; every flag answers", async () => {
    const put = await call("PUT", flagd, { body: lattice(8) });
    expect(put.status, JSON.stringify(put.body).slice(0, 300)).toBe(200);
    await drainOutbox(project);
    const bulk = await evaluate(key, null, { targetingKey: "u" });
    expect(bulk.status).toBe(200);
    expect(bulk.body.flags.map((f: { key: string; value: unknown }) => [f.key, f.value])).toEqual(
      Array.from({ length: 8 }, (_, i) => [`f${i}`, true]),
    );
  });

  it("a snapshot saved before the limit evaluates each prerequisite once per request, not once per way it is reached", () => {
    // The context is read in place, never copied: a getter counts how often targeting runs.
    let reads = 0;
    const context = {
      targetingKey: "u",
      get plan() {
        reads++;
        return "pro";
      },
    };
    const compiled = compileFlagSet(lattice(30, { targeting: { if: [{ "==": [{ var: "plan" }, "pro"] }, "on", "off"] } }));
    expect(compiled.evaluate("f0", context)).toMatchObject({ kind: "value", variant: "on" });
    expect(reads).toBe(30);
    reads = 0;
    const all = compiled.evaluateAll(context);
    expect(all.every((r) => r.kind === "value" && r.variant === "on")).toBe(true);
    expect(reads).toBeLessThanOrEqual(30 * 2);
  });
});

describe("$ref chains: refused with the limit, never a stack overflow", () => {
  it(`a chain of 5,000 evaluators is a 400 naming the ${MAX_REF_DEPTH}-deep limit`, async () => {
    const project = "hostile-refs";
    await setupProject(project);
    const $evaluators: Record<string, unknown> = {};
    for (let i = 0; i < 5_000; i++) $evaluators[`e${i}`] = i + 1 < 5_000 ? { $ref: `e${i + 1}` } : { "==": [1, 1] };
    const put = await call("PUT", `${P(project)}/environments/production/flagd`, {
      body: { flags: { a: flag({ targeting: { if: [{ $ref: "e0" }, "on", "off"] } }) }, $evaluators },
    });
    expect(put.status).toBe(400);
    expect(put.headers.get("content-type")).toBe("application/problem+json");
    expect(put.body.detail).toContain(`$ref nests more than ${MAX_REF_DEPTH} evaluators deep`);
    expect(JSON.stringify(put.body)).not.toContain("call stack");
  });

  it("a chain within the limit compiles and evaluates", () => {
    const $evaluators: Record<string, unknown> = {};
    for (let i = 0; i < 20; i++) $evaluators[`e${i}`] = i + 1 < 20 ? { $ref: `e${i + 1}` } : { "==": [{ var: "plan" }, "pro"] };
    const compiled = compileFlagSet({
      flags: { a: flag({ defaultVariant: "off", targeting: { if: [{ $ref: "e0" }, "on", "off"] } }) },
      $evaluators,
    });
    expect(compiled.errors.size).toBe(0);
    expect(compiled.evaluate("a", { plan: "pro" })).toMatchObject({ variant: "on" });
  });
});

describe("tracked events dated before 1970 are refused whole", () => {
  it.each(["1969-12-31T23:59:59Z", "0000-01-01T00:00:00Z"])("timestamp %s: 400 naming the field, nothing accepted", async (timestamp) => {
    const { key } = await setupProject(`hostile-track-${timestamp.slice(0, 4)}`);
    const answer = await call("POST", "/ofrep/v1/track", {
      token: key,
      body: {
        events: [
          { name: "purchase", targetingKey: "u" },
          { name: "purchase", targetingKey: "u", timestamp },
        ],
      },
    });
    expect(answer.status).toBe(400);
    expect(answer.headers.get("content-type")).toBe("application/problem+json");
    expect(answer.body.errors).toContainEqual({ path: "events.1.timestamp", message: expect.stringContaining("1970") });
  });
});

describe("an update that names only what is already there changes nothing, audits nothing, and says so", () => {
  const project = "hostile-noop";
  const ids = { hook: "", trigger: "" };

  beforeAll(async () => {
    await setupProject(project);
    ids.hook = (await call("POST", `${P(project)}/webhooks`, { body: { url: "https://hooks.example.com/x", events: ["ping"] } })).body.id;
    ids.trigger = (
      await call("POST", `${P(project)}/triggers`, {
        body: { name: "t", environment: "production", flag: "kill-switch", action: "disable" },
      })
    ).body.id;
  });

  const auditCount = async () => (await call("GET", `${P(project)}/audit?limit=500`)).body.entries.length;

  it.each<{ id: string; path: () => string; same: object[]; change: object }>([
    {
      id: "PATCH a webhook",
      path: () => `${P(project)}/webhooks/${ids.hook}`,
      same: [{}, { description: "" }, { url: "https://hooks.example.com/x", events: ["ping"], active: true, format: "edgeflags" }],
      change: { description: "deploys" },
    },
    { id: "PATCH a trigger", path: () => `${P(project)}/triggers/${ids.trigger}`, same: [{ active: true }], change: { active: false } },
    {
      id: "PATCH a flag's project facts",
      path: () => `${P(project)}/flags/kill-switch`,
      same: [{}, { owner: "", tags: [], lifetime: "permanent" }],
      change: { owner: "payments" },
    },
  ])("$id", async ({ path, same, change }) => {
    for (const body of same) {
      const before = await auditCount();
      const answer = await call("PATCH", path(), { body });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.changed, JSON.stringify(body)).toBe(false);
      expect(await auditCount()).toBe(before);
    }
    const before = await auditCount();
    const changed = await call("PATCH", path(), { body: change });
    expect(changed.status).toBe(200);
    expect(changed.body.changed).toBe(true);
    expect(await auditCount()).toBe(before + 1);
    // The same change again is a no-op.
    expect((await call("PATCH", path(), { body: change })).body.changed).toBe(false);
    expect(await auditCount()).toBe(before + 1);
  });
});

describe("experiment weights the sample-ratio check could not use are refused", () => {
  it.each([
    ["1e308 each (their sum is Infinity)", { on: 1e308, off: 1e308 }, "weights.on"],
    ["one over a million", { on: 1, off: 2_000_000 }, "weights.off"],
  ])("%s: 400 naming the weight, no experiment started", async (_name, weights, path) => {
    const project = `hostile-exp-${path.split(".")[1]}`;
    await setupProject(project);
    const E = `${P(project)}/environments/production`;
    const answer = await call("POST", `${E}/flags/kill-switch/experiment`, { body: { weights } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    expect(answer.headers.get("content-type")).toBe("application/problem+json");
    expect(answer.body.errors).toContainEqual({ path, message: expect.stringContaining("at most 1,000,000") });
    expect((await call("GET", `${P(project)}/experiments`)).body).toEqual([]);
    // Weights on a sane scale start it.
    expect((await call("POST", `${E}/flags/kill-switch/experiment`, { body: { weights: { on: 50, off: 50 } } })).status).toBe(201);
  });
});

describe("an admin key sent to the edge is refused as an admin key, even before the edge's index has it", () => {
  it.each([
    ["bulk evaluation", "POST", "/ofrep/v1/evaluate/flags", "admin keys do not evaluate flags"],
    ["one flag", "POST", "/ofrep/v1/evaluate/flags/kill-switch", "admin keys do not evaluate flags"],
    ["tracking", "POST", "/ofrep/v1/track", "admin keys do not track events"],
    ["the flagd sync", "GET", "/sync/v1/flagd", "admin key"],
  ])("%s: 403 naming what to use instead", async (_name, method, path, detail) => {
    const project = "hostile-admin-edge";
    await setupProject(project).catch(() => undefined); // the first case creates it
    // Created and used at once: the outbox has not replicated it to the edge's index yet.
    const admin = await call("POST", `${P(project)}/keys`, { body: { scope: "admin" } });
    expect(admin.status).toBe(201);
    const answer = await call(method, path, {
      token: admin.body.key,
      body: method === "POST" ? { events: [{ name: "x", targetingKey: "u" }] } : undefined,
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(403);
    expect(JSON.stringify(answer.body)).toContain(detail);
  });
});

describe("X-Change-Reason is bounded like a body's reason", () => {
  it("1,001 characters: 400 naming the header, nothing changed; 1,000 are kept in the audit log", async () => {
    const project = "hostile-reason";
    await setupProject(project);
    const toggle = `${P(project)}/environments/production/flags/kill-switch/toggle`;
    const audit = async () => (await call("GET", `${P(project)}/audit?limit=500`)).body.entries;
    const before = (await audit()).length;
    const refused = await call("POST", toggle, { body: { state: "DISABLED" }, headers: { "x-change-reason": "r".repeat(1001) } });
    expect(refused.status).toBe(400);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.body.errors).toEqual([{ path: "X-Change-Reason", message: expect.stringContaining("at most 1000 characters") }]);
    expect((await call("GET", `${P(project)}/environments/production/flags/kill-switch`)).body.state).toBe("ENABLED");
    expect((await audit()).length).toBe(before);
    const kept = await call("POST", toggle, { body: { state: "DISABLED" }, headers: { "x-change-reason": "r".repeat(1000) } });
    expect(kept.status).toBe(200);
    expect((await audit())[0].reason).toBe("r".repeat(1000));
  });
});
