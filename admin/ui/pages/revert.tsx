/**
 * Reverting one change from the audit log: the flag as it is now against how it was before that
 * change, what else the revert undoes, and a confirmation with a reason. Nothing is written until
 * the form is posted, and the post is refused (412) if the flag changed in between.
 */
import type { Session } from "../../session";
import { Page, When, projectPath, type Notice } from "../layout";
import { PostForm } from "../offer";
import type { AuditEntryView } from "../../../contracts/admin-responses";
import { DiffList } from "./audit";

export interface RevertPageProps {
  session: Session;
  project: string;
  entry: AuditEntryView;
  flag: string;
  environment: string;
  /** The flag's version now, which the revert sends as If-Match. */
  version: number;
  current: unknown;
  restored: unknown;
  /** Changes to the flag after this entry, which the revert undoes too. */
  later: number;
  reason: string;
  error?: string | null;
  notice?: Notice | null;
}

export function RevertPage(props: RevertPageProps) {
  const { entry } = props;
  const flagLink = `${projectPath(props.project, `flags/${encodeURIComponent(props.flag)}`)}?env=${encodeURIComponent(props.environment)}`;
  const same = JSON.stringify(props.current) === JSON.stringify(props.restored);
  return (
    <Page
      title={`Revert #${entry.seq} · ${props.project}`}
      session={props.session}
      project={props.project}
      section="audit"
      notice={props.notice ?? null}
    >
      <p class="meta">
        <a href={projectPath(props.project, "audit")}>← Audit log</a>
      </p>
      <h1>
        {"Revert a change to "}
        <a href={flagLink} class="flag-key">
          {props.flag}
        </a>
        {` in ${props.environment}`}
      </h1>
      <p>
        {`Change #${entry.seq} (${entry.action}) by ${entry.actor}, `}
        <When at={entry.at} />
        {entry.reason ? `: "${entry.reason}"` : ""}
      </p>
      {props.error && (
        <div class="notice error" role="alert" id="revert-error">
          {props.error}
        </div>
      )}
      {same ? (
        <div class="notice ok" role="status" id="revert-nothing">
          {`Nothing to revert: ${props.flag} in ${props.environment} is already as it was before this change.`}
        </div>
      ) : (
        <section class="panel" aria-labelledby="revert-title">
          <h2 id="revert-title">What the revert changes</h2>
          <p>{`${props.flag} in ${props.environment} goes back to how it was before change #${entry.seq}: its state, variants, default, off variant and rules. Individual targets stay as they are now.`}</p>
          {props.later > 0 && (
            <div class="notice warn" role="status" id="revert-later">
              {`It has changed ${props.later} more time${props.later === 1 ? "" : "s"} since: the revert undoes ${props.later === 1 ? "that change" : "those changes"} to these fields too. Check the lines below.`}
            </div>
          )}
          <p class="meta">Now → after the revert</p>
          <DiffList before={props.current} after={props.restored} />
          <PostForm
            env={props.environment}
            action={projectPath(props.project, `audit/${entry.seq}/revert`)}
            id="revert-form"
            data-confirm={`Revert ${props.flag} in ${props.environment} to how it was before change #${entry.seq}?`}
          >
            <input type="hidden" name="version" value={String(props.version)} />
            <div class="field">
              <label for="revert-reason">
                Reason <span class="hint">(kept in the audit log)</span>
              </label>
              <input type="text" id="revert-reason" name="reason" value={props.reason} required />
            </div>
            <button type="submit" class="danger">{`Revert ${props.flag} in ${props.environment}`}</button>
          </PostForm>
        </section>
      )}
    </Page>
  );
}
