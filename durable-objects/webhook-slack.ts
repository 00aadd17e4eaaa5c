/**
 * The Slack-compatible payload of a webhook delivery (`format: "slack"`): `{"text": …}`, which
 * Slack's incoming webhooks (and Mattermost's, and others that speak Slack's format) post to a
 * channel as is: "post a message when a production flag changes". The signature headers are the
 * same as for the JSON event; the text names the project, environment, what changed, who and why.
 */

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** `flag:checkout` → `checkout`; other targets as they are. */
function subject(target: unknown): string | null {
  if (typeof target !== "string") return null;
  const colon = target.indexOf(":");
  return colon >= 0 ? target.slice(colon + 1) : target;
}

/** The fields of a stored event the message names (the payload is our own JSON, read defensively). */
interface EventFields {
  type: string;
  project: string;
  environment: string | null;
  actor: string;
  reason: string | null;
  data: Record<string, unknown>;
}

function fieldsOf(parsed: unknown): EventFields | null {
  if (!isRecord(parsed)) return null;
  const text = (value: unknown) => (typeof value === "string" ? value : null);
  return {
    type: text(parsed["type"]) ?? "event",
    project: text(parsed["project"]) ?? "",
    environment: text(parsed["environment"]),
    actor: text(parsed["actor"]) ?? "someone",
    reason: text(parsed["reason"]),
    data: isRecord(parsed["data"]) ? parsed["data"] : {},
  };
}

/** What happened, in a few words. */
function what(event: EventFields): string {
  const data = event.data;
  const name = subject(data["target"]);
  const flag = name === null ? "" : `\`${name}\` `;
  const after = isRecord(data["after"]) ? data["after"] : null;
  switch (event.type) {
    case "flag.toggled":
      return `${flag}turned *${after?.["state"] === "DISABLED" ? "off" : "on"}*`;
    case "flag.created":
      return `${flag}created`;
    case "flag.updated":
      return `${flag}changed`;
    case "flag.deleted":
      return `${flag}deleted`;
    case "ping":
      return "ping: this webhook is connected";
    default:
      return `${event.type}${name === null ? "" : ` ${flag.trimEnd()}`}`;
  }
}

/** The Slack message body for a stored event payload (the JSON a plain delivery sends). */
export function slackMessage(payload: string): string {
  let event: EventFields | null = null;
  try {
    event = fieldsOf(JSON.parse(payload));
  } catch {
    // not JSON: said below
  }
  if (event === null) return JSON.stringify({ text: "edgeflags: an event could not be read" });
  const where = [event.project, event.environment].filter(Boolean).join(" / ");
  const version = typeof event.data["version"] === "number" ? ` (version ${event.data["version"]})` : "";
  const why = event.reason ? ` — “${event.reason}”` : "";
  return JSON.stringify({ text: `*${where}*: ${what(event)} by ${event.actor}${version}${why}` });
}
