import { DurableObject } from "cloudflare:workers";
export class FlagStore extends DurableObject<Env> {
  ping(): number { this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS t (a INTEGER)"); this.ctx.storage.sql.exec("INSERT INTO t VALUES (1)"); return this.ctx.storage.sql.exec<{n:number}>("SELECT count(*) AS n FROM t").one().n; }
}
export default { async fetch(req, env) { await env.FLAGS_KV.put("a","b"); return new Response(await env.FLAGS_KV.get("a")); } } satisfies ExportedHandler<Env>;
