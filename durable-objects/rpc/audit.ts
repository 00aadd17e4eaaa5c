import { StoreGroup } from "./group";
import * as projects from "../aggregates/projects";
import type { AuditFilter } from "../audit";

/** The project's audit log (`stub.audit().list(filter)`), over `aggregates/projects.ts`. */
export class AuditRpc extends StoreGroup {
  /** Audit entries, newest first, filtered and paged. */
  list(filter: AuditFilter) {
    return projects.listAudit(this.w, filter);
  }
  /**
   * Verifies the audit chain, and checks it against the head anchored in KV (truncation and
   * rewrites); an anchor KV cannot give within its deadline is reported as null, not guessed.
   */
  verify() {
    return projects.verifyAudit(this.w);
  }
}
