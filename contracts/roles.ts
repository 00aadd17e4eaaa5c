/**
 * Roles per project, and what each may do. One table for the admin API (which refuses what a role
 * may not do), the console (which does not offer it) and the stores (which keep a key's role).
 *
 * - `viewer` reads everything the console shows and changes nothing;
 * - `editor` changes flags, targets, segments, ramps, experiments, drafts, schedules and change
 *   requests, in the environments listed for it (all when none are listed);
 * - `approver` may do what an editor may, and approve or reject change requests;
 * - `admin` may do everything in the project: keys, webhooks, triggers, environments, protection,
 *   access configuration, cut-over.
 *
 * An editor or approver limited to some environments may not make a project-wide change (a
 * segment, a flag's description, an import): it reaches every environment, listed or not.
 *
 * @example
 * can({ role: "editor", environments: ["qa"] }, "edit", "qa"); // true
 * can({ role: "editor", environments: ["qa"] }, "edit", "production"); // false
 */
import * as z from "zod";

export const ROLES = ["viewer", "editor", "approver", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** What a route needs. Each role has the permission of the same rank and every one below it. */
export const PERMISSIONS = ["view", "edit", "approve", "admin"] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const RoleSchema = z.enum(ROLES);
export const PermissionSchema = z.enum(PERMISSIONS);

/** A role as granted: to a key, or to a person through single sign-on. */
export interface Grant {
  role: Role;
  /** The environments an editor or approver may change; null for every environment. */
  environments: string[] | null;
}

/** The role that first carries `permission`: what a refusal tells the caller to ask for. */
export function roleFor(permission: Permission): Role {
  return ROLES[PERMISSIONS.indexOf(permission)]!;
}

/**
 * Whether `grant` allows `permission` in `environment` (null: a project-wide action). Reading is
 * never limited by environment; an admin is never limited at all.
 */
export function can(grant: Grant, permission: Permission, environment: string | null): boolean {
  if (ROLES.indexOf(grant.role) < PERMISSIONS.indexOf(permission)) return false;
  if (permission === "view" || grant.role === "admin" || grant.environments === null) return true;
  return environment !== null && grant.environments.includes(environment);
}

/**
 * Why `grant` may not do `permission` in `environment`, in words a person can act on, or null
 * when it may.
 *
 * @example
 * refusal({ role: "viewer", environments: null }, "edit", "production", "key:key_1")
 * // 'this needs the editor role for environment "production"; key:key_1 is viewer: ask a project admin'
 */
export function refusal(grant: Grant, permission: Permission, environment: string | null, who: string): string | null {
  if (can(grant, permission, environment)) return null;
  const needed = roleFor(permission);
  const has =
    grant.environments === null || grant.role === "admin"
      ? grant.role
      : `${grant.role} for ${grant.environments.join(", ") || "no environment"}`;
  const where =
    permission === "admin"
      ? "of this project"
      : environment === null
        ? "for every environment (a project-wide change)"
        : `for environment "${environment}"`;
  return `this needs the ${needed} role ${where}; ${who} is ${has}: ask a project admin to grant it`;
}
