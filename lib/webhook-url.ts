/**
 * Where webhooks may be delivered. A webhook URL is chosen by whoever holds an admin credential
 * and fetched by the Worker, so it must not reach anything but the public internet:
 *
 * - `https` only; `http` only to `localhost`, `127.0.0.1` or `[::1]`, and only when the
 *   `ALLOW_HTTP_WEBHOOKS_TO_LOCALHOST` var is `"true"` (local development).
 * - No address literal outside the public internet: loopback, private, carrier-grade NAT,
 *   link-local (the cloud metadata address 169.254.169.254), unique-local, multicast, `0.0.0.0`,
 *   and IPv6 forms that embed an IPv4 address (`[::ffff:10.0.0.1]`). Decimal and hex spellings of
 *   IPv4 (`http://2130706433/`, `0x7f.1`) are normalised by the URL parser first, so they are
 *   caught as the address they mean.
 * - No `localhost` names, `*.localhost`, `*.local`, `*.internal`, nor a host without a dot.
 * - No credentials in the URL.
 *
 * A name that resolves to a private address cannot be checked here (Workers do not resolve DNS);
 * on Cloudflare, `fetch` from a Worker does not reach private networks. Delivery never follows
 * redirects, so a public URL cannot bounce to a private one.
 */
import { isPublicAddress, parseIPv4, parseIPv6 } from "./ip";

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const LOCAL_SUFFIXES = [".localhost", ".local", ".internal", ".localdomain", ".home.arpa"];

/** Whether `env` allows `http://localhost` webhooks (`ALLOW_HTTP_WEBHOOKS_TO_LOCALHOST = "true"`). */
export function allowsLocalWebhooks(env: Env): boolean {
  return String(env.ALLOW_HTTP_WEBHOOKS_TO_LOCALHOST) === "true";
}

/**
 * Why `url` may not receive webhooks, or null when it may.
 *
 * @example
 * webhookUrlRefusal("http://169.254.169.254/latest", false); // "… link-local …"
 */
export function webhookUrlRefusal(url: string, allowLocalHttp: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an absolute https URL";
  }
  const host = parsed.hostname.toLowerCase().replace(/\.$/, "");
  if (parsed.username || parsed.password) return "must not carry a user name or password; use the webhook's signing secret to authenticate";
  if (allowLocalHttp && LOCAL_HOSTS.has(host) && (parsed.protocol === "http:" || parsed.protocol === "https:")) return null;
  if (parsed.protocol !== "https:") {
    return parsed.protocol === "http:"
      ? 'must be https (plain http is allowed only to localhost, with ALLOW_HTTP_WEBHOOKS_TO_LOCALHOST="true" in local development)'
      : "must be an https URL";
  }
  const literal = host.startsWith("[") ? parseIPv6(host.slice(1, -1)) : parseIPv4(host);
  if (literal) {
    return isPublicAddress(literal)
      ? null
      : `must not point at ${host}: loopback, private, link-local and other non-public addresses cannot receive webhooks`;
  }
  if (host.startsWith("[")) return "must use a valid IPv6 address";
  if (host === "localhost" || LOCAL_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    return `must not point at ${host}: local names cannot receive webhooks`;
  }
  if (!host.includes(".")) return `must name a public host (got "${host}"); single-label names are local`;
  return null;
}
