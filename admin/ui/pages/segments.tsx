/** Segments: reusable targeting shared by every environment, as a JsonLogic rule or a member list. */
import type { Session } from "../../session";
import { Page, When, projectPath, type Notice } from "../layout";
import { PostForm } from "../offer";
import type { SegmentView } from "../../../contracts/admin-responses";
import { ActionButton, Errors, invalid } from "./widgets";

export interface SegmentForm {
  name: string;
  description: string;
  kind: "rule" | "members";
  rule: string;
  members: string;
  attribute: string;
  /** The version the form was read at (If-Match); 0 for a new segment. */
  version: number;
  reason: string;
}

export const NEW_SEGMENT: SegmentForm = {
  name: "",
  description: "",
  kind: "members",
  rule: '{\n  "in": [{ "var": "country" }, ["CA", "US"]]\n}',
  members: "",
  attribute: "targetingKey",
  version: 0,
  reason: "",
};

export interface SegmentsPageProps {
  session: Session;
  project: string;
  segments: SegmentView[];
  /** The segment being edited; null on the list page (the form then creates one). */
  editing: SegmentView | null;
  form: SegmentForm;
  errors: Record<string, string[]>;
  notice: Notice | null;
}

export function segmentForm(segment: SegmentView): SegmentForm {
  return {
    name: segment.name,
    description: segment.description,
    kind: segment.memberCount === null ? "rule" : "members",
    rule: segment.rule === null ? "" : JSON.stringify(segment.rule, null, 2),
    members: (segment.members ?? []).join("\n"),
    attribute: segment.attribute ?? "targetingKey",
    version: segment.version,
    reason: "",
  };
}

export function SegmentsPage(props: SegmentsPageProps) {
  const path = projectPath(props.project, "segments");
  const editing = props.editing;
  return (
    <Page
      title={editing ? `Segment ${editing.name} · ${props.project}` : `Segments · ${props.project}`}
      session={props.session}
      project={props.project}
      section="segments"
      notice={props.notice}
    >
      {editing && (
        <p class="meta">
          <a href={path}>← All segments</a>
        </p>
      )}
      <div class="page-head">
        <div>
          <h1>
            {editing ? (
              <>
                Segment <code>{editing.name}</code>
              </>
            ) : (
              "Segments"
            )}
          </h1>
          <p>
            Use a segment in a flag's rules with the rule builder's condition "is in segment" (in JSON: <code>{'{"$ref": "<name>"}'}</code>
            ). A change reaches every environment at once.
          </p>
        </div>
      </div>
      <div class={editing ? undefined : "grid-2"}>
        {!editing && (
          <section class="panel" aria-labelledby="segments-title">
            <h2 id="segments-title">{`Segments (${props.segments.length})`}</h2>
            {props.segments.length === 0 ? (
              <p class="meta">None yet.</p>
            ) : (
              <div class="table-wrap">
                <table class="cards">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Matches</th>
                      <th scope="col">Changed</th>
                      <th scope="col">
                        <span class="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {props.segments.map((segment) => (
                      <tr>
                        <td>
                          <a class="flag-key" href={`${path}/${encodeURIComponent(segment.name)}`}>
                            {segment.name}
                          </a>
                          {segment.description && <div class="desc">{segment.description}</div>}
                        </td>
                        <td data-label="Matches">
                          {segment.memberCount === null ? (
                            <span class="meta">a rule</span>
                          ) : (
                            <span class="meta">{`${segment.memberCount} ${segment.attribute ?? "targetingKey"} values`}</span>
                          )}
                        </td>
                        <td data-label="Changed">
                          <span class="meta">
                            <When at={segment.updatedAt} /> by {segment.updatedBy} (v{segment.version})
                          </span>
                        </td>
                        <td>
                          <ActionButton
                            action={`${path}/${encodeURIComponent(segment.name)}/delete`}
                            label="Delete"
                            kind="danger"
                            confirm={`Delete segment "${segment.name}"?`}
                            ariaLabel={`Delete segment ${segment.name}`}
                          />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        )}
        <SegmentEditor {...props} />
      </div>
    </Page>
  );
}

function SegmentEditor(props: SegmentsPageProps) {
  const { form, errors } = props;
  const editing = props.editing;
  const action = editing
    ? projectPath(props.project, `segments/${encodeURIComponent(editing.name)}`)
    : projectPath(props.project, "segments");
  return (
    <section class="panel" aria-labelledby="segment-form-title">
      <h2 id="segment-form-title">{editing ? "Edit" : "New segment"}</h2>
      <PostForm action={action}>
        <input type="hidden" name="version" value={String(form.version)} />
        {errors["form"] && (
          <div class="notice error" role="alert" id="segment-form-error">
            {errors["form"].join("; ")}
          </div>
        )}
        {!editing && (
          <div class="field">
            <label for="sg-name">
              Name <span class="hint">(lowercase letters, digits, - and _)</span>
            </label>
            <input
              id="sg-name"
              type="text"
              name="name"
              value={form.name}
              required
              maxlength={63}
              spellcheck={false}
              autocomplete="off"
              {...invalid("sg-name", errors["name"])}
            />
            <Errors id="sg-name-error" messages={errors["name"]} />
          </div>
        )}
        <div class="field">
          <label for="sg-description">Description</label>
          <input id="sg-description" type="text" name="description" value={form.description} maxlength={1000} />
        </div>
        <fieldset>
          <legend>Matches</legend>
          <label class="check">
            <input type="radio" name="kind" value="members" checked={form.kind === "members"} /> a list of members (ids)
          </label>
          <label class="check">
            <input type="radio" name="kind" value="rule" checked={form.kind === "rule"} /> a rule (JsonLogic, advanced)
          </label>
        </fieldset>
        <div class="field">
          <label for="sg-members">
            Members <span class="hint">(one per line or comma-separated; used when "a list of members" is chosen)</span>
          </label>
          <textarea id="sg-members" class="code short" name="members" spellcheck={false} {...invalid("sg-members", errors["members"])}>
            {form.members}
          </textarea>
          <Errors id="sg-members-error" messages={errors["members"]} />
        </div>
        <div class="field">
          <label for="sg-rule">
            Rule <span class="hint">(JsonLogic; used when "a rule" is chosen)</span>
          </label>
          <textarea id="sg-rule" class="code short" name="rule" spellcheck={false} {...invalid("sg-rule", errors["rule"])}>
            {form.rule}
          </textarea>
          <Errors id="sg-rule-error" messages={errors["rule"]} />
        </div>
        <div class="field">
          <label for="sg-attribute">Matched against context attribute</label>
          <input
            id="sg-attribute"
            type="text"
            name="attribute"
            value={form.attribute}
            maxlength={200}
            spellcheck={false}
            {...invalid("sg-attribute", errors["attribute"])}
          />
          <Errors id="sg-attribute-error" messages={errors["attribute"]} />
        </div>
        <div class="field">
          <label for="sg-reason">
            Reason <span class="hint">(kept in the audit log)</span>
          </label>
          <input id="sg-reason" type="text" name="reason" value={form.reason} maxlength={1000} />
        </div>
        <button type="submit" class="primary">
          {editing ? "Save segment" : "Create segment"}
        </button>
      </PostForm>
    </section>
  );
}
