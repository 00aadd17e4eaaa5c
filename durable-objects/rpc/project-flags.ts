import { StoreGroup } from "./group";
import type { FlagDefinition } from "../../engine/types";
import * as projectFlags from "../aggregates/project-flags";
import type { ChangeMeta, FlagInfoInput } from "../store-types";

/** Flags across the project's environments (`stub.projectFlags().list()`), over `aggregates/project-flags.ts`. */
export class ProjectFlagsRpc extends StoreGroup {
  /**
   * Creates a flag in every environment at once: one definition (variants, default, targeting),
   * optionally adjusted per environment, plus the project-level facts (description, owner, tags,
   * lifetime). One transaction; 409 if the key exists anywhere.
   */
  create(key: string, info: FlagInfoInput, base: FlagDefinition, overrides: Record<string, Partial<FlagDefinition>>, meta: ChangeMeta) {
    return projectFlags.createFlagEverywhere(this.w, key, info, base, overrides, meta);
  }
  /** Every flag of the project with its facts and its state in each environment, side by side. */
  list() {
    return projectFlags.listProjectFlags(this.w);
  }
  /** One flag across the project: its facts and each environment's configuration. */
  get(key: string) {
    return projectFlags.getProjectFlag(this.w, key);
  }
  /** Updates a flag's project-level facts (description, owner, tags, lifetime). */
  updateInfo(key: string, patch: Partial<FlagInfoInput>, meta: ChangeMeta) {
    return projectFlags.updateFlagInfo(this.w, key, patch, meta);
  }
  /** Flags nobody evaluates, flags serving one variant to everyone, and temporary flags past their date. */
  stale(days: number) {
    return projectFlags.staleFlags(this.w, days);
  }
  /** Last evaluation time and count per flag in one environment. */
  usage(environment: string) {
    return projectFlags.flagUsage(this.w, environment);
  }
}
