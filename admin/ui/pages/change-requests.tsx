/**
 * Change requests of one environment: open one (a flag's new definition, or its deletion), read
 * each diff, and approve, reject, rebase or withdraw. The buttons a person cannot use are not
 * offered (no approving one's own request); the admin API decides the rest and its refusal,
 * a 409 "rebase" among them, is shown as it says.
 */
import type { Session } from "../../session";
import { Page, When, projectPath, type Notice } from "../layout";
import type { ChangeRequestInfo } from "../../../contracts/approvals";
import { ActionButton, Errors, invalid } from "./widgets";
import { EnvironmentTabs } from "./environment-tabs";

export interface ChangeRequestForm {
  flag: string;
  /** The flag's new definition as JSON; empty to delete the flag. */
  definition: string;
  reason: string;
}

export interface ChangeRequestsPageProps {
  session: Session;
  project: string;
  environments: string[];
  environment: string;
  /** Whether the environment requires approval (and exempts the kill switch). */
  protection: { requireApproval: boolean; killSwitchExempt: boolean } | null;
  requests: ChangeRequestInfo[];
  /** The signed-in identity as the audit log names it (`key:<id>`, `token:bootstrap`). */
  me: string;
  form: ChangeRequestForm;
  errors: Record<string, string[]>;
  notice: Notice | null;
}

function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <div>
      <h4>{label}</h4>
      {value === null ? <p class="meta">(none)</p> : <pre class="code">{JSON.stringify(value, null, 2)}</pre>}
    </div>
  );
}

function Request({ request, path, me, env }: { request: ChangeRequestInfo; path: string; me: string; env: string }) {
  const open = request.status === "open" || request.status === "approved";
  const mine = request.requestedBy === me;
  const stale = request.baseVersion !== request.currentVersion;
  const hidden = { env };
  return (
    <section class="panel" aria-labelledby={`cr-${request.id}`} id={request.id} data-status={request.status}>
      <h2 id={`cr-${request.id}`}>
        {request.flags.map((f) => `${f.change} ${f.key}`).join(", ")}
        {` · ${request.status}`}
      </h2>
      <dl class="facts">
        <dt>Why</dt>
        <dd>{request.reason}</dd>
        <dt>Requested</dt>
        <dd>
          <When at={request.requestedAt} />
          {` by ${request.requestedBy}, on version ${request.baseVersion}`}
          {stale && open ? ` (the environment is now at ${request.currentVersion}: rebase before approving)` : ""}
        </dd>
        {request.decidedBy && (
          <>
            <dt>Decided</dt>
            <dd>
              {`${request.status} by ${request.decidedBy}`}
              {request.decisionReason ? `: ${request.decisionReason}` : ""}
            </dd>
          </>
        )}
        {request.appliedVersion !== null && (
          <>
            <dt>Applied</dt>
            <dd>{`as version ${request.appliedVersion}`}</dd>
          </>
        )}
        {request.scheduledFor.length > 0 && (
          <>
            <dt>Scheduled</dt>
            <dd>
              {request.scheduledFor.map((s) => (
                <When at={s.at} />
              ))}
            </dd>
          </>
        )}
      </dl>
      {request.flags.map((flag) => (
        <div class="diff">
          <h3>
            <code>{flag.key}</code>
            {` (${flag.change})`}
          </h3>
          <div class="row">
            <Json value={flag.before} label="Before" />
            <Json value={flag.after} label="After" />
          </div>
        </div>
      ))}
      {open && (
        <div class="row tight">
          {!mine && !stale && request.status === "open" && (
            <ActionButton action={`${path}/${request.id}/approve`} label="Approve and apply" kind="primary" small={false} hidden={hidden} />
          )}
          {stale && <ActionButton action={`${path}/${request.id}/rebase`} label="Rebase" small={false} hidden={hidden} />}
          {!mine && (
            <form method="post" action={`${path}/${request.id}/reject`} class="inline">
              <input type="hidden" name="env" value={env} />
              <label for={`reject-${request.id}`}>Reason</label>
              <input id={`reject-${request.id}`} type="text" name="reason" required maxlength={1000} />
              <button type="submit" class="danger">
                Reject
              </button>
            </form>
          )}
          {mine && (
            <ActionButton
              action={`${path}/${request.id}/withdraw`}
              label="Withdraw"
              kind="danger"
              small={false}
              hidden={hidden}
              confirm="Withdraw this change request?"
            />
          )}
        </div>
      )}
    </section>
  );
}

export function ChangeRequestsPage(props: ChangeRequestsPageProps) {
  const path = projectPath(props.project, "change-requests");
  const { form, errors } = props;
  return (
    <Page
      title={`Change requests · ${props.project}`}
      session={props.session}
      project={props.project}
      section="change-requests"
      notice={props.notice}
    >
      <div class="page-head">
        <div>
          <h1>Change requests</h1>
          <p>
            {props.protection?.requireApproval
              ? `${props.environment} requires approval: a change is applied when another person approves it${props.protection.killSwitchExempt ? " (the kill switch stays direct)" : ""}.`
              : `${props.environment} does not require approval; a change request is still a way to ask for review.`}
          </p>
        </div>
      </div>
      <EnvironmentTabs path={path} environments={props.environments} current={props.environment} />
      {props.requests.length === 0 ? (
        <p class="panel" id="no-change-requests">{`${props.environment} has no change requests.`}</p>
      ) : (
        props.requests.map((request) => <Request request={request} path={path} me={props.me} env={props.environment} />)
      )}
      <section class="panel" aria-labelledby="open-cr-title">
        <h2 id="open-cr-title">Open a change request</h2>
        <form method="post" action={path}>
          <input type="hidden" name="env" value={props.environment} />
          {errors["form"] && (
            <div class="notice error" role="alert" id="cr-error">
              {errors["form"].join("; ")}
            </div>
          )}
          <div class="field">
            <label for="cr-flag">Flag key</label>
            <input id="cr-flag" type="text" name="flag" required value={form.flag} {...invalid("cr-flag", errors["flag"])} />
            <Errors id="cr-flag-error" messages={errors["flag"]} />
          </div>
          <div class="field">
            <label for="cr-definition">
              New definition <span class="hint">(flagd JSON; empty to delete the flag)</span>
            </label>
            <textarea
              id="cr-definition"
              class="code"
              name="definition"
              spellcheck={false}
              {...invalid("cr-definition", errors["definition"])}
            >
              {form.definition}
            </textarea>
            <Errors id="cr-definition-error" messages={errors["definition"]} />
          </div>
          <div class="field">
            <label for="cr-reason">
              Reason <span class="hint">(the approver reads it)</span>
            </label>
            <input
              id="cr-reason"
              type="text"
              name="reason"
              required
              value={form.reason}
              maxlength={1000}
              {...invalid("cr-reason", errors["reason"])}
            />
            <Errors id="cr-reason-error" messages={errors["reason"]} />
          </div>
          <button type="submit" class="primary">
            Request the change
          </button>
        </form>
      </section>
    </Page>
  );
}
