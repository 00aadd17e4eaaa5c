/**
 * The edgeflags Worker: OFREP evaluation at the edge and the admin API, plus the FlagStore
 * Durable Object class that holds each project's flags.
 */
import { handle } from "./app";

export { FlagStore } from "../durable-objects/flag-store";
export { Broadcaster } from "../durable-objects/broadcaster";
export { MigrationLedger } from "../durable-objects/migration-ledger";
export { TelemetryShard } from "../durable-objects/telemetry-shard";

export default {
  fetch: handle,
} satisfies ExportedHandler<Env>;
