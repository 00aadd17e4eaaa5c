/** The audit log: newest first, filters, a readable before/after diff per entry, chain status. */
import type { AuditEntryView } from "../api";
import type { Session } from "../../session";
import { diffJson, summarizeDiff } from "../diff";
import { Page, When, projectPath, type Notice } from "../layout";

export interface AuditFilterForm {
  environment: string;
  flag: string;
  actor: string;
  since: string;
  until: string;
}

export interface AuditPageProps {
  session: Session;
  project: string;
  environments: string[];
  filter: AuditFilterForm;
  entries: AuditEntryView[];
  nextCursor: number | null;
  verify: { ok: boolean; entries: number; brokenAt?: number | undefined; detail?: string | undefined } | null;
  notice: Notice | null;
}

const ACTIONS: Record<string, string> = {
  "flag.created": "created",
  "flag.updated": "edited",
  "flag.enabled": "turned on",
  "flag.disabled": "turned off",
  "flag.deleted": "deleted",
  "flag.info.updated": "edited the description of",
  "flagset.replaced": "replaced the flag set of",
  "flags.promoted": "promoted flags to",
  "key.created": "created",
  "key.revoked": "revoked",
  "key.rotated": "rotated",
  "project.created": "created",
  "project.updated": "changed the environments of",
};

export function AuditPage(props: AuditPageProps) {
  const { filter } = props;
  const path = projectPath(props.project, "audit");
  return (
    <Page title={`Audit log · ${props.project}`} session={props.session} project={props.project} section="audit" notice={props.notice}>
      <div class="page-head">
        <div>
          <h1>Audit log</h1>
          <p>Every change to {props.project}, newest first.</p>
        </div>
        {props.verify &&
          (props.verify.ok ? (
            <div class="notice ok" role="status" id="chain-status">
              {`Hash chain verified: all ${props.verify.entries} entries intact.`}
            </div>
          ) : (
            <div class="notice error" role="alert" id="chain-status">
              {`Hash chain broken at entry ${props.verify.brokenAt}: ${props.verify.detail}`}
            </div>
          ))}
      </div>
      <form method="get" action={path} class="filters panel" aria-label="Filter the audit log">
        <div class="field">
          <label for="a-env">Environment</label>
          <select id="a-env" name="environment">
            <option value="">All</option>
            {props.environments.map((env) => (
              <option value={env} selected={env === filter.environment}>
                {env}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="a-flag">Flag</label>
          <input id="a-flag" type="text" name="flag" value={filter.flag} autocomplete="off" spellcheck={false} />
        </div>
        <div class="field">
          <label for="a-actor">Actor</label>
          <input
            id="a-actor"
            type="text"
            name="actor"
            value={filter.actor}
            placeholder="key:… or token:bootstrap"
            autocomplete="off"
            spellcheck={false}
          />
        </div>
        <div class="field">
          <label for="a-since">
            From <span class="hint">(UTC)</span>
          </label>
          <input id="a-since" type="datetime-local" name="since" value={filter.since} />
        </div>
        <div class="field">
          <label for="a-until">
            Until <span class="hint">(UTC)</span>
          </label>
          <input id="a-until" type="datetime-local" name="until" value={filter.until} />
        </div>
        <button type="submit">Filter</button>
        <a class="button" href={path}>
          Clear
        </a>
      </form>
      <section class="panel" aria-label="Entries" id="audit-entries">
        {props.entries.length === 0 && <p>No entries match.</p>}
        {props.entries.map((entry) => (
          <article class="audit-entry" aria-label={`Entry ${entry.seq}`}>
            <div class="audit-head">
              <strong>{entry.actor}</strong>
              <span>
                {ACTIONS[entry.action] ?? entry.action} <code>{entry.target}</code>
                {entry.environment && (
                  <>
                    {" "}
                    in <strong>{entry.environment}</strong>
                  </>
                )}
              </span>
              <span class="meta">
                <When at={entry.at} />
                {entry.version !== null ? ` · v${entry.version}` : ""} · #{entry.seq}
              </span>
            </div>
            {entry.reason ? <p class="reason">{`Reason: ${entry.reason}`}</p> : <p class="reason meta">No reason given</p>}
            <DiffList before={entry.before} after={entry.after} />
            {REVERTIBLE_ACTIONS.has(entry.action) && entry.environment !== null && entry.target.startsWith("flag:") && (
              <p>
                <a href={projectPath(props.project, `audit/${entry.seq}/revert`)}>{`Revert change #${entry.seq}…`}</a>
              </p>
            )}
          </article>
        ))}
      </section>
      {props.nextCursor !== null && (
        <nav class="pager" aria-label="Pages">
          <span></span>
          <a href={`${path}?${cursorQuery(filter, props.nextCursor)}`} rel="next">
            Older entries →
          </a>
        </nav>
      )}
    </Page>
  );
}

const MAX_LINES = 40;

/** Audit actions whose `before` is the whole flag, so the flag can be put back as it was (`routes/revert.tsx`). */
export const REVERTIBLE_ACTIONS: ReadonlySet<string> = new Set(["flag.updated", "flag.enabled", "flag.disabled"]);

/** `path: before → after`, one line per changed leaf. */
export function DiffList({ before, after }: { before: unknown; after: unknown }) {
  const detailed = diffJson(before, after);
  if (detailed.length === 0) return null;
  const lines = detailed.length > MAX_LINES ? summarizeDiff(detailed, 2) : detailed;
  return (
    <ul class="diff" aria-label="Changes">
      {lines.slice(0, MAX_LINES).map((line) => (
        <li>
          <span>{`${line.path}: `}</span>
          {line.before === null && line.after === null && (
            <span class={line.change === "added" ? "added" : line.change === "removed" ? "removed" : undefined}>{line.change}</span>
          )}
          {line.before !== null && <del aria-label={`was ${line.before}`}>{line.before}</del>}
          {line.before !== null && line.after !== null && " → "}
          {line.after !== null && <ins aria-label={`now ${line.after}`}>{line.after}</ins>}
        </li>
      ))}
      {lines.length > MAX_LINES && <li class="meta">{`… and ${lines.length - MAX_LINES} more changes`}</li>}
    </ul>
  );
}

function cursorQuery(filter: AuditFilterForm, cursor: number): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) if (value) params.set(key, value);
  params.set("cursor", String(cursor));
  return params.toString();
}
