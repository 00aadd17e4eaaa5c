import { describe, expect, it } from "vitest";
import { admin, adminOpenApiDocument } from "../admin/routes";
import { call } from "./helpers";

type Operation = { security?: unknown[] };
const METHODS = ["get", "put", "post", "patch", "delete"] as const;

/** Every operation of the generated document, with its Hono path (`:name`). */
function operations() {
  const paths = adminOpenApiDocument().paths as Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
  return Object.entries(paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({
      method,
      path: path.replace(/\{([A-Za-z]+)\}/g, ":$1"),
      public: item[method]!.security?.length === 0,
    })),
  );
}

describe("OpenAPI", () => {
  it("describes exactly the routes the admin app serves", () => {
    const served = new Set(
      admin.routes.filter((route) => route.method !== "ALL").map((route) => `${route.method.toLowerCase()} ${route.path}`),
    );
    const described = new Set(operations().map((op) => `${op.method} ${op.path}`));
    expect([...served].filter((route) => !described.has(route))).toEqual([]);
    expect([...described].filter((route) => !served.has(route))).toEqual([]);
  });

  it("serves the document, with request bodies generated from the validating schemas", async () => {
    const res = await call("GET", "/admin/v1/openapi.json", { token: null });
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    // Bodies are named components, referenced from each operation.
    const component = (schema: { $ref: string }) => res.body.components.schemas[schema.$ref.replace("#/components/schemas/", "")];
    const createKey = res.body.paths["/projects/{project}/environments/{env}/keys"].post;
    expect(component(createKey.requestBody.content["application/json"].schema).properties.scope.enum).toEqual(["client", "server"]);
    const ramp = res.body.paths["/projects/{project}/environments/{env}/flags/{flag}/ramp"].post;
    expect(component(ramp.requestBody.content["application/json"].schema).required).toEqual(
      expect.arrayContaining(["variant", "baseline", "steps"]),
    );
    expect(component(ramp.responses["201"].content["application/json"].schema).properties.currentPercent).toBeDefined();
    const update = res.body.paths["/projects/{project}/environments/{env}/flags/{flag}"].put;
    expect(update.parameters).toContainEqual(expect.objectContaining({ name: "If-Match", required: true }));
    expect(update.responses["200"].headers.ETag).toBeDefined();
    expect(update.responses["428"].content["application/problem+json"]).toBeDefined();
    const audit = res.body.paths["/projects/{project}/audit"].get;
    expect(audit.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(["environment", "flag", "actor", "since", "until", "cursor", "limit"]),
    );
  });
});

describe("scopes on every admin route", () => {
  it.each(["client", "server"] as const)(
    "refuses a %s key with 403 on every authenticated admin route, changing nothing",
    async (scope) => {
      const { setupProject } = await import("./helpers");
      const project = `every-route-${scope}`;
      const { key } = await setupProject(project, undefined, scope);
      const before = (await call("GET", `/admin/v1/projects/${project}/audit?limit=500`)).body.entries.length;
      const params: Record<string, string> = { project, env: "production", flag: "kill-switch", id: "x", name: "s", delivery: "d" };
      const authenticated = operations().filter((o) => !o.public);
      expect(authenticated.length).toBeGreaterThan(60);
      for (const op of authenticated) {
        const path = `/admin/v1${op.path.replace(/:([A-Za-z]+)/g, (_, name: string) => params[name]!)}`;
        const res = await call(op.method.toUpperCase(), path, {
          token: key,
          body: op.method === "get" || op.method === "delete" ? undefined : {},
        });
        expect(res.status, `${op.method} ${op.path}`).toBe(403);
        expect(res.headers.get("content-type")).toBe("application/problem+json");
      }
      expect((await call("GET", `/admin/v1/projects/${project}/audit?limit=500`)).body.entries.length).toBe(before);
    },
  );
});
