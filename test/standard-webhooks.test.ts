/**
 * Webhook deliveries verify with off-the-shelf code: the `standardwebhooks` package (the Standard
 * Webhooks reference library) accepts them with the subscription's `standardSecret`, refuses a
 * tampered body, and sees the same `webhook-id` on a retry; the edgeflags signature stays beside it.
 */
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { verifySignature } from "../lib/signature";
import { call, drainOutbox, setupProject } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;

afterEach(() => vi.unstubAllGlobals());

interface Sent {
  body: string;
  headers: Record<string, string>;
}

function receiver(statuses: number[]): Sent[] {
  const sent: Sent[] = [];
  vi.stubGlobal("fetch", async (_url: string, init: RequestInit) => {
    sent.push({ body: String(init.body), headers: Object.fromEntries(new Headers(init.headers).entries()) });
    return new Response(null, { status: statuses.shift() ?? 204 });
  });
  return sent;
}

describe("Standard Webhooks signatures", () => {
  it.each([
    ["a generated secret", undefined],
    ["a secret of the operator's choosing", "my own secret: with spaces, é and = signs"],
  ])("verify with the standardwebhooks package, for %s", async (_name, secret) => {
    const project = `std-hooks-${secret === undefined ? "generated" : "chosen"}`;
    await setupProject(project);
    const created = await call("POST", `${P(project)}/webhooks`, {
      body: { url: "https://receiver.example/hook", events: ["ping", "flag.toggled"], ...(secret ? { secret } : {}) },
    });
    expect(created.status).toBe(201);
    expect(created.body.standardSecret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const sent = receiver([]);
    await call("POST", `${P(project)}/environments/production/flags/kill-switch/toggle`, { body: { state: "DISABLED" } });
    await drainOutbox(project);
    expect(sent).toHaveLength(1);
    const [delivery] = sent;
    const verified = new Webhook(created.body.standardSecret).verify(delivery!.body, delivery!.headers) as { type: string };
    expect(verified.type).toBe("flag.toggled");
    expect(delivery!.headers["webhook-id"]).toBe(delivery!.headers["edgeflags-delivery"]);
    expect(() =>
      new Webhook(created.body.standardSecret).verify(delivery!.body.replace("DISABLED", "ENABLED"), delivery!.headers),
    ).toThrow();
    // The edgeflags signature is still sent, for receivers written against it.
    const own = await verifySignature(
      created.body.secret,
      delivery!.body,
      delivery!.headers["edgeflags-signature"],
      Math.floor(Date.now() / 1000),
    );
    expect(own.ok).toBe(true);
  });

  it("keeps the webhook-id across retries, so a receiver can drop a repeat", async () => {
    const project = "std-hooks-retry";
    await setupProject(project);
    const created = await call("POST", `${P(project)}/webhooks`, { body: { url: "https://receiver.example/hook", events: ["ping"] } });
    const sent = receiver([503, 204]);
    await call("POST", `${P(project)}/webhooks/${created.body.id}/ping`);
    await drainOutbox(project);
    await drainOutbox(project);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.headers["webhook-id"]).toBe(sent[0]!.headers["webhook-id"]);
    for (const attempt of sent) expect(() => new Webhook(created.body.standardSecret).verify(attempt.body, attempt.headers)).not.toThrow();
  });
});

describe("Slack-compatible deliveries", () => {
  it("posts a {text} message naming the flag, what happened, who and why, signed the same way; switchable back to JSON", async () => {
    const project = "slack-hooks";
    await setupProject(project);
    const created = await call("POST", `${P(project)}/webhooks`, {
      body: { url: "https://hooks.slack.example/services/T0/B0/x", events: ["flag.toggled"], format: "slack" },
    });
    expect(created.status).toBe(201);
    expect(created.body.format).toBe("slack");
    const sent = receiver([]);
    await call("POST", `${P(project)}/environments/production/flags/kill-switch/toggle`, {
      body: { state: "DISABLED" },
      headers: { "x-change-reason": "error rate above 5%" },
    });
    await drainOutbox(project);
    expect(sent).toHaveLength(1);
    const message = JSON.parse(sent[0]!.body);
    expect(Object.keys(message)).toEqual(["text"]);
    expect(message.text).toMatch(
      /^\*slack-hooks \/ production\*: `kill-switch` turned \*off\* by token:bootstrap \(version \d+\) — “error rate above 5%”$/,
    );
    expect(() => new Webhook(created.body.standardSecret).verify(sent[0]!.body, sent[0]!.headers)).not.toThrow();

    const back = await call("PATCH", `${P(project)}/webhooks/${created.body.id}`, { body: { format: "edgeflags" } });
    expect(back.body.format).toBe("edgeflags");
    await call("POST", `${P(project)}/environments/production/flags/kill-switch/toggle`, { body: { state: "ENABLED" } });
    await drainOutbox(project);
    expect(JSON.parse(sent[1]!.body)).toMatchObject({ type: "flag.toggled", project });
  });

  it("refuses an unknown format, creating nothing", async () => {
    const project = "slack-hooks-bad";
    await setupProject(project);
    const refused = await call("POST", `${P(project)}/webhooks`, {
      body: { url: "https://hooks.slack.example/x", events: ["ping"], format: "teams" },
    });
    expect(refused.status).toBe(400);
    expect((await call("GET", `${P(project)}/webhooks`)).body).toEqual([]);
  });
});
