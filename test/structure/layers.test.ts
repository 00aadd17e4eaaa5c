/**
 * The source tree's imports run one way. Every file of the Worker belongs to a layer; a file may
 * import only from its own layer and the layers below it, and no two files import each other
 * through any chain (no cycles). Read from the files themselves, so a new import that runs upward
 * fails here rather than in a reviewer's head.
 *
 *   engine, lib        pure evaluation; platform helpers (deadlines, crypto) — import nothing of ours
 *   contracts          zod schemas and wire shapes shared by everything above
 *   store | edge | admin-api   the Durable Objects | OFREP, sync, streams, caches | admin routes
 *   console            the operator console, over the admin API
 *   root               the Worker's entry and its one Hono app
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");

/** Layer of a file, by its path; the first matching prefix wins. */
const LAYERS: [prefix: string, layer: string][] = [
  ["worker/index.ts", "root"],
  ["worker/app.ts", "root"],
  ["engine/", "engine"],
  ["worker/engine/", "engine"],
  ["lib/", "lib"],
  ["contracts/", "contracts"],
  ["durable-objects/", "store"],
  ["worker/", "edge"],
  ["admin/ui/", "console"],
  ["admin/", "admin-api"],
];

/** What each layer may import besides itself. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  engine: [],
  lib: [],
  contracts: ["engine", "lib"],
  store: ["contracts", "engine", "lib"],
  edge: ["contracts", "engine", "lib"],
  "admin-api": ["contracts", "engine", "lib"],
  console: ["admin-api", "contracts", "engine", "lib"],
  root: ["console", "admin-api", "edge", "store", "contracts", "engine", "lib"],
};

/** Programs that are not part of the Worker (the Node CLI) sit outside the layers. */
const OUTSIDE = ["admin/cli.ts"];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

function layerOf(file: string): string | null {
  return LAYERS.find(([prefix]) => file === prefix || file.startsWith(prefix))?.[1] ?? null;
}

const IMPORT = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?["'](\.[^"']+)["']/gm;

function importsOf(file: string, files: ReadonlySet<string>): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const base = normalize(join(dirname(file), match[1]!));
    const target = [base, `${base}.ts`, `${base}.tsx`, join(base, "index.ts")].find((candidate) => files.has(candidate));
    if (target) found.push(target);
  }
  return found;
}

const folders = ["engine", "lib", "contracts", "worker", "durable-objects", "admin"].filter((dir) => {
  try {
    return statSync(join(ROOT, dir)).isDirectory();
  } catch {
    return false;
  }
});
const files = folders
  .flatMap(sourceFiles)
  .map((file) => relative(ROOT, join(ROOT, file)))
  .filter((file) => !OUTSIDE.includes(file));
const fileSet = new Set(files);
const graph = new Map(files.map((file) => [file, importsOf(file, fileSet)]));

/** Strongly connected components with more than one file (Tarjan). */
function cycles(): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indices.get(next)!));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const file of files) if (!indices.has(file)) visit(file);
  return found;
}

describe("imports run one way", () => {
  it("places every source file in a layer", () => {
    expect(files.filter((file) => layerOf(file) === null)).toEqual([]);
  });

  it("imports nothing from a layer above or beside", () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      const from = layerOf(file)!;
      for (const target of targets) {
        const to = layerOf(target)!;
        if (to !== from && !MAY_IMPORT[from]!.includes(to)) upward.push(`${file} (${from}) → ${target} (${to})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("has no import cycles", () => {
    expect(cycles()).toEqual([]);
  });
});
