/**
 * The rule builder on the flag page: variants (add, rename, change value), default and off
 * variants, rules of conditions joined by AND/OR, a percentage split with a slider per variant, and
 * individual targets. A plain form the server reads back (`../rule-form.ts`); the buttons that add
 * or remove pieces post it too, so it all works without the script, which only keeps the sliders'
 * percentages in step and shows what each operator needs (`static/rule-builder.js`).
 */
import { projectPath } from "../layout";
import { OPERATORS, OPERATOR_IDS } from "../rule-model";
import { NOW_ATTRIBUTE, SEGMENT_OPS, type BuilderForm, type ConditionForm, type FormErrors, type ServeForm } from "../rule-form";
import { PostForm } from "../offer";
import { Errors } from "./widgets";

export interface BuilderProps {
  project: string;
  flag: string;
  environment: string;
  version: number;
  form: BuilderForm;
  errors: FormErrors;
  formError?: string | null;
  segmentNames: string[];
  /** Individual targets: variant → ids. */
  targets: Record<string, string[]>;
  reason?: string;
}

/** The most targets listed per variant on the page; the rest are counted. */
const SHOWN_TARGETS = 20;

const id = (name: string) => `rb-${name.replace(/[^A-Za-z0-9-]/g, "-")}`;

function describedBy(name: string, errors: FormErrors) {
  return errors[name] ? { "aria-invalid": "true" as const, "aria-describedby": `${id(name)}-error` } : {};
}

function FieldError({ name, errors }: { name: string; errors: FormErrors }) {
  return <Errors id={`${id(name)}-error`} messages={errors[name] ? [errors[name]!] : undefined} />;
}

