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

/** Signs in to `project` with `credential` (default: the bootstrap token); the session cookie's `name=value`. */
export async function consoleSignIn(project: string, credential: string = ADMIN_TOKEN): Promise<string> {
  const res = await exports.default.fetch(
    new Request(`${ORIGIN}/console/sign-in`, {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ project, credential }).toString(),
      redirect: "manual",
    }),
  );
  expect(res.status).toBe(303);
  return (res.headers.get("set-cookie") ?? "").split(";")[0]!;
}

/**
 * The fields a browser would post from the form matching `selector` in `html`: inputs (not
 * buttons), each select's selected option (else its first) and textareas — read with HTMLRewriter,
 * so a test posts what the page really rendered.
 */
export async function formFieldsOf(html: string, selector: string): Promise<Record<string, string>> {
  const fields: Record<string, string> = {};
  let inForm = false;
  let select: { name: string; first: string | null; chosen: boolean } | null = null;
  let textarea: string | null = null;
  const decode = (s: string) =>
    s
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, "&");
  await new HTMLRewriter()
    .on(selector, {
      element(el) {
        inForm = true;
        el.onEndTag(() => {
          inForm = false;
        });
      },
    })
    .on(`${selector} input`, {
      element(el) {
        const name = el.getAttribute("name");
        const type = el.getAttribute("type") ?? "text";
        if (!inForm || !name || type === "submit" || type === "button") return;
        if ((type === "checkbox" || type === "radio") && !el.hasAttribute("checked")) return;
        fields[name] = el.getAttribute("value") ?? "";
      },
    })
    .on(`${selector} select`, {
      element(el) {
        const name = el.getAttribute("name");
        select = name ? { name, first: null, chosen: false } : null;
        el.onEndTag(() => {
          if (select && !select.chosen && select.first !== null) fields[select.name] = select.first;
          select = null;
        });
      },
    })
    .on(`${selector} option`, {
      element(el) {
        if (!select) return;
        const value = el.getAttribute("value") ?? "";
        if (select.first === null) select.first = value;
        if (el.hasAttribute("selected")) {
          fields[select.name] = value;
          select.chosen = true;
        }
      },
    })
    .on(`${selector} textarea`, {
      element(el) {
        const name = el.getAttribute("name");
        if (!name) return;
        textarea = "";
        el.onEndTag(() => {
          fields[name] = decode(textarea ?? "");
          textarea = null;
        });
      },
      text(chunk) {
        if (textarea !== null) textarea += chunk.text;
      },
    })
    .transform(new Response(html))
    .text();
  return fields;
}
