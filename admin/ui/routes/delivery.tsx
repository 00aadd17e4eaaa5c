/** Ramps (per flag and environment) and experiments: the routes behind the flag page's panels and the experiments screen. */
import { FlagSchema, seg, type AdminClient, type FlagView } from "../api";
import { answersEveryone, servedWeights } from "../../../engine/served-split";
import { OFF_VARIANT_METADATA_KEY } from "../../../engine/types";
import { describeTargeting } from "../describe";
import { apiFailure, apiPath, doneNotice, field, redirectDone, vars, type ConsoleApp, type ConsoleContext } from "../context";
import type { FlagPageProps } from "../pages/flag";
import { FlagPage } from "../pages/flag";
import { RAMP_STEP_ROWS, type DeliveryState, type RampForm, type RampObstacles, type RampStepForm } from "../pages/delivery";
import { ExperimentPage, ExperimentsPage } from "../pages/experiments";
import { DeletedSchema, ExperimentListSchema, ExperimentSchema, RampExposuresSchema, RampSchema } from "../../../contracts/admin-responses";
import { ExperimentMetricsSchema, MetricListSchema, MetricWriteSchema, RampMetricsSchema } from "../../../contracts/metrics";
import { readTrackedEvents } from "./events";

/** Tracked events shown per metric event on an experiment's page, and how many event names at most. */
const RECENT_EVENTS = 10;
const RECENT_EVENT_NAMES = 5;

type LoadFlagPage = (c: ConsoleContext, flag: string, environment: string | undefined) => Promise<FlagPageProps | Response>;

const UNIT_SECONDS = { minutes: 60, hours: 3_600, days: 86_400 } as const;
const RAMP_ACTIONS = ["pause", "resume", "advance", "complete", "rollback", "delete"] as const;

/**
 * What would keep a ramp of `flag` from reaching anyone in `environment`, in words a person can act
 * on (the admin API's refusal names JsonLogic): rules that answer every context, or the kill switch.
 */
export function rampObstacles(flag: FlagView, key: string, environment: string, hasRamp: boolean): RampObstacles {
  let answers: string | null = null;
  // A running ramp's own split answers everyone; only a flag without one is checked.
  if (!hasRamp && answersEveryone(flag.targeting ?? null) !== null) {
    // The last line is the one that answers whoever the rules before it leave ("everyone else: …").
    const last = describeTargeting({ ...flag, state: "ENABLED", targets: {} }).at(-1) ?? "";
    answers =
      `A ramp here would reach nobody, so it is refused: the rules of ${key} in ${environment} already give every context a variant ("${last}"). ` +
      `To ramp, set "Everyone else gets" to "the default variant" in the rule builder above and save; the rules before it keep their answer, and the ramp decides for everyone else.`;
  }
  let off: string | null = null;
  if (flag.state === "DISABLED") {
    const offVariant = flag.metadata?.[OFF_VARIANT_METADATA_KEY];
    const served =
      typeof offVariant === "string" && Object.hasOwn(flag.variants, offVariant)
        ? `everyone gets ${offVariant} (its off variant)`
        : "callers get their code default";
    off = `${key} is turned off in ${environment}: while it is off, ${served} whatever step a ramp is at, so the ramp reaches nobody. Turn it on (the switch above) for the ramp to serve.`;
  }
  return { answersEveryone: answers, turnedOff: off };
}

/** The ramp, its exposures and the flag's experiments in one environment (missing pieces are empty). */
export async function loadDelivery(api: AdminClient, project: string, flag: string, environment: string): Promise<DeliveryState> {
  const rampPath = apiPath(project, `/environments/${seg(environment)}/flags/${seg(flag)}/ramp`);
  const [ramp, exposures, experiments, current, metrics, metricDefs] = await Promise.all([
    api.get(rampPath, RampSchema),
    api.get(`${rampPath}/exposures`, RampExposuresSchema),
    api.get(apiPath(project, "/experiments"), ExperimentListSchema),
    api.get(apiPath(project, `/environments/${seg(environment)}/flags/${seg(flag)}`), FlagSchema),
    api.get(`${rampPath}/metrics`, RampMetricsSchema),
    api.get(apiPath(project, "/metrics"), MetricListSchema),
  ]);
  return {
    metrics: metrics.ok ? metrics.body : null,
    metricDefs: metricDefs.ok ? metricDefs.body : [],
    ramp: ramp.ok ? ramp.body : null,
    exposures: exposures.ok ? exposures.body : null,
    experiments: experiments.ok ? experiments.body.filter((e) => e.flag === flag && e.environment === environment) : [],
    servedWeights: current.ok ? servedWeights(current.body.targeting) : null,
    rampObstacles: current.ok ? rampObstacles(current.body, flag, environment, ramp.ok) : { answersEveryone: null, turnedOff: null },
  };
}

