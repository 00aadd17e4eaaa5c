/**
 * Versions an admin write committed. The admin routes record them on the request's context; the
 * composition root notes them at the edge once the route has answered, so the isolate that served
 * a write serves the new version at once (read-your-writes) without the admin API importing the
 * edge.
 */
export interface WrittenVersion {
  project: string;
  environment: string;
  version: number;
}

/** The context variable that carries them (`c.get("written")`). */
export interface WrittenVariables {
  written?: WrittenVersion[];
}

/**
 * The response header on which the full Worker names the versions an admin write committed, so the
 * request-path Worker that forwarded the write serves them at once too:
 * `<project>/<environment>=<version>` pairs, comma-separated, names percent-encoded.
 */
export const WRITTEN_HEADER = "X-Edgeflags-Written";

/** The `WRITTEN_HEADER` value naming `written`. */
export function formatWritten(written: readonly WrittenVersion[]): string {
  return written
    .map(({ project, environment, version }) => `${encodeURIComponent(project)}/${encodeURIComponent(environment)}=${version}`)
    .join(",");
}

/**
 * The versions a `WRITTEN_HEADER` value names; a malformed pair is skipped (the edge then
 * converges on its refresh interval, as without the header).
 *
 * @example
 * parseWritten("shop/production=12"); // [{ project: "shop", environment: "production", version: 12 }]
 */
export function parseWritten(value: string | null): WrittenVersion[] {
  if (!value) return [];
  const found: WrittenVersion[] = [];
  for (const pair of value.split(",")) {
    const slash = pair.indexOf("/");
    const equals = pair.lastIndexOf("=");
    if (slash <= 0 || equals <= slash + 1) continue;
    const digits = pair.slice(equals + 1);
    const version = Number(digits);
    if (!/^\d{1,15}$/.test(digits) || !Number.isSafeInteger(version)) continue;
    try {
      found.push({
        project: decodeURIComponent(pair.slice(0, slash)),
        environment: decodeURIComponent(pair.slice(slash + 1, equals)),
        version,
      });
    } catch {
      // a malformed percent-encoding: skipped like any other malformed pair
    }
  }
  return found;
}
