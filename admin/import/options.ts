import type { UnmappedConstruct } from "../../contracts/import-plan";
import { fail, ok, type Problem, type Result } from "../../contracts/result";

/** Options every importer takes. */
export interface ImportOptions {
  /**
   * Source environment → edgeflags environment. When given, only the environments named here are
   * imported, under their new names; otherwise every environment keeps its name.
   */
  environments?: Record<string, string>;
}

/**
 * Checks `environments` against the environments the export holds (`source`, in its order): a
 * name the export does not hold is refused (a typo would import nothing and answer "nothing to
 * import"), and each environment of the export it leaves out is listed, so the answer says what
 * was not imported.
 */
export function selectEnvironments(source: readonly string[], options: ImportOptions): Result<UnmappedConstruct[]> {
  const selection = options.environments;
  if (!selection) return ok([]);
  const unknown = Object.keys(selection).filter((name) => !source.includes(name));
  if (unknown.length > 0) {
    const held = source.length > 0 ? source.map((name) => `"${name}"`).join(", ") : "none";
    return invalidImport(
      unknown.map((name) => ({ path: `environments.${name}`, message: `the export has no environment "${name}" (it has: ${held})` })),
    );
  }
  return ok(
    source
      .filter((name) => !Object.hasOwn(selection, name))
      .map((name) => ({
        flag: null,
        environment: name,
        construct: `environment "${name}"`,
        detail: 'not imported: "environments" does not name it',
      })),
  );
}

/**
 * An export refused as a whole (a 400 listing each problem, the first in `detail`): what every
 * converter answers for input it cannot read, naming the field or the line.
 */
export function invalidImport<T>(problems: Problem[]): Result<T> {
  const [first] = problems;
  const detail = first
    ? `${first.path}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ""}`
    : "the export is not valid";
  return fail({ kind: "invalid", detail, problems });
}
