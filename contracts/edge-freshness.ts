/**
 * What `GET /edge/v1/freshness` answers: how current each snapshot held by the isolate that
 * served the request is, where it came from, and what its location's version beacon says, so an
 * operator can see a stale location (the request is answered by one isolate of one location).
 */
import * as z from "zod";

const StaleSchema = z.object({ reason: z.string(), detail: z.string() }).nullable();

export const EnvironmentFreshnessSchema = z.object({
  project: z.string(),
  environment: z.string(),
  /** The snapshot the isolate serves; null when it holds none. */
  snapshot: z
    .object({
      version: z.number(),
      updatedAt: z.string(),
      /** Where the isolate got it: `kv`, `store` (the FlagStore) or `location-cache` (beside the beacon). */
      source: z.enum(["kv", "store", "location-cache"]),
      installedAt: z.string(),
      /** When the isolate last confirmed it current: a KV revalidation or a beacon naming no newer version. */
      confirmedAt: z.string(),
      /** Milliseconds since `confirmedAt`: how stale the answer can be, as far as this isolate knows. */
      ageMs: z.number(),
      /** Why answers from it are marked stale, if they are. */
      stale: StaleSchema,
    })
    .nullable(),
  /** The highest version the isolate knows committed (its own admin writes, the beacon). */
  knownVersion: z.number().nullable(),
  /** The isolate's view of the location's beacon; null when it has not read one. */
  beacon: z
    .object({
      version: z.number(),
      /** When the FlagStore last confirmed the version; null: never. */
      confirmedAt: z.string().nullable(),
      /** When this isolate last read the beacon. */
      checkedAt: z.string().nullable(),
      failure: z.object({ at: z.string(), detail: z.string() }).nullable(),
      /** Set while the beacon is off in this isolate (its cache keeps nothing). */
      off: z.object({ until: z.string(), detail: z.string() }).nullable(),
      /** Set while reads or writes of the location's cache fail here, since the first. */
      cacheFailure: z.object({ since: z.string(), detail: z.string() }).nullable(),
    })
    .nullable(),
  /** The location's beacon as the Cache API holds it at the time of the request (another isolate may have refreshed it); null: none or unreadable. */
  location: z.object({ version: z.number(), confirmedAt: z.string().nullable() }).nullable(),
  /** True when a newer version is known (here or in the location's beacon) than the one served. */
  behind: z.boolean(),
});
export type EnvironmentFreshness = z.infer<typeof EnvironmentFreshnessSchema>;

export const FreshnessSchema = z.object({
  /** The Cloudflare location that answered (`request.cf.colo`); null locally. */
  colo: z.string().nullable(),
  at: z.string(),
  environments: z.array(EnvironmentFreshnessSchema),
});
export type Freshness = z.infer<typeof FreshnessSchema>;
