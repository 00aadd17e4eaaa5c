/**
 * A stand-in for the edgeflags Worker's migration endpoints, as a `fetch` function: it counts
 * each batch id once (a repeat is answered as a duplicate, as the real ledger does), serves a
 * settable status, and can be told how to answer the next ingest calls. Every body is checked
 * against the server's own schema and size bound; one it would refuse is kept in `invalid`.
 */
import { ComparisonBatchSchema, MAX_COMPARISON_BODY_BYTES } from "../../../contracts/migration.ts";
import type { ComparisonBatch, Entry } from "../src/index.ts";

/** How the fake answers one ingest call. */
export type Scripted =
  | { kind: "status"; status: number; retryAfter?: string }
  | { kind: "network-error" }
  /** Counts the batch, then loses the answer (the client cannot tell it was counted). */
  | { kind: "count-then-lose" }
  | { kind: "hang" };

export interface Totals {
  compared: number;
  mismatched: number;
}

export class FakeEdgeflags {
  /** Every ingest body received, in order, as sent. */
  readonly received: { batch: string; raw: string; at: number }[] = [];
  /** Status calls received. */
  statusCalls = 0;
  status: Record<string, unknown> = { environment: "production", authority: "legacy", since: null, graceUntil: null, report: true };
  /** The `authority` carried in ingest answers; by default the current status. */
  readonly script: Scripted[] = [];
  readonly #counted = new Map<string, ComparisonBatch>();
  readonly headers: Headers[] = [];
  /** Bodies the real ingest would refuse, with why. */
  readonly invalid: string[] = [];

  readonly fetch = async (input: string, init: RequestInit): Promise<Response> => {
    const url = new URL(input);
    this.headers.push(new Headers(init.headers));
    if (url.pathname === "/migration/v1/status" && (init.method ?? "GET") === "GET") {
      this.statusCalls++;
      return Response.json(this.status);
    }
    if (url.pathname !== "/migration/v1/comparisons" || init.method !== "POST") return new Response("not found", { status: 404 });
    const raw = String(init.body);
    const body: ComparisonBatch = JSON.parse(raw);
    const parsed = ComparisonBatchSchema.safeParse(body);
    const bytes = new TextEncoder().encode(raw).length;
    if (!parsed.success || bytes > MAX_COMPARISON_BODY_BYTES) {
      this.invalid.push(parsed.success ? `${bytes} bytes` : parsed.error.message);
      return Response.json({ title: "invalid", detail: "refused by the server's schema" }, { status: 400 });
    }
    this.received.push({ batch: body.batch, raw, at: Date.now() });
    const step = this.script.shift();
    if (step?.kind === "network-error") throw new TypeError("fetch failed");
    if (step?.kind === "hang") return new Promise<Response>(() => {});
    if (step?.kind === "status") {
      const headers: Record<string, string> = step.retryAfter ? { "retry-after": step.retryAfter } : {};
      return Response.json({ title: "unavailable", detail: "scripted" }, { status: step.status, headers });
    }
    const duplicate = this.#counted.has(body.batch);
    if (!duplicate) this.#counted.set(body.batch, body);
    if (step?.kind === "count-then-lose") throw new TypeError("connection reset");
    const counted = body.entries.reduce((sum, e) => ({ compared: sum.compared + e.compared, mismatched: sum.mismatched + e.mismatched }), {
      compared: 0,
      mismatched: 0,
    });
    return Response.json({ batch: body.batch, duplicate, counted, authority: this.status }, { status: duplicate ? 200 : 202 });
  };

  /** The entries the server counted (each batch once), merged per flag. */
  totals(): Map<string, Totals & { samples: NonNullable<Entry["samples"]> }> {
    const out = new Map<string, Totals & { samples: NonNullable<Entry["samples"]> }>();
    for (const batch of this.#counted.values()) {
      for (const entry of batch.entries) {
        const seen = out.get(entry.flag) ?? { compared: 0, mismatched: 0, samples: [] };
        seen.compared += entry.compared;
        seen.mismatched += entry.mismatched;
        seen.samples.push(...(entry.samples ?? []));
        out.set(entry.flag, seen);
      }
    }
    return out;
  }

  /** Evaluations reported as not compared (each batch once), per flag. */
  uncompared(): Map<string, number> {
    const out = new Map<string, number>();
    for (const batch of this.#counted.values())
      for (const entry of batch.entries) if (entry.uncompared) out.set(entry.flag, (out.get(entry.flag) ?? 0) + entry.uncompared);
    return out;
  }

  /** Batches counted. */
  get countedBatches(): number {
    return this.#counted.size;
  }
}
