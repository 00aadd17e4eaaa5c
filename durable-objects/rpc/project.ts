import { StoreGroup } from "./group";
import * as projects from "../aggregates/projects";
import type { ChangeMeta } from "../store-types";

/** The project and its environments (`stub.project().get()`), over `aggregates/projects.ts`. */
export class ProjectRpc extends StoreGroup {
  /**
   * Creates the project or adds environments to it. An environment that still has flags cannot
   * be dropped from the list (409): its flags would be lost.
   */
  put(project: string, environments: string[], meta: ChangeMeta) {
    return projects.putProject(this.w, project, environments, meta);
  }
  /** The project and its environments (version, last change, flag count). */
  get() {
    return projects.getProject(this.w);
  }
}
