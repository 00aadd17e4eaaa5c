/** Console requests for the workers tests: forms posted with the console's Origin, a signed-in session. */
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { ADMIN_TOKEN } from "./helpers";

export const ORIGIN = "http://edgeflags.test";

export interface ConsolePage {
  status: number;
  headers: Headers;
  text: string;
}

/** A console request; a POST carries the console's own Origin and the form, url-encoded. */
export async function consoleRequest(
  method: "GET" | "POST",
  path: string,
  cookie: string,
  form?: Record<string, string> | URLSearchParams,
): Promise<ConsolePage> {
  const headers: Record<string, string> = { cookie };
  let body: string | undefined;
  if (method === "POST") {
    headers.origin = ORIGIN;
    body = new URLSearchParams(form ?? {}).toString();
    headers["content-type"] = "application/x-www-form-urlencoded";
  }
  const response = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { method, headers, body, redirect: "manual" }));
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Signs in to `project` with the bootstrap token; the session cookie's `name=value`. */
export async function consoleSignIn(project: string): Promise<string> {
  const res = await exports.default.fetch(
    new Request(`${ORIGIN}/console/sign-in`, {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ project, credential: ADMIN_TOKEN }).toString(),
      redirect: "manual",
    }),
  );
  expect(res.status).toBe(303);
  return (res.headers.get("set-cookie") ?? "").split(";")[0]!;
}
