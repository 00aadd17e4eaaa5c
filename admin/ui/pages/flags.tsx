/** The flags list: every environment's state side by side, search and filters, paged on the server. */
import type { Session } from "../../session";
import { Page, StatePill, When, projectPath, type Notice } from "../layout";
import { showValue, type FlagRow, type ListFilter } from "../model";
import { ToggleDialog } from "./basic";
import { whenKilled, type KillableFlag } from "./widgets";
import { useAllows } from "../offer";
import { allows } from "../roles";
import { describeTargeting, type SegmentWords } from "../describe";

export interface FlagsPageProps {
  session: Session;
  project: string;
  environments: string[];
  environment: string;
  filter: ListFilter;
  tags: string[];
  rows: FlagRow[];
  total: number;
  matched: number;
  /** How many flags carry a stale marker, and the window it is based on. */
  staleCount: number;
  staleDays: number;
  page: number;
  pages: number;
  notice: Notice | null;
  /** How segments named in rules are described. */
  segments?: SegmentWords;
}

export function FlagsPage(props: FlagsPageProps) {
  const { project, environments, environment, filter } = props;
  const listPath = projectPath(project, "flags");
  return (
    <Page title={`Flags · ${project}`} session={props.session} project={project} section="flags" notice={props.notice}>
      <div class="page-head">
        <div>
          <h1>Flags</h1>
          <p>
            {props.total} flags in <strong>{project}</strong>, across {environments.length} environments
          </p>
        </div>
        <form method="get" action={listPath} class="row">
          {allows(props.session, "edit", null) && (
            <a class="button primary" href={projectPath(project, "new-flag")}>
              New flag
            </a>
          )}
          <div class="field">
            <label for="env-switch">Environment</label>
            <select id="env-switch" name="env" data-autosubmit>
              {environments.map((env) => (
                <option value={env} selected={env === environment}>
                  {env}
                </option>
              ))}
            </select>
          </div>
          <noscript>
            <button type="submit">Switch</button>
          </noscript>
        </form>
      </div>

      <form method="get" action={listPath} class="filters panel" role="search" aria-label="Filter flags" data-live>
        <input type="hidden" name="env" value={environment} />
        <div class="field grow">
          <label for="q">Search</label>
          <input
            id="q"
            type="search"
            name="q"
            value={filter.q}
            placeholder="key, description, owner or tag"
            autocomplete="off"
            spellcheck={false}
          />
        </div>
        <div class="field">
          <label for="tag">Tag</label>
          <select id="tag" name="tag">
            <option value="">Any tag</option>
            {props.tags.map((tag) => (
              <option value={tag} selected={tag === filter.tag}>
                {tag}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="state">{`State in ${environment}`}</label>
          <select id="state" name="state">
            <option value="">Any state</option>
            <option value="on" selected={filter.state === "on"}>
              On
            </option>
            <option value="off" selected={filter.state === "off"}>
              Off
            </option>
            <option value="absent" selected={filter.state === "absent"}>
              Absent
            </option>
          </select>
        </div>
        <div class="field check">
          <input id="stale" type="checkbox" name="stale" value="1" checked={filter.stale} />
          <label for="stale">{`Only stale (${props.staleCount})`}</label>
        </div>
        <button type="submit">Filter</button>
      </form>

      <section id="results" aria-label="Flags">
        <p class="meta" role="status">
          {props.matched === props.total ? `${props.total} flags` : `${props.matched} of ${props.total} flags match`}
          {props.pages > 1 && ` · page ${props.page} of ${props.pages}`}
        </p>
        {props.rows.length === 0 ? (
          <div class="panel">No flag matches. Clear the search or pick another tag or state.</div>
        ) : (
          <div class="table-wrap">
            <table class="cards">
              <caption class="visually-hidden">{`Flags of ${project}; state per environment, ${environment} highlighted`}</caption>
              <thead>
                <tr>
                  <th scope="col">Flag</th>
                  {environments.map((env) => (
                    <th scope="col" class={env === environment ? "env-selected" : undefined}>
                      {env}
                    </th>
                  ))}
                  <th scope="col">{`Serves in ${environment}`}</th>
                  <th scope="col">{`Last evaluated in ${environment}`}</th>
                  <th scope="col">Last change</th>
                </tr>
              </thead>
              <tbody>
                {props.rows.map((row) => (
                  <FlagRowView
                    row={row}
                    project={project}
                    environments={environments}
                    environment={environment}
                    segments={props.segments ?? {}}
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
        {props.pages > 1 && (
          <nav class="pager" aria-label="Pages">
            {props.page > 1 ? (
              <a href={pageLink(listPath, environment, filter, props.page - 1)} rel="prev">
                ← Previous
              </a>
            ) : (
              <span></span>
            )}
            <span class="meta">{`Page ${props.page} of ${props.pages}`}</span>
            {props.page < props.pages ? (
              <a href={pageLink(listPath, environment, filter, props.page + 1)} rel="next">
                Next →
              </a>
            ) : (
              <span></span>
            )}
          </nav>
        )}
      </section>
      <ToggleDialog />
    </Page>
  );
}

function FlagRowView({
  row,
  project,
  environments,
  environment,
  segments,
}: {
  row: FlagRow;
  project: string;
  environments: string[];
  environment: string;
  segments: SegmentWords;
}) {
  const selected = row.byEnv.get(environment);
  const detail = projectPath(project, `flags/${encodeURIComponent(row.key)}?env=${encodeURIComponent(environment)}`);
  return (
    <tr>
      <td>
        <a class="flag-key" href={detail}>
          {row.key}
        </a>
        {row.stale.length > 0 && <StaleMarker reasons={row.stale} />}
        {row.description && <div class="desc">{row.description}</div>}
        {(row.tags.length > 0 || row.owner) && (
          <div>
            {row.owner && <span class="meta">{`owner ${row.owner} `}</span>}
            {row.tags.map((tag) => (
              <span class="tag">{tag}</span>
            ))}
          </div>
        )}
      </td>
      {environments.map((env) => (
        <td data-label={env} class={env === environment ? "env-selected" : undefined}>
          <ToggleLink project={project} flag={row.key} environment={env} record={row.byEnv.get(env)} />
        </td>
      ))}
      <td data-label="Serves">
        {selected ? (
          selected.state === "DISABLED" ? (
            <span class="meta">{`off: ${whenKilled(selected).replace(/^Callers/, "callers")}`}</span>
          ) : (
            <>
              <code>{selected.defaultVariant ?? "(no default)"}</code>
              {selected.defaultVariant ? <span class="meta">{` = ${showValue(selected.variants[selected.defaultVariant])}`}</span> : null}
              {hasRules(selected) && <RuleLines lines={describeTargeting({ ...selected, state: "ENABLED" }, segments)} />}
            </>
          )
        ) : (
          <span class="meta">—</span>
        )}
      </td>
      <td data-label="Last evaluated">
        {row.lastEvaluatedAt ? (
          <span class="meta">
            <When at={row.lastEvaluatedAt} />
            {` · ${row.evaluations} evaluations`}
          </span>
        ) : (
          <span class="meta">never seen</span>
        )}
      </td>
      <td data-label="Last change">
        {selected ? (
          <span class="meta">
            <When at={selected.updatedAt} /> by {selected.updatedBy}
          </span>
        ) : (
          <span class="meta">—</span>
        )}
      </td>
    </tr>
  );
}

/** Whether a flag serves anything but its default variant to everyone (then its rules are worth reading). */
export function hasRules(flag: {
  targeting?: unknown;
  targets?: Record<string, string[]> | undefined;
  prerequisites?: unknown[] | undefined;
}): boolean {
  const t = flag.targeting;
  const blank = t === undefined || t === null || (typeof t === "object" && !Array.isArray(t) && Object.keys(t).length === 0);
  return !blank || Object.keys(flag.targets ?? {}).length > 0 || (flag.prerequisites?.length ?? 0) > 0;
}

/** A flag's rules in plain words (`describeTargeting`), one per line. */
export function RuleLines({ lines }: { lines: string[] }) {
  if (lines.length === 0) return null;
  return (
    <ul class="rule-lines">
      {lines.map((line) => (
        <li>{line}</li>
      ))}
    </ul>
  );
}

/** A "stale" marker; the reasons are in its text for screen readers and on hover. */
export function StaleMarker({ reasons }: { reasons: string[] }) {
  return (
    <span class="stale" title={reasons.join("; ")}>
      stale<span class="visually-hidden">{`: ${reasons.join("; ")}`}</span>
    </span>
  );
}

/** A state pill that leads to the toggle confirmation (a dialog with the script, a page without). */
export function ToggleLink({
  project,
  flag,
  environment,
  record,
}: {
  project: string;
  flag: string;
  environment: string;
  record: ({ state: "ENABLED" | "DISABLED"; version: number } & KillableFlag) | undefined;
}) {
  if (!record) return <StatePill state={null} />;
  if (!useAllows("edit", environment)) return <StatePill state={record.state} />;
  const next = record.state === "ENABLED" ? "DISABLED" : "ENABLED";
  const action = projectPath(project, `flags/${encodeURIComponent(flag)}/toggle`);
  const on = record.state === "ENABLED";
  return (
    <a
      class={`switch ${on ? "on" : "off"}`}
      href={`${action}?env=${encodeURIComponent(environment)}`}
      data-toggle
      data-action={action}
      data-flag={flag}
      data-env={environment}
      data-next={next}
      data-version={String(record.version)}
      data-killed={on ? `When it is off: ${whenKilled(record)}` : ""}
      aria-label={`${flag} is ${on ? "on" : "off"} in ${environment}; ${on ? "turn off" : "turn on"}`}
    >
      {on ? "on" : "off"}
    </a>
  );
}

function pageLink(path: string, environment: string, filter: ListFilter, page: number): string {
  const params = new URLSearchParams({ env: environment });
  if (filter.q) params.set("q", filter.q);
  if (filter.tag) params.set("tag", filter.tag);
  if (filter.state) params.set("state", filter.state);
  if (filter.stale) params.set("stale", "1");
  params.set("page", String(page));
  return `${path}?${params}`;
}
