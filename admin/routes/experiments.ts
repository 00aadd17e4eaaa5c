/** Experiments: a flag's variants compared by units per arm, with a sample-ratio-mismatch check. */
import { ExperimentListSchema, ExperimentSchema } from "../../contracts/admin-responses";
import { ExperimentMetricsSchema } from "../../contracts/metrics";
import { ExperimentBodySchema, ExperimentsQuerySchema } from "../schemas";
import { adminApp, adminRoute, defineRoute, F, meta, noteAllVersions, P, param, readBody, readQuery, respond, call } from "./kit";

export const experiments = adminApp();

const start = adminRoute({
  method: "post",
  path: `${F}/experiment`,
  summary: "Start an experiment on a flag",
  body: ExperimentBodySchema,
  status: 201,
  response: ExperimentSchema,
});
defineRoute(experiments, start, async (c) => {
  const body = await readBody(c, start);
  if (body instanceof Response) return body;
  const result = await call(c, (s) => s.experiments().start(param(c, "env"), param(c, "flag"), body.weights ?? null, meta(c, body.reason)));
  if (result.ok) await noteAllVersions(c);
  return respond(c, result, 201);
});

const list = adminRoute({
  method: "get",
  path: `${P}/experiments`,
  summary: "List experiments with units and SRM (?environment=&flag=)",
  query: ExperimentsQuerySchema,
  response: ExperimentListSchema,
});
defineRoute(experiments, list, async (c) => {
  const query = readQuery(c, list, "experiments takes ?environment=&flag=");
  if (query instanceof Response) return query;
  return respond(c, await call(c, (s) => s.experiments().list(query)));
});

const read = adminRoute({
  method: "get",
  path: `${P}/experiments/{id}`,
  summary: "An experiment with units per arm and SRM",
  response: ExperimentSchema,
});
defineRoute(experiments, read, async (c) => respond(c, await call(c, (s) => s.experiments().get(param(c, "id")))));

const stop = adminRoute({ method: "post", path: `${P}/experiments/{id}/stop`, summary: "Stop an experiment", response: ExperimentSchema });
defineRoute(experiments, stop, async (c) => {
  const result = await call(c, (s) => s.experiments().stop(param(c, "id"), meta(c, null)));
  if (result.ok) await noteAllVersions(c);
  return respond(c, result);
});

const metrics = adminRoute({
  method: "get",
  path: `${P}/experiments/{id}/metrics`,
  summary: "Every metric per arm against the baseline (the first of the weights), as checked each minute",
  response: ExperimentMetricsSchema,
});
defineRoute(experiments, metrics, async (c) => respond(c, await call(c, (s) => s.metrics().forExperiment(param(c, "id")))));
