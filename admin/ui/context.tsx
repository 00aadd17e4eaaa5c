/**
 * What every console route shares: the Hono context type (session, project, admin client), the
 * failure page for an admin API problem, and the notices shown after a redirect.
 */
import type { Context, Hono } from "hono";
import { clearSessionCookie, type Session } from "../session";
import { seg, type AdminClient, type ApiProblem, type ApiResult } from "./api";
import { BASE, projectPath, type Notice } from "./layout";
import { ErrorPage } from "./pages/basic";

export type ConsoleEnv = { Bindings: Env; Variables: { session: Session; project: string; api: AdminClient } };
export type ConsoleContext = Context<ConsoleEnv>;
export type ConsoleApp = Hono<ConsoleEnv>;
export type ApiFailure = { ok: false; status: number; problem: ApiProblem };

export function vars(c: ConsoleContext) {
  return { api: c.get("api"), project: c.get("project"), session: c.get("session") };
}

/** `/projects/<project>` plus `rest`, for admin API calls. */
export const apiPath = (project: string, rest = "") => `/projects/${seg(project)}${rest}`;

export function problemText(problem: ApiProblem): string {
  return problem.detail;
}

/** A failed admin call as a page: an ended session goes back to sign-in. */
export function apiFailure(c: ConsoleContext, result: ApiFailure | ApiResult<unknown>): Response | Promise<Response> {
  if (result.ok) throw new Error("apiFailure called with a successful result");
  const session = c.get("session");
  const project = c.get("project");
  if (result.status === 401) {
    clearSessionCookie(c);
    return c.redirect(`${BASE}/sign-in?expired=1`, 303);
  }
  const title =
    result.status === 404
      ? "Not found"
      : result.status === 403
        ? "Not allowed"
        : result.status === 409
          ? "Not possible right now"
          : "Something went wrong";
  const status =
    result.status === 404 || result.status === 403 || result.status === 400 || result.status === 409 || result.status === 412
      ? result.status
      : 502;
  return c.html(<ErrorPage title={title} detail={result.problem.detail} session={session} project={project} />, status);
}

/** Redirect (303) to a console page of the project with a `done` notice and its parameters. */
export function redirectDone(c: ConsoleContext, rest: string, done: string, params: Record<string, string> = {}): Response {
  const [path, query] = rest.split("?") as [string, string | undefined];
  const search = new URLSearchParams(query ?? "");
  search.set("done", done);
  for (const [key, value] of Object.entries(params)) search.set(key, value);
  return c.redirect(`${projectPath(c.get("project"), path)}?${search}`, 303);
}

/** A form field as a trimmed string ("" when absent or a file). */
export function field(form: Record<string, unknown>, name: string): string {
  const value = form[name];
  return typeof value === "string" ? value.trim() : Array.isArray(value) && typeof value[0] === "string" ? value[0].trim() : "";
}

