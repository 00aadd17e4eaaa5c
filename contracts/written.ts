/**
 * Versions an admin write committed. The admin routes record them on the request's context; the
 * composition root notes them at the edge once the route has answered, so the isolate that served
 * a write serves the new version at once (read-your-writes) without the admin API importing the
 * edge.
 */
export interface WrittenVersion {
  project: string;
  environment: string;
  version: number;
}

/** The context variable that carries them (`c.get("written")`). */
export interface WrittenVariables {
  written?: WrittenVersion[];
}
