/**
 * The page shell every console screen renders into: header with project switcher and the
 * navigation, a skip link, landmarks, the notice banner, and the one script and stylesheet.
 * All text goes through JSX, which escapes it.
 */
import type { Child } from "hono/jsx";
import { raw } from "hono/html";
import { hashedAssetName } from "./assets";
import type { Session } from "../session";
import { SessionContext } from "./offer";
import { roleLabel } from "./roles";

export const BASE = "/console";

/** `/console/p/<project>/<rest>` */
export const projectPath = (project: string, rest = "") => `${BASE}/p/${encodeURIComponent(project)}${rest ? `/${rest}` : ""}`;

/**
 * The console's sections, in navigation order. A new screen adds one entry here, its page in
 * `./pages/` and its routes in `./routes/` (registered from `./index.tsx`). Ramps live on the
 * flag detail page; stale markers on the flags list.
 */
export const NAV = [
  { id: "flags", label: "Flags", path: "flags" },
  { id: "environments", label: "Environments", path: "environments" },
  { id: "migration", label: "Migration", path: "migration" },
  { id: "segments", label: "Segments", path: "segments" },
  { id: "experiments", label: "Experiments", path: "experiments" },
  { id: "events", label: "Events", path: "events" },
  { id: "drafts", label: "Drafts", path: "drafts" },
  { id: "change-requests", label: "Approvals", path: "change-requests" },
  { id: "schedules", label: "Schedules", path: "schedules" },
  { id: "webhooks", label: "Webhooks", path: "webhooks" },
  { id: "triggers", label: "Triggers", path: "triggers" },
  { id: "keys", label: "Keys", path: "keys" },
  { id: "audit", label: "Audit log", path: "audit" },
] as const;
export type NavId = (typeof NAV)[number]["id"];

export interface PageProps {
  title: string;
  session?: Session | null;
  project?: string;
  section?: NavId;
  notice?: Notice | null;
  children?: Child;
}

export interface Notice {
  kind: "ok" | "error" | "warn";
  text: Child;
}

export function Page({ title, session, project, section, notice, children }: PageProps) {
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="color-scheme" content="light dark" />
          <title>{`${title} · edgeflags`}</title>
          <link rel="stylesheet" href={`${BASE}/assets/${hashedAssetName("console.css")}`} />
          <script src={`${BASE}/assets/${hashedAssetName("console.js")}`} defer></script>
          <script src={`${BASE}/assets/${hashedAssetName("rule-builder.js")}`} defer></script>
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header class="top">
            <div class="top-inner">
              <a class="brand" href={project ? projectPath(project, "flags") : BASE}>
                <span class="brand-mark" aria-hidden="true"></span>
                <span class="brand-name">edgeflags</span>
              </a>
              {session && project && (
                <nav class="main" aria-label="Sections">
                  <ul>
                    {NAV.map((item) => (
                      <li>
                        <a href={projectPath(project, item.path)} aria-current={item.id === section ? "page" : undefined}>
                          {item.label}
                        </a>
                      </li>
                    ))}
                  </ul>
                </nav>
              )}
              {session && (
                <div class="top-tools">
                  {session.project === null ? (
                    <ProjectSwitcher current={project ?? session.home} />
                  ) : (
                    <span class="who">
                      Project <strong>{session.project}</strong>
                    </span>
                  )}
                  <span class="who">
                    {session.actor
                      ? `${session.actor.display} · ${roleLabel(session)}`
                      : session.keyId
                        ? `key ${session.keyId}`
                        : "bootstrap token"}
                  </span>
                  <form method="post" action={`${BASE}/sign-out`}>
                    <button type="submit" class="small">
                      Sign out
                    </button>
                  </form>
                </div>
              )}
            </div>
          </header>
          <main id="main" tabindex={-1}>
            {notice && (
              <div class={`notice ${notice.kind}`} role={notice.kind === "ok" ? "status" : "alert"}>
                {notice.text}
              </div>
            )}
            <SessionContext.Provider value={session ?? null}>{children}</SessionContext.Provider>
          </main>
        </body>
      </html>
    </>
  );
}

/**
 * The project switcher of a session that may open any project: a name box whose suggestions are
 * the projects of `GET /admin/v1/projects` (filled in by the script; a typed name still opens),
 * and a link to the list of every project, which works without the script.
 */
function ProjectSwitcher({ current }: { current: string }) {
  return (
    <form method="get" action={`${BASE}/open`} class="switcher" role="search" aria-label="Open a project">
      <label class="visually-hidden" for="project-switch">
        Project
      </label>
      <input
        id="project-switch"
        type="text"
        name="project"
        value={current}
        size={10}
        list="project-options"
        autocomplete="off"
        spellcheck={false}
        data-project-list="/admin/v1/projects?limit=200"
      />
      <datalist id="project-options"></datalist>
      <button type="submit" class="small">
        Open
      </button>
      <a class="small-link" href={projectPath(current, "projects")}>
        All projects
      </a>
    </form>
  );
}

/** "3 minutes ago" for recent times, the date otherwise; the exact time in the `title`. */
export function When({ at }: { at: string }) {
  const ms = Date.now() - Date.parse(at);
  let text: string;
  if (!Number.isFinite(ms)) text = at;
  else if (ms < 60_000) text = "just now";
  else if (ms < 3_600_000) text = `${Math.round(ms / 60_000)} min ago`;
  else if (ms < 86_400_000) text = `${Math.round(ms / 3_600_000)} h ago`;
  else text = at.slice(0, 10);
  return (
    <time datetime={at} title={at}>
      {text}
    </time>
  );
}

/**
 * A flag's state as a plain label (square, a dot and a word), never shaped like a switch: the
 * switch that changes it is `ToggleLink` (`./pages/flags.tsx`, class `switch`).
 */
export function StatePill({ state }: { state: "ENABLED" | "DISABLED" | null }) {
  if (state === null) return <span class="state absent">absent</span>;
  return <span class={`state ${state === "ENABLED" ? "on" : "off"}`}>{state === "ENABLED" ? "on" : "off"}</span>;
}
