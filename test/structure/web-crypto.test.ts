/**
 * The Worker's cryptography is Web Crypto, through `lib/crypto.ts` (and `lib/sha256-sync.ts` where
 * nothing may be awaited): no file of the Worker imports `node:crypto`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const FOLDERS = ["worker", "admin", "durable-objects", "contracts", "lib", "engine"];

/** An import, re-export, dynamic import or require of `node:crypto` (or its bare name `crypto`). */
const NODE_CRYPTO = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)["'](?:node:)?crypto["']/;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return /\.(?:ts|tsx|js|mjs)$/.test(name) ? [relative(ROOT, join(ROOT, path))] : [];
  });
}

const importers = FOLDERS.flatMap(sourceFiles).filter((file) => NODE_CRYPTO.test(readFileSync(join(ROOT, file), "utf8")));

describe("Web Crypto only", () => {
  it("no Worker file imports node:crypto", () => {
    expect(importers).toEqual([]);
  });

  it("no Worker file imports the test runner (vitest, cloudflare:test): its types are the tests' alone", () => {
    const TEST_ONLY = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](?:vitest(?:\/[^"']*)?|cloudflare:test)["']/;
    const offenders = FOLDERS.flatMap(sourceFiles).filter((file) => TEST_ONLY.test(readFileSync(join(ROOT, file), "utf8")));
    expect(offenders).toEqual([]);
  });

  it.each([
    'import { createHash } from "node:crypto";',
    "import * as c from 'crypto';",
    'const c = await import("node:crypto");',
    'export { randomBytes } from "node:crypto";',
    'import "node:crypto";',
  ])("recognises %s", (line) => {
    expect(NODE_CRYPTO.test(line)).toBe(true);
  });
});
