/**
 * `@edgeflags/openfeature-audit-mode`: run edgeflags beside the flag system an application is
 * leaving, compare every answer, and switch per environment when edgeflags says it is safe.
 */
export { AuditModeProvider, type AuditModeOptions, type AuditModeStats } from "./provider.js";
export type { ReportStats } from "./reporter.js";
export type { Authority, ComparisonBatch, EdgeflagsAnswer, Entry, LegacyAnswer, MigrationStatus, Sample } from "./wire.js";
export type { Fetch } from "./deadline.js";
