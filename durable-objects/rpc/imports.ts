import { StoreGroup } from "./group";
import type { ImportPlan } from "../../contracts/import-plan";
import type { ImportEditedPolicy, ImportPin } from "../../contracts/import-result";
import * as imports from "../aggregates/imports";
import type { ChangeMeta } from "../store-types";

/** Imports from other flag systems (`stub.imports().apply(plan, options)`), over `aggregates/imports.ts`. */
export class ImportsRpc extends StoreGroup {
  /**
   * Applies an import plan in one transaction across environments (missing ones created), writing
   * only the flags that differ; `dryRun` answers the diff and writes nothing. A flag changed in
   * edgeflags since an import wrote it is refused, kept or overwritten as `edited` says.
   */
  apply(plan: ImportPlan, options: { dryRun: boolean; pins: ImportPin[]; meta: ChangeMeta; edited?: ImportEditedPolicy }) {
    return imports.applyImport(this.w, plan, options);
  }
}
