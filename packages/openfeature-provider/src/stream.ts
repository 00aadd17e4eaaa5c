/**
 * Follows the environment's event stream (OFREP ADR 0008, as the edge serves it) over `fetch`
 * alone: reads the SSE body and reports each announced version. A stream silent for longer than
 * `idleMs` (the edge sends a heartbeat comment every 20 s) counts as lost.
 */
import { withDeadline, type Fetch } from "../../openfeature-audit-mode/src/deadline.ts";
import { announcedVersion } from "./wire.ts";

/** How a stream ended: `refused` when the edge would not open it (an expired token: fetch a new URL). */
export type StreamEnd = { kind: "refused"; status: number } | { kind: "lost"; detail: string } | { kind: "closed" };

export interface StreamOptions {
  fetch: Fetch;
  /** Deadline of opening the stream. */
  connectTimeoutMs: number;
  /** Longest silence before the stream counts as lost. */
  idleMs: number;
  signal: AbortSignal;
  /** The stream is open (answered 200). */
  onOpen: () => void;
  /** A change was announced: its version, or 0 when the event names none. */
  onChange: (version: number) => void;
}

/** Reads `url` until the stream ends, the signal aborts or it goes silent; resolves how it ended, never rejects. */
export async function followStream(url: string, options: StreamOptions): Promise<StreamEnd> {
  const controller = new AbortController();
  const abort = () => controller.abort(options.signal.reason);
  options.signal.addEventListener("abort", abort, { once: true });
  try {
    const response = await withDeadline(options.connectTimeoutMs, (signal) => {
      signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
      return options.fetch(url, { headers: { accept: "text/event-stream" }, signal: controller.signal });
    });
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      return { kind: "refused", status: response.status };
    }
    options.onOpen();
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const chunk = await withDeadline(options.idleMs, () => reader.read());
      if (chunk.done) return { kind: "closed" };
      buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, "\n");
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const version = versionOf(block);
        if (version !== null) options.onChange(version);
        end = buffer.indexOf("\n\n");
      }
      if (buffer.length > 1_048_576) return { kind: "lost", detail: "an event over 1 MiB" };
    }
  } catch (error) {
    return options.signal.aborted ? { kind: "closed" } : { kind: "lost", detail: String(error) };
  } finally {
    options.signal.removeEventListener("abort", abort);
    controller.abort();
  }
}

/** The version one SSE block announces, or null for a comment or an event that announces nothing. */
function versionOf(block: string): number | null {
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") id = value;
    else if (field === "data") data.push(value);
  }
  return data.length === 0 ? null : announcedVersion(id, data.join("\n"));
}
