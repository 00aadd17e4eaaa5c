/**
 * Individual targets as the admin API and the FlagStore exchange them: one call's change, what it
 * did, a page of a flag's targets, and the bounds of one call.
 */

/** The most targeting keys one call may add and remove together. */
export const MAX_TARGETS_PER_CALL = 10_000;
/**
 * The most characters of targeting keys one call may name. The audit entry and the webhook event
 * name every key the call changed (a moved key twice: the variant it left and the one it joined),
 * so this bounds both to about 1 MiB, well inside a SQLite row; 10,000 keys of up to 52 characters
 * (UUIDs, account numbers, most e-mail addresses) fit in one call.
 */
export const MAX_TARGET_CHARS_PER_CALL = 512 * 1024;

/** Keys to add (by the variant they are to serve) and keys to remove, in one flag of one environment. */
export interface TargetsChange {
  add?: Record<string, string[]> | undefined;
  remove?: string[] | undefined;
}

/** What a targets change did. `changed: false`: nothing was committed, audited or announced. */
export interface TargetsChanged {
  changed: boolean;
  /** The flag's version afterwards (its `If-Match` value). */
  version: number;
  added: number;
  moved: number;
  removed: number;
  /** Keys asked to be removed that were not targets. */
  notPresent: number;
  /** Targeted keys per variant afterwards. */
  counts: Record<string, number>;
}

/** Which page of a flag's targets to read. */
export interface TargetsQuery {
  variant?: string | undefined;
  limit: number;
  /** The `next` of the previous page. */
  cursor?: string | undefined;
}

/** One page of a flag's targets, in (variant, key) order. */
export interface TargetsPage {
  /** The flag's version. */
  version: number;
  counts: Record<string, number>;
  targets: { id: string; variant: string; addedAt: string; addedBy: string }[];
  /** Pass as `cursor` for the next page; null on the last one. */
  next: string | null;
}
