/**
 * The admin API's OpenAPI document, read the way its consumers read it: Redocly's linter (the
 * engine behind `redocly lint`, recommended rules) must find no error, and openapi-typescript must
 * generate types from which a typed client compiles, with each route's request and response bodies.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import openapiTS, { astToString } from "openapi-typescript";
import { afterAll, describe, expect, it } from "vitest";
import { adminOpenApiDocument } from "../../admin/routes";

const document = adminOpenApiDocument() as { paths: Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>> };
const source = JSON.stringify(document);
const scratch = mkdtempSync(join(tmpdir(), "edgeflags-openapi-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("the admin API's OpenAPI document", () => {
  it("lints with no errors under Redocly's recommended rules", async () => {
    const config = await createConfig({ extends: ["recommended"] });
    const problems = await lintFromString({ source, absoluteRef: join(scratch, "openapi.json"), config });
    const errors = problems
      .filter((p) => p.severity === "error")
      .map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? "?"}`);
    expect(errors).toEqual([]);
  });

  it("documents a response body for every operation that answers with one", () => {
    const operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ path, method, responses: op.responses })),
    );
    expect(operations.length).toBeGreaterThan(60);
    const undocumented = operations
      .filter(({ responses }) => {
        const success = Object.keys(responses).filter((status) => status.startsWith("2"));
        return success.length !== 1 || (success[0] !== "204" && !responses[success[0]!]?.content);
      })
      .map((op) => `${op.method} ${op.path}`);
    expect(undocumented).toEqual([]);
  });

  it("generates types from which a typed client compiles", async () => {
    const types = astToString(await openapiTS(source));
    writeFileSync(join(scratch, "admin-api.ts"), types);
    // A client written against the generated types: a wrong field or status would not compile.
    writeFileSync(
      join(scratch, "client.ts"),
      `
import type { paths } from "./admin-api.ts";
type Flag = paths["/projects/{project}/environments/{env}/flags/{flag}"]["get"]["responses"]["200"]["content"]["application/json"];
type Toggle = NonNullable<paths["/projects/{project}/environments/{env}/flags/{flag}/toggle"]["post"]["requestBody"]>["content"]["application/json"];
type Problem = paths["/projects/{project}/environments/{env}/flags/{flag}"]["get"]["responses"]["404"]["content"]["application/problem+json"];
export function describeFlag(flag: Flag): string {
  return \`\${flag.key} is \${flag.state === "ENABLED" ? "on" : "off"} at version \${flag.version}\`;
}
export const kill: Toggle = { state: "DISABLED", reason: "incident" };
export function explain(problem: Problem): string {
  return \`\${problem.status}: \${problem.detail}\`;
}
`,
    );
    const tsc = resolve(import.meta.dirname, "../../node_modules/typescript/bin/tsc");
    const run = () => {
      try {
        execFileSync(
          process.execPath,
          [tsc, "--noEmit", "--strict", "--allowImportingTsExtensions", "--target", "es2022", "--module", "nodenext", "client.ts"],
          { cwd: scratch, encoding: "utf8", stdio: "pipe" },
        );
      } catch (error) {
        throw new Error(String((error as { stdout?: string }).stdout ?? error));
      }
    };
    expect(run).not.toThrow();
    // And it does reject a client that misreads the API.
    writeFileSync(
      join(scratch, "client.ts"),
      `
import type { paths } from "./admin-api.ts";
type Toggle = NonNullable<paths["/projects/{project}/environments/{env}/flags/{flag}/toggle"]["post"]["requestBody"]>["content"]["application/json"];
export const kill: Toggle = { state: "OFF" };
`,
    );
    expect(run).toThrow();
  });
});
