/**
 * edgeflags config as code: keep an environment's flags in a flagd JSON file in your repository.
 *
 *   npm run flags -- pull --project default --env production --file flags/production.json
 *   npm run flags -- diff --project default --env production --file flags/production.json
 *   npm run flags -- push --project default --env production --file flags/production.json [--dry-run] [--reason "..."]
 *
 * The service is `--url` (or EDGEFLAGS_URL, default http://localhost:8787); the credential is
 * EDGEFLAGS_TOKEN (an admin key or the admin token; `--token` works too but lands in shell history).
 * `push` reads the live version, shows the diff, and writes with `If-Match` on that version, so a
 * change someone made meanwhile is never overwritten; `--expect-version N` also refuses to push
 * unless the live version is the one you reviewed. Exit codes: 0 done (diff: no differences),
 * 1 differences (diff) or refused (push), 2 usage or service error.
 *
 * Runs on Node 22 (it strips the types itself), which `npm run` provides.
 */
import { readFile, writeFile } from "node:fs/promises";
import { describeDiff, diffFlagSets } from "./flagset-diff.ts";

interface Options {
  command: string;
  project: string;
  env: string;
  file: string;
  url: string;
  token: string;
  dryRun: boolean;
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
  if (!command || !["pull", "diff", "push"].includes(command)) throw new CliError("usage: flags <pull|diff|push> --project P --env E --file F [--dry-run] [--reason R] [--expect-version N] [--url U]", 2);
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith("--")) throw new CliError(`unexpected argument "${arg}"`, 2);
    const name = arg.slice(2);
    if (name === "dry-run") flags.add(name);
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

/** Runs one command; `fetcher` and the file functions are injectable for tests. Returns the exit code. */
export async function run(
  options: Options,
  io: { fetch: typeof fetch; read: (path: string) => Promise<string>; write: (path: string, text: string) => Promise<void>; print: (line: string) => void },
): Promise<number> {
  const endpoint = `${options.url}/admin/v1/projects/${encodeURIComponent(options.project)}/environments/${encodeURIComponent(options.env)}/flagd`;
  const headers = { authorization: `Bearer ${options.token}` };
  const live = await io.fetch(endpoint, { headers });
  if (!live.ok) throw new CliError(`reading ${options.project}/${options.env} failed: ${await problemOf(live)}`, 2);
  const version = Number(/"?(\d+)"?/.exec(live.headers.get("etag") ?? "")?.[1] ?? NaN);
  const liveSet = (await live.json()) as FlagSetJson;

  if (options.command === "pull") {
    await io.write(options.file, `${JSON.stringify(liveSet, null, 2)}\n`);
    io.print(`pulled ${Object.keys(liveSet.flags).length} flags of ${options.project}/${options.env} at version ${version} into ${options.file}`);
    return 0;
  }

  let local: FlagSetJson;
  try {
    local = JSON.parse(await io.read(options.file)) as FlagSetJson;
  } catch (error) {
    throw new CliError(`${options.file} is not a readable flagd JSON file: ${error instanceof Error ? error.message : String(error)}`, 2);
  }
  if (typeof local !== "object" || local === null || typeof local.flags !== "object") throw new CliError(`${options.file} has no "flags" object`, 2);
  const diff = diffFlagSets("live", liveSet, "file", local);
  const lines = describeDiff(diff);
  io.print(lines.length ? `${options.project}/${options.env} (live version ${version}) → ${options.file}:` : `${options.project}/${options.env} (live version ${version}) matches ${options.file}`);
  for (const line of lines) io.print(line);
  const sameExtras = JSON.stringify(liveSet.$evaluators ?? {}) === JSON.stringify(local.$evaluators ?? {}) && JSON.stringify(liveSet.metadata ?? {}) === JSON.stringify(local.metadata ?? {});
  if (!sameExtras) io.print("~ $evaluators or metadata differ");
  const changed = lines.length > 0 || !sameExtras;

  if (options.command === "diff") return changed ? 1 : 0;
  if (options.expectVersion !== null && options.expectVersion !== version) {
    io.print(`refusing to push: the live version is ${version}, not the ${options.expectVersion} you reviewed; run diff again`);
    return 1;
  }
  if (!changed) return 0;
  if (options.dryRun) {
    io.print("dry run: nothing written");
    return 0;
  }
  const pushed = await io.fetch(endpoint, {
    method: "PUT",
    headers: { ...headers, "content-type": "application/json", "if-match": `"${version}"`, ...(options.reason ? { "x-change-reason": options.reason } : {}) },
    body: JSON.stringify(local),
  });
  if (pushed.status === 412) {
    io.print(`refusing to overwrite: ${options.project}/${options.env} changed while pushing (${await problemOf(pushed)}); run diff again`);
    return 1;
  }
  if (!pushed.ok) throw new CliError(`push failed: ${await problemOf(pushed)}`, 2);
  const result = (await pushed.json()) as { version: number };
  io.print(`pushed: ${options.project}/${options.env} is now at version ${result.version}`);
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
