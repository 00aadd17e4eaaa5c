/**
 * The operator console, mounted at `/console`: server-rendered pages (Hono JSX) over the admin
 * API. Every read and write goes through the `/admin/v1` routes (in-process, with the browser's
 * session cookie and Origin), so the console can do exactly what the session's key may do.
 * Forms post to the console, which answers with a redirect (or the page with the problem shown
 * next to the field); the one script only enhances.
 *
 * @example
 * app.route("/console", createConsole((request, env, ctx) => app.fetch(request, env, ctx)));
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { NameSchema } from "../schemas";
import {
  checkOrigin,
  clearSessionCookie,
  newSession,
  readSession,
  refreshSession,
  sessionNeedsRefresh,
  setSessionCookie,
} from "../session";
import { ACCESS_HEADER, authenticateAdmin } from "../auth";
import { resolveIdentity } from "./identity";
import { signingSecret, SIGNING_SECRET_PROBLEM } from "../../lib/signing";
import { hashKey } from "../../contracts/snapshot";
import {
  adminClient,
  AuditPageSchema,
  AuditVerifySchema,
  CreatedKeySchema,
  FlagSchema,
  KeyListSchema,
  KeySchema,
  ProblemSchema,
  ProjectSchema,
  seg,
  type FlagView,
  type KeyView,
  type WorkerFetch,
} from "./api";
import { serveAsset } from "./assets";
import { BASE, projectPath, type Notice } from "./layout";
import { annotateRows, buildRows, filterRows, pageOf, pickEnvironment, type FlagFacts, type ListFilter } from "./model";
import {
  ProjectFlagListSchema,
  recordToView,
  RotatedKeySchema,
  SegmentListSchema,
  StaleSchema,
  UsageSchema,
} from "../../contracts/admin-responses";
import { segmentWords } from "./describe";
import { registerDelivery } from "./routes/delivery";
import { registerRevert } from "./routes/revert";
import { loadFlagPage, registerFlagPage } from "./routes/flag-page";
import { registerDrafts } from "./routes/drafts";
import { registerEvents } from "./routes/events";
import { registerChangeRequests } from "./routes/change-requests";
import { registerSchedules } from "./routes/schedules";
import { registerEnvironments } from "./routes/environments";
import { registerFlagCreate } from "./routes/flag-create";
import { registerHooks } from "./routes/hooks";
import { registerMigration } from "./routes/migration";
import { registerEdgeStatus } from "./routes/edge-status";
import { registerProjects } from "./routes/projects";
import { registerSegments } from "./routes/segments";
import { AuditPage, type AuditFilterForm } from "./pages/audit";
import { ErrorPage, SignInPage, ToggleConfirmPage } from "./pages/basic";
import { whenKilled } from "./pages/widgets";
import { FlagsPage } from "./pages/flags";
import { KeysPage } from "./pages/keys";

import { apiFailure, apiPath, doneNotice, problemText, vars, type ConsoleContext, type ConsoleEnv } from "./context";

/** A flag not evaluated (or serving one variant) for this many days is marked stale. */
const STALE_DAYS = 30;

/**
 * The console's security headers: a CSP with no inline script or style and nothing from another
 * origin, no framing, no sniffing, no referrer beyond the console, no powerful features.
 */
const consoleHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
  xFrameOptions: "DENY",
  referrerPolicy: "same-origin",
  permissionsPolicy: { camera: [], microphone: [], geolocation: [], payment: [] },
  // Only the headers above, as the console has always sent them.
  originAgentCluster: false,
  strictTransportSecurity: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
});

