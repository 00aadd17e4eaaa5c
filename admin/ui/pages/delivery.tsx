/**
 * Progressive delivery on the flag page, per environment: the ramp (create; its steps as a
 * timeline; pause, resume, roll back, jump to 100%, delete; exposures per step with the SRM test)
 * and the flag's experiments (start one, see them); the ramp's guardrails with each guarded metric
 * charted per arm over time (`./metric-chart.tsx`), a form to add one, and one to define a metric. Bars are plain elements sized by a class
 * (`w-0` … `w-100`): no inline style, no chart library.
 */
import type { Session } from "../../session";
import { When, projectPath } from "../layout";
import { PostForm } from "../offer";
import type { ExperimentView, RampExposuresView, RampView, SrmView } from "../../../contracts/admin-responses";
import type { MetricView, RampMetricsView } from "../../../contracts/metrics";
import { MetricDefineForm, MetricSeriesList } from "./metric-chart";
import { ActionButton, Errors, invalid, Relative } from "./widgets";

export interface RampStepForm {
  percent: string;
  delay: string;
  unit: "minutes" | "hours" | "days";
}

export interface RampForm {
  variant: string;
  baseline: string;
  steps: RampStepForm[];
  reason: string;
}

export interface DeliveryState {
  ramp: RampView | null;
  exposures: RampExposuresView | null;
  /** This flag's experiments in this environment, newest first. */
  experiments: ExperimentView[];
  rampForm?: RampForm | null;
  rampErrors?: Record<string, string[]>;
  experimentErrors?: Record<string, string[]>;
  /** The weights of the split the flag serves, the experiment form's defaults; null when it serves no single split. */
  servedWeights?: Record<string, number> | null;
  /** What would keep a ramp from reaching anyone in this environment, in plain words (`rampObstacles`). */
  rampObstacles?: RampObstacles;
  /** The ramp's guardrails and the checks of each guarded metric. */
  metrics?: RampMetricsView | null;
  /** The project's metrics, for the guardrail form. */
  metricDefs?: MetricView[];
  guardrailErrors?: string[];
}

/**
 * Why a ramp would reach nobody, as sentences a person can act on: the flag's own rules answer
 * every context (the admin API refuses the ramp), or the flag is turned off in the environment (a
 * ramp runs, but a killed flag serves its off variant or the code default to everyone).
 */
export interface RampObstacles {
  answersEveryone: string | null;
  turnedOff: string | null;
}

export const RAMP_STEP_ROWS = 5;

export function defaultRampForm(variants: string[]): RampForm {
  const variant = variants.find((v) => v === "on") ?? variants[0] ?? "";
  const baseline = variants.find((v) => v !== variant) ?? "";
  return {
    variant,
    baseline,
    steps: [
      { percent: "5", delay: "0", unit: "minutes" },
      { percent: "25", delay: "1", unit: "days" },
      { percent: "50", delay: "1", unit: "days" },
      { percent: "100", delay: "1", unit: "days" },
      { percent: "", delay: "", unit: "days" },
    ],
    reason: "",
  };
}

interface PanelProps {
  session: Session;
  project: string;
  flag: string;
  environment: string;
  variants: string[];
  delivery: DeliveryState;
}

export function DeliveryPanels(props: PanelProps) {
  return (
    <div class="grid-2">
      <RampPanel {...props} />
      <ExperimentPanel {...props} />
    </div>
  );
}

const STATE_TEXT = { done: "done", current: "current", next: "next", pending: "later" } as const;

