// Small helpers the live-update and kill-switch benchmarks share.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The nearest-rank `p`th percentile of `values`; NaN when there are none. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Writes `section` (which starts with `begin` and ends with `end`) into `file` in place of the
 * previous one between those markers, or appends it; a missing file starts with `heading`.
 */
export function replaceSection(file, begin, end, section, heading) {
  const text = existsSync(file) ? readFileSync(file, "utf8") : `${heading}\n`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  writeFileSync(
    file,
    from >= 0 && to > from ? `${text.slice(0, from)}${section}${text.slice(to + end.length)}` : `${text.trimEnd()}\n\n${section}\n`,
  );
}

/** An admin API client for `base` with a bearer `token`: `admin(method, path, body?)` → `{ status, body }`. */
export function adminFor(base, token) {
  const admin = async (method, path, body) => {
    const res = await fetch(`${base}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return { base, admin };
}
