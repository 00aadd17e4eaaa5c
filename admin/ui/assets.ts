/**
 * The console's only static files, `admin/ui/static/` (a stylesheet and a script), served by the
 * Worker through the ASSETS binding (no CDN; the CSP allows 'self' only). Their URLs carry a hash
 * of their content (`asset-manifest.ts`, written by `scripts/build-assets.mjs`), so they are
 * cached for a year as immutable and an edited file is a new URL. The script is progressive
 * enhancement: every page works without it.
 */
import { DEADLINE_MS, withDeadline } from "../../lib/deadline";
import { log } from "../../lib/log";
import { ASSET_NAMES } from "./asset-manifest";

/** A file of `admin/ui/static/`. */
export type AssetName = keyof typeof ASSET_NAMES;

/** The content-hashed file name of `name`, as the pages link to it under `/console/assets/`. */
export function hashedAssetName(name: AssetName): string {
  return ASSET_NAMES[name];
}

const SOURCES = new Map<string, string>(Object.entries(ASSET_NAMES).map(([name, hashed]) => [hashed, name]));
const TYPES: Record<string, string> = { css: "text/css; charset=utf-8", js: "text/javascript; charset=utf-8" };

/**
 * The response for `/console/assets/<file>`: the static file whose current hashed name is `file`,
 * immutable for a year; 404 for any other name (an older hash included); 503 when the ASSETS
 * binding does not answer.
 */
export async function serveAsset(request: Request, env: Env, file: string): Promise<Response> {
  const source = SOURCES.get(file);
  if (!source) return text("not found", 404);
  let response: Response | null = null;
  try {
    response = await withDeadline(env.ASSETS.fetch(new URL(`/${source}`, request.url)), DEADLINE_MS.consoleAsset, "console asset read");
  } catch (error) {
    log("error", "console.asset_failed", { file: source, error });
  }
  if (response && !response.ok) {
    log("error", "console.asset_failed", { file: source, status: response.status });
    await response.body?.cancel();
    response = null;
  }
  if (!response) return text("the console's assets are unavailable; reload the page", 503, { "retry-after": "5" });
  return new Response(response.body, {
    headers: {
      "content-type": TYPES[source.slice(source.lastIndexOf(".") + 1)] ?? "application/octet-stream",
      "cache-control": "public, max-age=31536000, immutable",
    },
  });
}

function text(body: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=UTF-8", ...headers } });
}
