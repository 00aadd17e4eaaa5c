/** The telemetry shard holding a unit's exposures and events, for tests that look inside it. */
import { env } from "cloudflare:workers";
import { shardOf } from "../contracts/telemetry";

/** The shard of `unit` in `project`, and a `recordTelemetry` as the edge calls it. */
export function telemetryShard(project: string, unit: string) {
  const n = shardOf(unit);
  const stub = env.TELEMETRY_SHARD.get(env.TELEMETRY_SHARD.idFromName(`${project}:${n}`));
  return { stub, record: (batch: unknown) => stub.recordTelemetry(project, n, batch) };
}