export function createConsole(fetchWorker: WorkerFetch): Hono<ConsoleEnv> {
  const ui = new Hono<ConsoleEnv>();

  ui.use("*", async (c, next) => {
    await next();
    if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
  });
  ui.use("*", consoleHeaders);
  ui.use("*", bodyLimit({ maxSize: 256 * 1024, onError: (c) => c.text("request too large", 413) }));

  // ---- assets -------------------------------------------------------------------------------

  ui.get("/assets/:file", (c) => serveAsset(c.req.raw, c.env, c.req.param("file")));

  // ---- session ------------------------------------------------------------------------------

  ui.get("/", async (c) => {
    const session = await readSession(c.req.raw, c.env);
    return c.redirect(session ? projectPath(session.project ?? session.home, "flags") : `${BASE}/sign-in`, 303);
  });

  ui.get("/sign-in", (c) => {
    const expired = c.req.query("expired") === "1";
    const notice: Notice | null = expired
      ? { kind: "warn", text: "Your session ended (it expired, or its key was revoked). Sign in again." }
      : null;
    return c.html(
      <SignInPage
        project={c.req.query("project") ?? "default"}
        next={safeNext(c.req.query("next"))}
        notice={notice}
        access={c.req.raw.headers.has(ACCESS_HEADER)}
      />,
    );
  });

  ui.post("/sign-in", async (c) => {
    const form = await c.req.parseBody();
    const project = String(form["project"] ?? "").trim();
    const credential = String(form["credential"] ?? "").trim();
    const next = safeNext(String(form["next"] ?? ""));
    const refuse = (status: 400 | 401 | 403 | 404 | 429 | 503, error: string, headers: Record<string, string> = {}) =>
      c.html(<SignInPage project={project} next={next} error={error} />, status, headers);
    const crossOrigin = checkOrigin(c.req.raw);
    if (crossOrigin) return refuse(403, "Sign-in must come from this console's own page.");
    if (!NameSchema.safeParse(project).success) return refuse(400, `"${project}" is not a project name.`);
    if (!credential) return refuse(400, "Enter an admin key or the admin token.");
    if (!signingSecret(c.env)) return refuse(503, `Console sessions are unavailable: ${SIGNING_SECRET_PROBLEM}.`);
    // The credential is checked first as the browser's own request (its address is what failed
    // sign-ins are throttled by; an unknown project wakes nothing), then by the admin API itself.
    const address = c.req.header("cf-connecting-ip");
    const attempt = new Request(c.req.url, {
      headers: { authorization: `Bearer ${credential}`, ...(address ? { "cf-connecting-ip": address } : {}) },
    });
    const actor = await authenticateAdmin(attempt, c.env, project);
    if (actor instanceof Response) {
      const detail = ProblemSchema.safeParse(await actor.json().catch(() => null));
      const status = actor.status === 403 || actor.status === 429 || actor.status === 503 ? actor.status : 401;
      const retryAfter = actor.headers.get("retry-after");
      return refuse(
        status,
        detail.success ? detail.data.detail : "This credential was not accepted.",
        retryAfter ? { "retry-after": retryAfter } : {},
      );
    }
    const check = await adminClient(c, fetchWorker, credential).get(`/projects/${seg(project)}`, ProjectSchema);
    if (!check.ok) {
      const status = check.status === 401 || check.status === 403 || check.status === 404 ? check.status : 400;
      return refuse(status, check.problem.detail);
    }
    const session = newSession(actor, project, actor.bootstrap ? null : hashKey(credential));
    if (!(await setSessionCookie(c, session))) return refuse(503, `Console sessions are unavailable: ${SIGNING_SECRET_PROBLEM}.`);
    return c.redirect(
      next && (session.project === null || next.startsWith(`${projectPath(project)}/`)) ? next : projectPath(project, "flags"),
      303,
    );
  });

  ui.post("/sign-out", (c) => {
    if (checkOrigin(c.req.raw))
      return c.html(<ErrorPage title="Not signed out" detail="Sign-out must come from this console's own page." />, 403);
    clearSessionCookie(c);
    // Behind Cloudflare Access, signing out ends the Access session too.
    return c.redirect(c.req.raw.headers.has(ACCESS_HEADER) ? "/cdn-cgi/access/logout" : `${BASE}/sign-in`, 303);
  });

  ui.get("/open", (c) => {
    const project = (c.req.query("project") ?? "").trim();
    if (!NameSchema.safeParse(project).success)
      return c.html(<ErrorPage title="No such project" detail={`"${project}" is not a project name.`} />, 400);
    return c.redirect(projectPath(project, "flags"), 303);
  });

  // ---- everything under a project needs a session ------------------------------------------

  const requireSession = async (c: ConsoleContext, next: () => Promise<void>) => {
    const cookie = await readSession(c.req.raw, c.env);
    const url = new URL(c.req.url);
    // Behind Cloudflare Access a person needs no cookie: their token comes with every request.
    if (!cookie && !c.req.raw.headers.has(ACCESS_HEADER)) {
      if (c.req.method !== "GET") return c.redirect(`${BASE}/sign-in?expired=1`, 303);
      return c.redirect(`${BASE}/sign-in?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    const project = c.req.param("project") ?? "";
    if (!NameSchema.safeParse(project).success)
      return c.html(<ErrorPage title="No such project" detail={`"${project}" is not a project name.`} session={cookie} />, 404);
    if (cookie && cookie.project !== null && cookie.project !== project) return c.redirect(projectPath(cookie.project, "flags"), 303);
    const crossOrigin = checkOrigin(c.req.raw);
    if (crossOrigin)
      return c.html(
        <ErrorPage title="Refused" detail="Changes can only be made from this console's own pages." session={cookie} project={project} />,
        403,
      );
    const session = await resolveIdentity(c, cookie, project);
    if (session instanceof Response) return session;
    c.set("session", session);
    c.set("project", project);
    c.set("api", adminClient(c, fetchWorker));
    await next();
    // Not when the response already sets the cookie (a 401 from the API clears it): the last
    // Set-Cookie would win and keep a dead session alive.
    if (sessionNeedsRefresh(session) && c.res.status < 400 && !c.res.headers.has("set-cookie")) {
      await setSessionCookie(c, refreshSession(session));
    }
  };
  ui.use("/p/:project", requireSession);
  ui.use("/p/:project/*", requireSession);

  ui.get("/p/:project", (c) => c.redirect(projectPath(c.get("project"), "flags"), 303));

  // ---- flags list ---------------------------------------------------------------------------

  ui.get("/p/:project/flags", async (c) => {
    const { api, project } = vars(c);
    const info = await api.get(`/projects/${seg(project)}`, ProjectSchema);
    if (!info.ok) return apiFailure(c, info);
    const environments = info.body.environments.map((e) => e.name);
    const environment = pickEnvironment(environments, c.req.query("env"));
    const [all, usage, stale, segments] = await Promise.all([
      api.get(apiPath(project, "/flags"), ProjectFlagListSchema),
      api.get(apiPath(project, `/environments/${seg(environment)}/usage`), UsageSchema),
      api.get(apiPath(project, `/stale?days=${STALE_DAYS}`), StaleSchema),
      api.get(apiPath(project, "/segments"), SegmentListSchema),
    ]);
    if (!all.ok) return apiFailure(c, all);
    const lists = new Map<string, FlagView[]>(environments.map((env) => [env, []]));
    const facts = new Map<string, Partial<FlagFacts>>();
    for (const flag of all.body.flags) {
      facts.set(flag.key, flag.info);
      for (const record of Object.values(flag.environments)) lists.get(record.environment)?.push(recordToView(record));
    }
    const state = c.req.query("state");
    const filter: ListFilter = {
      q: (c.req.query("q") ?? "").slice(0, 200),
      tag: c.req.query("tag") ?? "",
      state: state === "on" || state === "off" || state === "absent" ? state : "",
      stale: c.req.query("stale") === "1",
      page: Number.parseInt(c.req.query("page") ?? "1", 10) || 1,
    };
    const rows = buildRows(environments, lists, facts, environment);
    // Usage and the stale report are best effort: the list is still useful without them.
    annotateRows(rows, { usage: usage.ok ? usage.body : {}, stale: stale.ok ? stale.body : null }, environment);
    const matched = filterRows(rows, filter, environment);
    const page = pageOf(matched, filter.page);
    const tags = [...new Set(rows.flatMap((row) => row.tags))].sort();
    return c.html(
      <FlagsPage
        session={c.get("session")}
        project={project}
        environments={environments}
        environment={environment}
        filter={filter}
        tags={tags}
        rows={page.items}
        total={rows.length}
        matched={matched.length}
        staleCount={rows.filter((row) => row.stale.length > 0).length}
        staleDays={STALE_DAYS}
        page={page.page}
        pages={page.pages}
        notice={doneNotice(c)}
        segments={segmentWords(segments.ok ? segments.body : [])}
      />,
    );
  });

  // ---- toggle (kill switch) -----------------------------------------------------------------

  ui.get("/p/:project/flags/:flag/toggle", async (c) => {
    const { api, project } = vars(c);
    const flag = c.req.param("flag");
    const environment = c.req.query("env") ?? "";
    const current = await api.get(`/projects/${seg(project)}/environments/${seg(environment)}/flags/${seg(flag)}`, FlagSchema);
    if (!current.ok) return apiFailure(c, current);
    return c.html(
      <ToggleConfirmPage
        session={c.get("session")}
        project={project}
        flag={flag}
        environment={environment}
        state={current.body.state}
        version={current.body.version}
        killed={whenKilled(current.body)}
        returnTo={safeReturn(project, c.req.query("return"), environment)}
      />,
    );
  });

  ui.post("/p/:project/flags/:flag/toggle", async (c) => {
    const { api, project } = vars(c);
    const flag = c.req.param("flag");
    const form = await c.req.parseBody();
    const environment = String(form["env"] ?? "");
    const state = form["state"] === "ENABLED" ? "ENABLED" : "DISABLED";
    const reason = String(form["reason"] ?? "").trim();
    const version = String(form["version"] ?? "");
    const returnTo = safeReturn(project, String(form["return"] ?? ""), environment);
    const path = `/projects/${seg(project)}/environments/${seg(environment)}/flags/${seg(flag)}`;
    const confirmAgain = async (status: 400 | 412, notice: Notice | null, reasonError: string | null) => {
      const current = await api.get(path, FlagSchema);
      if (!current.ok) return apiFailure(c, current);
      return c.html(
        <ToggleConfirmPage
          session={c.get("session")}
          project={project}
          flag={flag}
          environment={environment}
          state={current.body.state}
          version={current.body.version}
          returnTo={returnTo}
          killed={whenKilled(current.body)}
          notice={notice}
          reasonError={reasonError}
        />,
        status,
      );
    };
    if (!reason) return confirmAgain(400, null, "Say why: the reason is kept in the audit log for whoever looks next.");
    const result = await api.send(
      "POST",
      `${path}/toggle`,
      { state, reason },
      FlagSchema,
      /^\d+$/.test(version) ? { "if-match": `"${version}"` } : {},
    );
    if (!result.ok) {
      if (result.status === 412) {
        return confirmAgain(
          412,
          { kind: "warn", text: `Not changed: ${result.problem.detail}. Check its state below and confirm again if you still want to.` },
          null,
        );
      }
      return apiFailure(c, result);
    }
    const done = new URLSearchParams({
      done: result.body.changed === false ? "already" : "toggled",
      flag,
      env: environment,
      state: result.body.state,
      version: String(result.body.version),
    });
    return c.redirect(`${returnTo}${returnTo.includes("?") ? "&" : "?"}${done}`, 303);
  });

  // ---- keys ---------------------------------------------------------------------------------

  const keysPage = async (
    c: ConsoleContext,
    extra: {
      created?: (typeof CreatedKeySchema)["_output"] | null;
      rotated?: KeyView | null;
      formError?: string | null;
      status?: 200 | 201 | 400;
    },
  ) => {
    const { api, project } = vars(c);
    const [info, keys] = await Promise.all([
      api.get(`/projects/${seg(project)}`, ProjectSchema),
      api.get(`/projects/${seg(project)}/keys`, KeyListSchema),
    ]);
    if (!info.ok) return apiFailure(c, info);
    if (!keys.ok) return apiFailure(c, keys);
    return c.html(
      <KeysPage
        session={c.get("session")}
        project={project}
        environments={info.body.environments.map((e) => e.name)}
        keys={keys.body}
        created={extra.created ?? null}
        rotated={extra.rotated ?? null}
        formError={extra.formError ?? null}
        notice={doneNotice(c)}
      />,
      extra.status ?? 200,
    );
  };

  ui.get("/p/:project/keys", (c) => keysPage(c, {}));

  ui.post("/p/:project/keys", async (c) => {
    const { api, project } = vars(c);
    const form = await c.req.parseBody();
    const scope = String(form["scope"] ?? "");
    const name = String(form["name"] ?? "").trim();
    const environment = String(form["env"] ?? "");
    const role = String(form["role"] ?? "admin");
    const limited = String(form["environments"] ?? "")
      .split(",")
      .map((e) => e.trim())
      .filter(Boolean);
    const grant = scope === "admin" ? { role, ...(limited.length ? { environments: limited } : {}) } : {};
    const body = { scope, ...(name ? { name } : {}), ...grant };
    const result =
      scope === "admin"
        ? await api.send("POST", `/projects/${seg(project)}/keys`, body, CreatedKeySchema)
        : await api.send("POST", `/projects/${seg(project)}/environments/${seg(environment)}/keys`, body, CreatedKeySchema);
    if (!result.ok) {
      if (result.status === 400 || result.status === 404) return keysPage(c, { formError: problemText(result.problem), status: 400 });
      return apiFailure(c, result);
    }
    return keysPage(c, { created: result.body, status: 201 });
  });

  ui.post("/p/:project/keys/:id/rotate", async (c) => {
    const { api, project } = vars(c);
    const form = await c.req.parseBody();
    const overlapSeconds = Number.parseInt(String(form["overlap"] ?? "86400"), 10);
    const result = await api.send(
      "POST",
      `/projects/${seg(project)}/keys/${seg(c.req.param("id"))}/rotate`,
      { overlapSeconds: Number.isFinite(overlapSeconds) ? overlapSeconds : 86_400 },
      RotatedKeySchema,
    );
    if (!result.ok) {
      if (result.status === 400 || result.status === 409) return keysPage(c, { formError: problemText(result.problem), status: 400 });
      return apiFailure(c, result);
    }
    return keysPage(c, { created: result.body.key, rotated: result.body.previous, status: 201 });
  });

  ui.post("/p/:project/keys/:id/revoke", async (c) => {
    const { api, project } = vars(c);
    const id = c.req.param("id");
    const result = await api.send("DELETE", `/projects/${seg(project)}/keys/${seg(id)}`, undefined, KeySchema);
    if (!result.ok) return apiFailure(c, result);
    return c.redirect(`${projectPath(project, "keys")}?${new URLSearchParams({ done: "revoked", id, name: result.body.name })}`, 303);
  });

  // ---- audit log ----------------------------------------------------------------------------

  ui.get("/p/:project/audit", async (c) => {
    const { api, project } = vars(c);
    const filter: AuditFilterForm = {
      environment: c.req.query("environment") ?? "",
      flag: (c.req.query("flag") ?? "").trim(),
      actor: (c.req.query("actor") ?? "").trim(),
      since: c.req.query("since") ?? "",
      until: c.req.query("until") ?? "",
    };
    const query = new URLSearchParams({ limit: "50" });
    if (filter.environment) query.set("environment", filter.environment);
    if (filter.flag) query.set("flag", filter.flag);
    if (filter.actor) query.set("actor", filter.actor);
    if (filter.since) query.set("since", asUtc(filter.since));
    if (filter.until) query.set("until", asUtc(filter.until));
    const cursor = c.req.query("cursor");
    if (cursor && /^\d+$/.test(cursor)) query.set("cursor", cursor);
    const [info, page, verify] = await Promise.all([
      api.get(`/projects/${seg(project)}`, ProjectSchema),
      api.get(`/projects/${seg(project)}/audit?${query}`, AuditPageSchema),
      api.get(`/projects/${seg(project)}/audit/verify`, AuditVerifySchema),
    ]);
    if (!info.ok) return apiFailure(c, info);
    let notice: Notice | null = null;
    if (!page.ok) {
      if (page.status !== 400) return apiFailure(c, page);
      notice = { kind: "error", text: problemText(page.problem) };
    }
    return c.html(
      <AuditPage
        session={c.get("session")}
        project={project}
        environments={info.body.environments.map((e) => e.name)}
        filter={filter}
        entries={page.ok ? page.body.entries : []}
        nextCursor={page.ok ? page.body.nextCursor : null}
        verify={verify.ok ? verify.body : null}
        notice={notice}
      />,
    );
  });

  // ---- the governance and progressive-delivery screens ---------------------------------------

  registerFlagCreate(ui);
  registerEnvironments(ui);
  registerMigration(ui);
  registerSegments(ui);
  registerHooks(ui);
  registerFlagPage(ui);
  registerDelivery(ui, loadFlagPage);
  registerRevert(ui);
  registerDrafts(ui);
  registerEvents(ui);
  registerChangeRequests(ui);
  registerSchedules(ui);
  registerProjects(ui);
  registerEdgeStatus(ui);

  ui.all("*", async (c) => {
    const session = await readSession(c.req.raw, c.env);
    return c.html(
      <ErrorPage title="Not found" detail={`There is no console page at ${new URL(c.req.url).pathname}.`} session={session} />,
      404,
    );
  });

  return ui;
}

/** Where to go back to after a toggle: a console page of this project, else its flags list. */
function safeReturn(project: string, requested: string | undefined, environment: string): string {
  const prefix = `${projectPath(project)}/`;
  if (requested?.startsWith(prefix) && !/[\\\s]/.test(requested) && !requested.includes("//")) {
    const url = new URL(requested, "http://x");
    url.searchParams.delete("done");
    url.searchParams.delete("state");
    url.searchParams.delete("flag");
    url.searchParams.delete("version");
    return `${url.pathname}${url.search}`;
  }
  return `${projectPath(project, "flags")}?env=${encodeURIComponent(environment)}`;
}

function safeNext(requested: string | undefined): string | undefined {
  if (requested?.startsWith(`${BASE}/p/`) && !/[\\\s]/.test(requested) && !requested.includes("//")) return requested;
  return undefined;
}

/** `2025-01-02T03:04` from a datetime-local field, read as UTC. */
function asUtc(local: string): string {
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(local)) return `${local}:00Z`;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(local)) return `${local}Z`;
  return local;
}
