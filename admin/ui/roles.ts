/**
 * What the signed-in person's role lets them do in the console (`contracts/roles.ts`): pages
 * offer only the controls the admin API would accept. The admin API stays the guard.
 *
 * @example
 * {allows(props.session, "edit", environment) && <form method="post">…</form>}
 */
import { can, type Permission } from "../../contracts/roles";
import type { Session } from "../session";

/** True when the signed-in person's role allows `permission` in `environment` (null: project-wide). */
export function allows(session: Session | null | undefined, permission: Permission, environment: string | null): boolean {
  const actor = session?.actor;
  return actor !== undefined && can(actor, permission, environment);
}

/** "viewer", "editor (qa, staging)", "admin": the role as the header shows it. */
export function roleLabel(session: Session): string | null {
  const actor = session.actor;
  if (!actor) return null;
  return actor.environments === null || actor.role === "admin" || actor.role === "viewer"
    ? actor.role
    : `${actor.role} (${actor.environments.join(", ")})`;
}

/** True when the role allows `permission` in at least one environment (an editor of qa may toggle somewhere). */
export function allowsSomewhere(session: Session | null | undefined, permission: Permission): boolean {
  const actor = session?.actor;
  if (!actor) return false;
  return can(actor, permission, null) || (actor.environments ?? []).some((env) => can(actor, permission, env));
}
