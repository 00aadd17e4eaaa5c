/** Segments: list, create, edit (If-Match), delete (a 409 names the flags that still use it). */
import { NameSchema } from "../../schemas";
import { seg } from "../api";
import { apiFailure, apiPath, doneNotice, field, redirectDone, vars, type ConsoleApp, type ConsoleContext } from "../context";
import type { Notice } from "../layout";
import { NEW_SEGMENT, segmentForm, SegmentsPage, type SegmentForm } from "../pages/segments";
import { DeletedSchema, SegmentListSchema, SegmentSchema } from "../../../contracts/admin-responses";

type Status = 200 | 400 | 404 | 409 | 412;

export function registerSegments(ui: ConsoleApp): void {
  const listPage = async (
    c: ConsoleContext,
    form: SegmentForm,
    errors: Record<string, string[]>,
    status: Status = 200,
    notice?: Notice | null,
  ) => {
    const { api, project, session } = vars(c);
    const list = await api.get(apiPath(project, "/segments"), SegmentListSchema);
    if (!list.ok) return apiFailure(c, list);
    return c.html(
      <SegmentsPage
        session={session}
        project={project}
        segments={list.body}
        editing={null}
        form={form}
        errors={errors}
        notice={notice ?? doneNotice(c)}
      />,
      status,
    );
  };
  const editPage = async (
    c: ConsoleContext,
    name: string,
    form: SegmentForm | null,
    errors: Record<string, string[]>,
    status: Status = 200,
    notice?: Notice | null,
  ) => {
    const { api, project, session } = vars(c);
    const current = await api.get(apiPath(project, `/segments/${seg(name)}`), SegmentSchema);
    if (!current.ok) return apiFailure(c, current);
    return c.html(
      <SegmentsPage
        session={session}
        project={project}
        segments={[]}
        editing={current.body}
        form={form ?? segmentForm(current.body)}
        errors={errors}
        notice={notice ?? doneNotice(c)}
      />,
      status,
    );
  };

  /** Sends the form to `PUT /segments/{name}`; a redirect when saved, else the form with the problem beside its field. */
  const save = async (c: ConsoleContext, creating: boolean) => {
    const { api, project } = vars(c);
    const raw = await c.req.parseBody();
    const name = creating ? field(raw, "name") : (c.req.param("name") ?? "");
    const form: SegmentForm = {
      name,
      description: field(raw, "description"),
      kind: field(raw, "kind") === "members" ? "members" : "rule",
      rule: field(raw, "rule"),
      members: field(raw, "members"),
      attribute: field(raw, "attribute") || "targetingKey",
      version: Number(field(raw, "version")) || 0,
      reason: field(raw, "reason"),
    };
    const again = (errors: Record<string, string[]>, status: Status, notice?: Notice) =>
      creating ? listPage(c, form, errors, status, notice) : editPage(c, name, form, errors, status, notice);
    const body: Record<string, unknown> = { description: form.description, ...(form.reason ? { reason: form.reason } : {}) };
    if (creating && !NameSchema.safeParse(name).success) {
      return again({ name: ["Use 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit."] }, 400);
    }
    if (form.kind === "rule" && form.members !== "") {
      // Saving the rule would drop the ids typed: say so rather than report a segment that is not what was meant.
      return again(
        {
          members: [
            'You typed members, but "Matches" is set to a rule, so they would be ignored: choose "a list of members", or clear this field.',
          ],
        },
        400,
      );
    }
    if (form.kind === "rule") {
      try {
        body.rule = JSON.parse(form.rule);
      } catch (error) {
        return again({ rule: [`This is not valid JSON: ${error instanceof Error ? error.message : String(error)}`] }, 400);
      }
    } else {
      body.members = form.members
        .split(/[\n,]+/)
        .map((m) => m.trim())
        .filter(Boolean);
      body.attribute = form.attribute;
    }
    const result = await api.send("PUT", apiPath(project, `/segments/${seg(name)}`), body, SegmentSchema, {
      "if-match": `"${form.version}"`,
    });
    if (result.ok) return redirectDone(c, `segments/${seg(name)}`, "segment-saved", { name });
    if (result.status === 412) {
      const text = creating
        ? `A segment named "${name}" already exists; open it to edit it.`
        : `Not saved: ${result.problem.detail}. Reload to see the current version.`;
      return again({ form: [text] }, 412);
    }
    if (result.status === 400 || result.status === 409) {
      const errors: Record<string, string[]> = {};
      for (const error of result.problem.errors ?? []) {
        // A rule the engine rejects is reported at its place in the flag set: `$evaluators.<name>…`.
        const path = error.path.startsWith(`$evaluators.${name}`)
          ? `${form.kind === "members" ? "members" : "rule"}${error.path.slice(`$evaluators.${name}`.length)}`
          : error.path;
        const key = ["name", "rule", "members", "attribute"].find((f) => path === f || path.startsWith(`${f}.`)) ?? "form";
        (errors[key] ??= []).push(key === "form" ? `${error.path}: ${error.message}` : error.message);
      }
      if (Object.keys(errors).length === 0) errors["form"] = [result.problem.detail];
      return again(errors, result.status);
    }
    return apiFailure(c, result);
  };

  ui.get("/p/:project/segments", (c) => listPage(c, NEW_SEGMENT, {}));
  ui.post("/p/:project/segments", (c) => save(c, true));
  ui.get("/p/:project/segments/:name", (c) => editPage(c, c.req.param("name"), null, {}));
  ui.post("/p/:project/segments/:name", (c) => save(c, false));
  ui.post("/p/:project/segments/:name/delete", async (c) => {
    const { api, project } = vars(c);
    const name = c.req.param("name");
    const result = await api.send("DELETE", apiPath(project, `/segments/${seg(name)}`), undefined, DeletedSchema);
    if (result.ok) return redirectDone(c, "segments", "segment-deleted", { name });
    if (result.status === 409 || result.status === 404) {
      return listPage(c, NEW_SEGMENT, {}, result.status, {
        kind: "error",
        text: (
          <>
            {"Not deleted: "}
            {result.problem.detail}
          </>
        ),
      });
    }
    return apiFailure(c, result);
  });
}
