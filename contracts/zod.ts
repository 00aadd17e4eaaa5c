/**
 * zod, with `.openapi()` on every schema. A module that calls `.openapi()` imports zod from here,
 * as a namespace (`import * as z from "./zod"`): importing this module first runs
 * @hono/zod-openapi, which adds the method, and a namespace import of a re-export lets the bundler
 * keep only the parts of zod that are used (a `z` object imported by name keeps all of it).
 */
import "@hono/zod-openapi";

export * from "zod";
