/** What every CLI command is given: the outside world (injectable for tests) and how it fails. */

/** A failure the CLI reports as one message and an exit code (2: usage or service error). */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** The network, the files and the terminal; tests inject the Worker's fetch and files in memory. */
export type Io = {
  fetch: typeof fetch;
  read: (path: string) => Promise<string>;
  write: (path: string, text: string) => Promise<void>;
  print: (line: string) => void;
  /** How long one request may take (default `DEADLINE_MS.cliRequest`). */
  deadlineMs?: number;
  /** The largest request body the service takes (default: the admin API's 8 MiB); an import over it is split. */
  maxBodyBytes?: number;
};

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads `path`, or explains which file could not be read. */
export async function readText(io: Io, path: string, what: string): Promise<string> {
  try {
    return await io.read(path);
  } catch (error) {
    throw new CliError(`cannot read ${what} ${path}: ${error instanceof Error ? error.message : String(error)}`, 2);
  }
}

/** Reads `path` as JSON, or explains what is wrong with it. */
export async function readJsonFile(io: Io, path: string, what: string): Promise<unknown> {
  const text = await readText(io, path, what);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${path} is not JSON (${error instanceof Error ? error.message : String(error)}); ${what} is a JSON file`, 2);
  }
}
