import { RpcTarget } from "cloudflare:workers";
import * as projects from "../aggregates/projects";
import type { AuditFilter } from "../audit";
import type { UnitOfWork } from "../unit-of-work";

/** The project's audit log (`stub.audit().list(filter)`), over `aggregates/projects.ts`. */
export class AuditRpc extends RpcTarget {
  readonly #w: UnitOfWork;
  constructor(w: UnitOfWork) {
    super();
    this.#w = w;
  }
  /** Audit entries, newest first, filtered and paged. */
  list(filter: AuditFilter) {
    return projects.listAudit(this.#w, filter);
  }
  /**
   * Verifies the audit chain, and checks it against the head anchored in KV (truncation and
   * rewrites); an anchor KV cannot give within its deadline is reported as null, not guessed.
   */
  verify() {
    return projects.verifyAudit(this.#w);
  }
}
