/**
 * Request bodies read with a size bound: a declared `Content-Length` over the bound is refused
 * before anything is read, and a body without one (chunked) is refused as soon as the bytes read
 * pass the bound, so a hostile body never sits in memory whole.
 */
import type * as z from "zod";
import { problem, toProblems } from "../contracts/problem";
import { readJson } from "../lib/json-read";

/** The largest OFREP request body, in bytes: an evaluation context is small. */
export const MAX_OFREP_BODY_BYTES = 64 * 1024;

/**
 * The body as text, or `{ tooLarge: true }` when it is longer than `limit` bytes.
 *
 * @example
 * const body = await readBoundedText(c.req.raw, MAX_OFREP_BODY_BYTES);
 * if (typeof body !== "string") return refuse413();
 */
export async function readBoundedText(request: Request, limit: number): Promise<string | { tooLarge: true }> {
  const declared = request.headers.get("content-length");
  const length = declared !== null && /^\d{1,20}$/.test(declared.trim()) ? Number(declared.trim()) : null;
  if (length !== null && length > limit) {
    await request.body?.cancel().catch(() => undefined);
    return { tooLarge: true };
  }
  // A declared length within the bound is what the runtime delivers (it refuses a body that runs
  // past its Content-Length), so the native reader takes it whole, without `request.body` (whose
  // first read builds a stream object, a cost the evaluation path pays on every request).
  if (length !== null) return length === 0 ? "" : request.text();
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return { tooLarge: true };
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

const DIGITS = /^\d{1,20}$/;

/**
 * The body as the runtime's own `text()` when its declared `Content-Length` is within `limit`
 * (no promise of this module's own; "" for an empty body), or null when it must be read with
 * `readBoundedText` (no declared length, or one over the bound).
 *
 * @example
 * const text = await (declaredText(request, MAX_OFREP_BODY_BYTES) ?? readBoundedText(request, MAX_OFREP_BODY_BYTES));
 */
export function declaredText(request: Request, limit: number): Promise<string> | string | null {
  const declared = request.headers.get("content-length");
  if (declared === null || !DIGITS.test(declared)) return null;
  const length = Number(declared);
  if (length > limit) return null;
  return length === 0 ? "" : request.text();
}

/**
 * A JSON body read with the bound `limit` and checked with `schema`: its value, or the
 * problem+json answer to return (413 with `tooLarge` as its detail, 400 naming every invalid field).
 *
 * @example
 * const body = await readJsonBody(c.req.raw, MAX_TRACK_BODY_BYTES, TrackRequestSchema, "a tracking batch is at most 128 KB");
 * if (!body.ok) return body.response;
 */
export async function readJsonBody<S extends z.ZodType>(
  request: Request,
  limit: number,
  schema: S,
  tooLarge: string,
): Promise<{ ok: true; value: z.output<S> } | { ok: false; response: Response }> {
  const text = await readBoundedText(request, limit);
  if (typeof text !== "string") return { ok: false, response: problem("payload_too_large", tooLarge) };
  const json = readJson(text);
  if (!json.ok) return { ok: false, response: problem("invalid", json.detail) };
  const parsed = schema.safeParse(json.value);
  if (!parsed.success) {
    const problems = toProblems(parsed.error);
    return { ok: false, response: problem("invalid", problems.map((p) => `${p.path}: ${p.message}`).join("; "), { errors: problems }) };
  }
  return { ok: true, value: parsed.data };
}
