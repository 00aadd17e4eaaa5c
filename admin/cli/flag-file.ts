/**
 * `pull`, `diff` and `push`: an environment's flags kept in a flagd JSON file. `pull` also writes
 * the base beside the file (`flags/production.base.json`): the version it was pulled at and what
 * every flag was then. `push` is a 3-way check of base, file and live: a flag changed live since
 * the pull (a kill switch flipped by on-call) that the file would overwrite with something else
 * makes it refuse, naming each such flag, unless `--force`. It then writes with `If-Match` on the
 * live version it checked, so a change made meanwhile is refused the same way.
 */
import { describeDiff, diffFlagSets, remoteChanges } from "../../contracts/flagset-diff.ts";
import type { RemoteChange } from "../../contracts/flagset-diff.ts";
import type { FlagFileOptions } from "./args.ts";
import { CliError, isObject, type Io } from "./io.ts";
import { adminPath, problemOf, Service } from "./service.ts";

type FlagSetJson = { flags: Record<string, { state: string; variants: Record<string, unknown> }> } & Record<string, unknown>;

/** Where `pull` records the base of `file`: `flags/production.json` → `flags/production.base.json`. */
export function basePath(file: string): string {
  return /\.json$/i.test(file) ? file.replace(/\.json$/i, ".base.json") : `${file}.base.json`;
}

/** What `pull` records beside the file: where and at which version it came from, and every flag then. */
interface Base {
  project: string;
  environment: string;
  version: number;
  flagSet: FlagSetJson;
}

const isFlagSet = (v: unknown): v is FlagSetJson => isObject(v) && isObject(v["flags"]);

async function writeBase(io: Io, options: FlagFileOptions, version: number, flagSet: FlagSetJson): Promise<void> {
  const base = {
    $comment: "written by `flags pull`/`push`: the live version the file was based on; keep it beside the file",
    project: options.project,
    environment: options.env,
    version,
    flagSet,
  };
  await io.write(basePath(options.file), `${JSON.stringify(base, null, 2)}\n`);
}

/** The recorded base, or why there is none usable. */
async function readBase(io: Io, options: FlagFileOptions): Promise<Base | string> {
  const path = basePath(options.file);
  let text: string;
  try {
    text = await io.read(path);
  } catch {
    return `there is no ${path}, so what changed live since the file was made cannot be told; run pull, reapply your edits, then push`;
  }
  let base: unknown;
  try {
    base = JSON.parse(text);
  } catch {
    return `${path} is not JSON; run pull again`;
  }
  if (
    !isObject(base) ||
    typeof base["version"] !== "number" ||
    !isFlagSet(base["flagSet"]) ||
    typeof base["project"] !== "string" ||
    typeof base["environment"] !== "string"
  ) {
    return `${path} is not a base written by pull; run pull again`;
  }
  if (base["project"] !== options.project || base["environment"] !== options.env) {
    return `${path} records ${base["project"]}/${base["environment"]}, not ${options.project}/${options.env}; pull from ${options.project}/${options.env} first`;
  }
  return { project: base["project"], environment: base["environment"], version: base["version"], flagSet: base["flagSet"] };
}

async function readLive(service: Service, path: string, options: FlagFileOptions): Promise<{ version: number; flagSet: FlagSetJson }> {
  const live = await service.request("GET", path);
  if (!live.ok) throw new CliError(`reading ${options.project}/${options.env} failed: ${await problemOf(live)}`, 2);
  const version = Number(/"?(\d+)"?/.exec(live.headers.get("etag") ?? "")?.[1] ?? NaN);
  const flagSet = await service.json(live, `reading ${options.project}/${options.env}`);
  if (!isFlagSet(flagSet) || !Number.isInteger(version))
    throw new CliError(`${options.project}/${options.env} answered something that is not a versioned flag set`, 2);
  return { version, flagSet };
}

const CHANGE_MARK: Record<RemoteChange["change"], string> = { changed: "~", created: "+", deleted: "-" };
const describeChanges = (changes: RemoteChange[]): string[] => changes.map((c) => `  ${CHANGE_MARK[c.change]} ${c.key} (${c.change} live)`);