function RampPanel(props: PanelProps) {
  const { ramp } = props.delivery;
  const base = projectPath(props.project, `flags/${encodeURIComponent(props.flag)}/ramp`);
  const env = { env: props.environment };
  return (
    <section class="panel" aria-labelledby="ramp-title" id="ramp">
      <h2 id="ramp-title">{`Ramp in ${props.environment}`}</h2>
      {!ramp ? (
        <RampCreate {...props} />
      ) : (
        <>
          <p>
            {"Rolling out "}
            <code>{ramp.variant}</code>
            {" over "}
            <code>{ramp.baseline}</code>
            {": "}
            <span class={`badge ramp-${ramp.status}`} id="ramp-status">
              {ramp.status}
            </span>
            {` at ${ramp.currentPercent}%`}
          </p>
          <div class="bar" aria-hidden="true">
            <span class={`fill ${widthClass(ramp.currentPercent)}`}></span>
          </div>
          {/* A flag turned off: the notice below says it in the flag's own terms, so the API's note is not repeated. */}
          {ramp.effectiveNote && !props.delivery.rampObstacles?.turnedOff && (
            <p
              class="hint"
              id="ramp-effective"
            >{`Effective share: at most ${ramp.effectivePercent ?? ramp.currentPercent}% — ${ramp.effectiveNote}.`}</p>
          )}
          {ramp.pauseReason && <div class="notice warn" role="status">{`Paused: ${ramp.pauseReason}`}</div>}
          {props.delivery.rampObstacles?.turnedOff && (
            <div class="notice warn" role="status" id="ramp-turned-off">
              {props.delivery.rampObstacles.turnedOff}
            </div>
          )}
          <ol class="timeline" aria-label="Ramp steps">
            {ramp.steps.map((step, i) => (
              <li class={`step ${step.state}`} aria-current={step.state === "current" ? "step" : undefined}>
                <span class="dot" aria-hidden="true"></span>
                <strong>{`${step.percent}%`}</strong>
                <span class="step-state">{STATE_TEXT[step.state]}</span>
                <span class="meta">
                  {step.appliedAt ? (
                    <>
                      applied <When at={step.appliedAt} />
                    </>
                  ) : step.state === "next" && ramp.nextAt ? (
                    <>
                      due <Relative at={ramp.nextAt} />
                    </>
                  ) : (
                    stepWhen(step, i)
                  )}
                </span>
              </li>
            ))}
          </ol>
          {ramp.status === "running" && ramp.nextAt && (
            <p class="meta" id="ramp-next">
              Next step <Relative at={ramp.nextAt} /> ({ramp.nextAt}).
            </p>
          )}
          <div class="row tight ramp-actions">
            {ramp.status === "running" && <ActionButton action={`${base}/pause`} label="Pause" hidden={env} small={false} />}
            {(ramp.status === "paused" || ramp.status === "rolled-back") && ramp.currentStep + 1 < ramp.steps.length && (
              <ActionButton action={`${base}/resume`} label="Resume" kind="primary" hidden={env} small={false} />
            )}
            {ramp.status === "running" && ramp.currentStep + 1 < ramp.steps.length && (
              <ActionButton
                action={`${base}/advance`}
                label={`Next step now (${ramp.steps[ramp.currentStep + 1]!.percent}%)`}
                hidden={env}
                small={false}
                confirm={`Serve ${ramp.variant} to ${ramp.steps[ramp.currentStep + 1]!.percent}% in ${props.environment} now, without waiting for the step's time?`}
              />
            )}
            {ramp.status !== "completed" && (
              <ActionButton
                action={`${base}/complete`}
                label="Jump to 100%"
                hidden={env}
                small={false}
                confirm={`Serve ${ramp.variant} to everyone in ${props.environment} now?`}
              />
            )}
            {ramp.status !== "completed" && ramp.currentStep >= 0 && (
              <ActionButton
                action={`${base}/rollback`}
                label="Roll back"
                kind="danger"
                hidden={env}
                small={false}
                confirm="Roll the ramp back? It stays stopped until resumed."
              >
                <label class="visually-hidden" for="rollback-to">
                  Roll back to
                </label>
                <select id="rollback-to" name="toStep">
                  <option value="">to 0%</option>
                  {ramp.steps.slice(0, Math.max(0, ramp.currentStep)).map((step, i) => (
                    <option value={String(i)}>{`to step ${i + 1} (${step.percent}%)`}</option>
                  ))}
                </select>
              </ActionButton>
            )}
            <ActionButton
              action={`${base}/delete`}
              label="Delete ramp"
              hidden={env}
              small={false}
              confirm="Delete the ramp? The flag keeps the split it reached."
            />
          </div>
          <RampExposures exposures={props.delivery.exposures} ramp={ramp} />
          <RampGuardrails {...props} />
        </>
      )}
    </section>
  );
}

