/**
 * Tracked events: what `track(name, { value, ...details })` sent, one event name and environment at
 * a time, newest first, with their value and custom fields (kept 48 hours), older pages by the API's
 * cursor. What a person checks when a metric moves: which events, with which details. The
 * experiment page lists the newest of each event its metrics watch with the same table.
 */
import type { Session } from "../../session";
import { Page, When, projectPath, type Notice } from "../layout";
import type { TrackedEventPage } from "../../../contracts/tracking";

export type TrackedEvents = TrackedEventPage["events"];

/** Events as a table: when, hashed unit, value, and every custom field as a name and value. */
export function EventsTable(props: { events: TrackedEvents; id?: string }) {
  return (
    <div class="table-wrap">
      <table class="cards" id={props.id}>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Unit</th>
            <th scope="col">Value</th>
            <th scope="col">Custom fields</th>
          </tr>
        </thead>
        <tbody>
          {props.events.map((event) => (
            <tr>
              <td>
                <When at={event.at} />
              </td>
              <td data-label="Unit">
                <code>{event.unit.slice(0, 12)}</code>
              </td>
              <td data-label="Value">{event.value === undefined ? "–" : event.value.toLocaleString("en-US")}</td>
              <td data-label="Custom fields">
                {event.details && Object.keys(event.details).length > 0 ? (
                  <dl class="facts">
                    {Object.entries(event.details).map(([name, value]) => (
                      <>
                        <dt>{name}</dt>
                        <dd>{String(value)}</dd>
                      </>
                    ))}
                  </dl>
                ) : (
                  "–"
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Why the events were not shown: the admin API's detail, and whether trying again may help. */
export interface EventsProblem {
  detail: string;
  retry: boolean;
}

export interface EventsPageProps {
  session: Session;
  project: string;
  environments: string[];
  environment: string;
  /** The event name asked for ("" before one is). */
  name: string;
  /** Names a metric of the project watches: offered as suggestions. */
  watched: string[];
  /** The page of events; null when none was asked for or it could not be read (`problem` says why). */
  events: TrackedEvents | null;
  problem: EventsProblem | null;
  /** The API's cursor for the next, older page. */
  next: string | null;
  /** Whether this is a later page (a cursor was given). */
  older: boolean;
  notice: Notice | null;
}

export function EventsPage(props: EventsPageProps) {
  const path = projectPath(props.project, "events");
  const query = (extra: Record<string, string>) =>
    `${path}?${new URLSearchParams({ env: props.environment, name: props.name, ...extra }).toString()}`;
  return (
    <Page title={`Events · ${props.project}`} session={props.session} project={props.project} section="events" notice={props.notice}>
      <div class="page-head">
        <div>
          <h1>Tracked events</h1>
          <p>
            What your app sent with <code>track(name, details)</code>, newest first, with each event's value and custom fields. Kept 48
            hours; units are hashed targeting keys.
          </p>
        </div>
      </div>
      <form method="get" action={path} class="filters panel" role="search" aria-label="Find tracked events">
        <div class="field">
          <label for="ev-env">Environment</label>
          <select id="ev-env" name="env">
            {props.environments.map((env) => (
              <option value={env} selected={env === props.environment}>
                {env}
              </option>
            ))}
          </select>
        </div>
        <div class="field grow">
          <label for="ev-name">Event name</label>
          <input
            id="ev-name"
            type="text"
            name="name"
            value={props.name}
            list="ev-watched"
            maxlength={128}
            autocomplete="off"
            spellcheck={false}
            required
          />
          <datalist id="ev-watched">
            {props.watched.map((name) => (
              <option value={name} />
            ))}
          </datalist>
        </div>
        <button type="submit">Show events</button>
      </form>
      {props.problem !== null ? (
        <p class={`notice ${props.problem.retry ? "warn" : "error"}`} role="status" id="events-problem">
          {props.problem.retry
            ? `These events could not be read: ${props.problem.detail}. Try again in a moment.`
            : `These events cannot be shown: ${props.problem.detail}.`}
        </p>
      ) : props.events === null ? (
        <p class="meta">
          {props.watched.length > 0
            ? `Name an event to see it. Your metrics watch: ${props.watched.join(", ")}.`
            : "Name an event to see it."}
        </p>
      ) : props.events.length === 0 ? (
        <p
          class="panel"
          id="events-none"
        >{`No ${props.name} events in ${props.environment}${props.older ? " older than these" : " in the last 48 hours"}.`}</p>
      ) : (
        <section aria-label={`${props.name} events in ${props.environment}`}>
          <EventsTable events={props.events} id="events" />
          <p class="meta">
            {props.older && <a href={query({})}>Newest</a>}
            {props.older && props.next && " · "}
            {props.next && <a href={query({ cursor: props.next })}>Older events</a>}
          </p>
        </section>
      )}
    </Page>
  );
}
