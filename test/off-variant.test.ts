/**
 * A killed flag with an off variant, end to end: the kill switch through the admin API, the answer
 * over OFREP, and what the published server provider (`@openfeature/ofrep-provider` 0.1.3 under
 * `@openfeature/server-sdk`) makes of it.
 */
import { exports } from "cloudflare:workers";
import { OpenFeature } from "@openfeature/server-sdk";
import { OFREPProvider } from "@openfeature/ofrep-provider";
import { afterAll, describe, expect, it } from "vitest";
import { OFF_VARIANT_METADATA_KEY } from "../engine/index";
import type { FlagSet } from "../engine/types";
import { call, drainOutbox, evaluate, setupProject } from "./helpers";

const flags: FlagSet = {
  flags: {
    "checkout-kill-switch": {
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "on",
      metadata: { [OFF_VARIANT_METADATA_KEY]: "off" },
    },
    "legacy-kill": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
  },
};
const flagPath = (flag: string) => `/admin/v1/projects/off-variant/environments/production/flags/${flag}`;
const workerFetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => exports.default.fetch(new Request(input, init));

describe("off variants", () => {
  afterAll(() => OpenFeature.close());

  it("serves a killed flag's off variant with reason DISABLED, and the published server provider reports it (not ERROR)", async () => {
    const { key } = await setupProject("off-variant", flags, "server");
    for (const flag of ["checkout-kill-switch", "legacy-kill"]) {
      const killed = await call("POST", `${flagPath(flag)}/toggle`, { body: { state: "DISABLED", reason: "checkout errors" } });
      expect(killed.status).toBe(200);
    }
    await drainOutbox("off-variant");

    const wire = await evaluate(key, "checkout-kill-switch", { targetingKey: "user-1" });
    expect(wire.status).toBe(200);
    expect(wire.body).toMatchObject({ key: "checkout-kill-switch", value: false, variant: "off", reason: "DISABLED" });
    expect(wire.body.metadata).not.toHaveProperty(OFF_VARIANT_METADATA_KEY);
    const legacy = await evaluate(key, "legacy-kill", { targetingKey: "user-1" });
    expect(legacy.body).toMatchObject({ key: "legacy-kill", reason: "DISABLED" });
    expect(legacy.body).not.toHaveProperty("value");

    await OpenFeature.setProviderAndWait(
      "off-variant",
      new OFREPProvider({
        baseUrl: "http://edgeflags.test",
        headers: [["Authorization", `Bearer ${key}`]],
        fetchImplementation: workerFetch,
      }),
    );
    const client = OpenFeature.getClient("off-variant");
    // The caller's code default is `true`: without an off variant it would keep serving `true`.
    expect(await client.getBooleanDetails("checkout-kill-switch", true, { targetingKey: "user-1" })).toMatchObject({
      value: false,
      variant: "off",
      reason: "DISABLED",
    });
    expect((await client.getBooleanDetails("checkout-kill-switch", true, { targetingKey: "user-1" })).errorCode).toBeUndefined();
    // What the off variant is for: 0.1.3 reads a DISABLED answer without a value as an error.
    expect(await client.getBooleanDetails("legacy-kill", true, { targetingKey: "user-1" })).toMatchObject({
      value: true,
      reason: "ERROR",
      errorCode: "GENERAL",
    });
  });

  it("exports the killed flag to plain flagd as ENABLED serving the off variant, and refuses an off variant that is not a variant", async () => {
    const plain = await call("GET", "/admin/v1/projects/off-variant/environments/production/flagd?format=plain");
    expect(plain.body.flags["checkout-kill-switch"]).toEqual({
      state: "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: "off",
      metadata: { [OFF_VARIANT_METADATA_KEY]: "off", "edgeflags.state": "DISABLED" },
    });
    const current = await call("GET", flagPath("legacy-kill"));
    const put = await call("PUT", flagPath("legacy-kill"), {
      headers: { "if-match": current.headers.get("etag")! },
      body: { state: "DISABLED", variants: { on: true, off: false }, defaultVariant: "on", metadata: { [OFF_VARIANT_METADATA_KEY]: "of" } },
    });
    expect(put.status).toBe(400);
    expect(put.body.errors).toEqual([
      { path: `metadata.${OFF_VARIANT_METADATA_KEY}`, message: 'off variant "of" is not one of the variants (on, off)' },
    ]);
  });
});
