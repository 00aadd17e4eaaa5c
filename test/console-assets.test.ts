/**
 * The console's stylesheet and script: real files (admin/ui/static/) read through the ASSETS
 * binding, linked under content-hashed names, cached as immutable, with the console's security
 * headers; and the exact headers every console response carries.
 */
import { env, exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ASSET_NAMES } from "../admin/ui/asset-manifest";
import { sha256Hex } from "../lib/crypto";
import worker from "../worker/index";

const ORIGIN = "https://edgeflags.test";

/** The headers every console response carries, as the console has always sent them. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
};

function get(path: string): Promise<Response> {
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, { redirect: "manual" }));
}

/** The stylesheet and script URLs a console page links to. */
async function linkedAssets(): Promise<string[]> {
  const page = await (await get("/console/sign-in")).text();
  return [...page.matchAll(/(?:href|src)="(\/console\/assets\/[^"]+)"/g)].map((match) => match[1]!);
}

describe("console assets", () => {
  it("pages link to every static file under its content-hashed name", async () => {
    expect((await linkedAssets()).sort()).toEqual(
      Object.values(ASSET_NAMES)
        .map((name) => `/console/assets/${name}`)
        .sort(),
    );
  });

  it.each(Object.entries(ASSET_NAMES))(
    "%s is served as %s: its content's hash, immutable, with the console's headers",
    async (source, hashed) => {
      const res = await get(`/console/assets/${hashed}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe(source.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(Object.fromEntries(Object.keys(SECURITY_HEADERS).map((name) => [name, res.headers.get(name)]))).toEqual(SECURITY_HEADERS);
      const body = await res.text();
      const file = await (await env.ASSETS.fetch(`${ORIGIN}/${source}`)).text();
      expect(body).toBe(file);
      // A stale manifest (a file edited without `node scripts/build-assets.mjs`) fails here.
      expect(hashed).toBe(source.replace(/\.(css|js)$/, `.${(await sha256Hex(file)).slice(0, 12)}.$1`));
    },
  );

  it.each(["console.3.css", "console.3.js", "console.000000000000.css", "console.css", "..%2Fwrangler.toml"])(
    "%s is not found",
    async (file) => {
      const res = await get(`/console/assets/${file}`);
      expect(res.status).toBe(404);
      expect(res.headers.get("cache-control")).toBe("no-store");
    },
  );

  it("the static directory is not served outside the console's routes", async () => {
    for (const source of Object.keys(ASSET_NAMES)) expect((await get(`/${source}`)).status).toBe(404);
  });

  it("an ASSETS binding that fails answers 503 with Retry-After, not a broken page", async () => {
    const failing = { ...env, ASSETS: { fetch: () => Promise.reject(new Error("connection reset")) } as unknown as Fetcher };
    const hashed = ASSET_NAMES["console.css"];
    const res = await worker.fetch(new Request(`${ORIGIN}/console/assets/${hashed}`), failing, createExecutionContext());
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
});

describe("console security headers", () => {
  it.each(["/console/sign-in", "/console/p/nowhere/flags", "/console/no-such-page"])("%s carries them, and no-store", async (path) => {
    const res = await get(path);
    expect(Object.fromEntries(Object.keys(SECURITY_HEADERS).map((name) => [name, res.headers.get(name)]))).toEqual(SECURITY_HEADERS);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
});
