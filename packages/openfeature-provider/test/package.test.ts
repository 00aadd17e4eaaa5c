/**
 * The provider as people install it: `@edgeflags/openfeature-provider` packed with `npm pack` (the
 * engine bundled in by esbuild), installed offline into a scratch folder beside the OpenFeature
 * server SDK, and run there in plain Node: it syncs from a `fetch` it is given, evaluates the
 * engine's extensions in-process, and its type declarations resolve for a NodeNext consumer. The
 * bundle reaches for no Node API (it must run in a Worker of the application's own).
 */
import { type ExecFileException, execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
type Ran = { code: number | null; stdout: string; stderr: string };

function run(file: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd, encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000 },
      (error: ExecFileException | null, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

let scratch: string;
let installed: string;

beforeAll(async () => {
  const packed = await mkdtemp(join(tmpdir(), "edgeflags-provider-pack-"));
  const pack = await run("npm", ["pack", "-w", "packages/openfeature-provider", "--pack-destination", packed], ROOT, { HOME: packed });
  expect(pack.code, pack.stderr).toBe(0);
  const [tarball] = (await readdir(packed)).filter((name) => name.endsWith(".tgz"));
  expect(tarball).toBeDefined();
  scratch = await mkdtemp(join(tmpdir(), "edgeflags-provider-scratch-"));
  await writeFile(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  const install = await run(
    "npm",
    ["install", "--offline", "--no-audit", "--no-fund", "--legacy-peer-deps", join(packed, tarball!)],
    scratch,
    {
      HOME: scratch,
    },
  );
  expect(install.code, install.stderr).toBe(0);
  installed = join(scratch, "node_modules", "@edgeflags", "openfeature-provider");
  // The peer dependency (and the Node types its declarations use) from this checkout, offline; linked
  // after npm, which prunes what it did not install.
  for (const name of ["@openfeature/server-sdk", "@openfeature/core", "@types/node"]) {
    await mkdir(join(scratch, "node_modules", name, ".."), { recursive: true });
    await symlink(join(ROOT, "node_modules", name), join(scratch, "node_modules", name), "dir");
  }
}, 180_000);

const APP = `
import { OpenFeature, ProviderEvents } from "@openfeature/server-sdk";
import { EdgeflagsProvider } from "@edgeflags/openfeature-provider";

const flagSet = {
  flags: {
    beta: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off", targets: { on: ["acme"] },
            targeting: { if: [{ sem_ver: [{ var: "version" }, ">=", "2.0.0"] }, "on", null] } },
    theme: { state: "DISABLED", variants: { dark: "dark", light: "light" }, defaultVariant: "dark", metadata: { "edgeflags.offVariant": "light" } },
  },
};
const calls = [];
const fetch = async (url, init) => {
  calls.push({ url, auth: new Headers(init.headers).get("authorization") });
  if (url.startsWith("https://flags.example.test/sync/v1/flagd?format=edgeflags"))
    return Response.json({ format: "edgeflags", version: 7, updatedAt: "2026-12-01T00:00:00Z", flagSet, tracking: {} }, { headers: { etag: '"7"' } });
  return Response.json({ usage: 0, exposures: 0, ignoredExposures: 0 }, { status: 202 });
};
const provider = new EdgeflagsProvider({ url: "https://flags.example.test", serverKey: "ef_server_test", fetch, stream: false });
await OpenFeature.setProviderAndWait(provider);
const client = OpenFeature.getClient();
const out = {
  acme: await client.getBooleanDetails("beta", false, { targetingKey: "acme" }),
  v2: await client.getBooleanDetails("beta", false, { targetingKey: "x", version: "2.1.0" }),
  v1: await client.getBooleanDetails("beta", false, { targetingKey: "x", version: "1.9.0" }),
  theme: await client.getStringDetails("theme", "none"),
  missing: await client.getBooleanDetails("missing", true),
};
await OpenFeature.close();
console.log(JSON.stringify({ out, calls }));
`;

describe("the packed provider", () => {
  it("ships a bundle with the engine inside and no Node API", async () => {
    const bundle = await readFile(join(installed, "dist", "index.js"), "utf8");
    expect(bundle).not.toMatch(/from\s*["']node:|require\(["']node:|from\s*["'](?:crypto|fs|path|http|https|net)["']/);
    // The only import left is the peer dependency.
    const imports = [...bundle.matchAll(/^import[^;]*?from\s*["']([^"']+)["']/gm)].map((m) => m[1]);
    expect(new Set(imports)).toEqual(new Set(["@openfeature/server-sdk"]));
    const manifest = JSON.parse(await readFile(join(installed, "package.json"), "utf8"));
    expect(manifest.dependencies).toBeUndefined();
  });

  it("runs in Node from the scratch folder: synced from the injected fetch, evaluated in-process", async () => {
    await writeFile(join(scratch, "app.mjs"), APP);
    const ran = await run(process.execPath, ["app.mjs"], scratch);
    expect(ran.code, ran.stderr).toBe(0);
    const { out, calls } = JSON.parse(ran.stdout.trim().split("\n").at(-1)!);
    expect(out.acme).toMatchObject({ value: true, variant: "on", reason: "TARGETING_MATCH" });
    expect(out.v2).toMatchObject({ value: true, variant: "on", reason: "TARGETING_MATCH" });
    expect(out.v1).toMatchObject({ value: false, variant: "off", reason: "DEFAULT" });
    expect(out.theme).toMatchObject({ value: "light", variant: "light", reason: "DISABLED", flagMetadata: { configVersion: 7 } });
    expect(out.missing).toMatchObject({ value: true, reason: "ERROR", errorCode: "FLAG_NOT_FOUND" });
    expect(calls[0]).toEqual({ url: "https://flags.example.test/sync/v1/flagd?format=edgeflags", auth: "Bearer ef_server_test" });
    // Closing sent the usage recorded (the missing flag is not usage).
    expect(calls.at(-1)).toEqual({ url: "https://flags.example.test/telemetry/v1/evaluations", auth: "Bearer ef_server_test" });
  });

  it("its declarations type-check for a NodeNext consumer", async () => {
    await writeFile(
      join(scratch, "check.mts"),
      `import { EdgeflagsProvider, type EdgeflagsProviderOptions } from "@edgeflags/openfeature-provider";
const options: EdgeflagsProviderOptions = { url: "https://flags.example.test", serverKey: "k", pollIntervalMs: 1000 };
const provider: EdgeflagsProvider = new EdgeflagsProvider(options);
const version: number | null = provider.stats().version;
void version;
`,
    );
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const ran = await run(
      process.execPath,
      [
        tsc,
        "--noEmit",
        "--strict",
        "--skipLibCheck",
        "false",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--target",
        "es2022",
        "--lib",
        "es2022,dom",
        "--types",
        "node",
        "check.mts",
      ],
      scratch,
    );
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
  });
});
