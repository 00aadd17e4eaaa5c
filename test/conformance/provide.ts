/**
 * Runs in Node, from `vitest.config.ts`: reads the shared conformance folder on the host and hands
 * its text files to the tests, which run inside workerd and cannot read the host filesystem.
 *
 * The folder is `$EDGEFLAGS_CONFORMANCE_DIR`, or `../shared/conformance` from the repository root.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

export interface ConformancePayload {
  /** The folder that was read (absolute), or looked for. */
  dir: string;
  /** Whether the folder exists. */
  found: boolean;
  /** Whether `process.env.CI` is set: then a missing folder fails the suite instead of skipping it. */
  ci: boolean;
  /** Relative path (forward slashes) → UTF-8 text, for `.feature`, `.json` and `.md` files. */
  files: Record<string, string>;
}

declare module "vitest" {
  export interface ProvidedContext {
    conformance: ConformancePayload;
  }
}

const TEXT = /\.(feature|json|md|txt)$/;

/** Reads the conformance folder; `repoRoot` is the folder holding `vitest.config.ts`. */
export function readConformance(repoRoot: string): ConformancePayload {
  const dir = resolve(repoRoot, process.env["EDGEFLAGS_CONFORMANCE_DIR"] ?? "../shared/conformance");
  const ci = Boolean(process.env["CI"]);
  const files: Record<string, string> = {};
  if (!existsSync(dir)) return { dir, found: false, ci, files };
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (TEXT.test(name)) files[relative(dir, path).split("\\").join("/")] = readFileSync(path, "utf8");
    }
  };
  walk(dir);
  return { dir, found: true, ci, files };
}
