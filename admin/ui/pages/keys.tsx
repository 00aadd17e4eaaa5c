/** API keys: list every key of the project, create one (its secret shown once, with a copy button), revoke. */
import type { KeyView } from "../api";
import type { Session } from "../../session";
import { Page, When, projectPath, type Notice } from "../layout";
import { ROLES, type Role } from "../../../contracts/roles";
import { PostForm } from "../offer";
import { allows } from "../roles";
import { Relative } from "./widgets";

/** What each role may do, as the key form offers it. */
const ROLE_HINTS: Record<Role, string> = {
  viewer: "viewer (reads, changes nothing)",
  editor: "editor (flags, segments, ramps)",
  approver: "approver (editor, and approves changes)",
  admin: "admin (whole project)",
};

export interface KeysPageProps {
  session: Session;
  project: string;
  environments: string[];
  keys: KeyView[];
  created: (KeyView & { key: string }) | null;
  /** When `created` replaces a rotated key: the old one, with the time it stops working. */
  rotated?: KeyView | null;
  formError: string | null;
  notice: Notice | null;
}

export function KeysPage(props: KeysPageProps) {
  const path = projectPath(props.project, "keys");
  const active = props.keys.filter((k) => k.revokedAt === null);
  const revoked = props.keys.filter((k) => k.revokedAt !== null);
  return (
    <Page title={`Keys · ${props.project}`} session={props.session} project={props.project} section="keys" notice={props.notice}>
      <div class="page-head">
        <div>
          <h1>Keys</h1>
          <p>Client keys go in browsers and apps; server keys in back ends; admin keys sign in here and use the admin API.</p>
        </div>
      </div>
      {props.created && (
        <section class="panel" aria-labelledby="new-key-title">
          <div class="notice ok" role="status">
            <h2 id="new-key-title">{`New ${props.created.scope} key "${props.created.name}"`}</h2>
            <p>Copy it now: it is shown only this once and stored only as a hash.</p>
            {props.rotated && (
              <p>
                {`It replaces ${props.rotated.id}, which `}
                {props.rotated.expiresAt ? (
                  <>
                    keeps working until {props.rotated.expiresAt} (<Relative at={props.rotated.expiresAt} />
                    ).
                  </>
                ) : (
                  "keeps working."
                )}
              </p>
            )}
          </div>
          <label for="new-key">Key</label>
          <div class="secret">
            <input id="new-key" type="text" readonly value={props.created.key} spellcheck={false} autocomplete="off" />
            <button type="button" data-copy="new-key" data-js-only hidden>
              Copy
            </button>
          </div>
        </section>
      )}
      {!allows(props.session, "admin", null) && (
        <p class="notice warn">Creating, rotating and revoking keys needs the admin role of this project.</p>
      )}
      <section class="panel" aria-labelledby="create-title" hidden={!allows(props.session, "admin", null)}>
        <h2 id="create-title">Create a key</h2>
        {props.formError && (
          <div class="notice error" role="alert">
            {props.formError}
          </div>
        )}
        <PostForm needs="admin" action={path} class="row">
          <div class="field">
            <label for="k-scope">Scope</label>
            <select id="k-scope" name="scope">
              <option value="client">client (evaluate, public)</option>
              <option value="server">server (evaluate, snapshot)</option>
              <option value="admin">admin API (with the role below)</option>
            </select>
          </div>
          <div class="field">
            <label for="k-env">
              Environment <span class="hint">(client and server keys)</span>
            </label>
            <select id="k-env" name="env">
              {props.environments.map((env) => (
                <option value={env}>{env}</option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="k-name">Name</label>
            <input id="k-name" type="text" name="name" maxlength={100} placeholder="e.g. web app production" />
          </div>
          <div class="field">
            <label for="k-role">
              Role <span class="hint">(admin keys)</span>
            </label>
            <select id="k-role" name="role">
              {ROLES.map((role) => (
                <option value={role} selected={role === "admin"}>
                  {ROLE_HINTS[role]}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="k-envs">
              Limited to <span class="hint">(editor or approver; comma-separated, empty: all)</span>
            </label>
            <input id="k-envs" type="text" name="environments" maxlength={1000} placeholder="e.g. qa, staging" />
          </div>
          <button type="submit" class="primary">
            Create key
          </button>
        </PostForm>
      </section>
      <section class="panel" aria-labelledby="active-title">
        <h2 id="active-title">{`Active keys (${active.length})`}</h2>
        <KeyTable keys={active} project={props.project} />
      </section>
      {revoked.length > 0 && (
        <section class="panel" aria-labelledby="revoked-title">
          <h2 id="revoked-title">{`Revoked keys (${revoked.length})`}</h2>
          <KeyTable keys={revoked} project={props.project} />
        </section>
      )}
    </Page>
  );
}

function KeyTable({ keys, project }: { keys: KeyView[]; project: string }) {
  if (keys.length === 0) return <p class="meta">None.</p>;
  return (
    <div class="table-wrap">
      <table class="cards">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Scope</th>
            <th scope="col">Role</th>
            <th scope="col">Environment</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr>
              <td data-label="Name">
                {key.name}
                <div class="meta">
                  <code>{key.id}</code>
                </div>
              </td>
              <td data-label="Scope">{key.scope}</td>
              <td data-label="Role">{key.role ? `${key.role}${key.environments ? ` (${key.environments.join(", ")})` : ""}` : "—"}</td>
              <td data-label="Environment">{key.environment ?? "all"}</td>
              <td data-label="Created">
                <span class="meta">
                  <When at={key.createdAt} /> by {key.createdBy}
                </span>
              </td>
              <td data-label="Last used">
                <span class="meta">{key.lastUsedAt ? <When at={key.lastUsedAt} /> : "never"}</span>
                {key.expiresAt && (
                  <div class="meta">
                    {`rotated to ${key.replacedBy ?? "a new key"}; stops `}
                    <Relative at={key.expiresAt} />
                  </div>
                )}
              </td>
              <td>
                {key.revokedAt === null ? (
                  <div class="row tight">
                    {!key.replacedBy && (
                      <PostForm needs="admin" action={projectPath(project, `keys/${encodeURIComponent(key.id)}/rotate`)} class="inline">
                        <label class="visually-hidden" for={`overlap-${key.id}`}>{`Old key of ${key.name} keeps working for`}</label>
                        <select id={`overlap-${key.id}`} name="overlap" class="small">
                          <option value="0">old key stops now</option>
                          <option value="3600">old key works 1 h</option>
                          <option value="86400" selected>
                            old key works 1 day
                          </option>
                          <option value="604800">old key works 7 days</option>
                        </select>
                        <button type="submit" class="small" aria-label={`Rotate ${key.name} (${key.id})`}>
                          Rotate
                        </button>
                      </PostForm>
                    )}
                    <PostForm
                      needs="admin"
                      action={projectPath(project, `keys/${encodeURIComponent(key.id)}/revoke`)}
                      class="inline"
                      data-confirm={`Revoke "${key.name}"? Anything using it stops working.`}
                    >
                      <button type="submit" class="danger small" aria-label={`Revoke ${key.name} (${key.id})`}>
                        Revoke
                      </button>
                    </PostForm>
                  </div>
                ) : (
                  <span class="meta">
                    revoked <When at={key.revokedAt} />
                  </span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
