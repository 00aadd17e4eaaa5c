/**
 * The one mapper from failures to RFC 9457 `application/problem+json` responses: every admin
 * error, and the edge's non-OFREP routes (comparison ingest), leave through `problem()`, with a
 * `detail` a person can act on.
 */
import type * as z from "zod";
import type { Problem, StoreError } from "./result";

export type ProblemKind =
  | "invalid"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "precondition_failed"
  | "precondition_required"
  | "payload_too_large"
  | "unsupported_media_type"
  | "too_many_requests"
  | "unavailable"
  | "internal";

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** For `invalid`: each offending field. */
  errors?: Problem[];
  /** For `precondition_failed`: the version to re-read. */
  currentVersion?: number;
}

const TYPE_BASE = "https://edgeflags.dev/problems/";

function describe(kind: ProblemKind): { status: number; title: string } {
  switch (kind) {
    case "invalid":
      return { status: 400, title: "The request is not valid" };
    case "unauthorized":
      return { status: 401, title: "Authentication required" };
    case "forbidden":
      return { status: 403, title: "This key may not do that" };
    case "not_found":
      return { status: 404, title: "Not found" };
    case "conflict":
      return { status: 409, title: "Conflict with the current state" };
    case "precondition_failed":
      return { status: 412, title: "The resource changed since you read it" };
    case "precondition_required":
      return { status: 428, title: "If-Match is required" };
    case "payload_too_large":
      return { status: 413, title: "The request body is too large" };
    case "unsupported_media_type":
      return { status: 415, title: "The request body must be JSON" };
    case "too_many_requests":
      return { status: 429, title: "Too many failed attempts" };
    case "unavailable":
      return { status: 503, title: "Not available right now" };
    case "internal":
      return { status: 500, title: "Internal error" };
  }
}

/** A problem+json response. */
export function problem(
  kind: ProblemKind,
  detail: string,
  extra: { errors?: Problem[]; currentVersion?: number; headers?: Record<string, string> } = {},
): Response {
  const { status, title } = describe(kind);
  const body: ProblemBody = { type: `${TYPE_BASE}${kind.replaceAll("_", "-")}`, title, status, detail };
  if (extra.errors) body.errors = extra.errors;
  if (extra.currentVersion !== undefined) body.currentVersion = extra.currentVersion;
  const headers: Record<string, string> = { "content-type": "application/problem+json", ...extra.headers };
  if (extra.currentVersion !== undefined) headers.etag = `"${extra.currentVersion}"`;
  return new Response(JSON.stringify(body), { status, headers });
}

/** Maps a FlagStore failure to its problem response. */
export function storeProblem(error: StoreError): Response {
  switch (error.kind) {
    case "invalid":
      return problem("invalid", error.detail, { errors: error.problems });
    case "not_found":
      return problem("not_found", error.detail);
    case "conflict":
      return problem("conflict", error.detail);
    case "precondition_failed":
      return problem("precondition_failed", error.detail, { currentVersion: error.currentVersion });
  }
}

/** zod issues as the problem+json `errors` list: a dotted path and a message per field. */
export function toProblems(error: z.ZodError): Problem[] {
  return error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join(".") : "(body)",
    message: issue.message,
  }));
}