export function registerDelivery(ui: ConsoleApp, loadFlagPage: LoadFlagPage): void {
  const flagPath = (flag: string, env: string) => `flags/${seg(flag)}?env=${encodeURIComponent(env)}`;

  ui.post("/p/:project/flags/:flag/ramp", async (c) => {
    const { api, project } = vars(c);
    const flag = c.req.param("flag");
    const raw = await c.req.parseBody();
    const environment = field(raw, "env");
    const steps: RampStepForm[] = Array.from({ length: RAMP_STEP_ROWS }, (_, i) => {
      const unit = field(raw, `unit-${i}`);
      return {
        percent: field(raw, `percent-${i}`),
        delay: field(raw, `delay-${i}`),
        unit: unit === "minutes" || unit === "hours" ? unit : "days",
      };
    });
    const form: RampForm = { variant: field(raw, "variant"), baseline: field(raw, "baseline"), steps, reason: field(raw, "reason") };
    const chosen = steps.filter((s) => s.percent !== "");
    const body = {
      variant: form.variant,
      baseline: form.baseline,
      steps: chosen.map((s) => ({
        percent: Number(s.percent),
        afterSeconds: Math.max(0, Math.round((Number(s.delay) || 0) * UNIT_SECONDS[s.unit])),
      })),
      ...(form.reason ? { reason: form.reason } : {}),
    };
    const result = await api.send("POST", apiPath(project, `/environments/${seg(environment)}/flags/${seg(flag)}/ramp`), body, RampSchema);
    if (result.ok) return redirectDone(c, flagPath(flag, environment), "ramp", { action: "created", flag, env: environment });
    if (result.status !== 400 && result.status !== 409 && result.status !== 404) return apiFailure(c, result);
    const page = await loadFlagPage(c, flag, environment);
    if (page instanceof Response) return page;
    const errors: Record<string, string[]> = {};
    // Step paths name positions among the filled rows; map them back to the form's rows.
    const rowOf = steps.map((s, i) => (s.percent !== "" ? i : -1)).filter((i) => i >= 0);
    for (const error of result.problem.errors ?? []) {
      const step = /^steps\.(\d+)/.exec(error.path);
      const key = step
        ? `steps.${rowOf[Number(step[1])] ?? 0}`
        : error.path === "steps"
          ? "steps"
          : error.path === "variant" || error.path === "baseline"
            ? error.path
            : "form";
      (errors[key] ??= []).push(key === "form" ? `${error.path}: ${error.message}` : error.message);
    }
    const loaded = page.delivery ?? (await loadDelivery(api, project, flag, environment));
    // The API's refusal of a ramp behind rules that answer everyone speaks JsonLogic; say it in the
    // words of the rule builder, with what to change.
    const blocked = result.status === 409 ? loaded.rampObstacles?.answersEveryone : null;
    if (blocked) errors["form"] = [blocked];
    else if (Object.keys(errors).length === 0) errors["form"] = [result.problem.detail];
    const delivery = { ...loaded, rampForm: form, rampErrors: errors };
    return c.html(<FlagPage {...page} delivery={delivery} />, result.status);
  });

  // Adds one guardrail to the ramp's list (the API takes the whole list).
  ui.post("/p/:project/flags/:flag/ramp/guardrails", async (c) => {
    const { api, project } = vars(c);
    const flag = c.req.param("flag");
    const raw = await c.req.parseBody();
    const environment = field(raw, "env");
    const path = apiPath(project, `/environments/${seg(environment)}/flags/${seg(flag)}/ramp`);
    const current = await api.get(`${path}/metrics`, RampMetricsSchema);
    if (!current.ok) return apiFailure(c, current);
    const action = field(raw, "action") === "rollback" ? "rollback" : "pause";
    const guardrail = {
      metric: field(raw, "metric"),
      tolerance: { kind: "relative", value: (Number(field(raw, "tolerance")) || 0) / 100 },
      action,
      minSample: Math.round(Number(field(raw, "minSample")) || 500),
    };
    const result = await api.send("PUT", `${path}/guardrails`, { guardrails: [...current.body.guardrails, guardrail] }, RampMetricsSchema);
    if (result.ok) return redirectDone(c, flagPath(flag, environment), "ramp", { action: "guardrails", flag, env: environment });
    if (result.status !== 400 && result.status !== 404) return apiFailure(c, result);
    const page = await loadFlagPage(c, flag, environment);
    if (page instanceof Response) return page;
    const delivery = {
      ...(page.delivery ?? (await loadDelivery(api, project, flag, environment))),
      guardrailErrors: [result.problem.detail],
    };
    return c.html(<FlagPage {...page} delivery={delivery} />, result.status);
  });

  // Defines a metric, then returns to the page the form was on (a flag's or an experiment's).
  ui.post("/p/:project/metrics", async (c) => {
    const { api, project } = vars(c);
    const raw = await c.req.parseBody();
    const back = field(raw, "back");
    const rest = /^(?:flags\/[^/?#]+\?env=[^&#/]*|experiments\/[^/?#]+)$/.test(back) ? back : "experiments";
    const body = { event: field(raw, "event"), kind: field(raw, "kind"), direction: field(raw, "direction") };
    const result = await api.send("PUT", apiPath(project, `/metrics/${seg(field(raw, "name"))}`), body, MetricWriteSchema);
    if (!result.ok) return apiFailure(c, result);
    const { name, event, kind, changed } = result.body;
    return redirectDone(c, rest, "metric-saved", { name, event, kind, changed: changed ? "1" : "0" });
  });

  ui.post("/p/:project/flags/:flag/ramp/:action", async (c) => {
    const { api, project } = vars(c);
    const flag = c.req.param("flag");
    const action = c.req.param("action") as string;
    const raw = await c.req.parseBody();
    const environment = field(raw, "env");
    if (!(RAMP_ACTIONS as readonly string[]).includes(action)) return c.notFound();
    const path = apiPath(project, `/environments/${seg(environment)}/flags/${seg(flag)}/ramp`);
    const toStep = field(raw, "toStep");
    const result =
      action === "delete"
        ? await api.send("DELETE", path, undefined, DeletedSchema)
        : await api.send(
            "POST",
            `${path}/${action}`,
            action === "rollback" ? (/^\d+$/.test(toStep) ? { toStep: Number(toStep) } : {}) : undefined,
            RampSchema,
          );
    if (!result.ok) {
      if (result.status === 409 || result.status === 400) {
        const page = await loadFlagPage(c, flag, environment);
        if (page instanceof Response) return page;
        return c.html(<FlagPage {...page} notice={{ kind: "error", text: `Ramp not changed: ${result.problem.detail}` }} />, result.status);
      }
      return apiFailure(c, result);
    }
    return redirectDone(c, flagPath(flag, environment), "ramp", { action, flag, env: environment });
  });

  ui.post("/p/:project/flags/:flag/experiment", async (c) => {
    const { api, project } = vars(c);
    const flag = c.req.param("flag");
    const raw = await c.req.parseBody();
    const environment = field(raw, "env");
    const weights: Record<string, number> = {};
    for (const [name, value] of Object.entries(raw)) {
      if (!name.startsWith("weight-") || typeof value !== "string") continue;
      const weight = Number(value);
      if (value.trim() !== "" && Number.isFinite(weight) && weight > 0) weights[name.slice("weight-".length)] = weight;
    }
    // No weights typed: the API uses the weights the flag serves.
    const body = Object.keys(weights).length > 0 ? { weights } : {};
    const result = await api.send(
      "POST",
      apiPath(project, `/environments/${seg(environment)}/flags/${seg(flag)}/experiment`),
      body,
      ExperimentSchema,
    );
    if (result.ok) return redirectDone(c, `experiments/${seg(result.body.id)}`, "experiment-started", { flag, env: environment });
    if (result.status !== 400 && result.status !== 409) return apiFailure(c, result);
    const page = await loadFlagPage(c, flag, environment);
    if (page instanceof Response) return page;
    const delivery = {
      ...(page.delivery ?? (await loadDelivery(api, project, flag, environment))),
      experimentErrors: { form: [result.problem.detail] },
    };
    return c.html(<FlagPage {...page} delivery={delivery} />, result.status);
  });

  ui.get("/p/:project/experiments", async (c) => {
    const { api, project, session } = vars(c);
    const list = await api.get(apiPath(project, "/experiments"), ExperimentListSchema);
    if (!list.ok) return apiFailure(c, list);
    return c.html(<ExperimentsPage session={session} project={project} experiments={list.body} notice={doneNotice(c)} />);
  });

  ui.get("/p/:project/experiments/:id", async (c) => {
    const { api, project, session } = vars(c);
    const id = seg(c.req.param("id"));
    const [experiment, metrics] = await Promise.all([
      api.get(apiPath(project, `/experiments/${id}`), ExperimentSchema),
      api.get(apiPath(project, `/experiments/${id}/metrics`), ExperimentMetricsSchema),
    ]);
    if (!experiment.ok) return apiFailure(c, experiment);
    // The newest events of each metric's tracked event, with their value and custom fields: what a
    // person checks when a metric moves. A read that fails is said on the page, not hidden.
    const names = [...new Set((metrics.ok ? metrics.body.metrics : []).map((m) => m.metric.event))].slice(0, RECENT_EVENT_NAMES);
    const recent = await Promise.all(
      names.map(async (name) => {
        const page = await readTrackedEvents(api, project, experiment.body.environment, name, RECENT_EVENTS);
        return "problem" in page ? { name, events: null, problem: page.problem.detail } : { name, events: page.events };
      }),
    );
    return c.html(
      <ExperimentPage
        session={session}
        project={project}
        experiment={experiment.body}
        metrics={metrics.ok ? metrics.body : null}
        recentEvents={recent}
        notice={doneNotice(c)}
      />,
    );
  });

  ui.post("/p/:project/experiments/:id/stop", async (c) => {
    const { api, project } = vars(c);
    const id = c.req.param("id");
    const result = await api.send("POST", apiPath(project, `/experiments/${seg(id)}/stop`), undefined, ExperimentSchema);
    if (!result.ok) return apiFailure(c, result);
    return redirectDone(c, `experiments/${seg(id)}`, "experiment-stopped");
  });
}
