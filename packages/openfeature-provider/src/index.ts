/**
 * `@edgeflags/openfeature-provider`: evaluate an edgeflags environment in-process, on the edge's
 * own engine, from an OpenFeature server SDK (Node 20+ or a Worker of your own).
 */
export { EdgeflagsProvider, type EdgeflagsProviderOptions, type EdgeflagsProviderStats } from "./provider.ts";
export type { UsageStats } from "./usage.ts";
export type { TrackingStats } from "./tracking.ts";
export type { Fetch } from "../../openfeature-audit-mode/src/deadline.ts";
