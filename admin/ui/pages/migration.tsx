/**
 * Migration: audit mode and cut-over per environment. For each environment, which system answers,
 * the exit criterion and whether it is met (or why not); for the chosen one, per-flag comparisons
 * worst first, the mismatch rate hour by hour, sample mismatches with both answers, and the
 * cut-over form (an override of an unmet criterion needs its own explicit confirmation).
 */
import * as z from "zod";
import type { AuditEntryView } from "../../../contracts/admin-responses";
import type { MigrationDetailSchema, MigrationEnvironment, MigrationOverviewSchema } from "../../../contracts/migration";
import type { Session } from "../../session";
import { Page, projectPath, type Notice } from "../layout";
import { PostForm } from "../offer";
import { Relative } from "./widgets";

type Overview = z.output<typeof MigrationOverviewSchema>;
type Detail = z.output<typeof MigrationDetailSchema>;
type FlagRow = MigrationEnvironment["flags"][number];

/** What the cut-over form was sent with, to show it again with the problem. */
export interface CutOverForm {
  authority: "edgeflags" | "legacy";
  reason: string;
  graceDays: string;
  override: boolean;
  /** The problem to show next to the form: the API's 409 detail, or the console's own check. */
  error: string | null;
}

export interface MigrationPageProps {
  session: Session;
  project: string;
  overview: Overview;
  /** The chosen environment in detail, or null when the project has none. */
  detail: Detail | null;
  /** The chosen environment's cut-overs, newest first; null when the audit log could not be read. */
  history: CutOverRecord[] | null;
  flagFilter: string;
  form: CutOverForm | null;
  notice: Notice | null;
}

/** One cut-over (or cut back) of an environment, as its audit entry records it. */
export interface CutOverRecord {
  at: string;
  by: string;
  from: string;
  to: string;
  overridden: boolean;
  reason: string | null;
}

const CutOverEntrySchema = z.object({
  before: z.object({ authority: z.string() }),
  after: z.object({ authority: z.string(), overridden: z.boolean().optional() }),
});

/** The cut-overs among audit entries (`migration.cut-over`), newest first as the log answers. */
export function cutOverHistory(entries: readonly AuditEntryView[]): CutOverRecord[] {
  return entries.flatMap((entry) => {
    const parsed = CutOverEntrySchema.safeParse(entry);
    if (entry.action !== "migration.cut-over" || !parsed.success) return [];
    const { before, after } = parsed.data;
    return [
      {
        at: entry.at,
        by: entry.actor,
        from: before.authority,
        to: after.authority,
        overridden: after.overridden ?? false,
        reason: entry.reason,
      },
    ];
  });
}

const recentRate = (flag: FlagRow) => (flag.recent.compared === 0 ? 0 : flag.recent.mismatched / flag.recent.compared);

/**
 * Worst first: what the criterion judges comes first (the highest mismatch rate in its window, the
 * most mismatches there), then the all-time rate, mismatches and comparisons.
 */
export function worstFirst(flags: readonly FlagRow[]): FlagRow[] {
  return [...flags].sort(
    (a, b) =>
      recentRate(b) - recentRate(a) ||
      b.recent.mismatched - a.recent.mismatched ||
      b.rate - a.rate ||
      b.mismatched - a.mismatched ||
      b.compared - a.compared ||
      a.flag.localeCompare(b.flag),
  );
}

/** Evaluations audit mode could not compare, in words. */
export function uncompared(count: number): string {
  return `${count} evaluation${count === 1 ? "" : "s"} not compared (the legacy system failed to answer, or the application had too many comparisons waiting)`;
}

/**
 * The readiness of an environment in one line: what the criterion saw in its window, and how much
 * of the environment that covers, e.g. "0 differences over 48211 comparisons in the last 7 days;
 * 180 of 200 flags compared", and the evaluations audit mode could not compare, when there were any.
 */
export function readiness(env: MigrationEnvironment): string {
  const { status, criterion, coverage } = env;
  const differences = `${status.mismatched} difference${status.mismatched === 1 ? "" : "s"}`;
  const line = `${differences} over ${status.compared} comparisons in the last ${criterion.days} days; ${coverage.compared} of ${coverage.flags} flags compared`;
  return status.uncompared > 0 ? `${line}; ${uncompared(status.uncompared)}` : line;
}

