/**
 * Environments: compare two of them (all flags or some) as a readable diff, and promote one's
 * configuration to another, the dry-run diff first and the change only after a confirmation.
 */
import type { Session } from "../../session";
import { Page, projectPath, type Notice } from "../layout";
import { PostForm } from "../offer";
import type { EnvironmentDiffView, FlagDiffView } from "../../../contracts/admin-responses";
import { FlagDefinitionSchema } from "../../../contracts/flag-definition";
import { describeTargeting } from "../describe";
import { DiffList } from "./audit";

/** How many of a lost target list's keys a warning names. */
const NAMED_KEYS = 5;

/**
 * Individual targets `to` lists for a flag that `from` does not list under the same variant: a
 * promotion replaces them (customers support added by hand in production, say), so they are lost.
 */
export function lostTargets(flag: FlagDiffView): string[] {
  const to = FlagDefinitionSchema.safeParse(flag.to);
  const from = FlagDefinitionSchema.safeParse(flag.from);
  if (!to.success || !from.success) return [];
  const kept = new Set(Object.entries(from.data.targets ?? {}).flatMap(([variant, ids]) => ids.map((id) => `${variant}\u0000${id}`)));
  return Object.entries(to.data.targets ?? {}).flatMap(([variant, ids]) => ids.filter((id) => !kept.has(`${variant}\u0000${id}`)));
}

/** A flag's rules in words as one side of a diff has them, or null when that side is not a flag. */
function ruleWords(side: Record<string, unknown> | null): string[] | null {
  const flag = FlagDefinitionSchema.safeParse(side);
  return flag.success ? describeTargeting(flag.data) : null;
}

export interface PromotePreview {
  diff: EnvironmentDiffView;
  /** The flags asked for; null for every flag of `from`. */
  flags: string[] | null;
  reason: string;
  /** The target environment's version when the preview was made: the apply sends it as If-Match. */
  targetVersion: number;
}

export interface EnvironmentsPageProps {
  session: Session;
  project: string;
  environments: { name: string; version: number; flagCount: number }[];
  from: string;
  to: string;
  flagFilter: string;
  diff: EnvironmentDiffView | null;
  preview: PromotePreview | null;
  error: string | null;
  notice: Notice | null;
}

export function EnvironmentsPage(props: EnvironmentsPageProps) {
  const { project, from, to } = props;
  const path = projectPath(project, "environments");
  return (
    <Page title={`Environments · ${project}`} session={props.session} project={project} section="environments" notice={props.notice}>
      <div class="page-head">
        <div>
          <h1>Environments</h1>
          <p>Compare two environments, then promote what differs: the dry run comes first.</p>
        </div>
      </div>
      <div class="env-cards">
        {props.environments.map((env) => (
          <div class="panel env-card">
            <strong>{env.name}</strong>
            <span class="meta">{`v${env.version} · ${env.flagCount} flags`}</span>
          </div>
        ))}
      </div>
      <form method="get" action={path} class="panel filters" aria-label="Compare environments">
        <EnvSelect id="cmp-from" name="from" label="From" value={from} environments={props.environments.map((e) => e.name)} />
        <span class="arrow" aria-hidden="true">
          →
        </span>
        <EnvSelect id="cmp-to" name="to" label="To" value={to} environments={props.environments.map((e) => e.name)} />
        <div class="field grow">
          <label for="cmp-flag">
            Flags <span class="hint">(optional; comma-separated keys, all when empty)</span>
          </label>
          <input id="cmp-flag" type="text" name="flag" value={props.flagFilter} spellcheck={false} autocomplete="off" />
        </div>
        <button type="submit" class="primary">
          Compare
        </button>
      </form>
      {props.error && (
        <div class="notice error" role="alert" id="env-error">
          {props.error}
        </div>
      )}
      {props.preview ? <Preview {...props} preview={props.preview} /> : props.diff && <Comparison {...props} diff={props.diff} />}
    </Page>
  );
}

