/** Triggers: URLs an alerting system calls to act on a flag; the URL, signed URL and secret shown once. */
import type { Session } from "../../session";
import { Page, When, projectPath, type Notice } from "../layout";
import { PostForm } from "../offer";
import { TRIGGER_ACTIONS, type CreatedTriggerView, type TriggerView } from "../../../contracts/admin-responses";
import { ActionButton, Errors, invalid, Secret } from "./widgets";

export interface TriggerForm {
  name: string;
  environment: string;
  flag: string;
  action: string;
  variant: string;
}

export interface TriggersPageProps {
  session: Session;
  project: string;
  environments: string[];
  triggers: TriggerView[];
  /** A trigger just created or rotated: its URLs and secret, shown this once. */
  shown: { trigger: CreatedTriggerView; rotated: boolean } | null;
  form: TriggerForm;
  errors: Record<string, string[]>;
  notice: Notice | null;
}

const ACTION_TEXT: Record<(typeof TRIGGER_ACTIONS)[number], string> = {
  enable: "turn the flag on",
  disable: "turn the flag off",
  "set-default": "set the default variant",
  "pause-ramp": "pause its ramp",
  "rollback-ramp": "roll its ramp back to 0%",
};

export function TriggersPage(props: TriggersPageProps) {
  const path = projectPath(props.project, "triggers");
  const { form, errors } = props;
  return (
    <Page title={`Triggers · ${props.project}`} session={props.session} project={props.project} section="triggers" notice={props.notice}>
      <div class="page-head">
        <div>
          <h1>Triggers</h1>
          <p>A URL your monitoring calls to act on one flag: turn it off when errors spike, pause a ramp.</p>
        </div>
      </div>
      {props.shown && (
        <section class="panel" aria-labelledby="trigger-shown-title">
          <div class="notice ok" role="status">
            <h2 id="trigger-shown-title">
              {props.shown.rotated ? `Trigger "${props.shown.trigger.name}" rotated` : `Trigger "${props.shown.trigger.name}" created`}
            </h2>
            <p>{props.shown.rotated ? "The old URL and secret stopped working. " : ""}Copy these now: they are shown only this once.</p>
          </div>
          <Secret id="trigger-url" label="Trigger URL (POST, the token is the credential)" value={props.shown.trigger.url} />
          <Secret
            id="trigger-signed-url"
            label="Signed URL (POST with an Edgeflags-Signature header)"
            value={props.shown.trigger.signedUrl}
          />
          <Secret id="trigger-secret" label="Signing secret" value={props.shown.trigger.secret} />
        </section>
      )}
      <section class="panel" aria-labelledby="triggers-title">
        <h2 id="triggers-title">{`Triggers (${props.triggers.length})`}</h2>
        {props.triggers.length === 0 ? (
          <p class="meta">None yet.</p>
        ) : (
          <div class="table-wrap">
            <table class="cards" id="triggers">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Does</th>
                  <th scope="col">State</th>
                  <th scope="col">Last fired</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {props.triggers.map((t) => {
                  const base = `${path}/${encodeURIComponent(t.id)}`;
                  return (
                    <tr>
                      <td>
                        <strong>{t.name}</strong>
                        <div class="meta">{t.id}</div>
                      </td>
                      <td data-label="Does">
                        {`${ACTION_TEXT[t.action]}${t.variant ? ` "${t.variant}"` : ""}: `}
                        <code>{t.flag}</code>
                        {` in ${t.environment}`}
                      </td>
                      <td data-label="State">
                        <span class={`badge ${t.active ? "added" : ""}`}>{t.active ? "enabled" : "disabled"}</span>
                      </td>
                      <td data-label="Last fired">
                        <span class="meta">{t.lastFiredAt ? <When at={t.lastFiredAt} /> : "never"}</span>
                      </td>
                      <td>
                        <div class="row tight">
                          <ActionButton
                            needs="admin"
                            action={`${base}/active`}
                            label={t.active ? "Disable" : "Enable"}
                            hidden={{ active: t.active ? "0" : "1" }}
                            ariaLabel={`${t.active ? "Disable" : "Enable"} trigger ${t.name}`}
                          />
                          <ActionButton
                            needs="admin"
                            action={`${base}/rotate`}
                            label="Rotate"
                            confirm={`Rotate "${t.name}"? Its current URL stops working at once.`}
                            ariaLabel={`Rotate trigger ${t.name}`}
                          />
                          <ActionButton
                            needs="admin"
                            action={`${base}/delete`}
                            label="Delete"
                            kind="danger"
                            confirm={`Delete trigger "${t.name}"?`}
                            ariaLabel={`Delete trigger ${t.name}`}
                          />
                        </div>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section class="panel" aria-labelledby="new-trigger-title">
        <h2 id="new-trigger-title">New trigger</h2>
        <PostForm needs="admin" action={path}>
          {errors["form"] && (
            <div class="notice error" role="alert">
              {errors["form"].join("; ")}
            </div>
          )}
          <div class="row">
            <div class="field">
              <label for="tr-name">Name</label>
              <input
                id="tr-name"
                type="text"
                name="name"
                value={form.name}
                required
                maxlength={63}
                spellcheck={false}
                autocomplete="off"
                {...invalid("tr-name", errors["name"])}
              />
              <Errors id="tr-name-error" messages={errors["name"]} />
            </div>
            <div class="field">
              <label for="tr-env">Environment</label>
              <select id="tr-env" name="environment">
                {props.environments.map((env) => (
                  <option value={env} selected={env === form.environment}>
                    {env}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="tr-flag">Flag</label>
              <input
                id="tr-flag"
                type="text"
                name="flag"
                value={form.flag}
                required
                spellcheck={false}
                autocomplete="off"
                {...invalid("tr-flag", errors["flag"])}
              />
              <Errors id="tr-flag-error" messages={errors["flag"]} />
            </div>
            <div class="field">
              <label for="tr-action">Action</label>
              <select id="tr-action" name="action">
                {TRIGGER_ACTIONS.map((a) => (
                  <option value={a} selected={a === form.action}>{`${a}: ${ACTION_TEXT[a]}`}</option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="tr-variant">
                Variant <span class="hint">(set-default only)</span>
              </label>
              <input
                id="tr-variant"
                type="text"
                name="variant"
                value={form.variant}
                spellcheck={false}
                {...invalid("tr-variant", errors["variant"])}
              />
              <Errors id="tr-variant-error" messages={errors["variant"]} />
            </div>
          </div>
          <div class="actions start">
            <button type="submit" class="primary">
              Create trigger
            </button>
          </div>
        </PostForm>
      </section>
    </Page>
  );
}
