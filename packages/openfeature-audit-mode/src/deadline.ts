/**
 * Deadlines for the network calls this package makes, on Web standards only (Node 20+ and
 * Workers alike): the call is aborted when its deadline passes, and abandoned even if the `fetch`
 * it was handed ignores the signal.
 */

/** The `fetch` this package calls: the global one, or one the application injects. */
export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

/** Runs `call` with a signal that aborts after `ms`; rejects when the deadline passes first. */
export function withDeadline<T>(ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`no answer within ${ms} ms`);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  let attempt: Promise<T>;
  try {
    attempt = call(controller.signal);
  } catch (error) {
    attempt = Promise.reject(error);
  }
  return Promise.race([attempt, deadline]).finally(() => clearTimeout(timer));
}
