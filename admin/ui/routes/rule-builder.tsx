/**
 * The rule builder's routes: its buttons (add a rule, a condition, a variant… re-render the form,
 * writing nothing), its save (one `PUT …/flags/{flag}` with If-Match, or no call at all when the
 * form says what is stored), and individual targets (`POST …/flags/{flag}/targets`).
 */
import * as z from "zod";
import { FlagSchema, seg, TargetsChangedSchema } from "../api";
import { apiFailure, apiPath, problemText, redirectDone, vars, type ConsoleApp, type ConsoleContext } from "../context";
import type { FlagPageProps } from "../pages/flag";
import { FlagPage } from "../pages/flag";
import { editForm, formToFlag, readForm, type Fields } from "../rule-form";
import { sameJson } from "../rule-model";

type LoadFlagPage = (c: ConsoleContext, flag: string, environment: string | undefined) => Promise<FlagPageProps | Response>;

/** A posted body as strings (the first of repeated fields; files ignored), untrimmed. */
function stringFields(body: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === "string") out[name] = first;
  }
  return out;
}

/** Targeting keys pasted as a list: one per line, or separated by commas or spaces. */
export function pastedIds(text: string): string[] {
  return [...new Set(text.split(/[\s,;]+/).filter(Boolean))];
}

/** The part of a flag the console's `FlagSchema` leaves out and a PUT must send back. */
export const PrerequisitesSchema = z.object({ prerequisites: z.array(z.object({ flag: z.string(), variant: z.string() })).optional() });

const orNull = (value: unknown) => (value === undefined ? null : value);

export function registerRuleBuilder(ui: ConsoleApp, loadFlagPage: LoadFlagPage): void {
  const flagPath = (flag: string, env: string) => `flags/${seg(flag)}?env=${encodeURIComponent(env)}`;

  ui.post("/p/:project/flags/:flag/builder", async (c) => {
    const { api, project } = vars(c);
    const flag = c.req.param("flag");
    const fields: Fields = stringFields(await c.req.parseBody());
    const environment = fields["env"] ?? "";
    const op = fields["op"] ?? "save";
    const reason = (fields["reason"] ?? "").trim();
    const page = await loadFlagPage(c, flag, environment);
    if (page instanceof Response) return page;
    const record = page.records.get(environment);
    if (!record) return c.html(<FlagPage {...page} notice={{ kind: "error", text: `This flag does not exist in ${environment}.` }} />, 404);
    const form = readForm(fields);
    const again = (status: 200 | 400, errors: Record<string, string>, formError: string | null, shown = form) =>
      c.html(<FlagPage {...page} builder={{ form: shown, errors, formError, reason }} />, status);
    if (op !== "save") {
      const notice = { kind: "warn" as const, text: "Not saved yet: nothing changes until you save the rules." };
      return c.html(<FlagPage {...page} notice={notice} builder={{ form: editForm(form, op), errors: {}, formError: null, reason }} />);
    }
    const version = fields["version"] ?? "";
    if (!/^\d+$/.test(version)) return again(400, {}, "The form lost the version it was based on; reload the page.");
    const built = formToFlag(form, record);
    if (!built.ok) return again(400, built.errors, "Not saved: fix the fields marked below.");

    const targets: Record<string, string[]> = {};
    for (const [variant, ids] of Object.entries(record.targets ?? {})) {
      const name = built.renamed.get(variant) ?? variant;
      if (!Object.hasOwn(built.flag.variants, name) && ids.length > 0) {
        return again(400, {}, `Not saved: variant "${variant}" still has ${ids.length} individual targets; remove or move them first.`);
      }
      targets[name] = ids;
    }
    const unchanged =
      sameJson(built.flag.variants, record.variants) &&
      orNull(built.flag.defaultVariant) === orNull(record.defaultVariant) &&
      sameJson(orNull(built.flag.targeting), orNull(record.targeting)) &&
      sameJson(built.flag.metadata ?? {}, record.metadata ?? {});
    // Nothing edited: nothing is sent, so nothing can be written.
    if (unchanged) return redirectDone(c, flagPath(flag, environment), "unchanged", { flag, env: environment });
    const body = {
      state: record.state,
      ...built.flag,
      ...(Object.keys(targets).length > 0 ? { targets } : {}),
      ...(reason ? { reason } : {}),
    };
    const path = apiPath(project, `/environments/${seg(environment)}/flags/${seg(flag)}`);
    // A PUT replaces the whole flag: its prerequisites (which the page does not edit) go back as they are.
    const kept = await api.get(path, PrerequisitesSchema);
    if (!kept.ok) return apiFailure(c, kept);
    if (kept.body.prerequisites) Object.assign(body, { prerequisites: kept.body.prerequisites });
    const result = await api.send("PUT", path, body, FlagSchema, { "if-match": `"${version}"` });
    if (result.ok) {
      return redirectDone(c, flagPath(flag, environment), result.body.changed === false ? "unchanged" : "saved", {
        flag,
        env: environment,
      });
    }
    if (result.status === 412) {
      return again(
        400,
        {},
        `Not saved: ${result.problem.detail}. Someone changed this flag meanwhile; reload the page to see their change.`,
      );
    }
    if (result.status === 400) {
      const listed = (result.problem.errors ?? []).map((e) => `${e.path}: ${e.message}`);
      return again(400, {}, `Not saved: ${listed.length > 0 ? listed.join("; ") : problemText(result.problem)}`);
    }
    return apiFailure(c, result);
  });

  ui.post("/p/:project/flags/:flag/targets", async (c) => {
    const { api, project } = vars(c);
    const flag = c.req.param("flag");
    const fields = stringFields(await c.req.parseBody());
    const environment = fields["env"] ?? "";
    const single = (fields["remove"] ?? "").trim();
    const ids = single ? [single] : pastedIds(fields["ids"] ?? "");
    const remove = single !== "" || fields["action"] === "remove";
    const refuse = async (text: string) => {
      const page = await loadFlagPage(c, flag, environment);
      if (page instanceof Response) return page;
      return c.html(<FlagPage {...page} notice={{ kind: "error", text }} />, 400);
    };
    if (ids.length === 0) return refuse("No targeting keys given: paste them one per line, or separated by commas.");
    const body = remove ? { remove: ids } : { add: { [fields["variant"] ?? ""]: ids } };
    const result = await api.send(
      "POST",
      apiPath(project, `/environments/${seg(environment)}/flags/${seg(flag)}/targets`),
      body,
      TargetsChangedSchema,
    );
    if (!result.ok) {
      if (result.status === 400 || result.status === 404) return refuse(`Targets not changed: ${problemText(result.problem)}`);
      return apiFailure(c, result);
    }
    return redirectDone(c, flagPath(flag, environment), result.body.changed ? "saved" : "unchanged", { flag, env: environment });
  });
}
