/** Webhooks out: subscriptions (the signing secret shown once), edits, pings and the delivery log. */
import type { Session } from "../../session";
import { WEBHOOK_EVENT_TYPES } from "../../../contracts/webhook-events";
import { Page, When, projectPath, type Notice } from "../layout";
import { PostForm } from "../offer";
import type { DeliveryView, WebhookView } from "../../../contracts/admin-responses";
import { ActionButton, Errors, invalid, Secret } from "./widgets";

export interface WebhookForm {
  url: string;
  description: string;
  events: string[];
  active: boolean;
}

export const NEW_WEBHOOK: WebhookForm = { url: "", description: "", events: ["flag.toggled", "flag.updated"], active: true };

export interface WebhooksPageProps {
  session: Session;
  project: string;
  webhooks: WebhookView[];
  created: (WebhookView & { secret: string }) | null;
  form: WebhookForm;
  errors: Record<string, string[]>;
  notice: Notice | null;
}

export function WebhooksPage(props: WebhooksPageProps) {
  const path = projectPath(props.project, "webhooks");
  return (
    <Page title={`Webhooks · ${props.project}`} session={props.session} project={props.project} section="webhooks" notice={props.notice}>
      <div class="page-head">
        <div>
          <h1>Webhooks</h1>
          <p>Changes are POSTed as signed JSON to your endpoints, retried with backoff until they answer 2xx.</p>
        </div>
      </div>
      {props.created && (
        <section class="panel" aria-labelledby="new-webhook-title">
          <div class="notice ok" role="status">
            <h2 id="new-webhook-title">Webhook created</h2>
            <p>
              Copy its signing secret now: it is shown only this once. Verify the <code>Edgeflags-Signature</code> header with it.
            </p>
          </div>
          <Secret id="new-webhook-secret" label="Signing secret" value={props.created.secret} />
          <p>
            <a href={`${path}/${encodeURIComponent(props.created.id)}`}>Open the webhook</a>
          </p>
        </section>
      )}
      <div class="grid-2">
        <section class="panel" aria-labelledby="webhooks-title">
          <h2 id="webhooks-title">{`Endpoints (${props.webhooks.length})`}</h2>
          {props.webhooks.length === 0 ? (
            <p class="meta">None yet.</p>
          ) : (
            <ul class="plain-list">
              {props.webhooks.map((hook) => (
                <li>
                  <a href={`${path}/${encodeURIComponent(hook.id)}`} class="url">
                    {hook.url}
                  </a>
                  <span class={`badge ${hook.active ? "added" : ""}`}>{hook.active ? "active" : "paused"}</span>
                  {hook.description && <div class="desc">{hook.description}</div>}
                  <div class="meta">{hook.events.join(", ")}</div>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section class="panel" aria-labelledby="new-webhook-form">
          <h2 id="new-webhook-form">Add an endpoint</h2>
          <WebhookFields action={path} form={props.form} errors={props.errors} idPrefix="wh" submit="Create webhook" />
        </section>
      </div>
    </Page>
  );
}

export function WebhookFields({
  action,
  form,
  errors,
  idPrefix,
  submit,
  withActive,
}: {
  action: string;
  form: WebhookForm;
  errors: Record<string, string[]>;
  idPrefix: string;
  submit: string;
  withActive?: boolean;
}) {
  return (
    <PostForm needs="admin" action={action}>
      {errors["form"] && (
        <div class="notice error" role="alert">
          {errors["form"].join("; ")}
        </div>
      )}
      <div class="field">
        <label for={`${idPrefix}-url`}>URL</label>
        <input
          id={`${idPrefix}-url`}
          type="url"
          name="url"
          value={form.url}
          required
          maxlength={2000}
          placeholder="https://example.com/hooks/edgeflags"
          {...invalid(`${idPrefix}-url`, errors["url"])}
        />
        <Errors id={`${idPrefix}-url-error`} messages={errors["url"]} />
      </div>
      <div class="field">
        <label for={`${idPrefix}-description`}>Description</label>
        <input id={`${idPrefix}-description`} type="text" name="description" value={form.description} maxlength={500} />
      </div>
      <fieldset aria-describedby={errors["events"] ? `${idPrefix}-events-error` : undefined}>
        <legend>Events</legend>
        <div class="checks">
          {WEBHOOK_EVENT_TYPES.filter((type) => type !== "ping").map((type) => (
            <label class="check">
              <input type="checkbox" name="events" value={type} checked={form.events.includes(type)} /> <code>{type}</code>
            </label>
          ))}
        </div>
        <Errors id={`${idPrefix}-events-error`} messages={errors["events"]} />
      </fieldset>
      {withActive && (
        <label class="check">
          <input type="checkbox" name="active" value="1" checked={form.active} /> Active (deliver events)
        </label>
      )}
      <button type="submit" class="primary">
        {submit}
      </button>
    </PostForm>
  );
}

export interface WebhookPageProps {
  session: Session;
  project: string;
  webhook: WebhookView;
  deliveries: DeliveryView[];
  form: WebhookForm;
  errors: Record<string, string[]>;
  notice: Notice | null;
}

export function WebhookPage(props: WebhookPageProps) {
  const base = projectPath(props.project, `webhooks/${encodeURIComponent(props.webhook.id)}`);
  return (
    <Page title={`Webhook · ${props.project}`} session={props.session} project={props.project} section="webhooks" notice={props.notice}>
      <p class="meta">
        <a href={projectPath(props.project, "webhooks")}>← All webhooks</a>
      </p>
      <div class="page-head">
        <div>
          <h1 class="url">{props.webhook.url}</h1>
          <p>
            {`${props.webhook.active ? "Active" : "Paused"} · created `}
            <When at={props.webhook.createdAt} />
            {` by ${props.webhook.createdBy} · id ${props.webhook.id}`}
          </p>
        </div>
        <div class="row">
          <ActionButton needs="admin" action={`${base}/ping`} label="Send a ping" small={false} />
          <ActionButton
            needs="admin"
            action={`${base}/delete`}
            label="Delete"
            kind="danger"
            small={false}
            confirm="Delete this webhook? Its pending deliveries are dropped."
          />
        </div>
      </div>
      <div class="grid-2">
        <section class="panel" aria-labelledby="deliveries-title">
          <h2 id="deliveries-title">{`Recent deliveries (${props.deliveries.length})`}</h2>
          {props.deliveries.length === 0 ? (
            <p class="meta">Nothing sent yet. Send a ping to test the endpoint.</p>
          ) : (
            <div class="table-wrap">
              <table class="cards" id="deliveries">
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">Status</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Created</th>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {props.deliveries.map((d) => (
                    <tr>
                      <td data-label="Event">
                        <code>{d.eventType}</code>
                        <div class="meta">{d.id}</div>
                      </td>
                      <td data-label="Status">
                        <span class={`badge ${d.status === "delivered" ? "added" : d.status === "failed" ? "removed" : ""}`}>
                          {d.status}
                        </span>
                        {d.lastStatus !== null && <span class="meta">{` HTTP ${d.lastStatus}`}</span>}
                        {d.lastError && <div class="meta">{d.lastError}</div>}
                        {d.status === "pending" && d.nextAttemptAt && (
                          <div class="meta">
                            next try <When at={d.nextAttemptAt} />
                          </div>
                        )}
                      </td>
                      <td data-label="Attempts">{String(d.attempts)}</td>
                      <td data-label="Created">
                        <span class="meta">
                          <When at={d.createdAt} />
                        </span>
                      </td>
                      <td>
                        {d.status !== "pending" && (
                          <ActionButton
                            needs="admin"
                            action={`${base}/deliveries/${encodeURIComponent(d.id)}/redeliver`}
                            label="Redeliver"
                            ariaLabel={`Redeliver ${d.eventType} ${d.id}`}
                          />
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
        <section class="panel" aria-labelledby="edit-webhook-title">
          <h2 id="edit-webhook-title">Edit</h2>
          <WebhookFields action={base} form={props.form} errors={props.errors} idPrefix="whe" submit="Save webhook" withActive />
        </section>
      </div>
    </Page>
  );
}
