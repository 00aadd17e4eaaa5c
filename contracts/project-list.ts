/**
 * `GET /admin/v1/projects`: the projects a caller may open, one page at a time. Declared once here
 * for the route, the OpenAPI document and the console's project switcher.
 */
import * as z from "./zod.ts";

/** Most projects one page lists (the most a KV list returns at once). */
export const MAX_PROJECT_PAGE = 1_000;

export const ProjectListQuerySchema = z.object({
  /** The `cursor` of the previous page, as it was returned. */
  cursor: z
    .string()
    .min(1)
    .max(1_024)
    .regex(/^[A-Za-z0-9_\-+/=.]+$/, "a cursor is the opaque token a previous page returned")
    .optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PROJECT_PAGE).default(100),
});

export const ProjectListSchema = z
  .object({
    projects: z.array(z.object({ name: z.string() })),
    /** Pass it back as `?cursor=` for the next page; null on the last page. */
    cursor: z.string().nullable(),
    /**
     * `registry`: every project in the registry (the bootstrap token), read from KV, where a project
     * created in the last minute may not be listed yet. `credential`: the one project the key or
     * session belongs to. `access`: the projects whose single sign-on gives the person a role.
     */
    source: z.enum(["registry", "credential", "access"]),
  })
  .openapi("ProjectList");
export type ProjectList = z.infer<typeof ProjectListSchema>;