/** The ramp's guardrails: each guarded metric charted, a form to add a guardrail, one to define a metric. */
function RampGuardrails(props: PanelProps) {
  const metrics = props.delivery.metrics;
  const defs = props.delivery.metricDefs ?? [];
  const guarded = new Set((metrics?.guardrails ?? []).map((g) => g.metric));
  const free = defs.filter((m) => !guarded.has(m.name));
  const flagPage = `flags/${encodeURIComponent(props.flag)}?env=${encodeURIComponent(props.environment)}`;
  return (
    <section aria-labelledby="guardrails-title" id="guardrails">
      <h3 id="guardrails-title">Guardrails</h3>
      {metrics && metrics.guardrails.length > 0 ? (
        <>
          <p class="meta">
            Checked once a minute while the ramp runs, with a sequential test valid however often it looks: a significant degradation past
            the tolerance pauses or rolls back the ramp, never before each arm has its minimum sample.
          </p>
          <MetricSeriesList metrics={metrics.metrics} idPrefix="ramp-metric" />
        </>
      ) : (
        <p class="meta">No guardrails: only a sample-ratio mismatch stops this ramp by itself.</p>
      )}
      {props.delivery.guardrailErrors && (
        <div class="notice error" role="alert" id="guardrail-error">
          {props.delivery.guardrailErrors.join("; ")}
        </div>
      )}
      {free.length > 0 && (
        <PostForm
          env={props.environment}
          id="guardrail-form"
          action={projectPath(props.project, `flags/${encodeURIComponent(props.flag)}/ramp/guardrails`)}
        >
          <input type="hidden" name="env" value={props.environment} />
          <fieldset>
            <legend>Add a guardrail</legend>
            <div class="row">
              <div class="field">
                <label for="guardrail-metric">Metric</label>
                <select id="guardrail-metric" name="metric">
                  {free.map((m) => (
                    <option value={m.name}>{`${m.name} (${m.kind} of ${m.event})`}</option>
                  ))}
                </select>
              </div>
              <div class="field">
                <label for="guardrail-tolerance">Tolerated degradation (% of the baseline)</label>
                <input id="guardrail-tolerance" type="number" name="tolerance" value="0" min="0" max="1000" step="any" />
              </div>
              <div class="field">
                <label for="guardrail-action">Then</label>
                <select id="guardrail-action" name="action">
                  <option value="pause">pause the ramp</option>
                  <option value="rollback">roll it back to 0%</option>
                </select>
              </div>
              <div class="field">
                <label for="guardrail-min">Minimum sample per arm</label>
                <input id="guardrail-min" type="number" name="minSample" value="500" min="100" step="1" />
              </div>
            </div>
          </fieldset>
          <button type="submit">Add the guardrail</button>
        </PostForm>
      )}
      <details>
        <summary>Define a metric on a tracked event</summary>
        <MetricDefineForm action={projectPath(props.project, "metrics")} back={flagPage} idPrefix="ramp-metric-def" />
      </details>
    </section>
  );
}

function stepWhen(step: { at?: string | undefined; afterSeconds?: number | undefined }, index: number): string {
  if (step.at) return `at ${step.at}`;
  const s = step.afterSeconds ?? 0;
  const text =
    s === 0
      ? "at once"
      : s % 86_400 === 0
        ? `${s / 86_400} d`
        : s % 3_600 === 0
          ? `${s / 3_600} h`
          : s % 60 === 0
            ? `${s / 60} min`
            : `${s} s`;
  return s === 0 ? (index === 0 ? "at the start" : "right after the previous step") : `${text} after the previous step`;
}

