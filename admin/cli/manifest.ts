/**
 * `sync` and `manifest`: flags declared in code. `sync` sends an OpenFeature CLI flag manifest to
 * an environment, which creates the flags it lacks (never changing one it has) and reports how
 * the others drift from the manifest; safe to run on every application start. `manifest` writes
 * an environment's flags as such a manifest, for `openfeature generate` (typed accessors).
 */
import { FlagManifestSchema, ManifestSyncSchema, type ManifestSync } from "../../contracts/flag-manifest.ts";
import type { ManifestOptions, SyncOptions } from "./args.ts";
import { CliError, readJsonFile, type Io } from "./io.ts";
import { adminPath, Service } from "./service.ts";

const list = (keys: string[]) => (keys.length > 10 ? `${keys.slice(0, 10).join(", ")}, … ${keys.length - 10} more` : keys.join(", "));

/** Prints what a sync did (or would do); returns the exit code: 1 for a dry run that would create, or drift under `--strict`. */
export function reportSync(options: SyncOptions, answer: ManifestSync, io: Io): number {
  const where = `${options.project}/${options.env}`;
  const { created, drift, unchanged, version } = answer;
  if (created.length === 0)
    io.print(`nothing to create: ${where} has every flag of ${options.manifest} (version ${version}); nothing written`);
  else if (answer.dryRun) io.print(`dry run: would create ${created.length} flags in ${where}: ${list(created)}; nothing written`);
  else io.print(`created ${created.length} flags in ${where} (now version ${version}): ${list(created)}`);
  if (unchanged > 0) io.print(`${unchanged} flags of the manifest already exist and were left as they are`);
  if (drift.length > 0) {
    io.print(`drift (${drift.length}): ${where} differs from ${options.manifest}; nothing was changed for it:`);
    for (const d of drift) io.print(`  ! ${d.flag} (${d.kind}): ${d.detail}`);
  }
  if (answer.dryRun && created.length > 0) return 1;
  return options.strict && drift.length > 0 ? 1 : 0;
}

/** Runs `sync`; returns the exit code. */
export async function runSync(options: SyncOptions, io: Io): Promise<number> {
  const manifest = await readJsonFile(io, options.manifest, "the manifest");
  const service = new Service(options.url, options.token, io);
  const response = await service.request(
    "POST",
    `${adminPath(options.project, options.env)}/manifest${options.dryRun ? "?dryRun=true" : ""}`,
    {
      body: JSON.stringify(manifest),
      headers: options.reason ? { "x-change-reason": options.reason } : {},
    },
  );
  const answer = ManifestSyncSchema.safeParse(
    await service.json(response, `syncing ${options.manifest} into ${options.project}/${options.env}`),
  );
  if (!answer.success) throw new CliError(`${options.url} answered the sync with something that is not a sync result; is it edgeflags?`, 2);
  return reportSync(options, answer.data, io);
}

/** Runs `manifest`; returns the exit code. */
export async function runManifest(options: ManifestOptions, io: Io): Promise<number> {
  const service = new Service(options.url, options.token, io);
  const response = await service.request("GET", `${adminPath(options.project, options.env)}/manifest`);
  const manifest = FlagManifestSchema.safeParse(await service.json(response, `reading ${options.project}/${options.env} as a manifest`));
  if (!manifest.success) throw new CliError(`${options.url} answered with something that is not a flag manifest; is it edgeflags?`, 2);
  await io.write(options.file, `${JSON.stringify(manifest.data, null, 2)}\n`);
  const version = response.headers.get("etag")?.replace(/"/g, "") ?? "?";
  io.print(
    `wrote ${Object.keys(manifest.data.flags).length} flags of ${options.project}/${options.env} (version ${version}) to ${options.file}`,
  );
  const skipped = manifest.data["x-edgeflags-skipped"] ?? [];
  if (skipped.length > 0) {
    io.print(`left out ${skipped.length} flags a manifest cannot express (listed in the file's x-edgeflags-skipped):`);
    for (const s of skipped) io.print(`  ! ${s.flag}: ${s.reason}`);
  }
  return 0;
}
