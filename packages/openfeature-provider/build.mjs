// Bundles the provider with the edge's engine (engine/ and the contracts it shares with the edge,
// one source) into dist/index.js, platform-neutral (Node 20+ and Workers), with
// @openfeature/server-sdk left to the application; the web tracking wrapper into dist/web.js;
// then writes the type declarations.
// Run by `npm pack` / `npm publish` (prepack).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const here = import.meta.dirname;
rmSync(join(here, "dist"), { recursive: true, force: true });
/** One platform-neutral ESM bundle of `entry` into dist/`out`, with `external` left to the application. */
const bundle = (entry, out, external) =>
  build({
    entryPoints: [join(here, "src", entry)],
    bundle: true,
    platform: "neutral",
    mainFields: ["module", "main"],
    format: "esm",
    target: "es2022",
    outfile: join(here, "dist", out),
    external,
    logLevel: "warning",
  });
await bundle("index.ts", "index.js", ["@openfeature/server-sdk"]);
// The web entry (`/web`): the tracking wrapper alone, no engine; the web SDK is the page's.
await bundle("web.ts", "web.js", ["@openfeature/web-sdk"]);
execFileSync(
  process.execPath,
  [join(here, "..", "..", "node_modules", "typescript", "bin", "tsc"), "-p", join(here, "tsconfig.build.json")],
  { stdio: "inherit" },
);
// Declarations keep the sources' `.ts` specifiers; consumers resolve `.js` to the `.d.ts` beside it.
for (const file of readdirSync(join(here, "dist", "types"), { recursive: true, withFileTypes: true })) {
  if (!file.isFile() || !file.name.endsWith(".d.ts")) continue;
  const path = join(file.parentPath, file.name);
  writeFileSync(path, readFileSync(path, "utf8").replace(/(from\s+"\.{1,2}\/[^"]*)\.ts"/g, '$1.js"'));
}