/** Runs `pull`, `diff` or `push`; returns the exit code. */
export async function runFlagFile(options: FlagFileOptions, io: Io): Promise<number> {
  const service = new Service(options.url, options.token, io);
  const path = `${adminPath(options.project, options.env)}/flagd`;
  const where = `${options.project}/${options.env}`;
  const live = await readLive(service, path, options);
  const { version } = live;

  if (options.command === "pull") {
    await io.write(options.file, `${JSON.stringify(live.flagSet, null, 2)}\n`);
    await writeBase(io, options, version, live.flagSet);
    io.print(
      `pulled ${Object.keys(live.flagSet.flags).length} flags of ${where} at version ${version} into ${options.file} (base in ${basePath(options.file)})`,
    );
    return 0;
  }

  let local: unknown;
  try {
    local = JSON.parse(await io.read(options.file));
  } catch (error) {
    throw new CliError(`${options.file} is not a readable flagd JSON file: ${error instanceof Error ? error.message : String(error)}`, 2);
  }
  if (!isFlagSet(local)) throw new CliError(`${options.file} has no "flags" object`, 2);
  const diff = diffFlagSets("live", live.flagSet, "file", local);
  const lines = describeDiff(diff);
  io.print(
    lines.length ? `${where} (live version ${version}) → ${options.file}:` : `${where} (live version ${version}) matches ${options.file}`,
  );
  for (const line of lines) io.print(line);
  const sameExtras =
    JSON.stringify(live.flagSet.$evaluators ?? {}) === JSON.stringify(local.$evaluators ?? {}) &&
    JSON.stringify(live.flagSet.metadata ?? {}) === JSON.stringify(local.metadata ?? {});
  if (!sameExtras) io.print("~ $evaluators or metadata differ");
  const changed = lines.length > 0 || !sameExtras;
  const base = await readBase(io, options);
  const conflicts = typeof base === "string" ? [] : remoteChanges(base.flagSet, local, live.flagSet);

  if (options.command === "diff") {
    if (conflicts.length && typeof base !== "string") {
      io.print(`changed live since ${options.file} was pulled at version ${base.version}, and the file disagrees:`);
      for (const line of describeChanges(conflicts)) io.print(line);
    }
    return changed ? 1 : 0;
  }
  if (options.expectVersion !== null && options.expectVersion !== version) {
    io.print(`refusing to push: the live version is ${version}, not the ${options.expectVersion} you reviewed; run diff again`);
    return 1;
  }
  if (!changed) {
    io.print(`nothing to push: ${where} already matches ${options.file} at version ${version}; nothing written`);
    if (typeof base === "string" || base.version !== version) await writeBase(io, options, version, live.flagSet);
    return 0;
  }
  if (!options.force) {
    if (typeof base === "string") {
      io.print(`refusing to push: ${base} (or push --force to overwrite whatever is live)`);
      return 1;
    }
    if (conflicts.length) {
      io.print(
        `refusing to push: ${where} changed since ${options.file} was pulled at version ${base.version} (live is version ${version}), and the push would undo it:`,
      );
      for (const line of describeChanges(conflicts)) io.print(line);
      io.print("pull again and reapply your edits, or push --force to overwrite these changes");
      return 1;
    }
  } else if (conflicts.length) {
    io.print(`--force: overwriting what changed live since the pull: ${conflicts.map((c) => c.key).join(", ")}`);
  }
  if (options.dryRun) {
    io.print("dry run: nothing written");
    return 0;
  }
  const pushed = await service.request("PUT", path, {
    headers: { "if-match": `"${version}"`, ...(options.reason ? { "x-change-reason": options.reason } : {}) },
    body: JSON.stringify(local),
  });
  if (pushed.status === 412) {
    const problem = await problemOf(pushed);
    const now = await readLive(service, path, options).catch(() => null);
    const racing = now ? remoteChanges(live.flagSet, local, now.flagSet) : [];
    io.print(
      `refusing to overwrite: ${where} changed while pushing (${now ? `now version ${now.version}` : problem}); nothing written; run push again`,
    );
    for (const line of describeChanges(racing)) io.print(line);
    return 1;
  }
  if (!pushed.ok) throw new CliError(`push failed: ${await problemOf(pushed)}`, 2);
  const result = await service.json(pushed, "push");
  const pushedVersion = isObject(result) && typeof result["version"] === "number" ? result["version"] : NaN;
  // The new base is what is live at the pushed version (as the service stores it); if someone
  // wrote since, the file as pushed, so their change still shows as a change on the next push.
  const after = await readLive(service, path, options).catch(() => null);
  await writeBase(io, options, pushedVersion, after && after.version === pushedVersion ? after.flagSet : local);
  io.print(`pushed: ${where} is now at version ${pushedVersion}`);
  return 0;
}