/** A rate as a percentage with enough digits to tell 0 from "a few in a million". */
export function percent(rate: number): string {
  if (rate === 0) return "0%";
  const value = rate * 100;
  return `${value >= 1 ? value.toFixed(1) : value >= 0.01 ? value.toFixed(2) : value.toPrecision(2)}%`;
}

export function MigrationPage(props: MigrationPageProps) {
  const { project, overview, detail } = props;
  return (
    <Page title={`Migration · ${project}`} session={props.session} project={project} section="migration" notice={props.notice}>
      <div class="page-head">
        <div>
          <h1>Migration</h1>
          <p>
            Audit mode compares the answers of the system you are leaving with edgeflags'. Cut an environment over once its exit criterion
            is met; applications follow within a minute.
          </p>
        </div>
      </div>
      {overview.environments.length === 0 ? (
        <p class="panel">This project has no environments yet.</p>
      ) : (
        <div class="env-cards" role="list" aria-label="Environments">
          {overview.environments.map((env) => (
            <EnvironmentCard project={project} env={env} selected={env.environment === detail?.environment} />
          ))}
        </div>
      )}
      {detail && <EnvironmentDetail {...props} detail={detail} />}
    </Page>
  );
}

function EnvironmentCard({ project, env, selected }: { project: string; env: MigrationEnvironment; selected: boolean }) {
  const href = `${projectPath(project, "migration")}?${new URLSearchParams({ env: env.environment })}`;
  return (
    <div class={`panel env-card${selected ? " env-selected" : ""}`} role="listitem">
      <a href={href} aria-current={selected ? "page" : undefined}>
        <strong>{env.environment}</strong>
      </a>
      <span class="meta">{`answers: ${env.authority}`}</span>
      <CriterionBadge env={env} />
      <span class="meta readiness">{readiness(env)}</span>
    </div>
  );
}

function CriterionBadge({ env }: { env: MigrationEnvironment }) {
  return env.status.met ? (
    <span class="badge added">exit criterion met</span>
  ) : (
    <span class="badge removed">{`exit criterion not met (${env.status.reasons.length})`}</span>
  );
}

function EnvironmentDetail(props: MigrationPageProps & { detail: Detail }) {
  const { detail } = props;
  const { criterion, status } = detail;
  return (
    <>
      <section class="panel" aria-labelledby="criterion-title" id="criterion">
        <h2 id="criterion-title">{`${detail.environment}: exit criterion`}</h2>
        <p>
          {`Answered by ${detail.authority === "edgeflags" ? "edgeflags" : "the legacy system"}`}
          {detail.since && (
            <>
              {" since "}
              <Relative at={detail.since} />
            </>
          )}
          {detail.authority === "edgeflags" && detail.graceUntil && (
            <>
              {"; applications keep comparing until "}
              <Relative at={detail.graceUntil} />
            </>
          )}
          .
        </p>
        <p class="meta">
          {`At most ${detail.criterion.maxMismatches} mismatches over at least ${criterion.minComparisons} comparisons in the last ${criterion.days} days, with comparisons seen for ${criterion.days} days or more.`}
        </p>
        <p>
          <CriterionBadge env={detail} />{" "}
          {`${status.compared} comparisons and ${status.mismatched} mismatches in the last ${criterion.days} days`}
          {status.firstSeen && (
            <>
              {"; first seen "}
              <Relative at={status.firstSeen} />
            </>
          )}
          {status.lastSeen && (
            <>
              {", last seen "}
              <Relative at={status.lastSeen} />
            </>
          )}
          .
        </p>
        {!status.met && (
          <ul class="plain-list" id="unmet-reasons" aria-label="Why the exit criterion is not met">
            {status.reasons.map((reason) => (
              <li>{reason}</li>
            ))}
          </ul>
        )}
        <Coverage detail={detail} />
      </section>
      <FlagTable {...props} />
      <Series detail={detail} />
      <Samples detail={detail} />
      <History environment={detail.environment} history={props.history} />
      <CutOver {...props} />
    </>
  );
}

