/**
 * `@edgeflags/openfeature-audit-mode`: run edgeflags beside the flag system an application is
 * leaving, compare every answer, and switch per environment when edgeflags says it is safe.
 */
export { AuditModeProvider, type AuditModeOptions, type AuditModeStats } from "./provider.ts";
export type { ReportStats } from "./reporter.ts";
export type { Authority, ComparisonBatch, EdgeflagsAnswer, Entry, LegacyAnswer, MigrationStatus, Sample } from "./wire.ts";
export type { Fetch } from "./deadline.ts";
