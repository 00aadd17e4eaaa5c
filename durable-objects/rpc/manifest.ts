import { StoreGroup } from "./group";
import type { ManifestFlag } from "../../contracts/flag-manifest";
import * as manifest from "../aggregates/manifest";
import type { ChangeMeta } from "../store-types";

/** OpenFeature CLI flag manifests (`stub.manifest().sync(env, flags, meta)`), over `aggregates/manifest.ts`. */
export class ManifestRpc extends StoreGroup {
  /**
   * Creates the manifest's flags the environment lacks (never changes one it has) and reports
   * drift; one transaction, so concurrent syncs create each flag once. `dryRun` writes nothing.
   */
  sync(environment: string, flags: Record<string, ManifestFlag>, meta: ChangeMeta & { dryRun: boolean }) {
    return manifest.syncManifest(this.w, environment, flags, meta);
  }
  /** The environment's flags as an OpenFeature CLI flag manifest. */
  get(environment: string) {
    return manifest.getManifest(this.w, environment);
  }
}
