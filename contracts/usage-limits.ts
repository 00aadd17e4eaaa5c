/**
 * The bounds of a usage report (`contracts/usage-report.ts`), apart from its schema so a client can
 * size its reports without carrying zod.
 */

/** The largest report body, in bytes; a client sends more often rather than larger. */
export const MAX_USAGE_REPORT_BYTES = 512 * 1024;
/** Usage rows (flag × variant) in one report. */
export const MAX_USAGE_ROWS = 2_000;
/** Exposures in one report. */
export const MAX_EXPOSURES = 2_000;

/** Tracking events in one `POST /ofrep/v1/track` batch (`contracts/tracking.ts`). */
export const MAX_TRACK_EVENTS = 100;
/** The largest tracking batch body, in bytes: 100 events with a small context each. */
export const MAX_TRACK_BODY_BYTES = 128 * 1024;
