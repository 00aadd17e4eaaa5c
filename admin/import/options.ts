/** Options every importer takes. */
export interface ImportOptions {
  /**
   * Source environment → edgeflags environment. When given, only the environments named here are
   * imported, under their new names; otherwise every environment keeps its name.
   */
  environments?: Record<string, string>;
}
