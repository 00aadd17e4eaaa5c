/**
 * A back end as an application would write it: `@openfeature/server-sdk` with the in-process
 * provider in Node, against the local service (`wrangler dev` on 127.0.0.1, offline). It gets
 * in-process answers, hears a change over the real event stream as
 * PROVIDER_CONFIGURATION_CHANGED with the flag's key, and when the service is killed goes
 * PROVIDER_STALE and keeps answering with the last good flags.
 */
import { OpenFeature, ProviderEvents } from "@openfeature/server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeflagsProvider } from "../../packages/openfeature-provider/src/index";
import { adminCaller, startWranglerDev, type WranglerDev } from "./harness";
import { until, WAIT_MS } from "./wait";

const quiet = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const FLAGS = {
  flags: {
    "banner-color": {
      state: "ENABLED",
      variants: { red: "#c00", green: "#0a0" },
      defaultVariant: "red",
      targeting: { if: [{ in: [{ var: "country" }, ["CA", "US"]] }, "green", null] },
    },
    beta: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off", targets: { on: ["acme"] } },
  },
};

let dev: WranglerDev | undefined;

beforeAll(async () => {
  dev = await startWranglerDev({ name: "provider" });
});

afterAll(async () => {
  await OpenFeature.close();
  await dev?.stop();
});

/** Resolves with the details of the next `event`. */
function next(provider: EdgeflagsProvider, event: ProviderEvents): Promise<{ flagsChanged?: string[]; message?: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${WAIT_MS} ms`)), WAIT_MS);
    provider.events.addHandler(event, (details) => {
      clearTimeout(timer);
      resolve(details ?? {});
    });
  });
}

describe("the in-process provider against the local service", () => {
  it("answers in-process, hears a change on the stream with its key, and keeps its values when the service is killed", async () => {
    const admin = adminCaller(dev!.base, dev!.token);
    expect((await admin("PUT", "/projects/backend", { environments: ["production"] })).status).toBe(201);
    expect((await admin("PUT", "/projects/backend/environments/production/flagd", FLAGS)).status).toBe(200);
    const created = await admin("POST", "/projects/backend/environments/production/keys", { scope: "server", name: "api" });
    expect(created.status).toBe(201);

    const provider = new EdgeflagsProvider({
      url: dev!.base,
      serverKey: created.body.key,
      requestTimeoutMs: 2_000,
      pollIntervalMs: 1_000,
      logger: quiet,
    });
    await OpenFeature.setProviderAndWait("backend", provider);
    const client = OpenFeature.getClient("backend");
    expect(await client.getStringValue("banner-color", "", { country: "CA" })).toBe("#0a0");
    expect(await client.getBooleanDetails("beta", false, { targetingKey: "acme" })).toMatchObject({
      value: true,
      reason: "TARGETING_MATCH",
    });
    await until("the event stream open", async () => provider.stats().streaming);

    const changed = next(provider, ProviderEvents.ConfigurationChanged);
    const edited = structuredClone(FLAGS);
    edited.flags["banner-color"].variants.green = "#0f0";
    expect((await admin("PUT", "/projects/backend/environments/production/flagd", edited)).status).toBe(200);
    expect((await changed).flagsChanged).toEqual(["banner-color"]);
    expect(await client.getStringValue("banner-color", "", { country: "CA" })).toBe("#0f0");

    const stale = next(provider, ProviderEvents.Stale);
    await dev!.stop();
    dev = undefined;
    expect((await stale).message).toMatch(/serving the last good flags/);
    expect(provider.stats()).toMatchObject({ stale: true, streaming: false });
    expect(await client.getStringValue("banner-color", "", { country: "CA" })).toBe("#0f0");
    expect(await client.getBooleanValue("beta", false, { targetingKey: "acme" })).toBe(true);
  });
});
