/**
 * Experiments: every one of the project, and one in detail with its arms as a bar chart, the SRM
 * test, and each metric per arm against the baseline over time (results only: nothing acts on them).
 */
import type { Session } from "../../session";
import { Page, When, projectPath, type Notice } from "../layout";
import type { ExperimentView, SrmView } from "../../../contracts/admin-responses";
import type { ExperimentMetricsView } from "../../../contracts/metrics";
import { MetricDefineForm, MetricSeriesList } from "./metric-chart";
import { formatP, SrmVerdict, widthClass } from "./delivery";
import { ActionButton } from "./widgets";
import { EventsTable, type TrackedEvents } from "./events";

/** One tracked event's newest events as the experiment page shows them. */
export interface RecentEvents {
  name: string;
  /** Null when the admin API did not answer them; `problem` is its detail. */
  events: TrackedEvents | null;
  problem?: string;
}

export function ExperimentsPage(props: { session: Session; project: string; experiments: ExperimentView[]; notice: Notice | null }) {
  return (
    <Page
      title={`Experiments · ${props.project}`}
      session={props.session}
      project={props.project}
      section="experiments"
      notice={props.notice}
    >
      <div class="page-head">
        <div>
          <h1>Experiments</h1>
          <p>Start one from a flag's page. Each counts unique units per variant and tests the split (SRM).</p>
        </div>
      </div>
      {props.experiments.length === 0 ? (
        <p class="panel">No experiments yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="cards" id="experiments">
            <thead>
              <tr>
                <th scope="col">Experiment</th>
                <th scope="col">Flag</th>
                <th scope="col">Status</th>
                <th scope="col">Units</th>
                <th scope="col">Split</th>
              </tr>
            </thead>
            <tbody>
              {props.experiments.map((e) => (
                <tr>
                  <td>
                    <a href={projectPath(props.project, `experiments/${encodeURIComponent(e.id)}`)}>{e.id}</a>
                    <div class="meta">
                      started <When at={e.createdAt} /> by {e.createdBy}
                    </div>
                  </td>
                  <td data-label="Flag">
                    <code>{e.flag}</code>
                    {` in ${e.environment}`}
                  </td>
                  <td data-label="Status">
                    <span class={`badge ${e.status === "running" ? "added" : ""}`}>{e.status}</span>
                  </td>
                  <td data-label="Units">{total(e).toLocaleString("en-US")}</td>
                  <td data-label="Split">
                    <SrmVerdict srm={e.srm} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

/**
 * What the sample-ratio test says, for someone deciding on the experiment: whether the split can
 * be trusted, and that it is not the result (which variant is better is the metrics' job).
 */
export function srmMeaning(srm: SrmView): string {
  const chance = srm.pValue >= 0.01 ? `${Math.round(srm.pValue * 100)}%` : `${formatP(srm.pValue * 100)}%`;
  if (srm.mismatch)
    return `What this means: counts this far from the intended split would turn up by chance only ${chance} of the time, so something is sending units to the variants unevenly — a rule or individual targets answering some units before the split, a variant cached or redirected, bots, or exposures recorded on only some paths. Fix the cause, then start a new experiment; the metrics of this one are not evidence either way.`;
  if (!srm.enoughData)
    return "What this means: the split is not checked until every variant has enough units, so neither the p-value nor the metrics can be relied on yet. Keep the experiment running.";
  return `What this means: the split is sound — counts at least this far off turn up by chance ${chance} of the time, and a mismatch is called only below 0.1%. So the metrics below can be read. This test checks that units were assigned as intended, not which variant is better: decide on the metrics.`;
}

function total(e: ExperimentView): number {
  return Object.values(e.units).reduce((a, b) => a + b, 0);
}

export function ExperimentPage(props: {
  session: Session;
  project: string;
  experiment: ExperimentView;
  metrics?: ExperimentMetricsView | null;
  /** The newest events of each metric's tracked event (null: they could not be read just now). */
  recentEvents?: RecentEvents[];
  notice: Notice | null;
}) {
  const e = props.experiment;
  const units = total(e);
  const weightSum = Object.values(e.weights).reduce((a, b) => a + b, 0) || 1;
  const arms = [...new Set([...Object.keys(e.weights), ...Object.keys(e.units)])];
  const flagLink = `${projectPath(props.project, `flags/${encodeURIComponent(e.flag)}`)}?env=${encodeURIComponent(e.environment)}`;
  return (
    <Page
      title={`Experiment ${e.id} · ${props.project}`}
      session={props.session}
      project={props.project}
      section="experiments"
      notice={props.notice}
    >
      <p class="meta">
        <a href={projectPath(props.project, "experiments")}>← All experiments</a>
      </p>
      <div class="page-head">
        <div>
          <h1>
            {"Experiment on "}
            <a href={flagLink} class="flag-key">
              {e.flag}
            </a>
            {` in ${e.environment}`}
          </h1>
          <p>
            <span class={`badge ${e.status === "running" ? "added" : ""}`}>{e.status}</span>
            {` · ${e.id} · started `}
            <When at={e.createdAt} />
            {` by ${e.createdBy}`}
            {e.stoppedAt && (
              <>
                {" · stopped "}
                <When at={e.stoppedAt} />
              </>
            )}
          </p>
        </div>
        {e.status === "running" && (
          <ActionButton
            action={projectPath(props.project, `experiments/${encodeURIComponent(e.id)}/stop`)}
            label="Stop the experiment"
            kind="danger"
            small={false}
            confirm="Stop counting exposures for this experiment?"
          />
        )}
      </div>
      {e.srm.mismatch ? (
        <div class="notice error" role="alert" id="srm-warning">
          <h2>Sample ratio mismatch</h2>
          <p>
            {`The units per variant do not match the intended weights (χ² = ${e.srm.chiSquare.toFixed(1)}, p = ${formatP(e.srm.pValue)}, below 0.001). `}
            Assignment or exposure logging is likely broken: do not trust this experiment's results until the cause is found.
          </p>
          {e.srmFlaggedAt && (
            <p>
              Flagged <When at={e.srmFlaggedAt} />.
            </p>
          )}
        </div>
      ) : (
        <div class={`notice ${e.srm.enoughData ? "ok" : "warn"}`} role="status" id="srm-status">
          {e.srm.enoughData
            ? `The split matches the weights (p = ${formatP(e.srm.pValue)}).`
            : `Not enough data for the SRM test yet: every variant needs 100 units (p = ${formatP(e.srm.pValue)} so far).`}
        </div>
      )}
      <section class="panel" aria-labelledby="arms-title">
        <h2 id="arms-title">{`Unique units per variant (${units.toLocaleString("en-US")} in all)`}</h2>
        <ul class="bars" id="arm-bars">
          {arms.map((arm) => {
            const observed = e.units[arm] ?? 0;
            const share = units === 0 ? 0 : (observed / units) * 100;
            const intended = ((e.weights[arm] ?? 0) / weightSum) * 100;
            return (
              <li>
                <div class="bar-label">
                  <code>{arm}</code>
                  <span>{`${observed.toLocaleString("en-US")} units · ${share.toFixed(1)}%`}</span>
                  <span class="meta">{`intended ${intended.toFixed(1)}% · expected ${Math.round(e.srm.expected[arm] ?? 0).toLocaleString("en-US")}`}</span>
                </div>
                <div class="bar" role="img" aria-label={`${arm}: ${share.toFixed(1)}% of units, intended ${intended.toFixed(1)}%`}>
                  <span class={`fill ${widthClass(share)}${e.srm.mismatch ? " bad" : ""}`}></span>
                  <span class={`mark at-${Math.round(Math.max(0, Math.min(100, intended)))}`}></span>
                </div>
              </li>
            );
          })}
        </ul>
        <p class="meta">The bar is the observed share; the line marks the intended share.</p>
        <dl class="facts">
          <dt>χ²</dt>
          <dd>{`${e.srm.chiSquare.toFixed(2)} (${e.srm.degreesOfFreedom} degree${e.srm.degreesOfFreedom === 1 ? "" : "s"} of freedom): how far the counts are from the intended split; 0 is a perfect match`}</dd>
          <dt>p-value</dt>
          <dd id="srm-p">{`${formatP(e.srm.pValue)}: how often chance alone gives counts at least this far off, were traffic split as intended`}</dd>
          <dt>Verdict</dt>
          <dd>
            <SrmVerdict srm={e.srm} />
          </dd>
        </dl>
        <p id="srm-meaning">{srmMeaning(e.srm)}</p>
      </section>
      <section class="panel" aria-labelledby="metrics-title" id="experiment-metrics">
        <h2 id="metrics-title">Metrics</h2>
        {props.metrics && props.metrics.metrics.length > 0 ? (
          <>
            <p class="meta">
              {`Each arm against ${props.metrics.baseline}, checked once a minute while the experiment runs, with always-valid intervals (valid however often you look). Results only: an experiment is never stopped by its metrics.`}
            </p>
            <MetricSeriesList metrics={props.metrics.metrics} idPrefix="experiment-metric" />
          </>
        ) : (
          <p class="meta">No metrics defined in this project yet.</p>
        )}
        {props.recentEvents && props.recentEvents.length > 0 && (
          <RecentEventsList project={props.project} recent={props.recentEvents} environment={e.environment} />
        )}
        <details>
          <summary>Define a metric on a tracked event</summary>
          <MetricDefineForm
            action={projectPath(props.project, "metrics")}
            back={`experiments/${encodeURIComponent(e.id)}`}
            idPrefix="experiment-metric-def"
          />
        </details>
      </section>
    </Page>
  );
}

/**
 * The newest events of each metric's tracked event in the experiment's environment, with their
 * value and custom fields (`track(name, { value, ...details })`), kept 48 h.
 */
function RecentEventsList(props: { project: string; recent: RecentEvents[]; environment: string }) {
  return (
    <div id="recent-events">
      <h3>Recent tracked events</h3>
      <p class="meta">{`The newest events in ${props.environment} of each event a metric watches, with their value and custom fields (kept 48 hours). Units are hashed targeting keys.`}</p>
      {props.recent.map((r) => (
        <section aria-label={`Recent ${r.name} events`}>
          <h4>
            <code>{r.name}</code>
            {" · "}
            <a href={`${projectPath(props.project, "events")}?${new URLSearchParams({ env: props.environment, name: r.name }).toString()}`}>
              All of them
            </a>
          </h4>
          {r.events === null ? (
            <p class="notice warn" role="status">
              {`These events could not be read: ${r.problem ?? "the admin API did not answer"}. Reload the page to try again.`}
            </p>
          ) : r.events.length === 0 ? (
            <p class="meta">None in the last 48 hours.</p>
          ) : (
            <EventsTable events={r.events} />
          )}
        </section>
      ))}
    </div>
  );
}
