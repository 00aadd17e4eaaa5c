/**
 * The single sign-on index in KV: one `access:<project>` entry per project that has Cloudflare
 * Access configured, so the project list of a person signed in through Access is built from one KV
 * list (and a read per project the person may be in), never by asking every FlagStore.
 *
 * The entry's value is the project's `AccessSettings` (what `verifyAccess` checks a token
 * against). Its KV metadata, returned by `list` itself, holds the team domain, the audience and,
 * when they fit, short tags of the members (`memberTag`: 6 hex digits of SHA-256 of `e:<email>`
 * lower-cased or `g:<group>`), so a list page tells which projects a token could be for and whom
 * they could admit without reading any value. A tag is a filter, not a proof: a match is read and
 * the token verified against the stored settings; a project without tags is read whenever its
 * audience matches.
 *
 * The FlagStore writes the entry through its outbox after single sign-on is configured, changed
 * or removed (`accessIndexWrite`); the index lags a change by KV's propagation, like the registry.
 */
import { AccessSettingsSchema, type AccessSettings } from "./access";
import * as z from "./zod.ts";

export const ACCESS_INDEX_PREFIX = "access:";

/** KV key of `project`'s single sign-on entry. */
export function accessIndexKvKey(project: string): string {
  return `${ACCESS_INDEX_PREFIX}${project}`;
}

/** The value of an entry: the project's settings as the FlagStore holds them. */
export const AccessIndexEntrySchema = AccessSettingsSchema.extend({ project: z.string() });
export type AccessIndexEntry = z.output<typeof AccessIndexEntrySchema>;

/** The metadata of an entry (KV keeps at most 1024 bytes of it): `who` is left out when the tags do not fit. */
export const AccessIndexMetadataSchema = z.object({
  teamDomain: z.string(),
  audience: z.string(),
  who: z.array(z.string()).optional(),
});
export type AccessIndexMetadata = z.output<typeof AccessIndexMetadataSchema>;

/** The most metadata an entry is written with, in bytes of JSON (KV's limit is 1024). */
const MAX_METADATA_BYTES = 1_000;

/**
 * The short tag of a member selector: an email (compared without case) or a group name.
 *
 * @example
 * await memberTag({ email: "Ana@acme.com" }) === await memberTag({ email: "ana@acme.com" })
 */
export async function memberTag(selector: { email: string } | { group: string }): Promise<string> {
  const text = "email" in selector ? `e:${selector.email.toLowerCase()}` : `g:${selector.group}`;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest.slice(0, 3), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What the FlagStore's outbox writes for `project`: the entry with its metadata, or its removal. */
export async function accessIndexWrite(
  project: string,
  settings: AccessSettings | null,
): Promise<{ key: string; value: string; metadata: AccessIndexMetadata } | { key: string; delete: true }> {
  const key = accessIndexKvKey(project);
  if (settings === null) return { key, delete: true };
  const entry: AccessIndexEntry = { ...settings, project };
  const who = [
    ...new Set(
      await Promise.all(settings.members.map((m) => memberTag(m.email !== undefined ? { email: m.email } : { group: m.group ?? "" }))),
    ),
  ];
  const tagged: AccessIndexMetadata = { teamDomain: settings.teamDomain, audience: settings.audience, who };
  const metadata =
    JSON.stringify(tagged).length <= MAX_METADATA_BYTES ? tagged : { teamDomain: settings.teamDomain, audience: settings.audience };
  return { key, value: JSON.stringify(entry), metadata };
}
