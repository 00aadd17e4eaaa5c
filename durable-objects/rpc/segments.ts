import { StoreGroup } from "./group";
import * as segments from "../aggregates/segments";
import type { SegmentInput } from "../segments";
import type { ChangeMeta } from "../store-types";

/** The project's segments (`stub.segments().put(name, input, meta)`), over `aggregates/segments.ts`. */
export class SegmentsRpc extends StoreGroup {
  /** The project's segments, by name. */
  list() {
    return segments.listSegments(this.w);
  }
  /** One segment, with its member ids when it is a list. */
  get(name: string) {
    return segments.getSegment(this.w, name);
  }
  /**
   * Creates or replaces a segment. Every environment's flags are re-validated with it, and every
   * environment gets a new version, since each snapshot carries the segment.
   */
  put(name: string, input: SegmentInput, meta: ChangeMeta & { ifMatch: number | null }) {
    return segments.putSegment(this.w, name, input, meta);
  }
  /** Deletes a segment no flag uses; 409 naming the flags that still do. */
  delete(name: string, meta: ChangeMeta) {
    return segments.deleteSegment(this.w, name, meta);
  }
}
