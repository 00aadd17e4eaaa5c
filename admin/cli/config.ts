/**
 * The CLI's config file: where the service is, and optionally the credential, so neither has to be
 * typed or exported in every shell. The first file found is used:
 *   1. `$EDGEFLAGS_CONFIG`;
 *   2. `.edgeflags.json` in the directory the command runs in;
 *   3. `$XDG_CONFIG_HOME/edgeflags/config.json` (default `~/.config/edgeflags/config.json`).
 * It holds `{"url": "https://flags.example.com", "token": "<admin key>"}` (both optional). Options
 * win over environment variables, which win over the file.
 */
import { join } from "node:path";
import { CliError } from "./io.ts";

/** The settings a config file can hold, as the environment variables they stand in for. */
export type ConfigSettings = { EDGEFLAGS_URL?: string; EDGEFLAGS_TOKEN?: string };

/** Where config files are looked for, in order. */
export function configPaths(cwd: string, environment: Record<string, string | undefined>): string[] {
  const home = environment["HOME"] ?? environment["USERPROFILE"];
  const xdg = environment["XDG_CONFIG_HOME"] ?? (home ? join(home, ".config") : null);
  return [
    ...(environment["EDGEFLAGS_CONFIG"] ? [environment["EDGEFLAGS_CONFIG"]] : []),
    join(cwd, ".edgeflags.json"),
    ...(xdg ? [join(xdg, "edgeflags", "config.json")] : []),
  ];
}

/**
 * The settings of the first config file that exists (none: `{}`). `read` answers null for a file
 * that does not exist; a file that exists but is not a config is an error naming it.
 */
export async function loadConfig(
  cwd: string,
  environment: Record<string, string | undefined>,
  read: (path: string) => Promise<string | null>,
): Promise<ConfigSettings> {
  const explicit = environment["EDGEFLAGS_CONFIG"];
  for (const path of configPaths(cwd, environment)) {
    const text = await read(path);
    if (text === null) {
      if (path === explicit) throw new CliError(`EDGEFLAGS_CONFIG names ${path}, which does not exist`, 2);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new CliError(`the config file ${path} is not JSON (${error instanceof Error ? error.message : String(error)})`, 2);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new CliError(`the config file ${path} must be an object like {"url": "https://flags.example.com", "token": "…"}`, 2);
    }
    const settings: ConfigSettings = {};
    for (const [key, value] of Object.entries(parsed)) {
      if (key !== "url" && key !== "token") throw new CliError(`the config file ${path} has "${key}"; it may hold "url" and "token"`, 2);
      if (typeof value !== "string" || value === "")
        throw new CliError(`"${key}" in the config file ${path} must be a non-empty string`, 2);
      settings[key === "url" ? "EDGEFLAGS_URL" : "EDGEFLAGS_TOKEN"] = value;
    }
    return settings;
  }
  return {};
}