function EnvSelect({
  id,
  name,
  label,
  value,
  environments,
}: {
  id: string;
  name: string;
  label: string;
  value: string;
  environments: string[];
}) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} name={name}>
        {environments.map((env) => (
          <option value={env} selected={env === value}>
            {env}
          </option>
        ))}
      </select>
    </div>
  );
}

/** Flags whose promotion would change `to`: different, or only in `from`. */
export function changesOf(diff: EnvironmentDiffView): FlagDiffView[] {
  return diff.flags.filter((flag) => flag.status === "different" || flag.status === `only-in-${diff.from}`);
}

function Comparison(props: EnvironmentsPageProps & { diff: EnvironmentDiffView }) {
  const { diff } = props;
  const changes = changesOf(diff);
  const onlyTo = diff.flags.filter((f) => f.status === `only-in-${diff.to}`);
  const same = diff.flags.filter((f) => f.status === "same");
  return (
    <>
      <section class="panel" aria-labelledby="diff-title" id="compare">
        <h2 id="diff-title">{`${diff.from} → ${diff.to}`}</h2>
        <p class="meta" role="status">
          {`${changes.filter((f) => f.status === "different").length} differ · ${changes.length - changes.filter((f) => f.status === "different").length} only in ${diff.from} · ${onlyTo.length} only in ${diff.to} · ${same.length} the same`}
        </p>
        <DiffEntries diff={diff} flags={[...changes, ...onlyTo]} />
        {same.length > 0 && (
          <details>
            <summary>{`${same.length} flags are the same in both`}</summary>
            <p class="meta">{same.map((f) => f.key).join(", ")}</p>
          </details>
        )}
      </section>
      {changes.length > 0 ? (
        <section class="panel" aria-labelledby="promote-title">
          <h2 id="promote-title">{`Promote ${diff.from} → ${diff.to}`}</h2>
          <p class="meta">{`Copies ${diff.from}'s configuration of the chosen flags to ${diff.to} in one change. Flags only in ${diff.to} are left alone. You see the dry run before anything changes.`}</p>
          <PostForm env={diff.to} action={projectPath(props.project, "environments/promote")}>
            <input type="hidden" name="from" value={diff.from} />
            <input type="hidden" name="to" value={diff.to} />
            <input type="hidden" name="step" value="preview" />
            <fieldset>
              <legend>Flags to promote</legend>
              <div class="checks">
                {changes.map((flag) => (
                  <label class="check">
                    <input type="checkbox" name="flags" value={flag.key} checked />
                    <code>{flag.key}</code>
                  </label>
                ))}
              </div>
            </fieldset>
            <div class="field">
              <label for="promote-reason">
                Reason <span class="hint">(kept in the audit log)</span>
              </label>
              <input id="promote-reason" type="text" name="reason" maxlength={1000} />
            </div>
            <button type="submit" class="primary">
              Preview the promotion
            </button>
          </PostForm>
        </section>
      ) : (
        <p class="panel">{`Nothing to promote: ${diff.to} already has ${diff.from}'s configuration of these flags.`}</p>
      )}
    </>
  );
}

