/** Every project this session may open, a page at a time, and a box to open one by name. */
import type { Session } from "../../session";
import { BASE, Page, projectPath, type Notice } from "../layout";

export interface ProjectsPageProps {
  session: Session;
  /** The project the console was on. */
  project: string;
  projects: string[];
  /** The next page's cursor; null on the last page. */
  next: string | null;
  /** True when this page is not the first (a link back to the start is shown). */
  later: boolean;
  notice: Notice | null;
}

export function ProjectsPage(props: ProjectsPageProps) {
  const here = projectPath(props.project, "projects");
  return (
    <Page title="Projects" session={props.session} project={props.project} notice={props.notice}>
      <div class="page-head">
        <div>
          <h1>Projects</h1>
          <p>
            {props.session.project === null
              ? "Every project in this deployment (one created in the last minute may not be listed yet: open it by name below)."
              : "This session belongs to one project (it was opened with that project's admin key)."}
          </p>
        </div>
      </div>
      {props.projects.length > 0 && (
        <ul class="project-list panel">
          {props.projects.map((name) => (
            <li>
              <a href={projectPath(name, "flags")} aria-current={name === props.project ? "page" : undefined}>
                {name}
              </a>
            </li>
          ))}
        </ul>
      )}
      {(props.next || props.later) && (
        <nav class="pager" aria-label="Pages">
          {props.later ? <a href={here}>← First page</a> : <span></span>}
          {props.next ? (
            <a href={`${here}?${new URLSearchParams({ cursor: props.next })}`} rel="next">
              Next →
            </a>
          ) : (
            <span></span>
          )}
        </nav>
      )}
      {props.session.project === null && (
        <form method="get" action={`${BASE}/open`} class="panel row" aria-label="Open a project by name">
          <div class="field">
            <label for="open-name">Open a project by name</label>
            <input id="open-name" type="text" name="project" autocomplete="off" spellcheck={false} required />
          </div>
          <button type="submit">Open</button>
        </form>
      )}
    </Page>
  );
}
