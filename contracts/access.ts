/**
 * Single sign-on through Cloudflare Access, per project: the team whose identity tokens the
 * console accepts, the application's audience tag, and the people or groups given a role (first
 * match wins). One schema for the admin API's body, the FlagStore's stored row and the console.
 *
 * @example
 * { "teamDomain": "acme.cloudflareaccess.com", "audience": "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2",
 *   "members": [{ "email": "ana@acme.com", "role": "admin" }, { "group": "qa", "role": "editor", "environments": ["qa"] }] }
 */
import * as z from "./zod.ts";
import { RoleSchema } from "./roles";

/** A host name: labels of letters, digits and hyphens (each label starts with one that is not a hyphen). */
const HOST = /^[a-z0-9][a-z0-9-]{0,62}(\.[a-z0-9][a-z0-9-]{0,62})+$/;
const ENVIRONMENT = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const AccessMemberSchema = z
  .object({
    /** A person, by the email their identity token carries (compared without case). */
    email: z.string().min(3).max(320).includes("@", { message: "an email address" }).optional(),
    /** Everyone in an identity-provider group named in the token's `groups` claim. */
    group: z.string().min(1).max(200).optional(),
    role: RoleSchema,
    /** For an editor or approver: the environments they may change (all when left out). */
    environments: z.array(z.string().regex(ENVIRONMENT, "an environment name")).min(1).max(20).optional(),
  })
  .strict()
  .refine((m) => (m.email === undefined) !== (m.group === undefined), { message: "name either an email or a group, not both" })
  .refine((m) => m.environments === undefined || m.role === "editor" || m.role === "approver", {
    message: "only an editor or approver is limited to environments; leave environments out",
    path: ["environments"],
  });
export type AccessMember = z.infer<typeof AccessMemberSchema>;

export const AccessConfigSchema = z
  .object({
    /** The Access team domain, e.g. `acme.cloudflareaccess.com` (no scheme): tokens must be issued by `https://<teamDomain>`. */
    teamDomain: z
      .string()
      .max(253)
      .transform((s) => s.toLowerCase())
      .pipe(z.string().regex(HOST, "the team domain as a host name, e.g. acme.cloudflareaccess.com, without https://")),
    /** The Access application's audience (AUD) tag: tokens for any other application are refused. */
    audience: z.string().min(1).max(200),
    members: z.array(AccessMemberSchema).max(500),
  })
  .strict()
  .openapi("AccessConfigBody");
export type AccessConfig = z.output<typeof AccessConfigSchema>;

/** The stored configuration, as the admin API answers it. */
export const AccessSettingsSchema = z
  .object({
    teamDomain: z.string(),
    audience: z.string(),
    members: z.array(AccessMemberSchema),
    updatedAt: z.string(),
    updatedBy: z.string(),
  })
  .openapi("AccessSettings");
export type AccessSettings = z.output<typeof AccessSettingsSchema>;
