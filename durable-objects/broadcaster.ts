/**
 * Broadcaster: fan-out of one environment's change events to the edge Workers holding open OFREP
 * event streams. One object per (project, environment, shard), addressed by name.
 *
 * Protocol. The edge Worker that holds a browser's SSE stream opens a WebSocket to one shard
 * (`GET /connect?key=<key id>` with `Upgrade: websocket`). The shard accepts it with the
 * Hibernation API, so an idle stream keeps no object in memory and bills no duration, and answers
 * at once with `{"type":"hello","latest":<event or null>}`: the last change it announced, for
 * `Last-Event-ID` catch-up. When the FlagStore's `notify` outbox row runs, `notifyEnvironment`
 * calls `notify()` on every shard, which sends `{"type":"change","version","etag","lastModified"}`
 * to each socket. The edge sends only `ping`, answered by the runtime (`setWebSocketAutoResponse`)
 * without waking the object. Sockets are tagged `key:<id>` so a key's streams can be found.
 *
 * Delivery rides the FlagStore's outbox: `notifyEnvironment` throws unless every shard took the
 * event, and the row is retried; a shard that already announced an event ignores the repeat.
 */
import { DurableObject } from "cloudflare:workers";
import { DEADLINE_MS, withDeadline } from "../lib/deadline";
import { snapshotEtag } from "../contracts/snapshot";
import { broadcasterName, shardCount, type BroadcastMessage, type ChangeEvent } from "../contracts/broadcast";

/**
 * Announces a committed version of an environment to every shard of its broadcaster; called by the
 * FlagStore's `notify` outbox row. Resolves to the version announced; rejects (and the row is
 * retried) unless every shard took it.
 *
 * @example
 * await notifyEnvironment(env, "shop", "production", 42, Date.now());
 */
export async function notifyEnvironment(
  env: Env,
  project: string,
  environment: string,
  version: number,
  updatedAt: number,
): Promise<number> {
  const event: ChangeEvent = { version, etag: snapshotEtag(version), lastModified: Math.floor(updatedAt / 1000) };
  const shards = shardCount(env);
  const results = await Promise.allSettled(
    Array.from({ length: shards }, (_, shard) =>
      withDeadline(
        env.BROADCASTER.getByName(broadcasterName(project, environment, shard)).notify(event),
        DEADLINE_MS.broadcaster,
        `broadcaster shard ${shard}`,
      ),
    ),
  );
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed.length > 0) {
    throw new Error(`${failed.length} of ${shards} broadcaster shards did not take version ${version}: ${String(failed[0]!.reason)}`);
  }
  return version;
}

const LATEST = "latest";

export class Broadcaster extends DurableObject<Env> {
  /** The last event announced; undefined until read from storage after a wake-up. */
  #latest: ChangeEvent | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Edge keep-alives are answered by the runtime: they neither wake the object nor bill it.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** Accepts an edge Worker's WebSocket (hibernatable) and greets it with the last announced event. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("the broadcaster only accepts WebSocket upgrades", { status: 426 });
    }
    const keyId = new URL(request.url).searchParams.get("key");
    const [edge, shard] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(shard, keyId ? [`key:${keyId}`] : []);
    const hello: BroadcastMessage = { type: "hello", latest: await this.#load() };
    shard.send(JSON.stringify(hello));
    return new Response(null, { status: 101, webSocket: edge });
  }

  /** Sends `event` to every connected edge socket, unless it was already announced. */
  async notify(event: ChangeEvent): Promise<{ listeners: number; sent: boolean }> {
    const sockets = this.ctx.getWebSockets();
    const latest = await this.#load();
    // A repeat (the outbox retrying after another shard failed) is not sent twice. Equality, not
    // order: an environment dropped and re-created starts its versions again.
    if (latest && latest.version === event.version && latest.lastModified === event.lastModified) {
      return { listeners: sockets.length, sent: false };
    }
    this.#latest = event;
    await this.ctx.storage.put(LATEST, event);
    const message = JSON.stringify({ type: "change", ...event } satisfies BroadcastMessage);
    for (const socket of sockets) {
      try {
        socket.send(message);
      } catch {
        // closing already; webSocketClose cleans up
      }
    }
    return { listeners: sockets.length, sent: true };
  }

  /** How many edge sockets are connected; for tests and the bench. */
  async listeners(): Promise<number> {
    return this.ctx.getWebSockets().length;
  }

  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // Edges send nothing but "ping", which the runtime answers; anything else is a protocol error.
    if (message !== "ping") socket.close(1003, "edges only send ping");
  }

  override async webSocketClose(socket: WebSocket, code: number, reason: string): Promise<void> {
    try {
      socket.close(code === 1005 ? 1000 : code, reason);
    } catch {
      // already closed by the runtime
    }
  }

  override async webSocketError(socket: WebSocket): Promise<void> {
    try {
      socket.close(1011, "error");
    } catch {
      // already closed
    }
  }

  async #load(): Promise<ChangeEvent | null> {
    if (this.#latest === undefined) this.#latest = (await this.ctx.storage.get<ChangeEvent>(LATEST)) ?? null;
    return this.#latest;
  }
}
