/** Scheduled changes of one environment: what will change when, what did, what failed and why; schedule one, cancel one. */
import type { Session } from "../../session";
import { Page, When, projectPath, type Notice } from "../layout";
import type { ScheduleInfo } from "../../../contracts/approvals";
import { ActionButton, Errors, invalid } from "./widgets";
import { EnvironmentTabs } from "./environment-tabs";
import { PostForm, useAllows } from "../offer";

export interface ScheduleForm {
  kind: string;
  flag: string;
  /** The state, the variant, the targeting JSON or the change request's id, by kind. */
  value: string;
  /** `YYYY-MM-DDTHH:MM` (or with `:SS`), in UTC. */
  at: string;
  reason: string;
}

export interface SchedulesPageProps {
  session: Session;
  project: string;
  environments: string[];
  environment: string;
  schedules: ScheduleInfo[];
  form: ScheduleForm;
  errors: Record<string, string[]>;
  notice: Notice | null;
}

/** A scheduled change in words. */
export function describeChange(change: ScheduleInfo["change"]): string {
  switch (change.kind) {
    case "state":
      return `turn ${change.flag} ${change.state === "ENABLED" ? "on" : "off"}`;
    case "default-variant":
      return `serve ${change.variant} by default on ${change.flag}`;
    case "targeting":
      return `replace ${change.flag}'s targeting`;
    case "change-request":
      return `apply change request ${change.id}`;
  }
}

export function SchedulesPage(props: SchedulesPageProps) {
  const path = projectPath(props.project, "schedules");
  return (
    <Page title={`Schedules · ${props.project}`} session={props.session} project={props.project} section="schedules" notice={props.notice}>
      <div class="page-head">
        <div>
          <h1>Scheduled changes</h1>
          <p>Changes the store applies once at their time, audited as the scheduler on behalf of whoever scheduled them.</p>
        </div>
      </div>
      <EnvironmentTabs path={path} environments={props.environments} current={props.environment} />
      {props.schedules.length === 0 ? (
        <p class="panel" id="no-schedules">{`${props.environment} has no scheduled changes.`}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards" id="schedules">
            <thead>
              <tr>
                <th scope="col">When (UTC)</th>
                <th scope="col">Change</th>
                <th scope="col">Status</th>
                <th scope="col">By</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {props.schedules.map((s) => (
                <tr id={s.id} data-status={s.status}>
                  <td data-label="When">
                    <When at={s.at} />
                  </td>
                  <td data-label="Change">
                    {describeChange(s.change)}
                    <span class="meta">{` — ${s.reason}`}</span>
                  </td>
                  <td data-label="Status">
                    {s.status}
                    {s.failure ? `: ${s.failure}` : ""}
                    {s.appliedVersion !== null ? ` (version ${s.appliedVersion})` : ""}
                  </td>
                  <td data-label="By">{s.createdBy}</td>
                  <td>
                    {s.status === "pending" && (
                      <ActionButton
                        action={`${path}/${s.id}/cancel`}
                        label="Cancel"
                        kind="danger"
                        hidden={{ env: props.environment }}
                        ariaLabel={`Cancel: ${describeChange(s.change)}`}
                        confirm="Cancel this scheduled change?"
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ScheduleFormPanel {...props} />
    </Page>
  );
}

/** The form that schedules a change: drawn only for a role that may change this environment. */
function ScheduleFormPanel(props: SchedulesPageProps) {
  const path = projectPath(props.project, "schedules");
  const { form, errors } = props;
  if (!useAllows("edit", props.environment)) return null;
  return (
    <section class="panel" aria-labelledby="schedule-title">
      <h2 id="schedule-title">Schedule a change</h2>
      <PostForm env={props.environment} action={path}>
        <input type="hidden" name="env" value={props.environment} />
        {errors["form"] && (
          <div class="notice error" role="alert" id="schedule-error">
            {errors["form"].join("; ")}
          </div>
        )}
        <div class="field">
          <label for="schedule-kind">What</label>
          <select id="schedule-kind" name="kind">
            {[
              ["state", "Turn a flag on or off (value: on / off)"],
              ["default-variant", "Change the default variant (value: the variant)"],
              ["targeting", "Replace the targeting (value: JSON)"],
              ["change-request", "Apply a change request once approved (value: its id)"],
            ].map(([value, label]) => (
              <option value={value} selected={form.kind === value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="schedule-flag">
            Flag key <span class="hint">(not needed for a change request)</span>
          </label>
          <input id="schedule-flag" type="text" name="flag" value={form.flag} {...invalid("schedule-flag", errors["flag"])} />
          <Errors id="schedule-flag-error" messages={errors["flag"]} />
        </div>
        <div class="field">
          <label for="schedule-value">Value</label>
          <textarea id="schedule-value" class="code" name="value" spellcheck={false} {...invalid("schedule-value", errors["value"])}>
            {form.value}
          </textarea>
          <Errors id="schedule-value-error" messages={errors["value"]} />
        </div>
        <div class="field">
          <label for="schedule-at">
            At <span class="hint">(UTC)</span>
          </label>
          <input
            id="schedule-at"
            type="datetime-local"
            name="at"
            step="1"
            required
            value={form.at}
            {...invalid("schedule-at", errors["at"])}
          />
          <Errors id="schedule-at-error" messages={errors["at"]} />
        </div>
        <div class="field">
          <label for="schedule-reason">
            Reason <span class="hint">(kept in the audit log)</span>
          </label>
          <input
            id="schedule-reason"
            type="text"
            name="reason"
            required
            value={form.reason}
            maxlength={1000}
            {...invalid("schedule-reason", errors["reason"])}
          />
          <Errors id="schedule-reason-error" messages={errors["reason"]} />
        </div>
        <button type="submit" class="primary">
          Schedule
        </button>
      </PostForm>
    </section>
  );
}
