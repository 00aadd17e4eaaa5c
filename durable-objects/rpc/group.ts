import { RpcTarget } from "cloudflare:workers";
import type { UnitOfWork } from "../unit-of-work";

/**
 * What every RPC group of the FlagStore is: an `RpcTarget` over the store's unit of work. `w` is
 * an instance field, which Workers RPC never exposes (only methods and getters declared on the
 * class are callable), so a caller reaches the aggregates only through the group's methods.
 */
export abstract class StoreGroup extends RpcTarget {
  protected readonly w: UnitOfWork;
  constructor(w: UnitOfWork) {
    super();
    this.w = w;
  }
}
