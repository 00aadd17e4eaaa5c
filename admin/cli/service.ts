/**
 * The CLI's one way to the admin API: every request has a deadline, and each way it can go wrong
 * becomes a message that says what to fix: the service cannot be reached (wrong `--url`), the
 * credential is refused (401) or may not do this (403), or the answer is not JSON (not edgeflags).
 */
import { DEADLINE_MS, DeadlineExceeded, withDeadline } from "../../lib/deadline.ts";
import { CliError, isObject, type Io } from "./io.ts";

/** Why a fetch failed: the network error code (`ECONNREFUSED`, `ENOTFOUND`, …) wherever undici put it, else the cause's message. */
function networkFailure(error: unknown): { code: string | null; message: string } {
  const cause = error instanceof Error ? error.cause : undefined;
  const codeOf = (e: unknown): string | null => {
    const code = isObject(e) || e instanceof Error ? Reflect.get(e, "code") : undefined;
    return typeof code === "string" ? code : null;
  };
  const inner = isObject(cause) || cause instanceof Error ? Reflect.get(cause, "errors") : undefined;
  const code = codeOf(cause) ?? (Array.isArray(inner) ? (inner.map(codeOf).find((c) => c !== null) ?? null) : null);
  const message = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return { code, message };
}

const REACH_HINT: Record<string, string> = {
  ECONNREFUSED: "connection refused: nothing listens there",
  ENOTFOUND: "no such host",
  ECONNRESET: "the connection was reset",
  ETIMEDOUT: "the connection timed out",
  CERT_HAS_EXPIRED: "its TLS certificate has expired",
};

/** An error answer's problem detail (and field errors), or its text. */
export async function problemOf(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body: unknown = JSON.parse(text);
    if (!isObject(body)) return `${response.status}: ${text.slice(0, 300)}`;
    const errors = Array.isArray(body["errors"])
      ? body["errors"].map((e) => (isObject(e) ? `\n  ${String(e["path"])}: ${String(e["message"])}` : "")).join("")
      : "";
    return `${response.status}: ${typeof body["detail"] === "string" ? body["detail"] : text.slice(0, 300)}${errors}`;
  } catch {
    return `${response.status}: ${text.slice(0, 300)}`;
  }
}

/** The admin API at `url`, called with `token`. */
export class Service {
  readonly url: string;
  readonly #token: string;
  readonly #io: Io;

  constructor(url: string, token: string, io: Io) {
    this.url = url;
    this.#token = token;
    this.#io = io;
  }

  /**
   * Sends one request. Throws a `CliError` (exit 2) when the service cannot be reached, does not
   * answer in time, or refuses the credential; any other answer is returned to the caller.
   */
  async request(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const target = `${this.url}${path}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, ...init.headers };
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const controller = new AbortController();
    const ms = this.#io.deadlineMs ?? DEADLINE_MS.cliRequest;
    let response: Response;
    try {
      response = await withDeadline(
        this.#io.fetch(target, { method, headers, body: init.body, signal: controller.signal }),
        ms,
        `${method} ${target}`,
      );
    } catch (error) {
      controller.abort();
      if (error instanceof DeadlineExceeded) {
        throw new CliError(
          `${this.url} did not answer ${method} ${path} within ${ms / 1000} s${method === "GET" ? "" : "; the change may or may not have been applied: check before running it again"}`,
          2,
        );
      }
      const { code, message } = networkFailure(error);
      const why = code ? (REACH_HINT[code] ?? `${code}: ${message}`) : message;
      throw new CliError(`cannot reach edgeflags at ${this.url} (${why}); check --url or EDGEFLAGS_URL`, 2);
    }
    if (response.status === 401) {
      throw new CliError(
        `${this.url} refused the credential (${await problemOf(response)}); set EDGEFLAGS_TOKEN to an admin key of the project or the admin token`,
        2,
      );
    }
    if (response.status === 403) {
      const problem = await problemOf(response);
      // A protected environment refuses a role's direct change: a refusal (exit 1), not a wrong credential.
      if (problem.includes("open a change request")) throw new CliError(`refused: ${problem}; nothing changed`, 1);
      throw new CliError(
        `the credential may not do this (${problem}); the CLI needs an admin key or the admin token, not a client or server key`,
        2,
      );
    }
    return response;
  }

  /** The JSON of a successful answer, or a `CliError` naming what failed (`doing`) and why. */
  async json(response: Response, doing: string): Promise<unknown> {
    if (!response.ok) throw new CliError(`${doing} failed: ${await problemOf(response)}`, 2);
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      const type = response.headers.get("content-type") ?? "no content type";
      throw new CliError(
        `${doing}: ${this.url} answered ${response.status} with ${type}, not JSON (${JSON.stringify(text.slice(0, 60))}); is --url the edgeflags service?`,
        2,
      );
    }
  }
}

/** `/admin/v1/projects/{p}` and, with `env`, `/environments/{env}`, each part encoded. */
export function adminPath(project: string, env?: string): string {
  const base = `/admin/v1/projects/${encodeURIComponent(project)}`;
  return env === undefined ? base : `${base}/environments/${encodeURIComponent(env)}`;
}
