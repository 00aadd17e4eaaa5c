/**
 * The targets aggregate: a flag's individual targets in one environment (variant → targeting
 * keys, rows of `flag_targets`, see `target-rows.ts`). Adding or removing keys costs the keys in
 * the call, never the keys already there, and never rewrites the flag's definition.
 */
import { writeTargets, type Targets, type TargetsDelta } from "../target-rows";
import type { UnitOfWork } from "../unit-of-work";

export { environmentTargets, flagTargets, withTargets, withoutTargets, type Targets, type TargetsDelta } from "../target-rows";

/**
 * Makes a flag's targets exactly `targets` (undefined or `{}`: none), for a change that replaces
 * the flag as a whole (PUT flag, PUT flagd, an import). Call inside the caller's transaction
 * (`w.transaction` / `w.commit`), after the flag's row is written: the rows reference it. The
 * targets are not validated here; validate the flag (`validateFlagSet`) first. Only the keys
 * that differ are written; the result names them.
 *
 * @example
 * w.commit(env, meta, (version, now) => { upsertFlag(...); replaceTargets(w, env, "beta", { on: ["acme"] }, now, meta.actor); return change; }, now);
 */
export function replaceTargets(
  w: UnitOfWork,
  environment: string,
  flag: string,
  targets: Targets | undefined,
  now: number,
  actor: string,
): TargetsDelta {
  return writeTargets(w.sql, environment, flag, targets, now, actor);
}
