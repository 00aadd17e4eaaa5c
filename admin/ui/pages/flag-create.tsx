/** A new flag, created in every environment at once with its project-level facts. */
import type { Session } from "../../session";
import { Page, projectPath } from "../layout";
import { PostForm } from "../offer";
import { Errors, invalid } from "./widgets";

export interface CreateFlagForm {
  key: string;
  description: string;
  owner: string;
  tags: string;
  lifetime: "temporary" | "permanent";
  expectedRemovalAt: string;
  variants: string;
  defaultVariant: string;
  /** State per environment. */
  states: Record<string, "ENABLED" | "DISABLED">;
  reason: string;
}

export function CreateFlagPage(props: {
  session: Session;
  project: string;
  environments: string[];
  form: CreateFlagForm;
  errors: Record<string, string[]>;
}) {
  const { form, errors } = props;
  return (
    <Page title={`New flag · ${props.project}`} session={props.session} project={props.project} section="flags">
      <p class="meta">
        <a href={projectPath(props.project, "flags")}>← All flags</a>
      </p>
      <h1>New flag</h1>
      <p class="meta">Created in every environment of {props.project} in one change; each environment's state is set below.</p>
      <PostForm action={projectPath(props.project, "new-flag")} class="panel narrow">
        {errors["form"] && (
          <div class="notice error" role="alert">
            {errors["form"].join("; ")}
          </div>
        )}
        <div class="field">
          <label for="nf-key">Key</label>
          <input
            id="nf-key"
            type="text"
            name="key"
            value={form.key}
            required
            maxlength={200}
            spellcheck={false}
            autocomplete="off"
            {...invalid("nf-key", errors["key"])}
          />
          <Errors id="nf-key-error" messages={errors["key"]} />
        </div>
        <div class="field">
          <label for="nf-description">Description</label>
          <input
            id="nf-description"
            type="text"
            name="description"
            value={form.description}
            maxlength={2000}
            {...invalid("nf-description", errors["description"])}
          />
          <Errors id="nf-description-error" messages={errors["description"]} />
        </div>
        <div class="row">
          <div class="field">
            <label for="nf-owner">Owner</label>
            <input id="nf-owner" type="text" name="owner" value={form.owner} maxlength={200} />
          </div>
          <div class="field">
            <label for="nf-tags">
              Tags <span class="hint">(comma-separated)</span>
            </label>
            <input id="nf-tags" type="text" name="tags" value={form.tags} {...invalid("nf-tags", errors["tags"])} />
            <Errors id="nf-tags-error" messages={errors["tags"]} />
          </div>
        </div>
        <div class="row">
          <div class="field">
            <label for="nf-lifetime">Lifetime</label>
            <select id="nf-lifetime" name="lifetime">
              <option value="temporary" selected={form.lifetime === "temporary"}>
                temporary (a release or experiment)
              </option>
              <option value="permanent" selected={form.lifetime === "permanent"}>
                permanent (a kill switch, an entitlement)
              </option>
            </select>
          </div>
          <div class="field">
            <label for="nf-removal">
              Expected removal <span class="hint">(temporary flags)</span>
            </label>
            <input
              id="nf-removal"
              type="date"
              name="expectedRemovalAt"
              value={form.expectedRemovalAt}
              {...invalid("nf-removal", errors["expectedRemovalAt"])}
            />
            <Errors id="nf-removal-error" messages={errors["expectedRemovalAt"]} />
          </div>
        </div>
        <div class="field">
          <label for="nf-variants">
            Variants <span class="hint">(JSON object: name → value)</span>
          </label>
          <textarea id="nf-variants" class="code short" name="variants" spellcheck={false} {...invalid("nf-variants", errors["variants"])}>
            {form.variants}
          </textarea>
          <Errors id="nf-variants-error" messages={errors["variants"]} />
        </div>
        <div class="field">
          <label for="nf-default">Default variant</label>
          <input
            id="nf-default"
            type="text"
            name="defaultVariant"
            value={form.defaultVariant}
            spellcheck={false}
            {...invalid("nf-default", errors["defaultVariant"])}
          />
          <Errors id="nf-default-error" messages={errors["defaultVariant"]} />
        </div>
        <fieldset>
          <legend>State in each environment</legend>
          <div class="row">
            {props.environments.map((env) => (
              <div class="field">
                <label for={`nf-state-${env}`}>{env}</label>
                <select id={`nf-state-${env}`} name={`state-${env}`}>
                  <option
                    value="DISABLED"
                    selected={(form.states[env] ?? (env === props.environments[0] ? "ENABLED" : "DISABLED")) === "DISABLED"}
                  >
                    off
                  </option>
                  <option
                    value="ENABLED"
                    selected={(form.states[env] ?? (env === props.environments[0] ? "ENABLED" : "DISABLED")) === "ENABLED"}
                  >
                    on
                  </option>
                </select>
              </div>
            ))}
          </div>
        </fieldset>
        <div class="field">
          <label for="nf-reason">
            Reason <span class="hint">(kept in the audit log)</span>
          </label>
          <input id="nf-reason" type="text" name="reason" value={form.reason} maxlength={1000} />
        </div>
        <button type="submit" class="primary">
          Create in every environment
        </button>
      </PostForm>
    </Page>
  );
}
