import { StoreGroup } from "./group";
import type { ChangeRequestStatus } from "../../contracts/approvals";
import * as changeRequests from "../aggregates/change-requests";
import type { Asker } from "../aggregates/protection";
import type { ChangeMeta } from "../store-types";

/** Change requests of a protected environment (`stub.changeRequests().approve(env, id, meta)`), over `aggregates/change-requests.ts`. */
export class ChangeRequestsRpc extends StoreGroup {
  /** Opens a change request: a validated diff of some flags against the environment's current version. */
  open(environment: string, flags: changeRequests.FlagChanges, meta: ChangeMeta & { reason: string }) {
    return changeRequests.openChangeRequest(this.w, environment, flags, meta);
  }
  /** An environment's change requests, newest first. */
  list(environment: string, status: ChangeRequestStatus | null) {
    return changeRequests.listChangeRequests(this.w, environment, status);
  }
  /** One change request with its diff. */
  get(environment: string, id: string) {
    return changeRequests.getChangeRequest(this.w, environment, id);
  }
  /** Approves (and applies, atomically, if the environment is still at its base version) a change request; not by its requester. */
  approve(environment: string, id: string, meta: ChangeMeta) {
    return changeRequests.approveChangeRequest(this.w, environment, id, meta);
  }
  /** Moves a change request to the current version when none of its flags changed meanwhile. */
  rebase(environment: string, id: string, asker: Asker, meta: ChangeMeta) {
    return changeRequests.rebaseChangeRequest(this.w, environment, id, asker, meta);
  }
  /** Rejects a change request, saying why. */
  reject(environment: string, id: string, meta: ChangeMeta) {
    return changeRequests.rejectChangeRequest(this.w, environment, id, meta);
  }
  /** Withdraws a change request (its requester or an admin). */
  withdraw(environment: string, id: string, asker: Asker, meta: ChangeMeta) {
    return changeRequests.withdrawChangeRequest(this.w, environment, id, asker, meta);
  }
}
