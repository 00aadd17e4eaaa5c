/**
 * Manifest sync: flags declared in an application's code (an OpenFeature CLI flag manifest) made
 * to exist in one environment, and an environment's flags exported as such a manifest. Sync only
 * ever creates: a flag the environment has is left exactly as it is, and how it differs from the
 * manifest is reported as drift. Reading the environment, deciding what is missing and creating
 * it happen in one transaction, so two application instances syncing at once create each flag once.
 */
import { validateFlagSet } from "../../engine/index";
import { OFF_VARIANT_METADATA_KEY, type FlagDefinition } from "../../engine/types";
import { canonical } from "../../contracts/flagset-diff";
import {
  isOfType,
  MANIFEST_SCHEMA_URL,
  typeOfValues,
  type ExportedManifest,
  type ManifestDrift,
  type ManifestFlag,
  type ManifestSync,
} from "../../contracts/flag-manifest";
import { fail, ok, type Result } from "../../contracts/result";
import { rejected } from "../store-records";
import type { Change } from "../store-records";
import type { UnitOfWork } from "../unit-of-work";
import type { ChangeMeta } from "../store-types";

/** The audit reason of every change a sync makes (the caller's own reason follows it). */
export const MANIFEST_SYNC_REASON = "manifest sync";

/**
 * The flag a manifest entry creates. A boolean gets variants `on`/`off` (`off` is its off
 * variant, served when the flag is killed) with the manifest's default as default variant; any
 * other type gets one variant, `default`, holding the manifest's default.
 */
export function definitionFor(flag: ManifestFlag): FlagDefinition {
  if (flag.flagType === "boolean") {
    return {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: flag.defaultValue === true ? "on" : "off",
      metadata: { [OFF_VARIANT_METADATA_KEY]: "off" },
    };
  }
  return { state: "ENABLED", variants: { default: flag.defaultValue }, defaultVariant: "default" };
}

const show = (value: unknown): string => (JSON.stringify(value) ?? "undefined").slice(0, 120);

/** How an existing flag differs from its manifest entry: its values' type, then its default; null when it agrees. */
function driftOf(key: string, definition: FlagDefinition, declared: ManifestFlag): ManifestDrift | null {
  const values = Object.values(definition.variants);
  if (!values.every((value) => isOfType(declared.flagType, value))) {
    const actual = typeOfValues(values);
    return {
      flag: key,
      kind: "type",
      detail: `the manifest declares ${declared.flagType}; the environment's variants are ${actual ?? "of mixed types"} (${Object.keys(definition.variants).join(", ")})`,
    };
  }
  // Without a default variant the flag serves the code's default, which is the manifest's.
  const variant = definition.defaultVariant;
  if (variant === null || variant === undefined || !(variant in definition.variants)) return null;
  const served = definition.variants[variant];
  if (canonical(served) === canonical(declared.defaultValue)) return null;
  return {
    flag: key,
    kind: "default",
    detail: `the manifest's default is ${show(declared.defaultValue)}; the environment's default variant "${variant}" serves ${show(served)}`,
  };
}

/**
 * Creates the manifest's flags the environment lacks and reports drift; never changes a flag
 * the environment has. Each created flag is audited (`flag.created`, reason `manifest sync`) and
 * its description goes into the project's flag facts when they have none. A sync that creates
 * nothing commits nothing (`changed: false`); a dry run answers the same and writes nothing.
 */
