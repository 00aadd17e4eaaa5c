/**
 * Metrics on the ramp and experiment pages: per metric, each arm's estimate over time with its
 * always-valid interval and the level past which the new variant counts as degraded, as an inline
 * SVG drawn on the server (no chart library, no script), with a title and description for
 * assistive technology and the same numbers in a table below it. The numbers are the checks the
 * admin API returns (`GET …/ramp/metrics`, `GET …/experiments/{id}/metrics`), as they are.
 */
import { MAX_EVENT_NAME, type MetricCheck, type MetricSeries, type MetricView } from "../../../contracts/metrics";
import { When } from "../layout";
import { PostForm } from "../offer";

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };
/** Bounds beyond this are an arm with no data yet (its interval is unbounded): the chart clips them. */
const UNBOUNDED = 1e300;

/** A number for people: `digits` significant digits (four by default), a rate as a percentage. */
export function formatMetric(x: number, kind: MetricView["kind"], digits = 4): string {
  if (!Number.isFinite(x) || Math.abs(x) >= UNBOUNDED) return x > 0 ? "∞" : "−∞";
  return kind === "rate" ? `${Number((x * 100).toPrecision(digits))}%` : String(Number(x.toPrecision(digits)));
}

const ARM_COLOR = { baseline: "#6b7280", variant: "#2563eb" } as const;
const DECISION_TEXT = { continue: "no degradation shown", degraded: "degraded", "insufficient-data": "too little data" } as const;

