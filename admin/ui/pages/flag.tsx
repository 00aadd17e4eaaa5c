/**
 * One flag: its state in every environment, the selected environment's variants and targeting
 * editor (validated by the admin API, problems shown beside the field, stale edits never
 * overwrite), and the "try a context" panel across environments.
 */
import type { AuditEntryView, FlagView } from "../api";
import type { Session } from "../../session";
import { Page, When, projectPath, type Notice } from "../layout";
import { PostForm, useAllows } from "../offer";
import { showValue, type FlagFacts } from "../model";
import { ToggleDialog } from "./basic";
import { RuleLines, ToggleLink } from "./flags";
import { describeTargeting, type SegmentWords } from "../describe";
import { attributeField, type TryAttribute } from "../try-context";
import { toForm, type BuilderForm, type FormErrors } from "../rule-form";
import { RuleBuilder } from "./rule-builder";
import { offVariant, whenKilled } from "./widgets";
import { DiffList } from "./audit";
import { DeliveryPanels, type DeliveryState } from "./delivery";

export interface EditorState {
  targeting: string;
  defaultVariant: string;
  reason: string;
  targetingErrors: string[];
  defaultVariantErrors: string[];
  formError: string | null;
}

export interface Conflict {
  detail: string;
  changes: AuditEntryView[];
  yourTargeting: string;
}

export interface TryRow {
  environment: string;
  value?: unknown;
  variant?: string | undefined;
  reason?: string | undefined;
  error?: string | undefined;
  /** Which rule decided, in words. */
  decided?: string | undefined;
}

export interface FlagPageProps {
  session: Session;
  project: string;
  flag: string;
  facts: FlagFacts;
  environments: string[];
  environment: string;
  records: Map<string, FlagView>;
  editor?: EditorState | null;
  conflict?: Conflict | null;
  tryContext?: string;
  /** What was typed in the try form's targeting key and attribute fields, by field name. */
  tryFields?: Readonly<Record<string, string>>;
  /** The attributes this flag's rules read, offered as fields in "try a context". */
  tryAttributes?: readonly TryAttribute[];
  tryError?: string | null;
  tryRows?: TryRow[] | null;
  /** How segments named in rules are described. */
  segments?: SegmentWords;
  /** Segment names, offered by the rule builder. */
  segmentNames?: string[];
  /** The rule builder's form as posted (with its problems), instead of the flag as stored. */
  builder?: { form: BuilderForm; errors: FormErrors; formError: string | null; reason: string } | null;
  /** Ramp and experiments of the selected environment. */
  delivery?: DeliveryState | null;
  notice?: Notice | null;
}

/** Links to request or schedule a change of this flag, for a role that may make one. */
function ChangeLinks(props: { project: string; flag: string; environment: string }) {
  if (!useAllows("edit", props.environment)) return null;
  const query = new URLSearchParams({ env: props.environment, flag: props.flag });
  return (
    <p class="meta">
      <a href={`${projectPath(props.project, "change-requests")}?${query}`}>{`Request a change in ${props.environment}`}</a>
      {" · "}
      <a href={`${projectPath(props.project, "schedules")}?${query}`}>{`Schedule a change in ${props.environment}`}</a>
    </p>
  );
}

