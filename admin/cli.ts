/**
 * edgeflags from the command line: config as code, imports and flags declared in code.
 *
 *   npm run flags -- pull --project default --env production --file flags/production.json
 *   npm run flags -- diff --project default --env production --file flags/production.json
 *   npm run flags -- push --project default --env production --file flags/production.json [--dry-run] [--reason "..."] [--force]
 *   npm run flags -- import --project default --source homegrown --file export.csv [--dry-run] [--pin pins.csv]
 *   npm run flags -- sync --project default --env qa --manifest flags.manifest.json [--dry-run] [--strict]
 *   npm run flags -- manifest --project default --env qa --file flags.manifest.json
 *   npm run flags -- migration --project default [--env production]
 *   npm run flags -- cut-over --project default --env production --to edgeflags|legacy [--override] [--grace-days N] [--reason "..."]
 *   npm run flags -- toggle --project default --env production --flag new-checkout --state off [--reason "..."]
 *
 * `flags <command> --help` lists a command's options. The service is `--url` (or EDGEFLAGS_URL,
 * default http://localhost:8787); the credential is EDGEFLAGS_TOKEN (an admin key or the admin
 * token; `--token` works too but lands in shell history); both may come from a config file
 * (`./cli/config.ts`). Installed from `packages/cli` (`@edgeflags/cli`), the same program is the
 * `edgeflags` command. Files are relative to the directory
 * the command was run from (npm's INIT_CWD under `npm run`). Exit codes: 0 done (diff: no
 * differences), 1 differences (diff, a dry run of import or sync that would change something,
 * sync --strict with drift), refused (push, cut-over, toggle) or waiting (migration: an environment the
 * legacy system answers has its exit criterion unmet), 2 usage or service error.
 *
 * Runs on Node 22 (it strips the types itself), which `npm run` provides. The commands live in
 * `./cli/`: arguments (`args.ts`), the admin API client (`service.ts`), one module per concern.
 */
import { realpathSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, type Options } from "./cli/args.ts";
import { runFlagFile } from "./cli/flag-file.ts";
import { runImport } from "./cli/import.ts";
import { loadConfig } from "./cli/config.ts";
import { CliError, type Io } from "./cli/io.ts";
import { runManifest, runSync } from "./cli/manifest.ts";
import { runCutOver, runMigration } from "./cli/migration.ts";
import { runToggle } from "./cli/toggle.ts";

export { optionsFrom, parseArgs } from "./cli/args.ts";
export { basePath } from "./cli/flag-file.ts";
export { CliError } from "./cli/io.ts";

/** Runs one command; the network, files and output are injectable for tests. Returns the exit code. */
export async function run(options: Options, io: Io): Promise<number> {
  switch (options.command) {
    case "help":
      io.print(options.text);
      return 0;
    case "pull":
    case "diff":
    case "push":
      return runFlagFile(options, io);
    case "import":
      return runImport(options, io);
    case "sync":
      return runSync(options, io);
    case "manifest":
      return runManifest(options, io);
    case "migration":
      return runMigration(options, io);
    case "cut-over":
      return runCutOver(options, io);
    case "toggle":
      return runToggle(options, io);
  }
}

/** The program: arguments, environment and config file of this process. */
export async function main(): Promise<void> {
  const cwd = process.env["INIT_CWD"] ?? process.cwd();
  try {
    const config = await loadConfig(cwd, process.env, (path) =>
      readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return null;
        throw new CliError(`cannot read the config file ${path}: ${error.message}`, 2);
      }),
    );
    const options = parseArgs(process.argv.slice(2), { ...config, ...process.env });
    process.exitCode = await run(options, {
      fetch,
      read: (path) => readFile(resolve(cwd, path), "utf8"),
      write: (path, text) => writeFile(resolve(cwd, path), text),
      print: (line) => console.log(line),
    });
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = error instanceof CliError ? error.exitCode : 2;
  }
}

/** Whether this module is the program node was started with (directly, or through the `edgeflags` bin's link). */
function isProgram(): boolean {
  const started = process.argv[1];
  if (started === undefined) return false;
  try {
    return realpathSync(started) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isProgram()) await main();
