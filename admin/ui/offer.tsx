/**
 * Controls offered by role. The page shell (`./layout.tsx`) provides the signed-in session to
 * everything it renders, so a control asks for it where it is drawn instead of every page
 * passing it down: `PostForm` renders its form only when the person's role allows what it
 * posts, and `useSession()` reads the session in any component.
 *
 * @example
 * <PostForm needs="admin" action={projectPath(project, "keys")}>…</PostForm>
 */
import { createContext, useContext, type Child } from "hono/jsx";
import type { Permission } from "../../contracts/roles";
import type { Session } from "../session";
import { allows } from "./roles";

export const SessionContext = createContext<Session | null>(null);

/** The session of the page being drawn (null outside a project's pages). */
export function useSession(): Session | null {
  return useContext(SessionContext);
}

/** True when the person drawing this page may do `permission` in `environment` (null: project-wide). */
export function useAllows(permission: Permission, environment: string | null): boolean {
  return allows(useSession(), permission, environment);
}

/**
 * `<form method="post">`, drawn only when the role allows `needs` (default `edit`) in `env`
 * (default: project-wide). The admin API refuses anything else anyway; this keeps the page from
 * offering it.
 */
export function PostForm(props: {
  needs?: Permission;
  env?: string | null;
  action: string;
  class?: string;
  id?: string;
  "data-confirm"?: string;
  /** Marks the rule builder's form for its script. */
  "data-rule-builder"?: boolean;
  children?: Child;
}) {
  const { needs, env, children, ...attributes } = props;
  if (!useAllows(needs ?? "edit", env ?? null)) return null;
  return (
    <form method="post" {...attributes}>
      {children}
    </form>
  );
}
