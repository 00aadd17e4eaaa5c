/** Creating a flag in every environment at once (`POST /projects/{p}/flags`). */
import { seg, ProjectSchema } from "../api";
import { apiFailure, apiPath, field, redirectDone, vars, type ConsoleApp, type ConsoleContext } from "../context";
import { CreateFlagPage, type CreateFlagForm } from "../pages/flag-create";
import { ProjectFlagSchema } from "../../../contracts/admin-responses";

const EMPTY: CreateFlagForm = {
  key: "",
  description: "",
  owner: "",
  tags: "",
  lifetime: "temporary",
  expectedRemovalAt: "",
  variants: '{\n  "on": true,\n  "off": false\n}',
  defaultVariant: "off",
  states: {},
  reason: "",
};

export function registerFlagCreate(ui: ConsoleApp): void {
  const page = async (c: ConsoleContext, form: CreateFlagForm, errors: Record<string, string[]>, status: 200 | 400 | 409 = 200) => {
    const { api, project, session } = vars(c);
    const info = await api.get(apiPath(project), ProjectSchema);
    if (!info.ok) return apiFailure(c, info);
    return c.html(
      <CreateFlagPage
        session={session}
        project={project}
        environments={info.body.environments.map((e) => e.name)}
        form={form}
        errors={errors}
      />,
      status,
    );
  };

  ui.get("/p/:project/new-flag", (c) => page(c, EMPTY, {}));

  ui.post("/p/:project/new-flag", async (c) => {
    const { api, project } = vars(c);
    const raw = await c.req.parseBody();
    const info = await api.get(apiPath(project), ProjectSchema);
    if (!info.ok) return apiFailure(c, info);
    const environments = info.body.environments.map((e) => e.name);
    const form: CreateFlagForm = {
      key: field(raw, "key"),
      description: field(raw, "description"),
      owner: field(raw, "owner"),
      tags: field(raw, "tags"),
      lifetime: field(raw, "lifetime") === "permanent" ? "permanent" : "temporary",
      expectedRemovalAt: field(raw, "expectedRemovalAt"),
      variants: field(raw, "variants"),
      defaultVariant: field(raw, "defaultVariant"),
      states: Object.fromEntries(environments.map((env) => [env, field(raw, `state-${env}`) === "ENABLED" ? "ENABLED" : "DISABLED"])),
      reason: field(raw, "reason"),
    };
    let variants: unknown;
    try {
      variants = JSON.parse(form.variants);
    } catch (error) {
      return page(c, form, { variants: [`This is not valid JSON: ${error instanceof Error ? error.message : String(error)}`] }, 400);
    }
    const body = {
      key: form.key,
      description: form.description,
      owner: form.owner,
      tags: form.tags
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean),
      lifetime: form.lifetime,
      expectedRemovalAt: /^\d{4}-\d{2}-\d{2}$/.test(form.expectedRemovalAt)
        ? `${form.expectedRemovalAt}T00:00:00Z`
        : form.expectedRemovalAt || null,
      state: "DISABLED",
      variants,
      defaultVariant: form.defaultVariant || null,
      environments: Object.fromEntries(environments.map((env) => [env, { state: form.states[env] }])),
      ...(form.reason ? { reason: form.reason } : {}),
    };
    const result = await api.send("POST", apiPath(project, "/flags"), body, ProjectFlagSchema);
    if (result.ok) return redirectDone(c, `flags/${seg(form.key)}`, "created", { flag: form.key });
    if (result.status === 400 || result.status === 409) {
      const errors: Record<string, string[]> = {};
      for (const error of result.problem.errors ?? []) {
        const name = ["key", "variants", "defaultVariant", "tags", "expectedRemovalAt", "description", "owner"].find(
          (f) => error.path === f || error.path.startsWith(`${f}.`) || error.path.endsWith(`.${f}`) || error.path.includes(`.${f}.`),
        );
        (errors[name ?? "form"] ??= []).push(name ? error.message : `${error.path}: ${error.message}`);
      }
      if (Object.keys(errors).length === 0) errors["form"] = [result.problem.detail];
      return page(c, form, errors, result.status);
    }
    return apiFailure(c, result);
  });
}
