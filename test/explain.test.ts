/**
 * Explain mode (engine/explain.ts): its answer is `evaluate`'s for every context of the bench
 * workload and for generated contexts over every conformance flag, the walk reaches that same
 * answer, and the decision names the branch; and the admin route that serves it.
 */
import { describe, expect, inject, it } from "vitest";
import { generateWorkload } from "../bench/workload.mjs";
import { compileFlagSet } from "../engine/evaluate";
import { explainEvaluation } from "../engine/explain";
import type { EvaluationContext, FlagSet, JsonValue } from "../engine/types";
import { mergedTestbedFlags } from "./conformance/testbed-files";
import { call, setupProject } from "./helpers";

const NOW = Date.UTC(2026, 0, 15);

function checkAll(flagSet: FlagSet, contexts: EvaluationContext[], keys = Object.keys(flagSet.flags)) {
  const compiled = compileFlagSet(flagSet);
  const fresh = compileFlagSet(flagSet);
  let checked = 0;
  for (const context of contexts) {
    for (const key of keys) {
      const explained = explainEvaluation(flagSet, compiled, key, context, { now: NOW });
      const expected = fresh.evaluate(key, context, { now: NOW });
      if (!explained.consistent || JSON.stringify(explained.result) !== JSON.stringify(expected)) {
        expect({ key, context, explained }).toEqual({ key, context, explained: { ...explained, result: expected, consistent: true } });
      }
      checked++;
    }
  }
  return checked;
}

/** Seeded contexts built from the attribute names and constants a flag set's rules mention. */
function contextsFor(flagSet: unknown, count: number): EvaluationContext[] {
  const names = new Set<string>(["targetingKey"]);
  const constants: JsonValue[] = [null, "", 0, true];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (typeof node === "object" && node !== null) {
      for (const [key, value] of Object.entries(node)) {
        if (key === "var" && typeof value === "string" && !value.startsWith("$flagd")) names.add(value.split(".")[0]!);
        visit(value);
      }
    } else if (typeof node === "string" || typeof node === "number" || typeof node === "boolean") constants.push(node);
  };
  visit(flagSet);
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const all = [...names];
  return Array.from({ length: count }, (_, i) => {
    const context: EvaluationContext = { targetingKey: `user-${i}` };
    for (const name of all) if (random() < 0.6) context[name] = constants[Math.floor(random() * constants.length)]!;
    return context;
  });
}

describe("explain mode answers what evaluate answers", () => {
  // ~800,000 explanations: seconds on an idle machine, more on a shared one.
  it("on every context of the bench workload (both encodings)", { timeout: 120_000 }, () => {
    const workload = generateWorkload();
    const keys = workload.flagKeys.filter((k) => !k.startsWith("plain-")).concat(["plain-000", "plain-014"]);
    expect(checkAll(workload.segment, workload.contexts, keys)).toBe(workload.contexts.length * keys.length);
    expect(checkAll(workload.inline, workload.contexts.slice(0, 500), keys)).toBe(500 * keys.length);
  });

  it("on generated contexts over every flag of the conformance flag sets", (ctx) => {
    const payload = inject("conformance");
    if (!payload.found) return ctx.skip();
    const flagSet = mergedTestbedFlags(payload) as unknown as FlagSet;
    expect(Object.keys(flagSet.flags).length).toBeGreaterThan(20);
    expect(checkAll(flagSet, contextsFor(flagSet, 300))).toBeGreaterThan(6000);
  });
});

const set: FlagSet = {
  flags: {
    f: {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      targets: { off: ["blocked"] },
      targeting: {
        if: [
          { $ref: "staff" },
          "on",
          { in: [{ var: "country" }, ["CA", "US"]] },
          "on",
          {
            fractional: [
              ["on", 10],
              ["off", 90],
            ],
          },
        ],
      },
    },
    g: {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      targeting: { if: [{ "==": [{ var: "a" }, 1] }, "on"] },
    },
    dead: { state: "DISABLED", variants: { on: true, off: false }, defaultVariant: "on" },
    needs: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on", prerequisites: [{ flag: "g", variant: "on" }] },
    plain: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
    broken: { state: "ENABLED", variants: { on: true }, defaultVariant: "on", targeting: { nope: [1] } },
  },
  $evaluators: { staff: { ends_with: [{ var: "email" }, "@example.com"] } },
};

