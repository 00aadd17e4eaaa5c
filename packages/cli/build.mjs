// Bundles the CLI (admin/cli.ts and what it imports) into one file with no dependencies, the
// `edgeflags` bin of this package. Run by `npm pack` / `npm publish` (prepack).
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const root = join(import.meta.dirname, "..", "..");
const outfile = join(import.meta.dirname, "dist", "edgeflags.js");
await build({
  entryPoints: [join(root, "admin", "cli.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile,
  banner: { js: "#!/usr/bin/env node" },
  minify: true,
  logLevel: "warning",
});
chmodSync(outfile, 0o755);
