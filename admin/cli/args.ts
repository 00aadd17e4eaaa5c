/**
 * The CLI's commands and their options, declared once: `parseArgs` (on `node:util`'s) reads
 * `argv` with them and `--help` prints them. `--x=y` and `--x y` both work; an unknown option,
 * a missing value or a stray argument is a usage error (exit 2) naming it.
 */
import { parseArgs as parseArgv } from "node:util";
import { CliError } from "./io.ts";

type OptionSpec = { type: "string" | "boolean"; value?: string; required?: boolean; help: string };

const CONNECTION: Record<string, OptionSpec> = {
  url: { type: "string", value: "U", help: "the service (default $EDGEFLAGS_URL, else http://localhost:8787)" },
  token: { type: "string", value: "T", help: "an admin key or the admin token (default $EDGEFLAGS_TOKEN; a flag lands in shell history)" },
  help: { type: "boolean", help: "show this help" },
};
const PROJECT: OptionSpec = { type: "string", value: "P", required: true, help: "the project" };
const ENV: OptionSpec = { type: "string", value: "E", required: true, help: "the environment (--environment works too)" };
const FILE: OptionSpec = { type: "string", value: "F", required: true, help: "the flagd JSON file" };
const REASON: OptionSpec = { type: "string", value: "R", help: "why, for the audit log" };

const COMMANDS = {
  pull: {
    summary: "write an environment's flags into a flagd file, and its base beside it",
    options: { project: PROJECT, env: ENV, file: FILE },
  },
  diff: {
    summary: "compare the file with the live environment (exit 1 when they differ)",
    options: { project: PROJECT, env: ENV, file: FILE },
  },
  push: {
    summary: "write the file to the environment, refusing to undo changes made live since the pull",
    options: {
      project: PROJECT,
      env: ENV,
      file: FILE,
      "dry-run": { type: "boolean", help: "check and show, write nothing" },
      force: { type: "boolean", help: "overwrite what changed live since the pull" },
      reason: REASON,
      "expect-version": { type: "string", value: "N", help: "refuse unless the live version is N (the one you reviewed)" },
    },
  },
  import: {
    summary: "import flags from another system (exit 1 when a dry run shows changes)",
    options: {
      project: PROJECT,
      source: { type: "string", value: "homegrown|launchdarkly|unleash", required: true, help: "what the file is an export of" },
      file: { type: "string", value: "F", required: true, help: "the export (JSON, or CSV for homegrown)" },
      format: { type: "string", value: "csv|json", help: "the file's format (default: from its extension)" },
      "dry-run": { type: "boolean", help: "show the diff and what cannot be mapped, write nothing" },
      pin: { type: "string", value: "pins.csv", help: "CSV of flag,environment,targetingKey,variant: keep these assignments" },
      edited: {
        type: "string",
        value: "keep|overwrite",
        help: "flags changed in edgeflags since an import wrote them: keep them, or overwrite them (default: refuse, exit 1)",
      },
      reason: REASON,
    },
  },
  sync: {
    summary: "create the manifest's missing flags in an environment and report drift (never changes a flag)",
    options: {
      project: PROJECT,
      env: ENV,
      manifest: { type: "string", value: "F", required: true, help: "the OpenFeature CLI flag manifest" },
      "dry-run": { type: "boolean", help: "show what would be created, write nothing (exit 1 when something would be)" },
      strict: { type: "boolean", help: "exit 1 when the environment drifts from the manifest" },
      reason: REASON,
    },
  },
  migration: {
    summary: "show, per environment, who answers, the exit criterion and what audit mode compared (exit 1 while one is unmet)",
    options: { project: PROJECT, env: { type: "string", value: "E", help: "only this environment (--environment works too)" } },
  },
  "cut-over": {
    summary: "make edgeflags (or the legacy system) answer for an environment (exit 1 when refused)",
    options: {
      project: PROJECT,
      env: ENV,
      to: { type: "string", value: "edgeflags|legacy", required: true, help: "which system answers from now on" },
      override: { type: "boolean", help: "cut over to edgeflags although the exit criterion is not met (recorded as overridden)" },
      "grace-days": { type: "string", value: "N", help: "days audit mode keeps comparing after the cut-over (default 14)" },
      reason: REASON,
    },
  },
  toggle: {
    summary: "turn a flag on or off in an environment: the kill switch (exit 1 when refused)",
    options: {
      project: PROJECT,
      env: ENV,
      flag: { type: "string", value: "KEY", required: true, help: "the flag" },
      state: {
        type: "string",
        value: "on|off",
        required: true,
        help: "on serves its rules again; off serves its off variant, or the caller's code default, to everyone",
      },
      reason: REASON,
    },
  },
  manifest: {
    summary: "write an environment's flags as an OpenFeature CLI flag manifest (for typed accessors)",
    options: { project: PROJECT, env: ENV, file: { type: "string", value: "F", required: true, help: "the manifest file to write" } },
  },
} satisfies Record<string, { summary: string; options: Record<string, OptionSpec> }>;

