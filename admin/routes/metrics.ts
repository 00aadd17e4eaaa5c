/** Metrics: what a tracked event measures (a rate, a count per unit, a mean of its value), per project. */
import { MetricBodySchema, MetricListSchema, MetricSchema, MetricWriteSchema } from "../../contracts/metrics";
import { problem, storeProblem } from "../problem";
import { NameSchema } from "../schemas";
import { adminApp, adminRoute, defineRoute, meta, P, param, readBody, respond, call } from "./kit";

export const metrics = adminApp();

const M = `${P}/metrics`;

const list = adminRoute({ method: "get", path: M, summary: "List metrics", response: MetricListSchema });
defineRoute(metrics, list, async (c) => respond(c, await call(c, (s) => s.metrics().list())));

const read = adminRoute({ method: "get", path: `${M}/{name}`, summary: "Read a metric", response: MetricSchema });
defineRoute(metrics, read, async (c) => respond(c, await call(c, (s) => s.metrics().get(param(c, "name")))));

const put = adminRoute({
  method: "put",
  path: `${M}/{name}`,
  summary: "Create or replace a metric on a tracked event",
  body: MetricBodySchema,
  response: MetricWriteSchema,
});
defineRoute(metrics, put, async (c) => {
  const name = NameSchema.safeParse(param(c, "name"));
  if (!name.success)
    return problem("invalid", `metric names: ${name.error.issues[0]!.message}`, {
      errors: [{ path: "name", message: name.error.issues[0]!.message }],
    });
  const body = await readBody(c, put);
  if (body instanceof Response) return body;
  const { reason, ...input } = body;
  const result = await call(c, (s) => s.metrics().put(name.data, input, meta(c, reason)));
  if (!result.ok) return storeProblem(result.error);
  return c.json({ ...result.value.metric, changed: result.value.changed });
});

const remove = adminRoute({ method: "delete", path: `${M}/{name}`, summary: "Delete a metric no ramp guards with", status: 204 });
defineRoute(metrics, remove, async (c) => {
  const result = await call(c, (s) => s.metrics().delete(param(c, "name"), meta(c, null)));
  if (!result.ok) return storeProblem(result.error);
  return c.body(null, 204);
});