function RampCreate(props: PanelProps) {
  const form = props.delivery.rampForm ?? defaultRampForm(props.variants);
  const errors = props.delivery.rampErrors ?? {};
  const obstacles = props.delivery.rampObstacles;
  const rows = [
    ...form.steps,
    ...Array.from({ length: Math.max(0, RAMP_STEP_ROWS - form.steps.length) }, () => ({ percent: "", delay: "", unit: "days" as const })),
  ];
  return (
    <PostForm env={props.environment} action={projectPath(props.project, `flags/${encodeURIComponent(props.flag)}/ramp`)}>
      <p class="meta">No ramp here. Roll a variant out in steps; each step is applied on time and audited.</p>
      <input type="hidden" name="env" value={props.environment} />
      {obstacles?.answersEveryone && !errors["form"] && (
        <div class="notice warn" role="status" id="ramp-blocked">
          {obstacles.answersEveryone}
        </div>
      )}
      {obstacles?.turnedOff && (
        <div class="notice warn" role="status" id="ramp-turned-off">
          {obstacles.turnedOff}
        </div>
      )}
      {errors["form"] && (
        <div class="notice error" role="alert" id="ramp-error">
          {errors["form"].join("; ")}
        </div>
      )}
      <div class="row">
        <div class="field">
          <label for="ramp-variant">Roll out</label>
          <select id="ramp-variant" name="variant" {...invalid("ramp-variant", errors["variant"])}>
            {props.variants.map((v) => (
              <option value={v} selected={v === form.variant}>
                {v}
              </option>
            ))}
          </select>
          <Errors id="ramp-variant-error" messages={errors["variant"]} />
        </div>
        <div class="field">
          <label for="ramp-baseline">Over (baseline)</label>
          <select id="ramp-baseline" name="baseline" {...invalid("ramp-baseline", errors["baseline"])}>
            {props.variants.map((v) => (
              <option value={v} selected={v === form.baseline}>
                {v}
              </option>
            ))}
          </select>
          <Errors id="ramp-baseline-error" messages={errors["baseline"]} />
        </div>
      </div>
      <fieldset>
        <legend>
          Steps <span class="hint">(empty rows are ignored; each waits its delay after the previous one)</span>
        </legend>
        <table class="steps">
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Percent</th>
              <th scope="col">Delay</th>
              <th scope="col">Unit</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((step, i) => (
              <tr>
                <th scope="row">{String(i + 1)}</th>
                <td>
                  <input
                    type="number"
                    name={`percent-${i}`}
                    value={step.percent}
                    min="0.01"
                    max="100"
                    step="0.01"
                    aria-label={`Step ${i + 1} percent`}
                    {...invalid(`ramp-step-${i}`, errors[`steps.${i}`])}
                  />
                  <Errors id={`ramp-step-${i}-error`} messages={errors[`steps.${i}`]} />
                </td>
                <td>
                  <input type="number" name={`delay-${i}`} value={step.delay} min="0" step="1" aria-label={`Step ${i + 1} delay`} />
                </td>
                <td>
                  <select name={`unit-${i}`} aria-label={`Step ${i + 1} delay unit`}>
                    {(["minutes", "hours", "days"] as const).map((u) => (
                      <option value={u} selected={u === step.unit}>
                        {u}
                      </option>
                    ))}
                  </select>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <Errors id="ramp-steps-error" messages={errors["steps"]} />
      </fieldset>
      <div class="field">
        <label for="ramp-reason">
          Reason <span class="hint">(kept in the audit log)</span>
        </label>
        <input id="ramp-reason" type="text" name="reason" value={form.reason} maxlength={1000} />
      </div>
      <button type="submit" class="primary">
        Start the ramp
      </button>
    </PostForm>
  );
}

function RampExposures({ exposures, ramp }: { exposures: RampExposuresView | null; ramp: RampView }) {
  if (!exposures || exposures.steps.length === 0) return <p class="meta">No exposures reported yet.</p>;
  return (
    <>
      <h3>Exposures per step</h3>
      <div class="table-wrap">
        <table class="cards" id="ramp-exposures">
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">{ramp.variant}</th>
              <th scope="col">{ramp.baseline}</th>
              <th scope="col">SRM</th>
            </tr>
          </thead>
          <tbody>
            {exposures.steps.map((s) => (
              <tr>
                <th scope="row">{`${s.step + 1} (${s.percent}%)`}</th>
                <td data-label={ramp.variant}>{unitsText(s.srm, ramp.variant)}</td>
                <td data-label={ramp.baseline}>{unitsText(s.srm, ramp.baseline)}</td>
                <td data-label="SRM">
                  <SrmVerdict srm={s.srm} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function unitsText(srm: SrmView, arm: string): string {
  return `${(srm.observed[arm] ?? 0).toLocaleString("en-US")} (expected ${Math.round(srm.expected[arm] ?? 0).toLocaleString("en-US")})`;
}

/** p-value in words: a mismatch, not enough data yet, or fine. */
export function SrmVerdict({ srm }: { srm: SrmView }) {
  if (srm.mismatch) return <span class="badge removed">{`mismatch, p = ${formatP(srm.pValue)}`}</span>;
  if (!srm.enoughData) return <span class="meta">{`not enough data yet (p = ${formatP(srm.pValue)})`}</span>;
  return <span class="badge added">{`ok, p = ${formatP(srm.pValue)}`}</span>;
}

export function formatP(p: number): string {
  return p === 0 ? "< 1e-300" : p < 0.001 ? p.toExponential(2) : p.toFixed(3);
}

/** `w-<n>` for a percentage, rounded to a whole percent and clamped to 0–100. */
export function widthClass(percent: number): string {
  return `w-${Math.max(0, Math.min(100, Math.round(Number.isFinite(percent) ? percent : 0)))}`;
}

function ExperimentPanel(props: PanelProps) {
  const errors = props.delivery.experimentErrors ?? {};
  const running = props.delivery.experiments.find((e) => e.status === "running");
  return (
    <section class="panel" aria-labelledby="experiment-title" id="experiment">
      <h2 id="experiment-title">{`Experiment in ${props.environment}`}</h2>
      {props.delivery.experiments.length > 0 && (
        <ul class="plain-list">
          {props.delivery.experiments.map((e) => (
            <li>
              <a href={projectPath(props.project, `experiments/${encodeURIComponent(e.id)}`)}>{e.id}</a>{" "}
              <span class={`badge ${e.status === "running" ? "added" : ""}`}>{e.status}</span>
              {e.srm.mismatch && <span class="badge removed">SRM</span>}
              <span class="meta">
                {` started `}
                <When at={e.createdAt} />
              </span>
            </li>
          ))}
        </ul>
      )}
      {running && errors["form"] && (
        <div class="notice error" role="alert" id="experiment-error">
          {errors["form"].join("; ")}
        </div>
      )}
      {running ? (
        <p class="meta">An experiment is running on this flag here; stop it before starting another.</p>
      ) : (
        <PostForm env={props.environment} action={projectPath(props.project, `flags/${encodeURIComponent(props.flag)}/experiment`)}>
          <input type="hidden" name="env" value={props.environment} />
          <p class="meta">
            Counts unique units per variant and checks the split against the weights the variants are meant to get (sample-ratio mismatch).
          </p>
          {errors["form"] && (
            <div class="notice error" role="alert" id="experiment-error">
              {errors["form"].join("; ")}
            </div>
          )}
          <fieldset>
            <legend>Intended weights</legend>
            <p class="hint">
              {props.delivery.servedWeights
                ? "Pre-filled with the split this flag serves; change them only if you mean to test against other weights."
                : "This flag serves no single split: give the weights each variant is meant to get."}
            </p>
            <div class="row">
              {props.variants.map((v) => (
                <div class="field">
                  <label for={`weight-${v}`}>{v}</label>
                  <input
                    id={`weight-${v}`}
                    type="number"
                    name={`weight-${v}`}
                    value={props.delivery.servedWeights ? String(props.delivery.servedWeights[v] ?? 0) : ""}
                    min="0"
                    step="any"
                    size={6}
                  />
                </div>
              ))}
            </div>
          </fieldset>
          <button type="submit">Start an experiment</button>
        </PostForm>
      )}
    </section>
  );
}