export type CommandName = keyof typeof COMMANDS;
const NAMES = Object.keys(COMMANDS) as CommandName[];
const isCommand = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

const IMPORT_SOURCES = ["homegrown", "launchdarkly", "unleash"] as const;
type ImportSource = (typeof IMPORT_SOURCES)[number];

interface Connection {
  url: string;
  token: string;
}
/** What `pull`, `diff` and `push` run with. */
export interface FlagFileOptions extends Connection {
  command: "pull" | "diff" | "push";
  project: string;
  env: string;
  file: string;
  dryRun: boolean;
  force: boolean;
  reason: string | null;
  expectVersion: number | null;
}
export interface ImportOptions extends Connection {
  command: "import";
  project: string;
  source: ImportSource;
  file: string;
  format: "csv" | "json";
  dryRun: boolean;
  pin: string | null;
  /** Flags changed in edgeflags since an import wrote them; null: the service refuses the import. */
  edited: "keep" | "overwrite" | null;
  reason: string | null;
}
export interface SyncOptions extends Connection {
  command: "sync";
  project: string;
  env: string;
  manifest: string;
  dryRun: boolean;
  strict: boolean;
  reason: string | null;
}
export interface ManifestOptions extends Connection {
  command: "manifest";
  project: string;
  env: string;
  file: string;
}
export interface MigrationOptions extends Connection {
  command: "migration";
  project: string;
  /** Only this environment; null: every one. */
  env: string | null;
}
export interface CutOverOptions extends Connection {
  command: "cut-over";
  project: string;
  env: string;
  to: "edgeflags" | "legacy";
  override: boolean;
  graceDays: number | null;
  reason: string | null;
}
export interface ToggleOptions extends Connection {
  command: "toggle";
  project: string;
  env: string;
  flag: string;
  state: "ENABLED" | "DISABLED";
  reason: string | null;
}
export type Options =
  | FlagFileOptions
  | ToggleOptions
  | ImportOptions
  | SyncOptions
  | ManifestOptions
  | MigrationOptions
  | CutOverOptions
  | { command: "help"; text: string };

const USAGE = `usage: edgeflags <${NAMES.join("|")}> [options]   (edgeflags <command> --help for its options; inside a clone: npm run flags -- <command>)`;

/** The help of one command, or of the CLI. */
export function helpText(command?: CommandName): string {
  if (!command) {
    return [
      USAGE,
      "",
      ...NAMES.map((name) => `  ${name.padEnd(10)} ${COMMANDS[name].summary}`),
      "",
      "exit codes: 0 done, 1 differences, refused, or (migration) a criterion unmet, 2 usage or service error",
    ].join("\n");
  }
  const options: Record<string, OptionSpec> = { ...COMMANDS[command].options, ...CONNECTION };
  const lines = Object.entries(options).map(([name, spec]) => {
    const left = `--${name}${spec.value ? ` ${spec.value}` : ""}`;
    return `  ${left.padEnd(42)} ${spec.required ? "(required) " : ""}${spec.help}`;
  });
  return [`edgeflags ${command}: ${COMMANDS[command].summary}`, "", ...lines].join("\n");
}

/** node:util's parse errors, as the CLI words them. */
function usageError(error: unknown, command: CommandName): CliError {
  const code = error instanceof Error ? Reflect.get(error, "code") : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const option = /'(--?[^' ]+)/.exec(message)?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new CliError(`unknown option ${option ?? message} for ${command}; see edgeflags ${command} --help`, 2);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/argument missing|ambiguous/.test(message))
        return new CliError(`${option} needs a value (one starting with "-" as ${option}=-x)`, 2);
      return new CliError(`${option} takes no value`, 2);
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return new CliError(`unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? message}; options start with --`, 2);
    default:
      return new CliError(message, 2);
  }
}

/** Option values as `node:util`'s `parseArgs` returns them. */
export type OptionValues = Record<string, string | boolean | undefined>;

/**
 * Parses `argv` (without node and the script) with `node:util`'s `parseArgs`; `environment`
 * supplies EDGEFLAGS_URL and EDGEFLAGS_TOKEN.
 */
export function parseArgs(argv: string[], environment: Record<string, string | undefined>): Options {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h" || command === "help") return { command: "help", text: helpText() };
  if (!command || !isCommand(command)) throw new CliError(helpText(), 2);
  const specs = optionSpecs(command);
  let values: OptionValues;
  try {
    values = parseArgv({
      args: rest,
      options: Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, { type: spec.type }])),
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw usageError(error, command);
  }
  return optionsFrom(command, values, environment);
}

/** A command's options, the connection's among them (and `--environment`, another name of `--env`). */
function optionSpecs(command: CommandName): Record<string, OptionSpec> {
  const specs: Record<string, OptionSpec> = { ...COMMANDS[command].options, ...CONNECTION };
  if ("env" in specs) specs["environment"] = { type: "string", help: "" };
  return specs;
}