/** Every value of a repeated form field (checkbox groups). */
export function fields(form: Record<string, unknown>, name: string): string[] {
  const value = form[name] ?? form[`${name}[]`];
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Notices after a redirect, built from fixed templates (never from free text in the URL). */
export function doneNotice(c: ConsoleContext): Notice | null {
  const q = (name: string) => c.req.query(name) ?? "";
  const done = q("done");
  const flag = q("flag");
  const env = q("env");
  switch (done) {
    case "toggled":
      return {
        kind: "ok",
        text: (
          <>
            {`Turned ${q("state") === "ENABLED" ? "on" : "off"} `}
            <code>{flag}</code>
            {` in ${env}.`}
          </>
        ),
      };
    case "already":
      return {
        kind: "ok",
        text: (
          <>
            <code>{flag}</code>
            {` was already ${q("state") === "ENABLED" ? "on" : "off"} in ${env}: nothing changed, nothing was written.`}
          </>
        ),
      };
    case "saved":
      return {
        kind: "ok",
        text: (
          <>
            {"Saved "}
            <code>{flag}</code>
            {` in ${env}.`}
          </>
        ),
      };
    case "unchanged":
      return {
        kind: "ok",
        text: (
          <>
            {"Nothing to save: "}
            <code>{flag}</code>
            {` in ${env} is as it was, so nothing was written.`}
          </>
        ),
      };
    case "created":
      return {
        kind: "ok",
        text: (
          <>
            {"Created "}
            <code>{flag}</code>
            {" in every environment."}
          </>
        ),
      };
    case "revoked":
      return { kind: "ok", text: `Revoked key "${q("name")}" (${q("id")}). The edge stops accepting it within its refresh window.` };
    case "promoted":
      return { kind: "ok", text: `Promoted ${q("count")} flag(s) from ${q("from")} to ${q("to")} (now version ${q("version")}).` };
    case "segment-saved":
      return {
        kind: "ok",
        text: (
          <>
            {"Saved segment "}
            <code>{q("name")}</code>
            {". Every environment picks it up."}
          </>
        ),
      };
    case "segment-deleted":
      return {
        kind: "ok",
        text: (
          <>
            {"Deleted segment "}
            <code>{q("name")}</code>
            {"."}
          </>
        ),
      };
    case "webhook-saved":
      return { kind: "ok", text: "Webhook saved." };
    case "webhook-deleted":
      return { kind: "ok", text: "Webhook deleted." };
    case "pinged":
      return { kind: "ok", text: "Ping queued: it appears in the delivery log below once sent." };
    case "redelivered":
      return { kind: "ok", text: "Delivery queued again." };
    case "trigger-saved":
      return {
        kind: "ok",
        text: (
          <>
            {`Trigger `}
            <code>{q("name")}</code>
            {q("active") === "1" ? " enabled." : " disabled."}
          </>
        ),
      };
    case "trigger-deleted":
      return { kind: "ok", text: "Trigger deleted: its URLs no longer work." };
    case "ramp":
      return {
        kind: "ok",
        text: (
          <>
            {RAMP_DONE[q("action")] ?? "Ramp updated"}
            {" for "}
            <code>{flag}</code>
            {` in ${env}.`}
          </>
        ),
      };
    case "metric-saved":
      return {
        kind: "ok",
        text:
          q("changed") === "0" ? (
            <>
              {"Metric "}
              <code>{q("name")}</code>
              {" is as it was: nothing was written."}
            </>
          ) : (
            <>
              {"Saved metric "}
              <code>{q("name")}</code>
              {` (${METRIC_KINDS[q("kind")] ?? q("kind")} `}
              <code>{q("event")}</code>
              {" events). Guardrails and experiment readouts can use it now."}
            </>
          ),
      };
    case "experiment-started":
      return {
        kind: "ok",
        text: (
          <>
            {"Experiment started on "}
            <code>{flag}</code>
            {` in ${env}. Exposures count from now.`}
          </>
        ),
      };
    case "experiment-stopped":
      return { kind: "ok", text: "Experiment stopped." };
    case "draft-staged":
      return { kind: "ok", text: `Draft staged for ${env}: a sample of live evaluations now also evaluates it.` };
    case "draft-published":
      return { kind: "ok", text: `Draft published: ${env} is now at version ${q("version")}.` };
    case "draft-discarded":
      return { kind: "ok", text: `Draft of ${env} discarded.` };
    default:
      return null;
  }
}

/** How the notice names a metric's kind, before the event's name. */
const METRIC_KINDS: Record<string, string> = {
  rate: "the rate of units with",
  count: "the count per unit of",
  mean: "the mean value of",
};

const RAMP_DONE: Record<string, string> = {
  created: "Ramp started",
  pause: "Ramp paused",
  resume: "Ramp resumed",
  advance: "Ramp moved to its next step",
  complete: "Ramp jumped to 100%",
  rollback: "Ramp rolled back",
  delete: "Ramp deleted",
  guardrails: "Guardrail added to the ramp",
};
