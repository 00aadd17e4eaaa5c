/**
 * The admin API's OpenAPI 3.1 document, served at `GET /admin/v1/openapi.json`. It is generated
 * from the route declarations themselves (`./routes/kit.ts`: `adminRoute` + `createRoute`), whose
 * request schemas are the ones the handlers validate with and whose response schemas are the ones
 * the console parses with (`contracts/admin-responses.ts`); every top-level schema is a named
 * component. There is no second table of routes to keep in step.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import * as z from "../contracts/zod";
import type { Env as HonoEnv } from "hono";

/** The document's own shape, as `GET /openapi.json` declares it. */
export const OpenApiDocumentSchema = z
  .looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.record(z.string(), z.unknown()) })
  .openapi("OpenApiDocument");

/** Registers what the document says about authentication on the admin app's registry (once). */
export function describeSecurity<E extends HonoEnv>(app: OpenAPIHono<E>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "The admin token or an admin key",
  });
}

/**
 * The OpenAPI document of `app` (the admin API mounted at `/admin/v1`). The recursive `JsonValue`
 * component is stated as what it means, any JSON value: generated from `z.json()` it refers to
 * itself, a type that client generators (openapi-typescript) cannot name.
 */
export function openApiDocument<E extends HonoEnv>(app: OpenAPIHono<E>) {
  const document = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "edgeflags admin API",
      version: "1",
      description: "Flags, environments, keys, segments, webhooks, triggers, ramps and experiments. Errors are RFC 9457 problem+json.",
      license: { name: "Apache-2.0", url: "https://www.apache.org/licenses/LICENSE-2.0" },
    },
    servers: [{ url: "/admin/v1" }],
    security: [{ bearer: [] }],
  });
  const schemas = document.components?.schemas;
  if (schemas?.["JsonValue"]) schemas["JsonValue"] = { description: "Any JSON value" };
  return document;
}
