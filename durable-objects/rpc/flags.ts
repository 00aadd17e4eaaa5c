import { StoreGroup } from "./group";
import type { FlagDefinition } from "../../engine/types";
import * as flags from "../aggregates/flags";
import type { ChangeMeta } from "../store-types";

/**
 * One environment's flags (`stub.flags().setState(env, key, "DISABLED", meta)`), over
 * `aggregates/flags.ts`. The edge reads the whole set with the top-level `getFlagSet`.
 */
export class FlagsRpc extends StoreGroup {
  /** The environment's flags with the version they were read at. */
  list(environment: string) {
    return flags.listFlags(this.w, environment);
  }
  /** One flag of one environment. */
  get(environment: string, key: string) {
    return flags.getFlag(this.w, environment, key);
  }
  /** Creates a flag; 409 if the key is taken in that environment. */
  create(environment: string, key: string, definition: FlagDefinition, meta: ChangeMeta) {
    return flags.createFlag(this.w, environment, key, definition, meta);
  }
  /**
   * Replaces a flag's definition. `ifMatch` is the flag version the caller read (412 if stale).
   * A definition equal to the stored one changes nothing and answers `changed: false`.
   */
  update(environment: string, key: string, definition: FlagDefinition, meta: ChangeMeta & { ifMatch: number | null }) {
    return flags.updateFlag(this.w, environment, key, definition, meta);
  }
  /**
   * Turns a flag on or off in one environment: the kill switch. `null` flips the current state;
   * reading and writing happen in this one call, so concurrent flips cannot both read the old
   * state. Asking for the state the flag already has changes nothing (`changed: false`).
   */
  setState(environment: string, key: string, requested: "ENABLED" | "DISABLED" | null, meta: ChangeMeta & { ifMatch: number | null }) {
    return flags.setFlagState(this.w, environment, key, requested, meta);
  }
  /** Deletes a flag (412 if `ifMatch` is stale, 409 if another flag still needs it); its ramp and running experiment end with it. */
  delete(environment: string, key: string, meta: ChangeMeta & { ifMatch: number | null }) {
    return flags.deleteFlag(this.w, environment, key, meta);
  }
  /**
   * Replaces every flag of an environment with a flagd flag set. With `ifMatch`, the write only
   * happens if the environment is still at that version. Each flag added, changed, toggled or
   * removed is audited and announced on its own (`flag.created`, `flag.updated`, `flag.toggled`,
   * `flag.deleted`), besides one `flagset.replaced`; a set equal to the stored one changes
   * nothing and answers `changed: false`.
   */
  replaceSet(environment: string, input: unknown, meta: ChangeMeta & { ifMatch: number | null }) {
    return flags.replaceFlagSet(this.w, environment, input, meta);
  }
  /** How two environments' flags differ: per flag, only in one, different (which fields), or the same. */
  compare(from: string, to: string, keys: string[] | null) {
    return flags.compareEnvironments(this.w, from, to, keys);
  }
  /**
   * Copies `from`'s configuration of the named flags (all of them when `keys` is null) to `to`,
   * atomically; flags only in `to` are left alone. With `dryRun`, only reports the diff.
   */
  promote(from: string, to: string, keys: string[] | null, meta: ChangeMeta & { dryRun: boolean; ifMatch: number | null }) {
    return flags.promote(this.w, from, to, keys, meta);
  }
}
