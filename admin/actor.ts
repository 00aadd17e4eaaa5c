/** Who makes an admin request, as the audit log records it. */
export interface Actor {
  /** Recorded in the audit log: `token:bootstrap` or `key:<id>`. */
  name: string;
  bootstrap: boolean;
}