export async function syncManifest(
  w: UnitOfWork,
  environment: string,
  manifest: Record<string, ManifestFlag>,
  meta: ChangeMeta & { dryRun: boolean },
): Promise<Result<ManifestSync>> {
  const result = w.transaction((): Result<ManifestSync> => {
    const env = w.environment(environment);
    if (!env.ok) return env;
    const before = w.flagSet(env.value);
    const created: string[] = [];
    const drift: ManifestDrift[] = [];
    const candidate = w.flagSet(env.value);
    for (const [key, declared] of Object.entries(manifest).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const existing = before.flags[key];
      if (existing === undefined) {
        created.push(key);
        candidate.flags[key] = definitionFor(declared);
      } else {
        const found = driftOf(key, existing, declared);
        if (found) drift.push(found);
      }
    }
    for (const key of Object.keys(before.flags).sort()) {
      if (!(key in manifest)) {
        drift.push({
          flag: key,
          kind: "not-in-manifest",
          detail: `environment "${environment}" has it and the manifest does not; left as it is`,
        });
      }
    }
    const answer = {
      dryRun: meta.dryRun,
      changed: created.length > 0,
      version: env.value.version,
      created,
      drift,
      unchanged: Object.keys(manifest).length - created.length,
    };
    if (created.length === 0) return ok(answer);
    const validated = validateFlagSet(candidate, { before });
    if (!validated.ok) return fail(rejected(validated.problems, `the manifest's flags would not be valid in "${environment}": `));
    if (meta.dryRun) return ok(answer);
    const now = Date.now();
    const audited = { actor: meta.actor, reason: meta.reason ? `${MANIFEST_SYNC_REASON}: ${meta.reason}` : MANIFEST_SYNC_REASON };
    const version = w.commit(
      environment,
      audited,
      (version): Change[] =>
        created.map((key) => {
          const definition = validated.flagSet.flags[key]!;
          w.sql.exec(
            "INSERT INTO flags (environment, key, definition, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)",
            environment,
            key,
            JSON.stringify(definition),
            version,
            now,
            meta.actor,
          );
          return { action: "flag.created", target: `flag:${key}`, before: null, after: definition };
        }),
      now,
    );
    for (const key of created) describeIfUndescribed(w, key, manifest[key]!.description, audited, now);
    return ok({ ...answer, version });
  });
  if (result.ok && result.value.changed && !meta.dryRun) await w.scheduleDrain();
  return result;
}

/** Writes `description` into the flag's project facts when they have none (no row, or an empty description); audited. */
function describeIfUndescribed(w: UnitOfWork, key: string, description: string | undefined, meta: ChangeMeta, now: number): void {
  if (!description) return;
  const info = w.sql.exec<{ description: string }>("SELECT description FROM flag_info WHERE key = ?", key).toArray()[0];
  if (info && info.description !== "") return;
  w.sql.exec(
    `INSERT INTO flag_info (key, description, created_at, created_by) VALUES (?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET description = excluded.description`,
    key,
    description,
    now,
    meta.actor,
  );
  w.audit("flag.info.updated", meta, { target: `flag:${key}`, before: { description: "" }, after: { description } }, now);
}

/**
 * The environment's flags as a manifest: each flag's type from its variants' values, its default
 * from its default variant (or, without one, its off variant), its description from the
 * project's flag facts. A flag neither gives is listed in `x-edgeflags-skipped` with why.
 */
export async function getManifest(w: UnitOfWork, environment: string): Promise<Result<{ version: number; manifest: ExportedManifest }>> {
  const env = w.environment(environment);
  if (!env.ok) return env;
  const descriptions = new Map(
    w.sql
      .exec<{ key: string; description: string }>("SELECT key, description FROM flag_info WHERE description != ''")
      .toArray()
      .map((r) => [r.key, r.description]),
  );
  const flags: ExportedManifest["flags"] = {};
  const skipped: { flag: string; reason: string }[] = [];
  for (const [key, definition] of Object.entries(w.flagSet(env.value).flags)) {
    const flagType = typeOfValues(Object.values(definition.variants));
    if (flagType === null) {
      skipped.push({ flag: key, reason: "its variants hold values of different types (or null); a manifest flag has one type" });
      continue;
    }
    const offVariant = definition.metadata?.[OFF_VARIANT_METADATA_KEY];
    const variant = definition.defaultVariant ?? (typeof offVariant === "string" ? offVariant : null);
    if (variant === null || !(variant in definition.variants)) {
      skipped.push({ flag: key, reason: "it has no default variant (nor an off variant), so there is no default value to declare" });
      continue;
    }
    const description = descriptions.get(key);
    flags[key] = { flagType, defaultValue: definition.variants[variant]!, ...(description ? { description } : {}) };
  }
  return ok({
    version: env.value.version,
    manifest: { $schema: MANIFEST_SCHEMA_URL, flags, ...(skipped.length ? { "x-edgeflags-skipped": skipped } : {}) },
  });
}
