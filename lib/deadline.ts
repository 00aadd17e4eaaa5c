/**
 * Deadlines for every call that leaves this isolate: KV, another Durable Object, the network.
 * A call that neither succeeds nor fails must not hold up a request, an alarm or a queue behind
 * it, so each is raced against a timer. The call itself cannot be cancelled (KV and RPC take no
 * signal); its late result is dropped, and the caller treats the timeout like any other failure.
 */

/** How long each kind of call may take before it counts as failed, in milliseconds. */
export const DEADLINE_MS = {
  /** A KV read on the request path; past it the edge serves the best snapshot it has. */
  edgeKvRead: 1_500,
  /** A FlagStore call from the edge (cold fallback, key lookup, a required newer version). */
  edgeStoreCall: 3_000,
  /** A call to the MigrationLedger from the edge (recording a comparison batch); past it the caller retries the batch. */
  edgeLedgerCall: 5_000,
  /**
   * A call to the client rate limiter binding, counted from when it is asked; past it (or when it
   * fails) the request is not limited. Its timer is armed only if the verdict is awaited before
   * the limiter has answered (`worker/rate-limit.ts`).
   */
  edgeRateLimit: 500,
  /** A KV write or delete made by the FlagStore's alarm; a timed-out row is retried. */
  kvWrite: 5_000,
  /** One page of a KV list made by an admin route (the project registry); past it the route answers 503. */
  adminKvList: 5_000,
  /** A telemetry shard's roll-up into the FlagStore; past it the roll-up stays queued in the shard and is retried. */
  shardRollup: 2_000,
  /** A message to a broadcaster Durable Object. */
  broadcaster: 5_000,
  /** One webhook delivery to a receiver. */
  webhook: 10_000,
  /** A rate-limiting binding's `limit()` call (failed-authentication throttling). */
  rateLimit: 1_000,
  /** An admin route's call into the FlagStore. */
  adminStoreCall: 15_000,
  /** A console stylesheet or script read from the ASSETS binding. */
  consoleAsset: 5_000,
  /** Fetching a Cloudflare Access team's signing keys (`/cdn-cgi/access/certs`) to verify a sign-in. */
  accessCerts: 5_000,
  /** One request of the `flags` CLI to the admin API (an import of thousands of flags included). */
  cliRequest: 60_000,
  /** A Cache API read or write of the edge's per-location version beacon (or a snapshot beside it); past it the isolate goes on without. */
  edgeCache: 250,
  /** The FlagStore call that refreshes a location's version beacon; past it the location keeps KV's freshness and says so. */
  edgeBeacon: 1_000,
  /** A request the request-path Worker forwards to the admin Worker; past the admin API's own store deadline, so the admin API answers first. */
  adminForward: 30_000,
} as const;

/** The failure of a call that did not settle within its deadline. */
export class DeadlineExceeded extends Error {
  override readonly name = "DeadlineExceeded";
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
  }
}

/**
 * Settles like `work`, or rejects with `DeadlineExceeded` once `ms` have passed.
 *
 * @example
 * const text = await withDeadline(env.FLAGS_KV.get(key), DEADLINE_MS.edgeKvRead, "KV read");
 */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  // One promise and one reaction: this runs on every evaluation (the rate limiter), where a
  // race, a second promise and a `finally` cost more than the call they bound.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineExceeded(what, ms)), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