export function RuleBuilder(props: BuilderProps) {
  const { form, errors } = props;
  const action = projectPath(props.project, `flags/${encodeURIComponent(props.flag)}/builder`);
  const names = form.variants.map((v) => v.was || v.name);
  return (
    <section class="panel rule-builder" id="rule-builder" aria-labelledby="builder-title">
      <h2 id="builder-title">{`Rule builder in ${props.environment}`}</h2>
      <PostForm env={props.environment} action={action} data-rule-builder>
        <input type="hidden" name="env" value={props.environment} />
        <input type="hidden" name="version" value={String(props.version)} />
        <input type="hidden" name="kind" value={form.kind} />
        <input type="hidden" name="blank" value={form.blank} />
        <input type="hidden" name="vn" value={String(form.variants.length)} />
        <input type="hidden" name="rn" value={String(form.rules.length)} />
        <datalist id="rb-segments">
          {props.segmentNames.map((name) => (
            <option value={name} />
          ))}
        </datalist>
        <datalist id="rb-attributes">
          {["targetingKey", "country", "email", "plan", "appVersion", NOW_ATTRIBUTE].map((name) => (
            <option value={name} />
          ))}
        </datalist>
        {props.formError && (
          <div class="notice error" role="alert">
            {props.formError}
          </div>
        )}

        <fieldset>
          <legend>Variants</legend>
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">{`Value (${form.kind})`}</th>
                <th scope="col">
                  <span class="visually-hidden">Remove</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {form.variants.map((v, k) => (
                <tr>
                  <td>
                    <input type="hidden" name={`v${k}.was`} value={v.was} />
                    <label class="visually-hidden" for={id(`v${k}.name`)}>{`Name of variant ${k + 1}`}</label>
                    <input id={id(`v${k}.name`)} name={`v${k}.name`} value={v.name} required {...describedBy(`v${k}.name`, errors)} />
                    <FieldError name={`v${k}.name`} errors={errors} />
                  </td>
                  <td>
                    <label class="visually-hidden" for={id(`v${k}.value`)}>{`Value of ${v.name || `variant ${k + 1}`}`}</label>
                    {form.kind === "boolean" ? (
                      <select id={id(`v${k}.value`)} name={`v${k}.value`}>
                        <option value="true" selected={v.value === "true"}>
                          true
                        </option>
                        <option value="false" selected={v.value === "false"}>
                          false
                        </option>
                      </select>
                    ) : (
                      <input
                        id={id(`v${k}.value`)}
                        name={`v${k}.value`}
                        value={v.value}
                        class={form.kind === "object" ? "code" : undefined}
                        inputmode={form.kind === "number" ? "decimal" : undefined}
                        {...describedBy(`v${k}.value`, errors)}
                      />
                    )}
                    <FieldError name={`v${k}.value`} errors={errors} />
                  </td>
                  <td>
                    <button type="submit" name="op" value={`remove-variant:${k}`} class="small" formnovalidate>
                      {`Remove ${v.name}`}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="submit" name="op" value="add-variant" class="small" formnovalidate>
            Add a variant
          </button>
          <div class="row">
            <VariantSelect
              name="defaultVariant"
              label="Default (served when no rule decides)"
              names={names}
              value={form.defaultVariant}
              none="(none: callers get their code default)"
            />
            <VariantSelect
              name="offVariant"
              label="Off variant (served while turned off)"
              names={names}
              value={form.offVariant}
              none="(none: callers get their code default)"
            />
          </div>
        </fieldset>

        {form.rules.map((rule, i) => (
          <fieldset class="rule" data-rule={String(i)}>
            <legend>{`Rule ${i + 1}`}</legend>
            <input type="hidden" name={`r${i}.group`} value={rule.group ? "1" : "0"} />
            <input type="hidden" name={`r${i}.cn`} value={String(rule.conditions.length)} />
            <JoinSelect name={`r${i}.join`} label="When" join={rule.join} errors={errors} />
            {rule.conditions.map((c, j) => (
              <ConditionRow prefix={`r${i}.c${j}`} condition={c} errors={errors} at={`${i}:${j}`} label={`rule ${i + 1}`} />
            ))}
            <div class="row">
              <button type="submit" name="op" value={`add-condition:${i}`} class="small" formnovalidate>
                Add a condition
              </button>
              <button type="submit" name="op" value={`add-group:${i}`} class="small" formnovalidate>
                Add an AND/OR group
              </button>
            </div>
            <ServeFields prefix={`r${i}`} serve={rule.serve} names={names} errors={errors} label={`Rule ${i + 1} serves`} />
            <div class="row">
              {i > 0 && (
                <button type="submit" name="op" value={`up-rule:${i}`} class="small" formnovalidate>
                  Move up
                </button>
              )}
              <button type="submit" name="op" value={`remove-rule:${i}`} class="small" formnovalidate>
                {`Remove rule ${i + 1}`}
              </button>
            </div>
          </fieldset>
        ))}
        <button type="submit" name="op" value="add-rule" formnovalidate>
          Add a rule
        </button>

        <fieldset class="rule">
          <legend>{form.rules.length > 0 ? "Everyone else" : "Everyone"}</legend>
          <ServeFields
            prefix="else"
            serve={form.otherwise}
            names={names}
            errors={errors}
            label={form.rules.length > 0 ? "Everyone else gets" : "Everyone gets"}
          />
        </fieldset>

        <div class="field">
          <label for="rb-reason">
            Reason <span class="hint">(kept in the audit log)</span>
          </label>
          <input id="rb-reason" type="text" name="reason" value={props.reason ?? ""} maxlength={1000} />
        </div>
        <button type="submit" name="op" value="save" class="primary">{`Save rules to ${props.environment}`}</button>
      </PostForm>
      <TargetsPanel {...props} />
    </section>
  );
}

function VariantSelect(props: { name: string; label: string; names: string[]; value: string; none?: string }) {
  return (
    <div class="field">
      <label for={id(props.name)}>{props.label}</label>
      <select id={id(props.name)} name={props.name}>
        {props.none !== undefined && (
          <option value="" selected={props.value === ""}>
            {props.none}
          </option>
        )}
        {props.names.map((name) => (
          <option value={name} selected={name === props.value}>
            {name}
          </option>
        ))}
      </select>
    </div>
  );
}

/** How a rule's (or a group's) conditions join: AND or OR. */
function JoinSelect(props: { name: string; label: string; join: "and" | "or"; errors: FormErrors }) {
  return (
    <div class="field">
      <label for={id(props.name)}>{props.label}</label>
      <select id={id(props.name)} name={props.name} {...describedBy(props.name, props.errors)}>
        <option value="and" selected={props.join === "and"}>
          all of these hold (AND)
        </option>
        <option value="or" selected={props.join === "or"}>
          any of these holds (OR)
        </option>
      </select>
      <FieldError name={props.name} errors={props.errors} />
    </div>
  );
}

interface RowProps {
  prefix: string;
  condition: ConditionForm;
  errors: FormErrors;
  /** Where the row is, as the buttons name it: `rule:row`, or `rule:group:row` inside a group row. */
  at: string;
  /** The rule (or group) it belongs to, for the group's legend. */
  label: string;
}

/** A group row: its own AND/OR and its rows, one level down (a group inside it is kept as JSON). */
function GroupRow(props: RowProps) {
  const { prefix: p, condition: c, errors } = props;
  const rows = c.items ?? [];
  const [rule, row] = props.at.split(":");
  const title = `Group ${Number(row) + 1} of ${props.label}`;
  return (
    <fieldset class="condition group" data-condition>
      <legend>{title}</legend>
      <input type="hidden" name={`${p}.op`} value="group" />
      <input type="hidden" name={`${p}.cn`} value={String(rows.length)} />
      <input type="hidden" name={`${p}.json`} value="" />
      <JoinSelect name={`${p}.join`} label={`${title} holds when`} join={c.join ?? "and"} errors={errors} />
      {rows.map((inner, k) => (
        <ConditionRow prefix={`${p}.c${k}`} condition={inner} errors={errors} at={`${props.at}:${k}`} label={title} />
      ))}
      <div class="row">
        <button type="submit" name="op" value={`add-condition:${rule}:${row}`} class="small" formnovalidate>
          Add a condition to this group
        </button>
        <button type="submit" name="op" value={`remove-condition:${props.at}`} class="small" formnovalidate>
          Remove this group
        </button>
      </div>
    </fieldset>
  );
}

function ConditionRow(props: RowProps) {
  const { prefix: p, condition: c, errors } = props;
  const remove = `remove-condition:${props.at}`;
  if (c.op === "group") return <GroupRow {...props} />;
  if (c.op === "raw") {
    return (
      <div class="condition" data-condition>
        <input type="hidden" name={`${p}.op`} value="raw" />
        <label for={id(`${p}.json`)}>Condition the builder cannot show (JsonLogic, kept as it is)</label>
        <textarea id={id(`${p}.json`)} name={`${p}.json`} class="code" spellcheck={false} {...describedBy(`${p}.json`, errors)}>
          {c.json}
        </textarea>
        <FieldError name={`${p}.json`} errors={errors} />
        <button type="submit" name="op" value={remove} class="small" formnovalidate>
          Remove this condition
        </button>
      </div>
    );
  }
  return (
    <div class="condition row" data-condition>
      <div class="field">
        <label for={id(`${p}.attr`)}>Attribute</label>
        <input
          id={id(`${p}.attr`)}
          name={`${p}.attr`}
          value={c.attr}
          list="rb-attributes"
          placeholder="country"
          autocomplete="off"
          spellcheck={false}
          {...describedBy(`${p}.attr`, errors)}
        />
        <FieldError name={`${p}.attr`} errors={errors} />
      </div>
      <div class="field">
        <label for={id(`${p}.op`)}>Operator</label>
        <select id={id(`${p}.op`)} name={`${p}.op`} data-operator>
          {OPERATOR_IDS.map((op) => (
            <option value={op} selected={op === c.op} data-arity={OPERATORS[op].arity}>
              {OPERATORS[op].label}
            </option>
          ))}
          {Object.entries(SEGMENT_OPS).map(([op, label]) => (
            <option value={op} selected={op === c.op}>
              {label}
            </option>
          ))}
        </select>
      </div>
      <div class="field grow">
        <label for={id(`${p}.value`)}>
          Value <span class="hint">(lists: comma-separated; a segment: its name)</span>
        </label>
        <input
          id={id(`${p}.value`)}
          name={`${p}.value`}
          value={c.value}
          list={c.op === "segment" || c.op === "not_segment" ? "rb-segments" : undefined}
          autocomplete="off"
          spellcheck={false}
          {...describedBy(`${p}.value`, errors)}
        />
        <FieldError name={`${p}.value`} errors={errors} />
      </div>
      <div class="field">
        <label for={id(`${p}.type`)}>Type</label>
        <select id={id(`${p}.type`)} name={`${p}.type`}>
          {(["string", "number", "boolean"] as const).map((t) => (
            <option value={t} selected={t === c.type}>
              {t === "string" ? "text" : t === "number" ? "number" : "true/false"}
            </option>
          ))}
        </select>
      </div>
      <div class="field" data-for-op="matches">
        <label for={id(`${p}.flags`)}>
          Pattern flags <span class="hint">(i, m, s)</span>
        </label>
        <input id={id(`${p}.flags`)} name={`${p}.flags`} value={c.flags} size={3} />
      </div>
      <input type="hidden" name={`${p}.json`} value="" />
      <button type="submit" name="op" value={remove} class="small" formnovalidate>
        Remove this condition
      </button>
    </div>
  );
}

function ServeFields(props: { prefix: string; serve: ServeForm; names: string[]; errors: FormErrors; label: string }) {
  const { prefix: p, serve, errors } = props;
  const total = serve.buckets.reduce((sum, b) => sum + (Number(b.weight) || 0), 0);
  const max = Math.max(100, total);
  return (
    <div class="serve" data-serve>
      <div class="row">
        <div class="field">
          <label for={id(`${p}.serve`)}>{props.label}</label>
          <select id={id(`${p}.serve`)} name={`${p}.serve`} data-serve-kind>
            <option value="variant" selected={serve.kind === "variant"}>
              a variant
            </option>
            <option value="split" selected={serve.kind === "split"}>
              a percentage split
            </option>
            <option value="default" selected={serve.kind === "default"}>
              the default variant
            </option>
            {serve.kind === "raw" && (
              <option value="raw" selected>
                JsonLogic (kept as it is)
              </option>
            )}
          </select>
        </div>
        <VariantSelect name={`${p}.variant`} label="Variant" names={props.names} value={serve.variant} />
      </div>
      <fieldset class="split" data-split>
        <legend>Percentage split</legend>
        <input type="hidden" name={`${p}.bn`} value={String(serve.buckets.length)} />
        {serve.buckets.map((b, k) => (
          <div class="field bucket">
            <input type="hidden" name={`${p}.b${k}.variant`} value={b.variant} />
            <input type="hidden" name={`${p}.b${k}.listed`} value={b.listed ? "1" : "0"} />
            <label for={id(`${p}.b${k}.weight`)}>{`Share of ${b.variant}`}</label>
            <input
              id={id(`${p}.b${k}.weight`)}
              type="range"
              min="0"
              max={String(max)}
              step="1"
              name={`${p}.b${k}.weight`}
              value={b.weight || "0"}
              data-weight
              {...describedBy(`${p}.b${k}.weight`, errors)}
            />
            <output for={id(`${p}.b${k}.weight`)} data-percent>
              {total > 0 ? `${Math.round(((Number(b.weight) || 0) * 1000) / total) / 10}%` : "0%"}
            </output>
            <FieldError name={`${p}.b${k}.weight`} errors={errors} />
          </div>
        ))}
        <div class="field">
          <label for={id(`${p}.by`)}>
            Bucket by <span class="hint">(an attribute; empty: targetingKey)</span>
          </label>
          <input id={id(`${p}.by`)} name={`${p}.by`} value={serve.by} autocomplete="off" spellcheck={false} />
        </div>
      </fieldset>
      {serve.kind === "raw" ? (
        <div class="field">
          <label for={id(`${p}.json`)}>Served by (JsonLogic)</label>
          <textarea id={id(`${p}.json`)} name={`${p}.json`} class="code" spellcheck={false} {...describedBy(`${p}.json`, errors)}>
            {serve.json}
          </textarea>
          <FieldError name={`${p}.json`} errors={errors} />
        </div>
      ) : (
        <input type="hidden" name={`${p}.json`} value="" />
      )}
    </div>
  );
}

function TargetsPanel(props: BuilderProps) {
  const action = projectPath(props.project, `flags/${encodeURIComponent(props.flag)}/targets`);
  const names = props.form.variants.map((v) => v.was || v.name).filter(Boolean);
  return (
    <section aria-labelledby="targets-title">
      <h3 id="targets-title">Individual targets</h3>
      <p class="hint">Targeting keys listed here get their variant before any rule runs.</p>
      {Object.entries(props.targets).map(([variant, ids]) => (
        <div>
          <p>{`${ids.length} → ${variant}`}</p>
          <ul class="target-list">
            {ids.slice(0, SHOWN_TARGETS).map((key) => (
              <li>
                <code>{key}</code>{" "}
                <PostForm env={props.environment} action={action} class="inline">
                  <input type="hidden" name="env" value={props.environment} />
                  <input type="hidden" name="remove" value={key} />
                  <button type="submit" class="small">{`Remove ${key}`}</button>
                </PostForm>
              </li>
            ))}
          </ul>
          {ids.length > SHOWN_TARGETS && <p class="meta">{`and ${ids.length - SHOWN_TARGETS} more`}</p>}
        </div>
      ))}
      <PostForm env={props.environment} action={action}>
        <input type="hidden" name="env" value={props.environment} />
        <div class="field">
          <label for="rb-target-ids">
            Keys to target <span class="hint">(targeting keys; paste a list: one per line, or separated by commas or spaces)</span>
          </label>
          <textarea id="rb-target-ids" name="ids" class="code" spellcheck={false}></textarea>
        </div>
        <div class="row">
          <VariantSelect name="variant" label="Serve them" names={names} value={names[0] ?? ""} />
          <button type="submit" name="action" value="add">
            Add targets
          </button>
          <button type="submit" name="action" value="remove">
            Remove these keys
          </button>
        </div>
      </PostForm>
    </section>
  );
}