/** What the window's comparisons cover of the environment: its flags never compared, and compared flags it lacks. */
function Coverage({ detail }: { detail: Detail }) {
  const { coverage, criterion } = detail;
  const listed = (list: { count: number; keys: string[] }) =>
    `${list.keys.join(", ")}${list.count > list.keys.length ? ` and ${list.count - list.keys.length} more` : ""}`;
  return (
    <div id="coverage">
      <p>
        {`${coverage.compared} of the ${coverage.flags} flags of ${detail.environment} were compared in the last ${criterion.days} days.`}
        {coverage.uncompared.count > 0 &&
          ` A cut-over makes edgeflags answer for the other ${coverage.uncompared.count} too, unverified by audit mode (or no code evaluates them any more).`}
      </p>
      {coverage.uncompared.count > 0 && (
        <details id="uncompared">
          <summary>{`${coverage.uncompared.count} flags not compared in the last ${criterion.days} days`}</summary>
          <p>
            <code>{listed(coverage.uncompared)}</code>
          </p>
        </details>
      )}
      {coverage.missing.count > 0 && (
        <p id="missing-flags" role="note">
          <span class="badge removed">{`${coverage.missing.count} compared flags are not in edgeflags`}</span>{" "}
          {"Applications evaluate them, but this environment does not hold them (not imported, or deleted since): "}
          <code>{listed(coverage.missing)}</code>
        </p>
      )}
    </div>
  );
}