export function FlagPage(props: FlagPageProps) {
  const { project, flag, environment } = props;
  const record = props.records.get(environment);
  const base = projectPath(project, `flags/${encodeURIComponent(flag)}`);
  return (
    <Page title={`${flag} · ${project}`} session={props.session} project={project} section="flags" notice={props.notice ?? null}>
      <p class="meta">
        <a href={`${projectPath(project, "flags")}?env=${encodeURIComponent(environment)}`}>← All flags</a>
      </p>
      <div class="page-head">
        <div>
          <h1 class="flag-key">{flag}</h1>
          {props.facts.description && <p class="desc">{props.facts.description}</p>}
          <div>
            {props.facts.owner && <span class="meta">{`owner ${props.facts.owner} `}</span>}
            {props.facts.tags.map((tag) => (
              <span class="tag">{tag}</span>
            ))}
          </div>
        </div>
        <ChangeLinks project={project} flag={flag} environment={environment} />
      </div>

      <section class="panel" aria-labelledby="envs-title">
        <h2 id="envs-title">Environments</h2>
        <div class="table-wrap">
          <table class="cards">
            <thead>
              <tr>
                <th scope="col">Environment</th>
                <th scope="col">State</th>
                <th scope="col">Default variant</th>
                <th scope="col">Rules</th>
                <th scope="col">Last change</th>
              </tr>
            </thead>
            <tbody>
              {props.environments.map((env) => {
                const r = props.records.get(env);
                return (
                  <tr class={env === environment ? "env-selected" : undefined}>
                    <th scope="row">
                      <a href={`${base}?env=${encodeURIComponent(env)}`} aria-current={env === environment ? "page" : undefined}>
                        {env}
                      </a>
                    </th>
                    <td data-label="State">
                      <ToggleLink project={project} flag={flag} environment={env} record={r} />
                    </td>
                    <td data-label="Default">{r ? <code>{r.defaultVariant ?? "(none)"}</code> : <span class="meta">absent</span>}</td>
                    <td data-label="Rules">{r ? <RuleLines lines={describeTargeting(r, props.segments ?? {})} /> : "—"}</td>
                    <td data-label="Last change">
                      {r ? (
                        <span class="meta">
                          <When at={r.updatedAt} /> by {r.updatedBy} (v{r.version})
                        </span>
                      ) : (
                        "—"
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>

      <div class="grid-2">
        <div>
          <nav class="tabs" aria-label="Environment to edit">
            {props.environments.map((env) => (
              <a href={`${base}?env=${encodeURIComponent(env)}`} aria-current={env === environment ? "page" : undefined}>
                {env}
              </a>
            ))}
          </nav>
          {record ? (
            props.conflict ? (
              <ConflictView {...props} conflict={props.conflict} />
            ) : (
              <>
                <div class="tabs" role="tablist" aria-label="How to edit the rules" data-js-only hidden>
                  <button type="button" role="tab" aria-controls="rule-builder" aria-selected="true" data-tab="rule-builder">
                    Builder
                  </button>
                  <button type="button" role="tab" aria-controls="raw-editor" aria-selected="false" data-tab="raw-editor">
                    JSON (advanced)
                  </button>
                </div>
                <RuleBuilder
                  project={project}
                  flag={flag}
                  environment={environment}
                  version={record.version}
                  form={props.builder?.form ?? toForm(record)}
                  errors={props.builder?.errors ?? {}}
                  formError={props.builder?.formError ?? null}
                  reason={props.builder?.reason ?? ""}
                  segmentNames={props.segmentNames ?? []}
                  targets={record.targets ?? {}}
                />
                <Editor {...props} record={record} />
              </>
            )
          ) : (
            <div class="panel">{`This flag does not exist in ${environment}.`}</div>
          )}
        </div>
        <TryPanel {...props} />
      </div>
      {record && props.delivery && (
        <DeliveryPanels
          session={props.session}
          project={project}
          flag={flag}
          environment={environment}
          variants={Object.keys(record.variants)}
          delivery={props.delivery}
        />
      )}
      <ToggleDialog />
    </Page>
  );
}

function Editor(props: FlagPageProps & { record: FlagView }) {
  const { record, environment } = props;
  const editor: EditorState = props.editor ?? {
    targeting: record.targeting === undefined || record.targeting === null ? "" : JSON.stringify(record.targeting, null, 2),
    defaultVariant: record.defaultVariant ?? "",
    reason: "",
    targetingErrors: [],
    defaultVariantErrors: [],
    formError: null,
  };
  const variants = Object.entries(record.variants);
  const off = offVariant(record);
  return (
    <section class="panel" id="raw-editor" aria-labelledby="edit-title" data-advanced={props.editor ? "open" : undefined}>
      <h2 id="edit-title">{`Rules in ${environment} as JSON (advanced)`}</h2>
      <h3>Variants</h3>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Variant</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {variants.map(([name, value]) => (
              <tr>
                <td>
                  <code>{name}</code>
                  {name === off && <span class="tag">off variant</span>}
                </td>
                <td>
                  <code>{showValue(value)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="meta">{`While ${props.flag} is off in ${environment}: ${whenKilled(record)}`}</p>
      <PostForm env={environment} action={projectPath(props.project, `flags/${encodeURIComponent(props.flag)}/edit`)}>
        <input type="hidden" name="env" value={environment} />
        <input type="hidden" name="version" value={String(record.version)} />
        {editor.formError && (
          <div class="notice error" role="alert">
            {editor.formError}
          </div>
        )}
        <div class="field">
          <label for="defaultVariant">Default variant</label>
          <select
            id="defaultVariant"
            name="defaultVariant"
            aria-invalid={editor.defaultVariantErrors.length ? "true" : undefined}
            aria-describedby={editor.defaultVariantErrors.length ? "defaultVariant-error" : undefined}
          >
            <option value="" selected={editor.defaultVariant === ""}>
              (none: callers get their code default)
            </option>
            {variants.map(([name]) => (
              <option value={name} selected={name === editor.defaultVariant}>
                {name}
              </option>
            ))}
          </select>
          {editor.defaultVariantErrors.length > 0 && <FieldErrors id="defaultVariant-error" messages={editor.defaultVariantErrors} />}
        </div>
        <div class="field">
          <label for="targeting">
            Targeting <span class="hint">(flagd JsonLogic; empty for none)</span>
          </label>
          <textarea
            id="targeting"
            class="code"
            name="targeting"
            spellcheck={false}
            aria-invalid={editor.targetingErrors.length ? "true" : undefined}
            aria-describedby={editor.targetingErrors.length ? "targeting-error" : "targeting-hint"}
            data-json-check
          >
            {editor.targeting}
          </textarea>
          {editor.targetingErrors.length > 0 ? (
            <FieldErrors id="targeting-error" messages={editor.targetingErrors} />
          ) : (
            <p class="hint" id="targeting-hint">
              Checked by the admin API before anything is saved.
            </p>
          )}
          <p class="field-error" id="targeting-live" role="status" data-json-status hidden></p>
        </div>
        <div class="field">
          <label for="edit-reason">
            Reason <span class="hint">(kept in the audit log)</span>
          </label>
          <input id="edit-reason" type="text" name="reason" value={editor.reason} maxlength={1000} />
        </div>
        <button type="submit" class="primary">{`Save to ${environment}`}</button>
      </PostForm>
    </section>
  );
}

function FieldErrors({ id, messages }: { id: string; messages: string[] }) {
  return (
    <div class="field-error" id={id} role="alert">
      {messages.length === 1 ? (
        messages[0]
      ) : (
        <ul>
          {messages.map((m) => (
            <li>{m}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function ConflictView(props: FlagPageProps & { conflict: Conflict }) {
  const reload = `${projectPath(props.project, `flags/${encodeURIComponent(props.flag)}`)}?env=${encodeURIComponent(props.environment)}`;
  return (
    <section class="panel" aria-labelledby="conflict-title">
      <div class="notice warn" role="alert">
        <h2 id="conflict-title">Not saved: someone changed this flag while you were editing</h2>
        <p>{props.conflict.detail}</p>
      </div>
      {props.conflict.changes.length > 0 && (
        <>
          <h3>What changed since you opened it</h3>
          {props.conflict.changes.map((entry) => (
            <div class="audit-entry">
              <div class="audit-head">
                <strong>{entry.actor}</strong>
                <span>{entry.action}</span>
                <span class="meta">
                  <When at={entry.at} />
                  {entry.version !== null ? ` · v${entry.version}` : ""}
                </span>
              </div>
              {entry.reason && <p class="reason">{`Reason: ${entry.reason}`}</p>}
              <DiffList before={entry.before} after={entry.after} />
            </div>
          ))}
        </>
      )}
      <div class="field">
        <label for="your-targeting">Your targeting (not saved; copy it before reloading)</label>
        <textarea id="your-targeting" class="code" readonly>
          {props.conflict.yourTargeting}
        </textarea>
      </div>
      <a class="button primary" href={reload}>
        Reload the latest version
      </a>
    </section>
  );
}

/** OpenFeature's evaluation reasons, as a person reads them (the code stays beside them, for whoever reports a bug). */
const REASON_WORDS: Readonly<Record<string, string>> = {
  TARGETING_MATCH: "a rule or individual target matched",
  SPLIT: "a percentage split",
  DEFAULT: "no rule matched: the default",
  STATIC: "no rules: the default",
  DISABLED: "turned off",
  ERROR: "could not be evaluated",
};

function TryPanel(props: FlagPageProps) {
  const context = props.tryContext ?? "";
  const fields = props.tryFields ?? {};
  const attributes = props.tryAttributes ?? [];
  const error = props.tryError ? { "aria-invalid": "true" as const, "aria-describedby": "context-error" } : {};
  return (
    <section class="panel" aria-labelledby="try-title">
      <h2 id="try-title">Try a context</h2>
      <p class="meta">What a user or customer gets in each environment, and which rule decided.</p>
      <form method="post" action={projectPath(props.project, `flags/${encodeURIComponent(props.flag)}/try`)}>
        <input type="hidden" name="env" value={props.environment} />
        <div class="field">
          <label for="try-key">
            User or customer id <span class="hint">(the targeting key, e.g. acme-42)</span>
          </label>
          <input type="text" id="try-key" name="targetingKey" value={fields["targetingKey"] ?? ""} autocomplete="off" spellcheck={false} />
        </div>
        {attributes.length > 0 && (
          <fieldset>
            <legend>
              Attributes this flag's rules read <span class="hint">(leave empty: not sent)</span>
            </legend>
            {attributes.map((attribute, i) => {
              const name = attributeField(attribute.name);
              const value = fields[name] ?? "";
              return (
                <div class="field">
                  <label for={`try-attr-${i}`}>
                    {attribute.name}
                    {attribute.type !== "text" && (
                      <span class="hint">{attribute.type === "number" ? " (a number)" : " (true or false)"}</span>
                    )}
                  </label>
                  {attribute.type === "boolean" ? (
                    <select id={`try-attr-${i}`} name={name}>
                      <option value="">(not set)</option>
                      <option value="true" selected={value === "true"}>
                        true
                      </option>
                      <option value="false" selected={value === "false"}>
                        false
                      </option>
                    </select>
                  ) : (
                    <input
                      type="text"
                      id={`try-attr-${i}`}
                      name={name}
                      value={value}
                      inputmode={attribute.type === "number" ? "decimal" : undefined}
                      autocomplete="off"
                      spellcheck={false}
                    />
                  )}
                </div>
              );
            })}
          </fieldset>
        )}
        <div class="field">
          <label for="context">
            Evaluation context <span class="hint">(optional, JSON: other attributes; the fields above win)</span>
          </label>
          <textarea id="context" class="code" name="context" spellcheck={false} {...error}>
            {context}
          </textarea>
          {props.tryError && (
            <p class="field-error" id="context-error" role="alert">
              {props.tryError}
            </p>
          )}
        </div>
        <button type="submit">Evaluate in every environment</button>
      </form>
      {props.tryRows && (
        <div class="table-wrap" role="region" aria-label="Evaluation results" tabindex={0}>
          <table class="cards" id="try-results">
            <thead>
              <tr>
                <th scope="col">Environment</th>
                <th scope="col">Value</th>
                <th scope="col">Variant</th>
                <th scope="col">Reason</th>
                <th scope="col">Decided by</th>
              </tr>
            </thead>
            <tbody>
              {props.tryRows.map((row) => (
                <tr>
                  <th scope="row">{row.environment}</th>
                  <td data-label="Value">{row.error ? <span class="meta">{row.error}</span> : <code>{showValue(row.value)}</code>}</td>
                  <td data-label="Variant">{row.variant ? <code>{row.variant}</code> : "—"}</td>
                  <td data-label="Reason">
                    {row.reason ? (
                      <>
                        {REASON_WORDS[row.reason] ?? row.reason}
                        {REASON_WORDS[row.reason] && <span class="meta">{` (${row.reason})`}</span>}
                      </>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td data-label="Decided by">{row.decided ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
