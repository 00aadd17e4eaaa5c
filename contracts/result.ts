/**
 * Expected failures of FlagStore RPC methods, returned as values: an exception crossing RPC keeps
 * only its name and message, so anything a caller must act on travels as a `Result`.
 */
export type StoreError =
  | { kind: "not_found"; detail: string }
  | { kind: "conflict"; detail: string }
  | { kind: "precondition_failed"; detail: string; currentVersion: number }
  | { kind: "invalid"; detail: string; problems: Problem[] };

/** One offending field of a rejected write: a dotted path into the request body and what is wrong. */
export interface Problem {
  path: string;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: StoreError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(error: StoreError): Result<T> {
  return { ok: false, error };
}
