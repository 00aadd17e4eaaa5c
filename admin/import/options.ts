import { fail, type Problem, type Result } from "../../contracts/result";

/** Options every importer takes. */
export interface ImportOptions {
  /**
   * Source environment → edgeflags environment. When given, only the environments named here are
   * imported, under their new names; otherwise every environment keeps its name.
   */
  environments?: Record<string, string>;
}

/**
 * An export refused as a whole (a 400 listing each problem, the first in `detail`): what every
 * converter answers for input it cannot read, naming the field or the line.
 */
export function invalidImport<T>(problems: Problem[]): Result<T> {
  const [first] = problems;
  const detail = first ? `${first.path}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ""}` : "the export is not valid";
  return fail({ kind: "invalid", detail, problems });
}
