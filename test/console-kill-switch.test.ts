/** The console's kill-switch confirmation says what callers get once the flag is off. */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OFF_VARIANT_METADATA_KEY } from "../engine/index";
import { ADMIN_TOKEN, setupProject } from "./helpers";

const ORIGIN = "http://edgeflags.test";
const get = async (path: string, cookie: string) => {
  const response = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { headers: { cookie }, redirect: "manual" }));
  return { status: response.status, text: await response.text() };
};

describe("kill-switch confirmation", () => {
  it("names the off variant's value, or says no value is served", async () => {
    await setupProject("console-kill", {
      flags: {
        "with-off": {
          state: "ENABLED",
          variants: { on: true, off: false },
          defaultVariant: "on",
          metadata: { [OFF_VARIANT_METADATA_KEY]: "off" },
        },
        "without-off": { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
      },
    });
    const signIn = await exports.default.fetch(
      new Request(`${ORIGIN}/console/sign-in`, {
        method: "POST",
        headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ project: "console-kill", credential: ADMIN_TOKEN }).toString(),
        redirect: "manual",
      }),
    );
    expect(signIn.status).toBe(303);
    const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0]!;

    const withOff = await get("/console/p/console-kill/flags/with-off/toggle?env=production", cookie);
    expect(withOff.status).toBe(200);
    expect(withOff.text).toContain("When it is off:</strong> Callers get false (off variant &quot;off&quot;).");
    const withoutOff = await get("/console/p/console-kill/flags/without-off/toggle?env=production", cookie);
    expect(withoutOff.text).toContain("When it is off:</strong> Callers get their code default: no value is served.");

    const detail = await get("/console/p/console-kill/flags/with-off?env=production", cookie);
    expect(detail.text).toContain("While with-off is off in production: Callers get false (off variant &quot;off&quot;).");
    expect(detail.text).toContain('<code>off</code><span class="tag">off variant</span>');

    // The in-page dialog gets the same sentence from the state pill it opens from.
    const list = await get("/console/p/console-kill/flags?env=production", cookie);
    expect(list.text).toContain('data-killed="When it is off: Callers get false (off variant &quot;off&quot;)."');
    expect(list.text).toContain('data-killed="When it is off: Callers get their code default: no value is served."');
  });
});