/** The chart and table of one metric on one compared arm. */
export function MetricChart({ series, checks, id }: { series: MetricSeries; checks: MetricCheck[]; id: string }) {
  const { metric } = series;
  const last = checks.at(-1);
  if (!last) return <p class="meta">{`${metric.name}: not checked yet (checks run once a minute while the ramp or experiment runs).`}</p>;
  const kind = metric.kind;
  const bounded = (x: number) => Math.abs(x) < UNBOUNDED;
  const values = checks.flatMap((c) =>
    [
      c.baseline.estimate,
      c.variant.estimate,
      c.baseline.lower,
      c.baseline.upper,
      c.variant.lower,
      c.variant.upper,
      c.baseline.estimate + c.threshold,
    ].filter(bounded),
  );
  // The arms' estimates decide the range; an interval far wider than them is clipped at twice their spread.
  const estimates = checks.flatMap((c) => [c.baseline.estimate, c.variant.estimate, c.baseline.estimate + c.threshold]);
  const eLo = Math.min(...estimates);
  const eHi = Math.max(...estimates);
  const spread = Math.max(eHi - eLo, Math.abs(eHi) * 0.05, 1e-9);
  let lo = Math.max(Math.min(...values), eLo - 2 * spread);
  let hi = Math.min(Math.max(...values), eHi + 2 * spread);
  if (kind === "rate") lo = Math.max(lo, 0);
  if (hi - lo < 1e-12) hi = lo + 1e-9;
  const x = (i: number) =>
    PAD.left + (checks.length === 1 ? (WIDTH - PAD.left - PAD.right) / 2 : (i * (WIDTH - PAD.left - PAD.right)) / (checks.length - 1));
  const y = (v: number) => {
    const clamped = Math.min(hi, Math.max(lo, v));
    return PAD.top + ((hi - clamped) * (HEIGHT - PAD.top - PAD.bottom)) / (hi - lo);
  };
  const line = (pick: (c: MetricCheck) => number) =>
    checks.map((c, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(pick(c)).toFixed(1)}`).join(" ");
  const band = (upper: (c: MetricCheck) => number, lower: (c: MetricCheck) => number) =>
    `${checks.map((c, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(upper(c)).toFixed(1)}`).join(" ")} ${[...checks]
      .map((c, i) => ({ c, i }))
      .reverse()
      .map(({ c, i }) => `L${x(i).toFixed(1)},${y(lower(c)).toFixed(1)}`)
      .join(" ")} Z`;
  const worse = metric.direction === "higher-is-worse" ? "above" : "below";
  const titleId = `${id}-title`;
  const descId = `${id}-desc`;
  const ticks = [lo, (lo + hi) / 2, hi];
  return (
    <figure class="metric-chart" id={id}>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        width="100%"
        role="img"
        aria-labelledby={`${titleId} ${descId}`}
        xmlns="http://www.w3.org/2000/svg"
      >
        <title id={titleId}>{`${metric.name}: ${last.baseline.variant} and ${last.variant.variant} over ${checks.length} checks`}</title>
        <desc id={descId}>
          {`Latest: ${last.baseline.variant} ${formatMetric(last.baseline.estimate, kind)} (${formatMetric(last.baseline.lower, kind)} to ${formatMetric(last.baseline.upper, kind)}), ${last.variant.variant} ${formatMetric(last.variant.estimate, kind)} (${formatMetric(last.variant.lower, kind)} to ${formatMetric(last.variant.upper, kind)}); degraded when ${last.variant.variant} is significantly ${worse} the dashed threshold ${formatMetric(last.baseline.estimate + last.threshold, kind)}. Decision: ${DECISION_TEXT[last.decision]}.`}
        </desc>
        {ticks.map((t) => (
          <g>
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(t)} y2={y(t)} stroke="currentColor" stroke-opacity="0.15" />
            <text x={PAD.left - 6} y={y(t) + 4} text-anchor="end" font-size="11" fill="currentColor">
              {formatMetric(t, kind, 3)}
            </text>
          </g>
        ))}
        {(["baseline", "variant"] as const).map((arm) => (
          <g>
            <path
              d={band(
                (c) => c[arm].upper,
                (c) => c[arm].lower,
              )}
              fill={ARM_COLOR[arm]}
              fill-opacity="0.18"
              stroke="none"
            />
            <path d={line((c) => c[arm].estimate)} fill="none" stroke={ARM_COLOR[arm]} stroke-width="2" />
          </g>
        ))}
        <path d={line((c) => c.baseline.estimate + c.threshold)} fill="none" stroke="#dc2626" stroke-width="1.5" stroke-dasharray="6 4" />
        {checks.map((c, i) => (c.decision === "degraded" ? <circle cx={x(i)} cy={y(c.variant.estimate)} r="4" fill="#dc2626" /> : null))}
        <text x={PAD.left} y={HEIGHT - 8} font-size="11" fill="currentColor">
          {checks[0]!.at.slice(11, 16)}
        </text>
        <text x={WIDTH - PAD.right} y={HEIGHT - 8} font-size="11" fill="currentColor" text-anchor="end">
          {last.at.slice(11, 16)}
        </text>
      </svg>
      <figcaption class="meta">
        {`Grey: ${last.baseline.variant}; blue: ${last.variant.variant}; shaded: always-valid ${Math.round((1 - last.alpha) * 100)}% intervals; red dashes: the threshold (${toleranceText(last)}); red dots: degraded. `}
        <strong>{DECISION_TEXT[last.decision]}</strong>
        {` — ${last.reason}`}
      </figcaption>
      <details>
        <summary>{`The numbers (${checks.length} checks)`}</summary>
        <div class="table-wrap">
          <table class="cards metric-table">
            <thead>
              <tr>
                <th scope="col">Checked</th>
                <th scope="col">{`${last.baseline.variant} (n)`}</th>
                <th scope="col">{`${last.variant.variant} (n)`}</th>
                <th scope="col">Difference</th>
                <th scope="col">Threshold</th>
                <th scope="col">Decision</th>
              </tr>
            </thead>
            <tbody>
              {[...checks].reverse().map((c) => (
                <tr>
                  <th scope="row">
                    <When at={c.at} />
                  </th>
                  <td data-label={last.baseline.variant}>{armText(c.baseline, kind)}</td>
                  <td data-label={last.variant.variant}>{armText(c.variant, kind)}</td>
                  <td data-label="Difference">{armText(c.difference, kind)}</td>
                  <td data-label="Threshold">{formatMetric(c.threshold, kind)}</td>
                  <td data-label="Decision">{DECISION_TEXT[c.decision]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

function armText(a: { estimate: number; lower: number; upper: number; n?: number }, kind: MetricView["kind"]): string {
  const n = a.n === undefined ? "" : ` (n = ${a.n.toLocaleString("en-US")})`;
  return `${formatMetric(a.estimate, kind)} [${formatMetric(a.lower, kind)}, ${formatMetric(a.upper, kind)}]${n}`;
}

function toleranceText(c: MetricCheck): string {
  return c.tolerance.kind === "relative"
    ? `${Number((c.tolerance.value * 100).toPrecision(4))}% worse tolerated`
    : `${c.tolerance.value} worse tolerated`;
}

/** Every series of a ramp or experiment: one chart per metric and compared arm. */
export function MetricSeriesList({ metrics, idPrefix }: { metrics: MetricSeries[]; idPrefix: string }) {
  if (metrics.length === 0) return null;
  return (
    <>
      {metrics.map((series) => {
        const arms = [...new Set(series.history.map((c) => c.variant.variant))];
        return (
          <section class="metric" aria-label={`Metric ${series.metric.name}`}>
            <h4>
              <code>{series.metric.name}</code>
              {` (${series.metric.kind} of `}
              <code>{series.metric.event}</code>
              {`, ${series.metric.direction.replaceAll("-", " ")})`}
              {series.guardrail && (
                <span class="meta">{` · guardrail: ${series.guardrail.action} past ${toleranceOf(series.guardrail.tolerance)}, ${series.guardrail.minSample} per arm first`}</span>
              )}
            </h4>
            {arms.length === 0 ? (
              <MetricChart series={series} checks={[]} id={`${idPrefix}-${series.metric.name}`} />
            ) : (
              arms.map((arm) => (
                <MetricChart
                  series={series}
                  checks={series.history.filter((c) => c.variant.variant === arm)}
                  id={`${idPrefix}-${series.metric.name}-${arm}`}
                />
              ))
            )}
          </section>
        );
      })}
    </>
  );
}

function toleranceOf(t: { kind: "relative" | "absolute"; value: number }): string {
  return t.kind === "relative" ? `${Number((t.value * 100).toPrecision(4))}% worse` : `${t.value} worse`;
}

/** The form that defines a metric on a tracked event (project-wide; `back`, a console path in the project, is where to return). */
export function MetricDefineForm({ action, back, idPrefix }: { action: string; back: string; idPrefix: string }) {
  return (
    <PostForm action={action} id={`${idPrefix}-form`}>
      <input type="hidden" name="back" value={back} />
      <fieldset>
        <legend>Define a metric</legend>
        <div class="row">
          <div class="field">
            <label for={`${idPrefix}-name`}>Name</label>
            <input id={`${idPrefix}-name`} name="name" required pattern="[a-z0-9][a-z0-9_\-]{0,62}" placeholder="checkout-errors" />
          </div>
          <div class="field">
            <label for={`${idPrefix}-event`}>Tracked event</label>
            <input id={`${idPrefix}-event`} name="event" required maxlength={MAX_EVENT_NAME} placeholder="checkout-error" />
          </div>
          <div class="field">
            <label for={`${idPrefix}-kind`}>Kind</label>
            <select id={`${idPrefix}-kind`} name="kind">
              <option value="rate">rate (units with the event)</option>
              <option value="count">count per unit</option>
              <option value="mean">mean of the value</option>
            </select>
          </div>
          <div class="field">
            <label for={`${idPrefix}-direction`}>Direction</label>
            <select id={`${idPrefix}-direction`} name="direction">
              <option value="higher-is-worse">higher is worse</option>
              <option value="higher-is-better">higher is better</option>
            </select>
          </div>
        </div>
      </fieldset>
      <button type="submit">Save the metric</button>
    </PostForm>
  );
}
