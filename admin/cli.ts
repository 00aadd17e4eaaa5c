/**
 * edgeflags config as code: keep an environment's flags in a flagd JSON file in your repository.
 *
 *   npm run flags -- pull --project default --env production --file flags/production.json
 *   npm run flags -- diff --project default --env production --file flags/production.json
 *   npm run flags -- push --project default --env production --file flags/production.json [--dry-run] [--reason "..."] [--force]
 *
 * The service is `--url` (or EDGEFLAGS_URL, default http://localhost:8787); the credential is
 * EDGEFLAGS_TOKEN (an admin key or the admin token; `--token` works too but lands in shell history).
 *
 * `pull` also writes the base beside the file (`flags/production.base.json`): the version it was
 * pulled at and what every flag was then. `push` is a 3-way check of base, file and live: a flag
 * changed live since the pull (a kill switch flipped by on-call) that the file would overwrite
 * with something else makes it refuse, naming each such flag, unless `--force`. It then writes
 * with `If-Match` on the live version it checked, so a change made meanwhile is refused the same
 * way. `--expect-version N` also refuses unless the live version is the one you reviewed. Exit
 * codes: 0 done (diff: no differences), 1 differences (diff) or refused (push), 2 usage or service
 * error.
 *
 * Runs on Node 22 (it strips the types itself), which `npm run` provides.
 */
import { readFile, writeFile } from "node:fs/promises";
import { describeDiff, diffFlagSets, remoteChanges } from "../contracts/flagset-diff.ts";
import type { RemoteChange } from "../contracts/flagset-diff.ts";

interface Options {
  command: string;
  project: string;
  env: string;
  file: string;
  url: string;
  token: string;
  dryRun: boolean;
  force: boolean;
  reason: string | null;
  expectVersion: number | null;
}

type FlagSetJson = { flags: Record<string, { state: string; variants: Record<string, unknown> }> } & Record<string, unknown>;

export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Parses `argv` (without node and the script). */
export function parseArgs(argv: string[], environment: Record<string, string | undefined>): Options {
  const [command, ...rest] = argv;
  if (!command || !["pull", "diff", "push"].includes(command))
    throw new CliError(
      "usage: flags <pull|diff|push> --project P --env E --file F [--dry-run] [--force] [--reason R] [--expect-version N] [--url U]",
      2,
    );
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith("--")) throw new CliError(`unexpected argument "${arg}"`, 2);
    const name = arg.slice(2);
    if (name === "dry-run" || name === "force") flags.add(name);
    else {
      const value = rest[++i];
      if (value === undefined) throw new CliError(`--${name} needs a value`, 2);
      values.set(name, value);
    }
  }
  const need = (name: string): string => {
    const value = values.get(name);
    if (!value) throw new CliError(`--${name} is required`, 2);
    return value;
  };
  const token = values.get("token") ?? environment["EDGEFLAGS_TOKEN"];
  if (!token) throw new CliError("set EDGEFLAGS_TOKEN to an admin key or the admin token", 2);
  const expect = values.get("expect-version");
  if (expect !== undefined && !/^\d+$/.test(expect)) throw new CliError("--expect-version takes a version number", 2);
  return {
    command,
    project: need("project"),
    env: need("env"),
    file: need("file"),
    url: (values.get("url") ?? environment["EDGEFLAGS_URL"] ?? "http://localhost:8787").replace(/\/$/, ""),
    token,
    dryRun: flags.has("dry-run"),
    force: flags.has("force"),
    reason: values.get("reason") ?? null,
    expectVersion: expect === undefined ? null : Number(expect),
  };
}

async function problemOf(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { detail?: string; errors?: { path: string; message: string }[] };
    const errors = body.errors?.map((e) => `\n  ${e.path}: ${e.message}`).join("") ?? "";
    return `${response.status}: ${body.detail ?? text}${errors}`;
  } catch {
    return `${response.status}: ${text}`;
  }
}

type Io = {
  fetch: typeof fetch;
  read: (path: string) => Promise<string>;
  write: (path: string, text: string) => Promise<void>;
  print: (line: string) => void;
};

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

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isFlagSet = (v: unknown): v is FlagSetJson => isObject(v) && isObject(v["flags"]);

async function writeBase(io: Io, options: Options, version: number, flagSet: FlagSetJson): Promise<void> {
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
async function readBase(io: Io, options: Options): Promise<Base | string> {
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

async function readLive(
  io: Io,
  endpoint: string,
  headers: Record<string, string>,
  options: Options,
): Promise<{ version: number; flagSet: FlagSetJson }> {
  const live = await io.fetch(endpoint, { headers });
  if (!live.ok) throw new CliError(`reading ${options.project}/${options.env} failed: ${await problemOf(live)}`, 2);
  const version = Number(/"?(\d+)"?/.exec(live.headers.get("etag") ?? "")?.[1] ?? NaN);
  const flagSet: unknown = await live.json();
  if (!isFlagSet(flagSet) || !Number.isInteger(version))
    throw new CliError(`${options.project}/${options.env} answered something that is not a versioned flag set`, 2);
  return { version, flagSet };
}

const CHANGE_MARK: Record<RemoteChange["change"], string> = { changed: "~", created: "+", deleted: "-" };
const describeChanges = (changes: RemoteChange[]): string[] => changes.map((c) => `  ${CHANGE_MARK[c.change]} ${c.key} (${c.change} live)`);

/** Runs one command; `fetcher` and the file functions are injectable for tests. Returns the exit code. */
export async function run(options: Options, io: Io): Promise<number> {
  const endpoint = `${options.url}/admin/v1/projects/${encodeURIComponent(options.project)}/environments/${encodeURIComponent(options.env)}/flagd`;
  const headers = { authorization: `Bearer ${options.token}` };
  const where = `${options.project}/${options.env}`;
  const live = await readLive(io, endpoint, headers, options);
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
  const pushed = await io.fetch(endpoint, {
    method: "PUT",
    headers: {
      ...headers,
      "content-type": "application/json",
      "if-match": `"${version}"`,
      ...(options.reason ? { "x-change-reason": options.reason } : {}),
    },
    body: JSON.stringify(local),
  });
  if (pushed.status === 412) {
    const problem = await problemOf(pushed);
    const now = await readLive(io, endpoint, headers, options).catch(() => null);
    const racing = now ? remoteChanges(live.flagSet, local, now.flagSet) : [];
    io.print(
      `refusing to overwrite: ${where} changed while pushing (${now ? `now version ${now.version}` : problem}); nothing written; run push again`,
    );
    for (const line of describeChanges(racing)) io.print(line);
    return 1;
  }
  if (!pushed.ok) throw new CliError(`push failed: ${await problemOf(pushed)}`, 2);
  const result: unknown = await pushed.json();
  const pushedVersion = isObject(result) && typeof result["version"] === "number" ? result["version"] : NaN;
  // The new base is what is live at the pushed version (as the service stores it); if someone
  // wrote since, the file as pushed, so their change still shows as a change on the next push.
  const after = await readLive(io, endpoint, headers, options).catch(() => null);
  await writeBase(io, options, pushedVersion, after && after.version === pushedVersion ? after.flagSet : local);
  io.print(`pushed: ${where} is now at version ${pushedVersion}`);
  return 0;
}

async function main(): Promise<void> {
  try {
    const options = parseArgs(process.argv.slice(2), process.env);
    process.exitCode = await run(options, {
      fetch,
      read: (path) => readFile(path, "utf8"),
      write: (path, text) => writeFile(path, text),
      print: (line) => console.log(line),
    });
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = error instanceof CliError ? error.exitCode : 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
