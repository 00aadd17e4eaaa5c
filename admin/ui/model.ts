/**
 * What the console shows about flags, derived from admin API responses: the flags-list rows (all
 * environments side by side), filtering and paging. Pure functions, so the list stays fast and
 * testable with 500 flags.
 */
import * as z from "zod";
import type { FlagView } from "./api";

export const PAGE_SIZE = 50;

/**
 * Project-level facts (description, owner, tags) when the admin API serves them
 * (`GET /projects/{p}/flags`); otherwise the console reads `metadata.description`,
 * `metadata.owner` and `metadata.tags` (comma-separated) of the flagd definition.
 */
export const ProjectFlagsSchema = z.object({
  flags: z.array(
    z.object({
      key: z.string(),
      info: z.object({ description: z.string().optional(), owner: z.string().optional(), tags: z.array(z.string()).optional() }).partial(),
    }),
  ),
});
export type FlagFacts = { description: string; owner: string; tags: string[] };

export interface FlagRow {
  key: string;
  description: string;
  owner: string;
  tags: string[];
  /** Per environment name; absent where the flag does not exist. */
  byEnv: Map<string, FlagView>;
  /** In the selected environment, from the edge's usage reports; null when never seen. */
  lastEvaluatedAt: string | null;
  evaluations: number;
  /** Why the flag looks stale (in the selected environment or project-wide); empty when it does not. */
  stale: string[];
}

export interface ListFilter {
  q: string;
  tag: string;
  state: "" | "on" | "off" | "absent";
  /** Only flags with a stale marker. */
  stale: boolean;
  page: number;
}

export function factsFromMetadata(flag: FlagView | undefined): FlagFacts {
  const meta = flag?.metadata ?? {};
  const text = (value: unknown) => (typeof value === "string" ? value : value === undefined ? "" : String(value));
  return {
    description: text(meta["description"]),
    owner: text(meta["owner"]),
    tags: text(meta["tags"])
      .split(",")
      .map((tag) => tag.trim())
      .filter(Boolean),
  };
}

/** Joins each environment's flag list into one row per flag key, sorted by key. */
export function buildRows(
  environments: string[],
  lists: Map<string, FlagView[]>,
  facts: Map<string, Partial<FlagFacts>>,
  preferred: string,
): FlagRow[] {
  const rows = new Map<string, FlagRow>();
  for (const env of environments) {
    for (const flag of lists.get(env) ?? []) {
      let row = rows.get(flag.key);
      if (!row) {
        row = { key: flag.key, description: "", owner: "", tags: [], byEnv: new Map(), lastEvaluatedAt: null, evaluations: 0, stale: [] };
        rows.set(flag.key, row);
      }
      row.byEnv.set(env, flag);
    }
  }
  for (const row of rows.values()) {
    const fromMeta = factsFromMetadata(row.byEnv.get(preferred) ?? row.byEnv.values().next().value);
    const known = facts.get(row.key) ?? {};
    row.description = known.description || fromMeta.description;
    row.owner = known.owner || fromMeta.owner;
    row.tags = known.tags?.length ? known.tags : fromMeta.tags;
  }
  return [...rows.values()].sort((a, b) => a.key.localeCompare(b.key));
}

export function filterRows(rows: FlagRow[], filter: ListFilter, environment: string): FlagRow[] {
  const q = filter.q.trim().toLowerCase();
  return rows.filter((row) => {
    if (q && !`${row.key}\n${row.description}\n${row.owner}\n${row.tags.join(" ")}`.toLowerCase().includes(q)) return false;
    if (filter.tag && !row.tags.includes(filter.tag)) return false;
    if (filter.stale && row.stale.length === 0) return false;
    if (filter.state) {
      const flag = row.byEnv.get(environment);
      const state = flag === undefined ? "absent" : flag.state === "ENABLED" ? "on" : "off";
      if (state !== filter.state) return false;
    }
    return true;
  });
}

/** What the edge reports about one environment's flags, and why a flag looks stale. */
export interface Observations {
  usage: Record<string, { evaluations: number; lastEvaluatedAt: string }>;
  stale: {
    days: number;
    notEvaluated: { environment: string; flag: string; lastEvaluatedAt: string | null }[];
    singleVariant: { environment: string; flag: string; variant: string }[];
    pastRemovalDate: { flag: string; expectedRemovalAt: string }[];
  } | null;
}

/** Adds last-evaluated times (selected environment) and stale markers to the rows, in place. */
export function annotateRows(rows: FlagRow[], observed: Observations, environment: string): void {
  const reasons = new Map<string, string[]>();
  const add = (flag: string, reason: string) => reasons.set(flag, [...(reasons.get(flag) ?? []), reason]);
  const report = observed.stale;
  if (report) {
    for (const entry of report.notEvaluated) {
      if (entry.environment === environment) add(entry.flag, `not evaluated in ${environment} for ${report.days}+ days`);
    }
    for (const entry of report.singleVariant) {
      if (entry.environment === environment) add(entry.flag, `served only "${entry.variant}" in ${environment} for ${report.days}+ days`);
    }
    for (const entry of report.pastRemovalDate) add(entry.flag, `past its removal date (${entry.expectedRemovalAt.slice(0, 10)})`);
  }
  for (const row of rows) {
    const usage = observed.usage[row.key];
    row.lastEvaluatedAt = usage?.lastEvaluatedAt ?? null;
    row.evaluations = usage?.evaluations ?? 0;
    row.stale = reasons.get(row.key) ?? [];
  }
}

export function pageOf<T>(items: T[], page: number): { items: T[]; page: number; pages: number } {
  const pages = Math.max(1, Math.ceil(items.length / PAGE_SIZE));
  const current = Math.min(Math.max(1, page), pages);
  return { items: items.slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE), page: current, pages };
}

/** The environment a screen opens on: the requested one, else `production`, else the first. */
export function pickEnvironment(environments: string[], requested: string | undefined): string {
  if (requested && environments.includes(requested)) return requested;
  return environments.includes("production") ? "production" : (environments[0] ?? "");
}

/** A short, readable rendering of a variant value. */
export function showValue(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? "—" : text.length > 80 ? `${text.slice(0, 77)}…` : text;
}
