/**
 * Explain one flag for one context: the answer `…/evaluate` gives and which step decided it (the
 * kill switch, a prerequisite, a target, the n-th rule, a fractional bucket, the default), from the
 * FlagStore's current flags. What the console's "try a context" panel shows.
 */
import { ExplainBodySchema, ExplanationSchema } from "../../contracts/explain";
import { toOfrep } from "../../contracts/ofrep-wire";
import { compileFlagSet } from "../../engine/index";
import { explainEvaluation } from "../../engine/explain";
import type { EvaluationContext } from "../../engine/types";
import { problem, storeProblem } from "../problem";
import { adminApp, adminRoute, defineRoute, F, flagKey, param, readBody, call } from "./kit";

export const explain = adminApp();

// A POST only because a context is a body; it reads and changes nothing.
const route = adminRoute({
  method: "post",
  path: `${F}/explain`,
  summary: "Evaluate one flag for a context and say which rule decided",
  body: ExplainBodySchema,
  response: ExplanationSchema,
  // Reads, changes nothing: a viewer may try a context too.
  permission: "view",
});
defineRoute(explain, route, async (c) => {
  const key = flagKey(c);
  if (key instanceof Response) return key;
  const body = await readBody(c, route, {});
  if (body instanceof Response) return body;
  const environment = param(c, "env");
  const result = await call(c, (s) => s.getFlagSet(environment));
  if (!result.ok) return storeProblem(result.error);
  const flagSet = result.value.flagSet;
  if (!Object.hasOwn(flagSet.flags, key)) return problem("not_found", `flag "${key}" does not exist in ${environment}`);
  const explained = explainEvaluation(flagSet, compileFlagSet(flagSet), key, body.context as EvaluationContext);
  return c.json({
    version: result.value.version,
    flag: toOfrep(explained.result),
    decision: explained.decision,
    path: explained.path,
    consistent: explained.consistent,
  });
});
