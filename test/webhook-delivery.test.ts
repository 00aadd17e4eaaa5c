/**
 * Webhook deliveries go to public hosts only and never follow a redirect, whatever URL the
 * stored subscription holds (defence in depth behind the admin API's validation).
 */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, drainOutbox, setupProject, store } from "./helpers";

const P = (project: string) => `/admin/v1/projects/${project}`;

afterEach(() => vi.unstubAllGlobals());
afterEach(() => vi.restoreAllMocks());

describe("webhook delivery safety", () => {
  it.each([
    ["http://127.0.0.1:8787/hook", "must be https"],
    ["http://169.254.169.254/latest/meta-data", "must be https"],
    ["https://169.254.169.254/latest/meta-data", "must not point at 169.254.169.254"],
    ["https://10.0.0.1/", "must not point at 10.0.0.1"],
    ["https://192.168.1.20/", "must not point at 192.168.1.20"],
    ["https://[::1]/hook", "must not point at [::1]"],
    ["https://[fd00::1]/hook", "must not point at [fd00::1]"],
    ["https://[::ffff:10.0.0.1]/hook", "must not point at [::ffff:a00:1]"],
    ["https://localhost:9000/", "must not point at localhost"],
  ])("refuses to deliver to %s (%s) without making a request", async (url, why) => {
    const kind = why.replace(/[^a-z0-9]+/gi, "-");
    const project = `hook-ssrf-${kind}-${Math.abs([...url].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 0))}`;
    await setupProject(project);
    const hook = (await call("POST", `${P(project)}/webhooks`, { body: { url: "https://receiver.example/hook", events: ["ping"] } })).body;
    await runInDurableObject(store(project), (_i, state) => {
      state.storage.sql.exec("UPDATE webhooks SET url = ? WHERE id = ?", url, hook.id);
    });
    const requests: string[] = [];
    vi.stubGlobal("fetch", async (target: string) => {
      requests.push(String(target));
      return new Response("ok");
    });
    expect((await call("POST", `${P(project)}/webhooks/${hook.id}/ping`)).status).toBe(201);
    await drainOutbox(project);
    expect(requests).toEqual([]);
    const [delivery] = (await call("GET", `${P(project)}/webhooks/${hook.id}/deliveries`)).body;
    expect(delivery).toMatchObject({ status: "failed", attempts: 1 });
    expect(delivery.lastError).toContain(`not delivered: the webhook URL ${why}`);
  });

  it("does not follow a redirect: a 307 is a failed attempt that says why", async () => {
    const project = "hook-redirect";
    await setupProject(project);
    const hook = (await call("POST", `${P(project)}/webhooks`, { body: { url: "https://receiver.example/hook", events: ["ping"] } })).body;
    const modes: RequestInit["redirect"][] = [];
    vi.stubGlobal("fetch", async (_url: string, init: RequestInit) => {
      modes.push(init.redirect);
      // What a runtime following redirects would do is up to `redirect`; answer as the receiver did.
      return new Response(null, { status: 307, headers: { location: "http://169.254.169.254/latest" } });
    });
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    await call("POST", `${P(project)}/webhooks/${hook.id}/ping`);
    await drainOutbox(project);
    expect(modes).toEqual(["manual"]);
    const [delivery] = (await call("GET", `${P(project)}/webhooks/${hook.id}/deliveries`)).body;
    expect(delivery).toMatchObject({ status: "pending", lastStatus: 307 });
    expect(delivery.lastError).toContain("redirects are not followed");
    // The failed attempt is logged as one structured line: which project, webhook, event, attempt, why.
    const failures = warnings.mock.calls
      .map(([line]) => JSON.parse(String(line)))
      .filter((entry) => entry.event === "webhook-delivery-failed");
    expect(failures).toEqual([
      expect.objectContaining({
        level: "warn",
        project,
        webhook: hook.id,
        delivery: delivery.id,
        eventType: "ping",
        attempts: 1,
        status: 307,
        final: false,
        error: expect.stringContaining("redirects are not followed"),
      }),
    ]);
  });
});