function FlagTable(props: MigrationPageProps & { detail: Detail }) {
  const { detail, project } = props;
  const flags = worstFirst(detail.flags);
  return (
    <section class="panel" aria-labelledby="flags-title" id="flag-comparisons">
      <h2 id="flags-title">Comparisons per flag</h2>
      <form method="get" action={projectPath(project, "migration")} class="filters" aria-label="Narrow the series and samples to one flag">
        <input type="hidden" name="env" value={detail.environment} />
        <div class="field grow">
          <label for="migration-flag">
            Flag <span class="hint">(series and samples of one flag; all when empty)</span>
          </label>
          <input id="migration-flag" type="text" name="flag" value={props.flagFilter} spellcheck={false} autocomplete="off" />
        </div>
        <button type="submit">Show</button>
      </form>
      <p class="meta">{`Compared, mismatched and rate are all time; the exit criterion judges the last ${detail.criterion.days} days.`}</p>
      {flags.length === 0 ? (
        <p>No comparisons have been reported for this environment yet. Run the application with the audit-mode provider.</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <thead>
              <tr>
                <th scope="col">Flag</th>
                <th scope="col">{`Last ${detail.criterion.days} days`}</th>
                <th scope="col">Compared</th>
                <th scope="col">Mismatched</th>
                <th scope="col">Rate</th>
                <th scope="col">Last mismatch</th>
                <th scope="col">Seen</th>
              </tr>
            </thead>
            <tbody>
              {flags.map((flag) => (
                <tr data-flag={flag.flag}>
                  <td data-label="Flag">
                    <a href={`${projectPath(project, "migration")}?${new URLSearchParams({ env: detail.environment, flag: flag.flag })}`}>
                      <code class="flag-key">{flag.flag}</code>
                    </a>
                  </td>
                  <td data-label={`Last ${detail.criterion.days} days`}>
                    {flag.recent.mismatched > 0 ? (
                      <strong>{`${flag.recent.mismatched} of ${flag.recent.compared} differ`}</strong>
                    ) : (
                      `${flag.recent.compared} compared, none differ`
                    )}
                  </td>
                  <td data-label="Compared">{String(flag.compared)}</td>
                  <td data-label="Mismatched">{String(flag.mismatched)}</td>
                  <td data-label="Rate">{flag.mismatched > 0 ? <strong>{percent(flag.rate)}</strong> : percent(flag.rate)}</td>
                  <td data-label="Last mismatch">{flag.lastMismatchAt ? <Relative at={flag.lastMismatchAt} /> : "never"}</td>
                  <td data-label="Seen">
                    <Relative at={flag.firstSeen} />
                    {" – "}
                    <Relative at={flag.lastSeen} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

const CHART = { width: 720, height: 120, gap: 1 };

/** The mismatch rate hour by hour: a bar per hour (height = rate), and the numbers as a table. */
function Series({ detail }: { detail: Detail }) {
  const series = detail.series.slice(-168);
  if (series.length === 0) return null;
  const maxRate = Math.max(...series.map((h) => (h.compared ? h.mismatched / h.compared : 0)));
  const barWidth = CHART.width / series.length;
  const scale = maxRate > 0 ? maxRate : 1;
  const label = `Mismatch rate per hour over ${series.length} hours; highest ${percent(maxRate)}`;
  return (
    <section class="panel" aria-labelledby="series-title" id="series">
      <h2 id="series-title">Mismatch rate over time</h2>
      <svg
        viewBox={`0 0 ${CHART.width} ${CHART.height}`}
        width="100%"
        height={String(CHART.height)}
        role="img"
        aria-labelledby="series-svg-title"
      >
        <title id="series-svg-title">{label}</title>
        <line
          x1="0"
          y1={String(CHART.height - 0.5)}
          x2={String(CHART.width)}
          y2={String(CHART.height - 0.5)}
          stroke="currentColor"
          stroke-opacity="0.3"
        />
        {series.map((hour, i) => {
          const rate = hour.compared ? hour.mismatched / hour.compared : 0;
          const height = rate > 0 ? Math.max(2, (rate / scale) * (CHART.height - 4)) : 0;
          return (
            <rect
              x={(i * barWidth).toFixed(2)}
              y={(CHART.height - height).toFixed(2)}
              width={Math.max(1, barWidth - CHART.gap).toFixed(2)}
              height={height.toFixed(2)}
              fill="#b42318"
            >
              <title>{`${hour.hour}: ${hour.mismatched} of ${hour.compared} (${percent(rate)})`}</title>
            </rect>
          );
        })}
      </svg>
      <details>
        <summary>{`The ${series.length} hours as a table`}</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Hour (UTC)</th>
                <th scope="col">Compared</th>
                <th scope="col">Mismatched</th>
                <th scope="col">Rate</th>
              </tr>
            </thead>
            <tbody>
              {series.map((hour) => (
                <tr>
                  <td>{hour.hour}</td>
                  <td>{String(hour.compared)}</td>
                  <td>{String(hour.mismatched)}</td>
                  <td>{percent(hour.compared ? hour.mismatched / hour.compared : 0)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </section>
  );
}

/** A JSON value for a table cell. */
function show(value: unknown): string {
  return value === undefined ? "—" : JSON.stringify(value);
}

function Samples({ detail }: { detail: Detail }) {
  return (
    <section class="panel" aria-labelledby="samples-title" id="samples">
      <h2 id="samples-title">Sample mismatches</h2>
      {detail.samples.length === 0 ? (
        <p>No mismatches sampled.</p>
      ) : (
        <>
          <p class="meta">The latest mismatches per flag. Targeting keys are stored only as their SHA-256.</p>
          <div class="table-wrap">
            <table class="cards">
              <thead>
                <tr>
                  <th scope="col">Flag</th>
                  <th scope="col">When</th>
                  <th scope="col">Targeting key (SHA-256)</th>
                  <th scope="col">Context</th>
                  <th scope="col">Legacy answered</th>
                  <th scope="col">edgeflags answered</th>
                </tr>
              </thead>
              <tbody>
                {detail.samples.map((sample) => {
                  const { targetingKeyHash, ...context } = sample.context;
                  const hash = typeof targetingKeyHash === "string" ? targetingKeyHash : null;
                  const edge = sample.edgeflags;
                  return (
                    <tr>
                      <td data-label="Flag">
                        <code class="flag-key">{sample.flag}</code>
                      </td>
                      <td data-label="When">
                        <Relative at={sample.at} />
                      </td>
                      <td data-label="Targeting key">{hash ? <code title={hash}>{`${hash.slice(0, 12)}…`}</code> : "none"}</td>
                      <td data-label="Context">
                        <code>{Object.keys(context).length ? JSON.stringify(context) : "{}"}</code>
                      </td>
                      <td data-label="Legacy answered">
                        <code>{show(sample.legacy.value)}</code>
                        {sample.legacy.variant && <span class="meta">{` (${sample.legacy.variant})`}</span>}
                      </td>
                      <td data-label="edgeflags answered">
                        {edge.errorCode ? <span class="badge removed">{`error ${edge.errorCode}`}</span> : null}
                        {edge.value !== undefined && <code>{show(edge.value)}</code>}
                        {edge.variant && <span class="meta">{` (${edge.variant})`}</span>}
                        {edge.reason && <span class="meta">{` ${edge.reason}`}</span>}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

/** Every cut-over and cut back of the environment: when, who, which way, overridden or not, why. */
function History({ environment, history }: { environment: string; history: CutOverRecord[] | null }) {
  return (
    <section class="panel" aria-labelledby="history-title" id="cut-over-history">
      <h2 id="history-title">{`Cut-overs of ${environment}`}</h2>
      {history === null ? (
        <p class="notice error">The audit log could not be read; the history of cut-overs is not shown. Reload to try again.</p>
      ) : history.length === 0 ? (
        <p>{`${environment} has never been cut over: the legacy system answers.`}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Answers from</th>
                <th scope="col">By</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {history.map((record) => (
                <tr data-cut-over={record.to}>
                  <td data-label="When">
                    <Relative at={record.at} />
                  </td>
                  <td data-label="Answers from">
                    {`${record.from} → ${record.to}`}
                    {record.overridden && <span class="badge removed"> criterion overridden</span>}
                  </td>
                  <td data-label="By">{record.by}</td>
                  <td data-label="Reason">{record.reason ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function CutOver(props: MigrationPageProps & { detail: Detail }) {
  const { detail, project } = props;
  const other = detail.authority === "edgeflags" ? "legacy" : "edgeflags";
  const form: CutOverForm = props.form ?? { authority: other, reason: "", graceDays: "14", override: false, error: null };
  const unmet = !detail.status.met;
  return (
    <section class="panel" aria-labelledby="cutover-title" id="cut-over">
      <h2 id="cutover-title">{`Cut ${detail.environment} over`}</h2>
      <p class="meta">
        The decision is recorded in the audit log with the criterion and its status, and whether it was overridden. Cutting back to the
        legacy system is always possible.
      </p>
      {form.error && (
        <div class="notice error" role="alert" id="cutover-error">
          {form.error}
        </div>
      )}
      <PostForm
        needs="admin"
        env={detail.environment}
        action={projectPath(project, "migration/cut-over")}
        data-confirm={`Change which system answers for ${detail.environment}? Applications follow within a minute.`}
      >
        <input type="hidden" name="env" value={detail.environment} />
        <div class="field">
          <label for="cutover-authority">Answers come from</label>
          <select id="cutover-authority" name="authority">
            <option value="edgeflags" selected={form.authority === "edgeflags"}>
              edgeflags
            </option>
            <option value="legacy" selected={form.authority === "legacy"}>
              the legacy system
            </option>
          </select>
        </div>
        <div class="field">
          <label for="cutover-grace">
            Grace period in days <span class="hint">(applications keep comparing after a cut-over to edgeflags)</span>
          </label>
          <input id="cutover-grace" type="number" name="graceDays" min="0" max="365" value={form.graceDays} />
        </div>
        <div class="field">
          <label for="cutover-reason">
            Reason <span class="hint">(kept in the audit log)</span>
          </label>
          <input id="cutover-reason" type="text" name="reason" maxlength={1000} value={form.reason} required />
        </div>
        {unmet && (
          <fieldset id="override">
            <legend>The exit criterion is not met</legend>
            <p>{detail.status.reasons.join("; ")}.</p>
            <label class="check">
              <input type="checkbox" name="override" value="yes" checked={form.override} aria-describedby="override-hint" />
              {`Override: cut ${detail.environment} over to edgeflags although the criterion is not met`}
            </label>
            <p class="hint" id="override-hint">
              Recorded as overridden, with your name, in the audit log. Without it a cut-over to edgeflags is refused.
            </p>
          </fieldset>
        )}
        <button type="submit" class="danger">
          Cut over
        </button>
      </PostForm>
    </section>
  );
}
