/** The systems that can answer for an environment during a migration (audit mode). Imports nothing, so any side loads it. */
export const AUTHORITIES = ["legacy", "edgeflags"] as const;
export type Authority = (typeof AUTHORITIES)[number];
