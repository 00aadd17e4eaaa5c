/** Scheduled ramps: a variant rolled out in steps, paused, resumed, completed or rolled back. */
import { RampExposuresSchema, RampSchema } from "../../contracts/admin-responses";
import { GuardrailListSchema, GuardrailsBodySchema, MetricCheckSchema, RampMetricsSchema } from "../../contracts/metrics";
import { storeProblem } from "../problem";
import { RampBodySchema, RollbackBodySchema } from "../schemas";
import * as z from "../../contracts/zod";
import { adminApp, adminRoute, defineRoute, F, meta, noteAllVersions, P, param, readBody, respond, call, writtenEverywhere } from "./kit";

export const ramps = adminApp();

const R = `${F}/ramp`;

/** A ramp to start, with the guardrails it runs under (none by default). */
const StartRampBodySchema = RampBodySchema.extend({ guardrails: GuardrailListSchema.optional() }).strict().openapi("RampBody");

const start = adminRoute({
  method: "post",
  path: R,
  summary: "Start a scheduled ramp",
  body: StartRampBodySchema,
  status: 201,
  response: RampSchema,
});
defineRoute(ramps, start, async (c) => {
  const body = await readBody(c, start);
  if (body instanceof Response) return body;
  const plan = {
    variant: body.variant,
    baseline: body.baseline,
    steps: body.steps,
    startAt: body.startAt ?? null,
    guardrails: body.guardrails,
  };
  return writtenEverywhere(c, await call(c, (s) => s.ramps().start(param(c, "env"), param(c, "flag"), plan, meta(c, body.reason))), 201);
});

const read = adminRoute({ method: "get", path: R, summary: "A ramp and its timeline", response: RampSchema });
defineRoute(ramps, read, async (c) => respond(c, await call(c, (s) => s.ramps().get(param(c, "env"), param(c, "flag")))));

const exposures = adminRoute({
  method: "get",
  path: `${R}/exposures`,
  summary: "Unique units and SRM per ramp step",
  response: RampExposuresSchema,
});
defineRoute(ramps, exposures, async (c) => respond(c, await call(c, (s) => s.rampExposures(param(c, "env"), param(c, "flag")))));

const pause = adminRoute({ method: "post", path: `${R}/pause`, summary: "Pause a ramp", response: RampSchema });
defineRoute(ramps, pause, async (c) =>
  writtenEverywhere(c, await call(c, (s) => s.ramps().pause(param(c, "env"), param(c, "flag"), meta(c, null)))),
);

const resume = adminRoute({ method: "post", path: `${R}/resume`, summary: "Resume a ramp", response: RampSchema });
defineRoute(ramps, resume, async (c) =>
  writtenEverywhere(c, await call(c, (s) => s.ramps().resume(param(c, "env"), param(c, "flag"), meta(c, null)))),
);

const advance = adminRoute({
  method: "post",
  path: `${R}/advance`,
  summary: "Apply a running ramp's next step now",
  response: RampSchema,
});
defineRoute(ramps, advance, async (c) =>
  writtenEverywhere(c, await call(c, (s) => s.ramps().advance(param(c, "env"), param(c, "flag"), meta(c, null)))),
);

const complete = adminRoute({ method: "post", path: `${R}/complete`, summary: "Jump a ramp to 100%", response: RampSchema });
defineRoute(ramps, complete, async (c) =>
  writtenEverywhere(c, await call(c, (s) => s.ramps().complete(param(c, "env"), param(c, "flag"), meta(c, null)))),
);

const rollback = adminRoute({
  method: "post",
  path: `${R}/rollback`,
  summary: "Roll a ramp back to 0% or a step",
  body: RollbackBodySchema,
  response: RampSchema,
});
defineRoute(ramps, rollback, async (c) => {
  const body = await readBody(c, rollback, {});
  if (body instanceof Response) return body;
  return writtenEverywhere(
    c,
    await call(c, (s) => s.ramps().rollback(param(c, "env"), param(c, "flag"), body.toStep ?? null, meta(c, body.reason))),
  );
});

const remove = adminRoute({ method: "delete", path: R, summary: "Delete a ramp (the flag keeps its targeting)", status: 204 });
defineRoute(ramps, remove, async (c) => {
  const result = await call(c, (s) => s.ramps().delete(param(c, "env"), param(c, "flag"), meta(c, null)));
  if (!result.ok) return storeProblem(result.error);
  await noteAllVersions(c);
  return c.body(null, 204);
});

const guardrails = adminRoute({
  method: "put",
  path: `${R}/guardrails`,
  summary: "Set the guardrails of a ramp (an empty list removes them)",
  body: GuardrailsBodySchema,
  response: RampMetricsSchema,
});
defineRoute(ramps, guardrails, async (c) => {
  const body = await readBody(c, guardrails);
  if (body instanceof Response) return body;
  const set = await call(c, (s) => s.metrics().setGuardrails(param(c, "env"), param(c, "flag"), body.guardrails, meta(c, body.reason)));
  if (!set.ok) return storeProblem(set.error);
  return respond(c, await call(c, (s) => s.metrics().forRamp(param(c, "env"), param(c, "flag"))));
});

const metrics = adminRoute({
  method: "get",
  path: `${R}/metrics`,
  summary: "A ramp's guardrails and each guarded metric's checks (estimates per arm, intervals, threshold, decision)",
  response: RampMetricsSchema,
});
defineRoute(ramps, metrics, async (c) => respond(c, await call(c, (s) => s.metrics().forRamp(param(c, "env"), param(c, "flag")))));

const check = adminRoute({
  method: "post",
  path: `${P}/metrics/check`,
  summary: "Run the metric checks now, as the alarm does each minute (a guardrail may stop its ramp)",
  response: z.array(MetricCheckSchema),
});
defineRoute(ramps, check, async (c) => respond(c, await call(c, (s) => s.metrics().checkNow())));
