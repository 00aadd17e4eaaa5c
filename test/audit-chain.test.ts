/**
 * The audit chain is keyed (HMAC under a secret the Durable Object's storage does not hold) and
 * its head is anchored outside it (KV, webhook deliveries): truncation and wholesale rewrites
 * are detected, not only an edited row.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { auditHeadKvKey } from "../contracts/snapshot";
import { call, drainOutbox, setupProject, store } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;
const GENESIS = "0".repeat(64);

/**
 * Rewrites every link of the audit chain with plain SHA-256, computed here independently of the
 * store's code: what an attacker with the storage (or the release before the keyed chain) writes.
 */
function rechainUnkeyed(sql: SqlStorage): void {
  let prev = GENESIS;
  for (const row of sql.exec<Record<string, SqlStorageValue>>("SELECT * FROM audit ORDER BY seq").toArray()) {
    const fields = [
      prev,
      row.seq,
      row.at,
      row.actor,
      row.action,
      row.environment,
      row.target,
      row.version,
      row.before,
      row.after,
      row.reason,
    ];
    const hash = createHash("sha256").update(JSON.stringify(fields)).digest("hex");
    sql.exec("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", prev, hash, row.seq);
    prev = hash;
  }
}

afterEach(() => vi.unstubAllGlobals());

async function someChanges(project: string): Promise<void> {
  await setupProject(project);
  for (const state of ["DISABLED", "ENABLED", "DISABLED"]) {
    await call("POST", `${P(project)}/environments/production/flags/kill-switch/toggle`, { body: { state } });
  }
  await drainOutbox(project);
}

describe("audit tamper-evidence", () => {
  it("anchors the head in KV, and detects entries deleted from the end", async () => {
    const project = "audit-truncate";
    await someChanges(project);
    const ok = await call("GET", `${P(project)}/audit/verify`);
    expect(ok.body).toMatchObject({ ok: true });
    const anchor = await env.FLAGS_KV.get<{ seq: number; hash: string }>(auditHeadKvKey(project), "json");
    expect(anchor?.seq).toBe(ok.body.entries);
    await runInDurableObject(store(project), (_i, state) => {
      state.storage.sql.exec("DELETE FROM audit WHERE seq > (SELECT max(seq) - 2 FROM audit)");
    });
    const verify = await call("GET", `${P(project)}/audit/verify`);
    expect(verify.body).toMatchObject({ ok: false });
    expect(verify.body.detail).toContain("entries were removed from the end");
  });

  it("detects a chain rewritten with recomputed SHA-256 hashes", async () => {
    const project = "audit-rewrite";
    await someChanges(project);
    await runInDurableObject(store(project), (_i, state) => {
      const sql = state.storage.sql;
      sql.exec("UPDATE audit SET actor = 'someone-else'");
      // Recompute every hash as the unkeyed chain did, so each link holds.
      rechainUnkeyed(sql);
    });
    const verify = await call("GET", `${P(project)}/audit/verify`);
    expect(verify.body).toMatchObject({ ok: false, brokenAt: 1 });
  });

  it("still verifies entries written before the keyed chain, up to the switch point", async () => {
    const project = "audit-legacy";
    await setupProject(project);
    // Stand in for a chain written by the release before: plain SHA-256, switch point after it.
    await runInDurableObject(store(project), (_i, state) => {
      const sql = state.storage.sql;
      rechainUnkeyed(sql);
      sql.exec("UPDATE meta SET value = CAST((SELECT max(seq) + 1 FROM audit) AS TEXT) WHERE key = 'audit_hmac_from'");
    });
    await env.FLAGS_KV.delete(auditHeadKvKey(project));
    await call("POST", `${P(project)}/environments/production/flags/kill-switch/toggle`, { body: { state: "DISABLED" } });
    await drainOutbox(project);
    const verify = await call("GET", `${P(project)}/audit/verify`);
    expect(verify.body).toMatchObject({ ok: true });
    expect(verify.body.legacyBefore).toBeGreaterThan(1);
  });

  it("sends the audit head in every webhook delivery", async () => {
    const project = "audit-webhook-head";
    await setupProject(project);
    const hook = (
      await call("POST", `${P(project)}/webhooks`, { body: { url: "https://receiver.example/hook", events: ["flag.toggled"] } })
    ).body;
    const bodies: string[] = [];
    vi.stubGlobal("fetch", async (_url: string, init: RequestInit) => {
      bodies.push(String(init.body));
      return new Response("ok");
    });
    await call("POST", `${P(project)}/environments/production/flags/kill-switch/toggle`, { body: { state: "DISABLED" } });
    await drainOutbox(project);
    expect(bodies).toHaveLength(1);
    const head = JSON.parse(bodies[0]!).auditHead;
    const newest = (await call("GET", `${P(project)}/audit?limit=1`)).body.entries[0];
    expect(head).toEqual({ seq: newest.seq, hash: newest.hash });
    expect(hook.id).toBeTruthy();
  });
});
