/** Sign-in, the toggle confirmation (the no-script path) and the error page. */
import type { Child } from "hono/jsx";
import type { Session } from "../../session";
import { BASE, Page, StatePill, projectPath, type Notice } from "../layout";
import { useSession } from "../offer";
import { allows, allowsSomewhere, roleLabel } from "../roles";

export function SignInPage({
  project,
  error,
  next,
  notice,
  access,
}: {
  project: string;
  error?: string | null;
  next?: string;
  notice?: Notice | null;
  /** The request came through Cloudflare Access: the person is signed in already, and only picks a project. */
  access?: boolean;
}) {
  return (
    <Page title="Sign in" notice={notice ?? null}>
      <div class="signin panel">
        <h1>Sign in to edgeflags</h1>
        {access && (
          <form method="get" action={`${BASE}/open`} class="access-open">
            <p>You are signed in through Cloudflare Access. Open a project to see your role in it.</p>
            <div class="field">
              <label for="access-project">Project</label>
              <input id="access-project" type="text" name="project" value={project} required autocomplete="off" spellcheck={false} />
            </div>
            <button type="submit" class="primary">
              Open project
            </button>
          </form>
        )}
        {access && <h2>Or sign in with a key</h2>}
        <p class="meta">
          Use an admin key of the project (its role decides what you may change), or the bootstrap admin token. It is exchanged for a
          session cookie and not kept by your browser. Behind Cloudflare Access you need neither: keys are for local development and
          break-glass.
        </p>
        <form method="post" action={`${BASE}/sign-in`}>
          {next && <input type="hidden" name="next" value={next} />}
          <div class="field">
            <label for="project">Project</label>
            <input id="project" type="text" name="project" value={project} required autocomplete="off" spellcheck={false} />
          </div>
          <div class="field">
            <label for="credential">Admin key or token</label>
            <input
              id="credential"
              type="password"
              name="credential"
              required
              autocomplete="current-password"
              aria-invalid={error ? "true" : undefined}
              aria-describedby={error ? "credential-error" : undefined}
            />
            {error && (
              <p class="field-error" id="credential-error" role="alert">
                {error}
              </p>
            )}
          </div>
          <button type="submit" class="primary">
            Sign in
          </button>
        </form>
      </div>
    </Page>
  );
}

export interface ToggleConfirmProps {
  session: Session;
  project: string;
  flag: string;
  environment: string;
  state: "ENABLED" | "DISABLED";
  version: number;
  returnTo: string;
  reasonError?: string | null;
  notice?: Notice | null;
  /** What callers get once it is off (`whenKilled`); shown when turning it off. */
  killed?: string;
}

/** The confirmation that names the environment and asks for a reason (also the dialog's no-script twin). */
export function ToggleConfirmPage(props: ToggleConfirmProps) {
  const next = props.state === "ENABLED" ? "DISABLED" : "ENABLED";
  const verb = next === "ENABLED" ? "Turn on" : "Turn off";
  return (
    <Page title={`${verb} ${props.flag}`} session={props.session} project={props.project} section="flags" notice={props.notice ?? null}>
      <div class="panel signin">
        <h1>
          {verb} <code>{props.flag}</code> in <strong>{props.environment}</strong>?
        </h1>
        <p>
          It is <StatePill state={props.state} /> in {props.environment} now. The change reaches the edge within seconds and is recorded in
          the audit log with your reason.
        </p>
        {next === "DISABLED" && props.killed && (
          <p class="killed">
            <strong>When it is off:</strong> {props.killed}
          </p>
        )}
        {allows(props.session, "edit", props.environment) ? (
          <ToggleFields {...props} next={next} verb={verb} idPrefix="confirm" />
        ) : (
          <p class="notice warn">
            {`Your role (${props.session.actor ? roleLabel(props.session) : "unknown"}) cannot change flags in ${props.environment}; ask a project admin for the editor role there.`}
          </p>
        )}
      </div>
    </Page>
  );
}

function ToggleFields(props: ToggleConfirmProps & { next: string; verb: string; idPrefix: string }) {
  return (
    <form method="post" action={projectPath(props.project, `flags/${encodeURIComponent(props.flag)}/toggle`)}>
      <input type="hidden" name="env" value={props.environment} />
      <input type="hidden" name="state" value={props.next} />
      <input type="hidden" name="version" value={String(props.version)} />
      <input type="hidden" name="return" value={props.returnTo} />
      <div class="field">
        <label for={`${props.idPrefix}-reason`}>
          Reason <span class="hint">(required; kept in the audit log)</span>
        </label>
        <textarea
          id={`${props.idPrefix}-reason`}
          name="reason"
          rows={3}
          maxlength={1000}
          required
          aria-invalid={props.reasonError ? "true" : undefined}
          aria-describedby={props.reasonError ? `${props.idPrefix}-reason-error` : undefined}
        ></textarea>
        {props.reasonError && (
          <p class="field-error" id={`${props.idPrefix}-reason-error`}>
            {props.reasonError}
          </p>
        )}
      </div>
      <div class="actions">
        <a class="button" href={props.returnTo}>
          Cancel
        </a>
        <button type="submit" class={props.next === "ENABLED" ? "primary" : "danger"}>{`${props.verb} in ${props.environment}`}</button>
      </div>
    </form>
  );
}

/** The in-page confirmation the script opens from any state pill marked `data-toggle`. */
export function ToggleDialog() {
  // Nothing to confirm for someone who may toggle nowhere (the pills are not links for them).
  if (!allowsSomewhere(useSession(), "edit")) return null;
  return (
    <dialog id="toggle-dialog" aria-labelledby="toggle-title">
      <form method="post" action={BASE}>
        <h2 id="toggle-title">
          <span data-verb>Turn off</span> <code data-flag></code> in <strong data-env></strong>?
        </h2>
        <p class="meta">The change reaches the edge within seconds and is recorded in the audit log with your reason.</p>
        <p class="killed" data-killed></p>
        <input type="hidden" name="env" value="" />
        <input type="hidden" name="state" value="" />
        <input type="hidden" name="version" value="" />
        <input type="hidden" name="return" value="" />
        <div class="field">
          <label for="dialog-reason">
            Reason <span class="hint">(required; kept in the audit log)</span>
          </label>
          <textarea id="dialog-reason" name="reason" rows={3} maxlength={1000} required></textarea>
        </div>
        <div class="actions">
          <button type="button" data-close>
            Cancel
          </button>
          <button type="submit" class="primary" data-submit>
            Confirm
          </button>
        </div>
      </form>
    </dialog>
  );
}

export function ErrorPage({
  title,
  detail,
  session,
  project,
  back,
}: {
  title: string;
  detail: Child;
  session?: Session | null;
  project?: string;
  back?: string;
}) {
  return (
    <Page title={title} session={session ?? null} project={project} notice={{ kind: "error", text: detail }}>
      <h1>{title}</h1>
      <p>
        <a href={back ?? (project ? projectPath(project, "flags") : BASE)}>Back to the console</a>
      </p>
    </Page>
  );
}
