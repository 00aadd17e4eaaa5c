/**
 * The request-path Worker (`wrangler.edge.toml`) as `wrangler deploy` bundles it: at most 150 KB
 * gzipped (what each cold isolate loads before its first evaluation), with nothing of the admin
 * API or the console in it, and the same vars as the full Worker it forwards to.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
/** Issue 17's budget for the bundle on the request path, in bytes (gzip -9). */
const MAX_GZIP_BYTES = 150_000;

const out = mkdtempSync(join(tmpdir(), "edgeflags-edge-bundle-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Bundles `wrangler.edge.toml` into `out` (no upload) and returns esbuild's metafile inputs. */
function bundle(): string[] {
  execFileSync(
    join(ROOT, "node_modules", ".bin", "wrangler"),
    ["deploy", "--dry-run", "-c", "wrangler.edge.toml", "--outdir", out, "--metafile", join(out, "meta.json")],
    { cwd: ROOT, stdio: "pipe", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  const meta: { inputs: Record<string, unknown> } = JSON.parse(readFileSync(join(out, "meta.json"), "utf8"));
  return Object.keys(meta.inputs);
}

/** `KEY = "value"` lines of a wrangler.toml's `[vars]` table. */
function varsOf(file: string): Record<string, string> {
  const text = readFileSync(join(ROOT, file), "utf8");
  const table = text.split(/^\[vars\]$/m)[1]?.split(/^\[/m)[0] ?? "";
  return Object.fromEntries([...table.matchAll(/^([A-Z_]+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1]!, m[2]!]));
}

describe("the request-path Worker's bundle", () => {
  const inputs = bundle();

  it(`is at most ${MAX_GZIP_BYTES / 1000} KB gzipped`, () => {
    const gzipped = gzipSync(readFileSync(join(out, "edge.js")), { level: 9 }).length;
    expect(gzipped).toBeLessThanOrEqual(MAX_GZIP_BYTES);
  });

  it("carries nothing of the admin API or the console", () => {
    expect(inputs).toContain("worker/edge.ts");
    expect(inputs.filter((file) => file.startsWith("admin/"))).toEqual([]);
  });

  it("has the full Worker's vars, so both Workers behave alike", () => {
    expect(varsOf("wrangler.edge.toml")).toEqual(varsOf("wrangler.toml"));
    expect(Object.keys(varsOf("wrangler.toml")).length).toBeGreaterThan(0);
  });
});