function Preview(props: EnvironmentsPageProps & { preview: PromotePreview }) {
  const { diff } = props.preview;
  const changes = changesOf(diff);
  return (
    <section class="panel" aria-labelledby="preview-title" id="promote-preview">
      <h2 id="preview-title">{`Dry run: promoting ${diff.from} → ${diff.to}`}</h2>
      {changes.length === 0 ? (
        <p>{`Nothing would change: ${diff.to} already matches.`}</p>
      ) : (
        <>
          <div class="notice warn" role="status">
            {`${changes.length} flag(s) in ${diff.to} would change. Nothing has been changed yet.`}
          </div>
          {changes.map((flag) => {
            const lost = lostTargets(flag);
            if (lost.length === 0) return null;
            const named = lost.slice(0, NAMED_KEYS).join(", ") + (lost.length > NAMED_KEYS ? `, and ${lost.length - NAMED_KEYS} more` : "");
            return (
              <div class="notice warn" role="status" id={`lost-targets-${flag.key}`}>
                {`${flag.key}: ${lost.length} individual target${lost.length === 1 ? "" : "s"} in ${diff.to} (${named}) ${lost.length === 1 ? "is" : "are"} not in ${diff.from} and would be removed by this promotion. Add ${lost.length === 1 ? "it" : "them"} to ${flag.key} in ${diff.from} first, or leave ${flag.key} out of the promotion.`}
              </div>
            );
          })}
          <DiffEntries diff={diff} flags={changes} />
          <PostForm
            env={diff.to}
            action={projectPath(props.project, "environments/promote")}
            data-confirm={`Promote ${changes.length} flag(s) from ${diff.from} to ${diff.to}?`}
          >
            <input type="hidden" name="from" value={diff.from} />
            <input type="hidden" name="to" value={diff.to} />
            <input type="hidden" name="step" value="apply" />
            <input type="hidden" name="version" value={String(props.preview.targetVersion)} />
            {(props.preview.flags ?? []).map((flag) => (
              <input type="hidden" name="flags" value={flag} />
            ))}
            <div class="field">
              <label for="apply-reason">
                Reason <span class="hint">(kept in the audit log)</span>
              </label>
              <input id="apply-reason" type="text" name="reason" value={props.preview.reason} maxlength={1000} />
            </div>
            <div class="actions">
              <a
                class="button"
                href={`${projectPath(props.project, "environments")}?${new URLSearchParams({ from: diff.from, to: diff.to })}`}
              >
                Cancel
              </a>
              <button type="submit" class="danger">{`Promote ${changes.length} flag(s) to ${diff.to}`}</button>
            </div>
          </PostForm>
        </>
      )}
    </section>
  );
}

/** One entry per flag: what `to` has now and what it would get from `from`. */
function DiffEntries({ diff, flags }: { diff: EnvironmentDiffView; flags: FlagDiffView[] }) {
  if (flags.length === 0) return <p>{`No differences between ${diff.from} and ${diff.to}.`}</p>;
  return (
    <ul class="env-diff">
      {flags.map((flag) => {
        const pick = (side: Record<string, unknown> | null) =>
          side ? Object.fromEntries(flag.fields.map((f) => [f, side[f] ?? null])) : null;
        return (
          <li>
            <div class="audit-head">
              <code class="flag-key">{flag.key}</code>
              {flag.status === "different" && <span class="badge changed">{`differs: ${flag.fields.join(", ")}`}</span>}
              {flag.status === `only-in-${diff.from}` && (
                <span class="badge added">{`only in ${diff.from}: would be added to ${diff.to}`}</span>
              )}
              {flag.status === `only-in-${diff.to}` && <span class="badge">{`only in ${diff.to}: promotion leaves it alone`}</span>}
            </div>
            {flag.status === "different" && (
              <>
                <RuleWordsDiff diff={diff} flag={flag} />
                <p class="meta">{`${diff.to} now → from ${diff.from}`}</p>
                <DiffList before={pick(flag.to)} after={pick(flag.from)} />
              </>
            )}
          </li>
        );
      })}
    </ul>
  );
}

/** Both sides' rules in plain words, when they differ in what they serve (the JSON diff follows). */
function RuleWordsDiff({ diff, flag }: { diff: EnvironmentDiffView; flag: FlagDiffView }) {
  const now = ruleWords(flag.to);
  const then = ruleWords(flag.from);
  if (!now || !then || JSON.stringify(now) === JSON.stringify(then)) return null;
  return (
    <div class="grid-2 rule-words">
      <div>
        <p class="meta">{`In ${diff.to} now`}</p>
        <ul>
          {now.map((line) => (
            <li>{line}</li>
          ))}
        </ul>
      </div>
      <div>
        <p class="meta">{`From ${diff.from}`}</p>
        <ul>
          {then.map((line) => (
            <li>{line}</li>
          ))}
        </ul>
      </div>
    </div>
  );
}
