/**
 * What `zod` resolves to in the Worker's bundle (wrangler.toml `[alias]`): all of zod, except that
 * the `z` object it also exports by name holds only `ZodType`. @hono/zod-openapi imports that `z`
 * to add `.openapi()` to `ZodType`'s prototype and reads nothing else from it, but a namespace
 * handed to a function as a value keeps every export of zod in the bundle (its locales, JSON
 * Schema conversion, …): about 100 KB gzipped. Our own code imports zod as a namespace
 * (`import * as z from "zod"`), never `z` by name: test/node/zod-imports.test.ts holds that.
 */
import { ZodType } from "zod/v4";

export * from "zod/v4";

/** The part of zod's `z` namespace that @hono/zod-openapi reads. */
export const z = { ZodType };
