/**
 * What the FlagStore's broadcasters and the edge's event streams say to each other: the change
 * event, the messages a shard sends to an edge socket, and how shards are named and counted. The
 * protocol is described in `durable-objects/broadcaster.ts`.
 */

/** A change as it is announced: the environment's new version and when it was committed. */
export interface ChangeEvent {
  version: number;
  /** The snapshot's entity tag, `"<version>"`: the OFREP event's `etag`. */
  etag: string;
  /** Unix seconds of the commit: the OFREP event's `lastModified`. */
  lastModified: number;
}

/** What a shard sends to an edge socket. */
export type BroadcastMessage = { type: "hello"; latest: ChangeEvent | null } | ({ type: "change" } & ChangeEvent);

/** Most shards one environment may use; the deployer's `STREAM_SHARDS` is clamped to it. */
export const MAX_SHARDS = 256;

/** How many broadcaster shards each environment uses; 0 turns event streams off. */
export function shardCount(env: Env): number {
  const n = Number(env.STREAM_SHARDS);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, MAX_SHARDS) : 1;
}

/** The name of shard `shard` of an environment's broadcaster (names cannot contain `/`). */
export function broadcasterName(project: string, environment: string, shard: number): string {
  return `${project}/${environment}/${shard}`;
}
