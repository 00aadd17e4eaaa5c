/**
 * How the Worker's code imports zod. In the bundle, `zod` resolves to lib/zod-bundled.ts, whose
 * `z` object holds only `ZodType` (what @hono/zod-openapi reads): importing zod's `z` by name, or
 * zod's default export, keeps every part of zod in the bundle, so the code imports zod as a
 * namespace (`import * as z from "zod"`, or from contracts/zod.ts where `.openapi()` is needed).
 * Read from the files themselves, so an import that would break the bundle fails here.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const FOLDERS = ["engine", "lib", "contracts", "worker", "durable-objects", "admin", "test"];
/** A value import (not `import type`) from zod or @hono/zod-openapi: its clause and its source. */
const ZOD_IMPORT = /^\s*import\s+(?!type\s)([^;]*?)\s+from\s+["'](zod|zod\/v4|@hono\/zod-openapi)["']/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name === "fixtures") return [];
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** What an import clause takes that keeps all of zod: a default import, or `z` by name. */
function wholeZodBindings(clause: string): string[] {
  const found: string[] = [];
  const named = /\{([^}]*)\}/.exec(clause)?.[1] ?? "";
  const outside = clause.replace(/\{[^}]*\}/, "").replace(/\*\s+as\s+\w+/, "");
  const defaultName = /^\s*([A-Za-z_$][\w$]*)/.exec(outside)?.[1];
  if (defaultName) found.push(`default as ${defaultName}`);
  for (const entry of named.split(",")) {
    const name = entry.trim();
    if (name === "z" || name.startsWith("z as ")) found.push(name);
  }
  return found;
}

describe("zod imports", () => {
  it("tells a namespace import from one that keeps all of zod", () => {
    expect(wholeZodBindings("* as z")).toEqual([]);
    expect(wholeZodBindings("{ createRoute, OpenAPIHono, type RouteConfig }")).toEqual([]);
    expect(wholeZodBindings("{ type z }")).toEqual([]);
    expect(wholeZodBindings("{ z }")).toEqual(["z"]);
    expect(wholeZodBindings("{ createRoute, z as zod }")).toEqual(["z as zod"]);
    expect(wholeZodBindings("z")).toEqual(["default as z"]);
  });

  it("imports zod as a namespace everywhere", () => {
    const offending: string[] = [];
    for (const file of FOLDERS.flatMap(sourceFiles)) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const match of text.matchAll(ZOD_IMPORT)) {
        for (const binding of wholeZodBindings(match[1]!))
          offending.push(`${relative(ROOT, join(ROOT, file))}: ${binding} from "${match[2]}"`);
      }
    }
    expect(offending).toEqual([]);
  });
});
