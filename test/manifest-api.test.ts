/**
 * The OpenFeature CLI's Manifest Management API (open-feature/cli `api/v0/sync.yaml`) served over
 * one environment: the calls `openfeature pull` / `push` make, at the paths its generated client
 * appends to the base URL, with the shapes its schema gives.
 */
import { describe, expect, it } from "vitest";
import { call, setupProject } from "./helpers";

const BASE = "/admin/v1/projects/manifest-api/environments/production/openfeature/v0/manifest";

describe("the Manifest Management API", () => {
  it("lists, creates, updates and deletes flags as the OpenFeature CLI expects", async () => {
    await setupProject("manifest-api", {
      flags: {
        checkout: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "on" },
        banner: { state: "ENABLED", variants: { short: "Hi", long: "Hello there" }, defaultVariant: "short" },
        ratio: { state: "ENABLED", variants: { a: 0.25, b: 0.5 }, defaultVariant: "a" },
      },
    });
    const listed = await call("GET", BASE);
    expect(listed.status).toBe(200);
    expect(listed.headers.get("x-manifest-capabilities")).toBe("read,write,delete");
    expect(listed.body.flags).toEqual(
      expect.arrayContaining([
        { key: "checkout", name: "checkout", type: "boolean", description: null, defaultValue: true },
        { key: "banner", name: "banner", type: "string", description: null, defaultValue: "Hi" },
      ]),
    );
    // Fractional numbers have no type in the API: named, not dropped silently.
    expect(listed.body.flags.map((f: { key: string }) => f.key)).not.toContain("ratio");
    expect(listed.headers.get("x-edgeflags-skipped")).toBe("ratio");

    const created = await call("POST", `${BASE}/flags`, {
      body: { key: "new-search", type: "boolean", name: "New search", description: "search v2", defaultValue: false },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ flag: { key: "new-search", type: "boolean", defaultValue: false, description: "search v2" } });
    expect(typeof created.body.updatedAt).toBe("string");
    const evaluated = await call("GET", "/admin/v1/projects/manifest-api/environments/production/flags/new-search");
    expect(evaluated.body).toMatchObject({ variants: { on: true, off: false }, defaultVariant: "off" });
    const again = await call("POST", `${BASE}/flags`, { body: { key: "new-search", type: "boolean", defaultValue: false } });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ status: 409, message: expect.stringContaining("already exists") });

    const moved = await call("PUT", `${BASE}/flags/banner`, {
      body: { key: "banner", type: "string", defaultValue: "Hello there", description: "the top banner" },
    });
    expect(moved.status).toBe(200);
    expect(moved.body.flag).toMatchObject({ defaultValue: "Hello there", description: "the top banner" });
    expect((await call("GET", "/admin/v1/projects/manifest-api/environments/production/flags/banner")).body.defaultVariant).toBe("long");
    const retyped = await call("PUT", `${BASE}/flags/banner`, { body: { key: "banner", type: "boolean", defaultValue: true } });
    expect(retyped.status).toBe(409);
    expect(retyped.body.error.message).toBe("Flag type cannot be changed from string to boolean.");
    const unserved = await call("PUT", `${BASE}/flags/banner`, { body: { key: "banner", type: "string", defaultValue: "Howdy" } });
    expect(unserved.status).toBe(409);
    const mismatched = await call("PUT", `${BASE}/flags/banner`, { body: { key: "other", type: "string" } });
    expect(mismatched.status).toBe(400);
    expect(mismatched.body.error.message).toBe("Flag key in path and payload must match.");

    const deleted = await call("DELETE", `${BASE}/flags/new-search`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ archivedAt: null });
    expect((await call("GET", "/admin/v1/projects/manifest-api/environments/production/flags/new-search")).status).toBe(404);
    expect((await call("DELETE", `${BASE}/flags/new-search`)).status).toBe(404);
  });

  it.each([
    ["an unknown property", { key: "x", type: "boolean", defaultValue: true, colour: "blue" }],
    ["a value of another type", { key: "x", type: "integer", defaultValue: "7" }],
    ["a bad key", { key: "has space", type: "boolean", defaultValue: true }],
    ["no body", undefined],
  ])("refuses %s with 400 in the API's error shape, creating nothing", async (name, body) => {
    const project = `manifest-api-bad-${name.replaceAll(" ", "-")}`;
    await setupProject(project);
    const answer = await call("POST", `/admin/v1/projects/${project}/environments/production/openfeature/v0/manifest/flags`, { body });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ status: 400 });
    expect((await call("GET", `/admin/v1/projects/${project}/environments/production/flags/x`)).status).toBe(404);
  });

  it("is refused to a client key", async () => {
    const { key } = await setupProject("manifest-api-keys");
    const answer = await call("GET", "/admin/v1/projects/manifest-api-keys/environments/production/openfeature/v0/manifest", {
      token: key,
    });
    expect(answer.status).toBe(403);
  });
});
