/**
 * The flag page's routes: the page itself, the targeting editor (raw JSON), the rule builder,
 * individual targets and "try a context" (which says which rule decided).
 */
import { AuditPageSchema, FlagSchema, ProjectSchema, seg, type AdminClient, type ApiProblem, type FlagView } from "../api";
import { SegmentListSchema } from "../../../contracts/admin-responses";
import { ExplanationSchema, type ExplanationView } from "../../../contracts/explain";
import { conditionWords, describeTargeting, segmentWords, type SegmentWords } from "../describe";
import { fromTargeting } from "../rule-model";
import { apiFailure, apiPath, doneNotice, problemText, vars, type ConsoleApp, type ConsoleContext } from "../context";
import { projectPath } from "../layout";
import { factsFromMetadata, pickEnvironment, ProjectFlagsSchema, type FlagFacts } from "../model";
import { ErrorPage } from "../pages/basic";
import { FlagPage, type EditorState, type FlagPageProps, type TryRow } from "../pages/flag";
import { attributeField, attributesRead, buildTryContext } from "../try-context";
import { loadDelivery } from "./delivery";
import { PrerequisitesSchema, registerRuleBuilder } from "./rule-builder";

/** Registers the flag page's routes on the console. */
export function registerFlagPage(ui: ConsoleApp): void {
  registerRuleBuilder(ui, loadFlagPage);
  // ---- flag detail, editor and "try a context" ----------------------------------------------

  ui.get("/p/:project/flags/:flag", async (c) => {
    const page = await loadFlagPage(c, c.req.param("flag"), c.req.query("env"));
    if (page instanceof Response) return page;
    return c.html(<FlagPage {...page} notice={doneNotice(c)} />);
  });

  ui.post("/p/:project/flags/:flag/edit", async (c) => {
    const { api, project } = vars(c);
    const flag = c.req.param("flag");
    const form = await c.req.parseBody();
    const environment = String(form["env"] ?? "");
    const version = String(form["version"] ?? "");
    const targetingText = String(form["targeting"] ?? "");
    const defaultVariant = String(form["defaultVariant"] ?? "");
    const reason = String(form["reason"] ?? "").trim();
    const page = await loadFlagPage(c, flag, environment);
    if (page instanceof Response) return page;
    const record = page.records.get(environment);
    if (!record) return c.html(<FlagPage {...page} notice={{ kind: "error", text: `This flag does not exist in ${environment}.` }} />, 404);
    const editor: EditorState = {
      targeting: targetingText,
      defaultVariant,
      reason,
      targetingErrors: [],
      defaultVariantErrors: [],
      formError: null,
    };
    let targeting: unknown;
    if (targetingText.trim() !== "") {
      try {
        targeting = JSON.parse(targetingText);
      } catch (error) {
        editor.targetingErrors.push(`This is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
        return c.html(<FlagPage {...page} editor={editor} />, 400);
      }
    }
    if (!/^\d+$/.test(version))
      return c.html(
        <FlagPage {...page} editor={{ ...editor, formError: "The form lost the version it was based on; reload the page." }} />,
        400,
      );
    const body: Record<string, unknown> = {
      state: record.state,
      variants: record.variants,
      defaultVariant: defaultVariant === "" ? null : defaultVariant,
      ...(targeting === undefined ? {} : { targeting }),
      ...(record.metadata ? { metadata: record.metadata } : {}),
      // A PUT replaces the flag's targets: send them back, or the save would drop them.
      ...(record.targets ? { targets: record.targets } : {}),
      ...(reason ? { reason } : {}),
    };
    const path = `/projects/${seg(project)}/environments/${seg(environment)}/flags/${seg(flag)}`;
    // The same for its prerequisites, which this page does not edit.
    const kept = await api.get(path, PrerequisitesSchema);
    if (!kept.ok) return apiFailure(c, kept);
    if (kept.body.prerequisites) body["prerequisites"] = kept.body.prerequisites;
    const result = await api.send("PUT", path, body, FlagSchema, { "if-match": `"${version}"` });
    if (result.ok) {
      const done = result.body.changed === false ? "unchanged" : "saved";
      const written = { env: environment, done, flag, version: String(result.body.version) };
      return c.redirect(`${projectPath(project, `flags/${seg(flag)}`)}?${new URLSearchParams(written)}`, 303);
    }
    if (result.status === 412) {
      const audit = await api.get(
        `/projects/${seg(project)}/audit?${new URLSearchParams({ environment, flag, limit: "20" })}`,
        AuditPageSchema,
      );
      const changes = audit.ok ? audit.body.entries.filter((entry) => entry.version === null || entry.version > Number(version)) : [];
      return c.html(<FlagPage {...page} conflict={{ detail: result.problem.detail, changes, yourTargeting: targetingText }} />, 412);
    }
    if (result.status === 400) {
      placeProblems(editor, result.problem);
      return c.html(<FlagPage {...page} editor={editor} />, 400);
    }
    return apiFailure(c, result);
  });

  ui.post("/p/:project/flags/:flag/try", async (c) => {
    const { api, project } = vars(c);
    const flag = c.req.param("flag");
    const form = await c.req.parseBody();
    const contextText = String(form["context"] ?? "");
    const loaded = await loadFlagPage(c, flag, String(form["env"] ?? ""));
    if (loaded instanceof Response) return loaded;
    const tryFields: Record<string, string> = {};
    for (const name of ["targetingKey", ...(loaded.tryAttributes ?? []).map((a) => attributeField(a.name))]) {
      const value = form[name];
      if (typeof value === "string") tryFields[name] = value;
    }
    const page: FlagPageProps = { ...loaded, tryContext: contextText, tryFields };
    const built = buildTryContext(form, loaded.tryAttributes ?? []);
    if (!built.ok) return c.html(<FlagPage {...page} tryError={built.error} />, 400);
    const context = built.context;
    const rows: TryRow[] = [];
    for (const environment of page.environments) {
      const result = await api.send(
        "POST",
        apiPath(project, `/environments/${seg(environment)}/flags/${seg(flag)}/explain`),
        { context },
        ExplanationSchema,
      );
      if (!result.ok) {
        if (result.status === 400) return c.html(<FlagPage {...page} tryError={problemText(result.problem)} />, 400);
        rows.push({ environment, error: result.status === 404 ? "absent here" : result.problem.detail });
        continue;
      }
      const evaluation = result.body.flag;
      const record = page.records.get(environment);
      const decided = record ? decidedWords(result.body, record, page.segments ?? {}) : result.body.path;
      if (evaluation.errorCode)
        rows.push({ environment, error: `${evaluation.errorCode}: ${evaluation.errorDetails ?? ""}`, reason: evaluation.reason, decided });
      else rows.push({ environment, value: evaluation.value, variant: evaluation.variant, reason: evaluation.reason, decided });
    }
    return c.html(<FlagPage {...page} tryRows={rows} />);
  });
}

/**
 * Which rule decided, in the words of the rules list: `rule 2: country in CA, US → on`,
 * `everyone else: 10% on, 90% off (bucket on)`, `individual target → off`.
 */
export function decidedWords(explained: ExplanationView, record: FlagView, segments: SegmentWords): string {
  const decision = explained.decision;
  const variant = explained.flag.variant;
  switch (decision.by) {
    case "targeting": {
      const first = decision.steps[0];
      const model = fromTargeting(record.targeting);
      const bucket = decision.steps.find((s) => s.kind === "fractional");
      const inBucket = bucket?.kind === "fractional" && bucket.bucket !== null ? ` (bucket ${bucket.bucket})` : "";
      if (first?.kind === "if" && model.rules[first.branch]) {
        const rule = model.rules[first.branch]!;
        return `rule ${first.branch + 1}: ${conditionWords(rule.when, segments)}${inBucket || (variant ? ` → ${variant}` : "")}`;
      }
      if (first?.kind === "no-branch") return `no rule matched: the default${variant ? ` (${variant})` : ""}`;
      if (first?.kind === "else" || model.rules.length === 0) {
        const lines = describeTargeting({ ...record, state: "ENABLED", targets: {} }, segments);
        return `${lines[lines.length - 1]}${inBucket}`;
      }
      return explained.path;
    }
    case "target":
      return `individual target → ${decision.variant}`;
    case "prerequisite":
      return `prerequisite ${decision.flag} is ${decision.got ?? "not served"}, not ${decision.wanted}: the default`;
    case "disabled":
      return variant ? `off: the off variant ${variant}` : "off: the caller's code default";
    case "static":
      return "no rules: the default";
    case "error":
    case "not-found":
      return explained.path;
  }
}

/** Everything the flag page shows: the flag in every environment, its facts, segments, ramp and experiments. */
export async function loadFlagPage(c: ConsoleContext, flag: string, requested: string | undefined): Promise<FlagPageProps | Response> {
  const { api, project } = vars(c);
  const info = await api.get(`/projects/${seg(project)}`, ProjectSchema);
  if (!info.ok) return apiFailure(c, info);
  const environments = info.body.environments.map((e) => e.name);
  const results = await Promise.all(
    environments.map((env) => api.get(`/projects/${seg(project)}/environments/${seg(env)}/flags/${seg(flag)}`, FlagSchema)),
  );
  const records = new Map<string, FlagView>();
  for (const [index, result] of results.entries()) {
    if (result.ok) records.set(environments[index]!, result.body);
    else if (result.status !== 404) return apiFailure(c, result);
  }
  if (records.size === 0) {
    return c.html(
      <ErrorPage
        title="No such flag"
        detail={`There is no flag "${flag}" in any environment of ${project}.`}
        session={c.get("session")}
        project={project}
      />,
      404,
    );
  }
  const environment = pickEnvironment(environments, requested);
  const [allFacts, segmentList] = await Promise.all([loadFacts(api, project), api.get(apiPath(project, "/segments"), SegmentListSchema)]);
  const facts = allFacts.get(flag);
  const fromMeta = factsFromMetadata(records.get(environment) ?? records.values().next().value);
  const merged: FlagFacts = {
    description: facts?.description || fromMeta.description,
    owner: facts?.owner || fromMeta.owner,
    tags: facts?.tags?.length ? facts.tags : fromMeta.tags,
  };
  const delivery = records.has(environment) ? await loadDelivery(api, project, flag, environment) : null;
  // Best effort: without the segment list, rules still read, naming segments without their content.
  const segments = segmentWords(segmentList.ok ? segmentList.body : []);
  const segmentNames = segmentList.ok ? segmentList.body.map((s) => s.name) : [];
  const segmentByName = new Map((segmentList.ok ? segmentList.body : []).map((s) => [s.name, s]));
  const tryAttributes = attributesRead(
    [...records.values()].map((r) => r.targeting ?? null),
    (name) => segmentByName.get(name) ?? null,
  );
  return {
    session: c.get("session"),
    project,
    flag,
    facts: merged,
    environments,
    environment,
    records,
    delivery,
    segments,
    segmentNames,
    tryAttributes,
  };
}

/** Project-level flag facts when the admin API offers them; an empty map otherwise. */
async function loadFacts(api: AdminClient, project: string): Promise<Map<string, Partial<FlagFacts>>> {
  const result = await api.get(`/projects/${seg(project)}/flags`, ProjectFlagsSchema);
  const facts = new Map<string, Partial<FlagFacts>>();
  if (result.ok) for (const flag of result.body.flags) facts.set(flag.key, flag.info);
  return facts;
}

/** Problems from the admin API placed beside the field they name. */
function placeProblems(editor: EditorState, problem: ApiProblem): void {
  const errors = problem.errors ?? [];
  for (const error of errors) {
    const text = error.path && error.path !== "(flag)" && error.path !== "(body)" ? `${error.path}: ${error.message}` : error.message;
    if (error.path.startsWith("targeting")) editor.targetingErrors.push(text);
    else if (error.path.startsWith("defaultVariant") || error.path.startsWith("variants")) editor.defaultVariantErrors.push(text);
    else editor.formError = editor.formError ? `${editor.formError}; ${text}` : text;
  }
  if (errors.length === 0) editor.formError = problem.detail;
  if (editor.targetingErrors.length === 0 && editor.defaultVariantErrors.length === 0 && !editor.formError)
    editor.formError = problem.detail;
}