/**
 * A command's options from the values `parseArgs` read: required ones present, values checked.
 * (Separate from reading `argv` so tests inside workerd, which has no `node:util` `parseArgs`,
 * run the commands with the same checks.)
 */
export function optionsFrom(command: CommandName, values: OptionValues, environment: Record<string, string | undefined>): Options {
  const specs = optionSpecs(command);
  if (values["help"]) return { command: "help", text: helpText(command) };
  if (values["environment"] !== undefined) {
    if (values["env"] !== undefined && values["env"] !== values["environment"])
      throw new CliError("--env and --environment disagree; give one", 2);
    values = { ...values, env: values["environment"] };
  }
  const text = (name: string): string | null => {
    const value = values[name];
    return typeof value === "string" ? value : null;
  };
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && !text(name)) throw new CliError(`--${name} is required`, 2);
  }
  const need = (name: string): string => text(name)!;
  const flag = (name: string): boolean => values[name] === true;

  const token = text("token") ?? environment["EDGEFLAGS_TOKEN"];
  if (!token) throw new CliError("set EDGEFLAGS_TOKEN to an admin key or the admin token", 2);
  const url = (text("url") ?? environment["EDGEFLAGS_URL"] ?? "http://localhost:8787").replace(/\/+$/, "");
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw new CliError(`--url (or EDGEFLAGS_URL) must be an http(s) URL like http://localhost:8787, not "${url}"`, 2);
  const connection = { url, token };

  switch (command) {
    case "pull":
    case "diff":
    case "push": {
      const expect = text("expect-version");
      if (expect !== null && !/^\d+$/.test(expect)) throw new CliError("--expect-version takes a version number", 2);
      return {
        command,
        ...connection,
        project: need("project"),
        env: need("env"),
        file: need("file"),
        dryRun: flag("dry-run"),
        force: flag("force"),
        reason: text("reason"),
        expectVersion: expect === null ? null : Number(expect),
      };
    }
    case "import": {
      const source = need("source");
      if (!IMPORT_SOURCES.some((s) => s === source))
        throw new CliError(`--source is one of ${IMPORT_SOURCES.join(", ")}, not "${source}"`, 2);
      const file = need("file");
      const format = text("format") ?? (/\.csv$/i.test(file) ? "csv" : "json");
      if (format !== "csv" && format !== "json") throw new CliError(`--format is csv or json, not "${format}"`, 2);
      if (format === "csv" && source !== "homegrown")
        throw new CliError(`--format csv is for homegrown exports; ${source} exports are JSON`, 2);
      const edited = text("edited");
      if (edited !== null && edited !== "keep" && edited !== "overwrite")
        throw new CliError(`--edited is keep or overwrite, not "${edited}"`, 2);
      return {
        command,
        ...connection,
        project: need("project"),
        source: IMPORT_SOURCES.find((s) => s === source)!,
        file,
        format,
        dryRun: flag("dry-run"),
        pin: text("pin"),
        edited,
        reason: text("reason"),
      };
    }
    case "sync":
      return {
        command,
        ...connection,
        project: need("project"),
        env: need("env"),
        manifest: need("manifest"),
        dryRun: flag("dry-run"),
        strict: flag("strict"),
        reason: text("reason"),
      };
    case "manifest":
      return { command, ...connection, project: need("project"), env: need("env"), file: need("file") };
    case "migration":
      return { command, ...connection, project: need("project"), env: text("env") };
    case "toggle": {
      const state = need("state").toLowerCase();
      const states: Record<string, "ENABLED" | "DISABLED"> = { on: "ENABLED", enabled: "ENABLED", off: "DISABLED", disabled: "DISABLED" };
      if (!Object.hasOwn(states, state)) throw new CliError(`--state is on or off, not "${need("state")}"`, 2);
      return {
        command,
        ...connection,
        project: need("project"),
        env: need("env"),
        flag: need("flag"),
        state: states[state]!,
        reason: text("reason"),
      };
    }
    case "cut-over": {
      const to = need("to");
      if (to !== "edgeflags" && to !== "legacy") throw new CliError(`--to is edgeflags or legacy, not "${to}"`, 2);
      const grace = text("grace-days");
      if (grace !== null && !/^\d{1,3}$/.test(grace)) throw new CliError("--grace-days takes a whole number of days (0 to 365)", 2);
      if (grace !== null && to === "legacy")
        throw new CliError("--grace-days is for a cut-over to edgeflags; cutting back to legacy has none", 2);
      if (flag("override") && to === "legacy")
        throw new CliError("--override is for a cut-over to edgeflags; cutting back to legacy is never refused", 2);
      return {
        command,
        ...connection,
        project: need("project"),
        env: need("env"),
        to,
        override: flag("override"),
        graceDays: grace === null ? null : Number(grace),
        reason: text("reason"),
      };
    }
  }
}
