/** Drafts: stage a whole flag set beside live, see which units it would flip (shadow evaluation), publish or discard. */
import type { Session } from "../../session";
import { Page, When, projectPath, type Notice } from "../layout";
import { PostForm } from "../offer";
import type { DraftView } from "../../../contracts/admin-responses";
import { ActionButton, Errors, invalid } from "./widgets";

export interface DraftsPageProps {
  session: Session;
  project: string;
  environments: string[];
  environment: string;
  /** The environment's live version (the publish sends it as If-Match). */
  liveVersion: number;
  draft: DraftView | null;
  form: { sampleRate: string; flagSet: string; reason: string };
  errors: Record<string, string[]>;
  notice: Notice | null;
}

export function DraftsPage(props: DraftsPageProps) {
  const path = projectPath(props.project, "drafts");
  const { draft, form, errors } = props;
  return (
    <Page title={`Drafts · ${props.project}`} session={props.session} project={props.project} section="drafts" notice={props.notice}>
      <div class="page-head">
        <div>
          <h1>Drafts</h1>
          <p>
            Stage a new flag set beside live: a sample of real evaluations also evaluates the draft (answers still come from live) and
            reports who would flip.
          </p>
        </div>
      </div>
      <nav class="tabs" aria-label="Environment">
        {props.environments.map((env) => (
          <a href={`${path}?env=${encodeURIComponent(env)}`} aria-current={env === props.environment ? "page" : undefined}>
            {env}
          </a>
        ))}
      </nav>
      {draft ? (
        <section class="panel" aria-labelledby="draft-title" id="draft">
          <h2 id="draft-title">{`Draft of ${props.environment}`}</h2>
          <dl class="facts">
            <dt>Draft</dt>
            <dd>
              <code>{draft.id}</code>
            </dd>
            <dt>Staged</dt>
            <dd>
              <When at={draft.createdAt} />
              {` by ${draft.createdBy}, on live version ${draft.baseVersion}`}
            </dd>
            <dt>Sample</dt>
            <dd>{`${(draft.sampleRate * 100).toFixed(1)}% of evaluations`}</dd>
            <dt>Units sampled</dt>
            <dd>
              {Object.values(draft.shadow.sampledUnits)
                .reduce((a, b) => a + b, 0)
                .toLocaleString("en-US")}
            </dd>
          </dl>
          <h3>Would flip</h3>
          {draft.shadow.flips.length === 0 ? (
            <p class="meta" id="no-flips">
              No sampled unit would get a different variant
              {Object.keys(draft.shadow.sampledUnits).length === 0 ? " (nothing sampled yet)" : ""}.
            </p>
          ) : (
            <div class="table-wrap">
              <table class="cards" id="flips">
                <thead>
                  <tr>
                    <th scope="col">Flag</th>
                    <th scope="col">From → to</th>
                    <th scope="col">Units</th>
                    <th scope="col">Of sampled</th>
                  </tr>
                </thead>
                <tbody>
                  {draft.shadow.flips.map((flip) => (
                    <tr>
                      <td>
                        <code>{flip.flag}</code>
                      </td>
                      <td data-label="From → to">
                        <del>{flip.from}</del>
                        {" → "}
                        <ins>{flip.to}</ins>
                      </td>
                      <td data-label="Units">{flip.units.toLocaleString("en-US")}</td>
                      <td data-label="Of sampled">{(draft.shadow.sampledUnits[flip.flag] ?? 0).toLocaleString("en-US")}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <div class="row tight ramp-actions">
            <ActionButton
              action={`${path}/publish`}
              label={`Publish to ${props.environment}`}
              kind="primary"
              small={false}
              hidden={{ env: props.environment, version: String(props.liveVersion) }}
              confirm={`Replace ${props.environment}'s flags with this draft?`}
            />
            <ActionButton
              action={`${path}/discard`}
              label="Discard the draft"
              kind="danger"
              small={false}
              hidden={{ env: props.environment }}
              confirm="Discard this draft?"
            />
          </div>
        </section>
      ) : (
        <p class="panel">{`${props.environment} has no draft.`}</p>
      )}
      <section class="panel" aria-labelledby="stage-title">
        <h2 id="stage-title">{draft ? "Replace the draft" : "Stage a draft"}</h2>
        <PostForm env={props.environment} action={path}>
          <input type="hidden" name="env" value={props.environment} />
          {errors["form"] && (
            <div class="notice error" role="alert" id="draft-error">
              {errors["form"].join("; ")}
            </div>
          )}
          <div class="field">
            <label for="draft-rate">
              Sample rate <span class="hint">(0 to 1: the share of evaluations that also evaluate the draft)</span>
            </label>
            <input
              id="draft-rate"
              type="number"
              name="sampleRate"
              min="0"
              max="1"
              step="0.01"
              value={form.sampleRate}
              {...invalid("draft-rate", errors["sampleRate"])}
            />
            <Errors id="draft-rate-error" messages={errors["sampleRate"]} />
          </div>
          <div class="field">
            <label for="draft-flagset">
              Flag set <span class="hint">(flagd JSON; starts from what is live)</span>
            </label>
            <textarea id="draft-flagset" class="code" name="flagSet" spellcheck={false} {...invalid("draft-flagset", errors["flagSet"])}>
              {form.flagSet}
            </textarea>
            <Errors id="draft-flagset-error" messages={errors["flagSet"]} />
          </div>
          <div class="field">
            <label for="draft-reason">
              Reason <span class="hint">(kept in the audit log)</span>
            </label>
            <input id="draft-reason" type="text" name="reason" value={form.reason} maxlength={1000} />
          </div>
          <button type="submit" class="primary">
            Stage the draft
          </button>
        </PostForm>
      </section>
    </Page>
  );
}