describe("what decided", () => {
  const compiled = compileFlagSet(set);
  it.each<[string, string, EvaluationContext, string]>([
    ["a segment", "f", { email: "a@example.com" }, "if[0] → on"],
    ["the second rule", "f", { country: "CA" }, "if[1] → on"],
    ["an individual target", "f", { targetingKey: "blocked", country: "CA" }, "targets → off"],
    ["no rule matched: default", "g", { a: 2 }, "no branch matched → default → off"],
    ["the kill switch", "dead", {}, "disabled → the caller's default"],
    ["a prerequisite", "needs", { a: 2 }, "prerequisite g is off, not on → on"],
    ["no targeting", "plain", {}, "no targeting: default → on"],
    ["a broken rule", "broken", {}, "error: PARSE_ERROR"],
    ["a missing flag", "nope", {}, "flag not found"],
  ])("%s", (_, key, context, path) => {
    const explained = explainEvaluation(set, compiled, key, context, { now: NOW });
    expect(explained.path).toBe(path);
    expect(explained.consistent).toBe(true);
  });

  it("names the fractional bucket of everyone else", () => {
    const explained = explainEvaluation(set, compiled, "f", { targetingKey: "user-3", country: "FR" }, { now: NOW });
    const result = compiled.evaluate("f", { targetingKey: "user-3", country: "FR" });
    expect(result.kind).toBe("value");
    expect(explained.decision).toEqual({
      by: "targeting",
      steps: [{ kind: "else" }, { kind: "fractional", bucket: result.kind === "value" ? result.variant : null }],
    });
    expect(explained.path).toBe(
      `else → fractional bucket ${result.kind === "value" ? result.variant : ""} → ${result.kind === "value" ? result.variant : ""}`,
    );
  });
});

describe("POST …/flags/{flag}/explain", () => {
  it("answers the evaluation and what decided it, from the FlagStore's current flags", async () => {
    await setupProject("explain-route");
    const base = "/admin/v1/projects/explain-route/environments/production/flags";
    const created = await call("POST", base, {
      body: {
        key: "checkout",
        state: "ENABLED",
        variants: { on: true, off: false },
        defaultVariant: "off",
        targeting: {
          if: [
            { in: [{ var: "country" }, ["CA", "US"]] },
            "on",
            {
              fractional: [
                ["on", 10],
                ["off", 90],
              ],
            },
          ],
        },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const res = await call("POST", `${base}/checkout/explain`, { body: { context: { country: "US", targetingKey: "u1" } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      flag: { key: "checkout", value: true, variant: "on", reason: "TARGETING_MATCH" },
      decision: {
        by: "targeting",
        steps: [
          { kind: "if", branch: 0 },
          { kind: "variant", variant: "on" },
        ],
      },
      path: "if[0] → on",
      consistent: true,
    });
    const evaluated = await call("POST", "/admin/v1/projects/explain-route/environments/production/evaluate", {
      body: { context: { country: "FR", targetingKey: "u1" }, flags: ["checkout"] },
    });
    const explained = await call("POST", `${base}/checkout/explain`, { body: { context: { country: "FR", targetingKey: "u1" } } });
    expect(explained.body.flag).toEqual(evaluated.body.flags[0]);
    expect(explained.body.path).toMatch(/^else → fractional bucket (on|off) → (on|off)$/);
  });

  it("refuses a context that is not an object, and says so", async () => {
    await setupProject("explain-bad");
    const res = await call("POST", "/admin/v1/projects/explain-bad/environments/production/flags/x/explain", { body: { context: [1] } });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });

  it("answers 404 for a flag that is not there", async () => {
    await setupProject("explain-missing");
    const res = await call("POST", "/admin/v1/projects/explain-missing/environments/production/flags/nope/explain", { body: {} });
    expect(res.status).toBe(404);
  });
});
