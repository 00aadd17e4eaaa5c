import type { Grant } from "../contracts/roles";

/**
 * Who makes an admin request, as the audit log records it, and the role it holds in the project
 * it asks about (`can(actor, permission, environment)` from `contracts/roles.ts` decides).
 */
export interface Actor extends Grant {
  /** Recorded in the audit log: `token:bootstrap`, `key:<id>`, or `user:<email>` for a signed-in person. */
  name: string;
  bootstrap: boolean;
  /** What the console shows as the signed-in identity: an email, a key's name, "admin token". */
  display: string;
}

/** The bootstrap token's actor: `admin` of every project. */
export const BOOTSTRAP_ACTOR: Actor = {
  name: "token:bootstrap",
  bootstrap: true,
  role: "admin",
  environments: null,
  display: "admin token",
};

/** The actor of an admin key: the role it carries (a key made before roles existed is `admin`). */
export function keyActor(identity: { id: string; name: string; grant: Grant | null }): Actor {
  const grant = identity.grant ?? { role: "admin", environments: null };
  return { name: `key:${identity.id}`, bootstrap: false, ...grant, display: `key "${identity.name}"` };
}
