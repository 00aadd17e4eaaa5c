/**
 * `migration` and `cut-over`: the migration's last steps from the command line. `migration` prints,
 * per environment, which system answers, the exit criterion and whether it is met (with each unmet
 * condition), how much of the environment audit mode compared, and the flags that differed in the
 * criterion's window; `cut-over` makes edgeflags (or the legacy system) answer for one environment,
 * refused while the criterion is unmet unless `--override`.
 */
import { CutOverSchema, MigrationOverviewSchema, type MigrationEnvironment } from "../../contracts/migration-report.ts";
import type { CutOverOptions, MigrationOptions } from "./args.ts";
import { CliError, type Io } from "./io.ts";
import { adminPath, problemOf, Service } from "./service.ts";

/** The flags listed per environment: the ones with the most mismatches in the window. */
const LISTED_FLAGS = 10;

const list = (keys: string[], count: number) => `${keys.slice(0, 10).join(", ")}${count > 10 ? `, … ${count - 10} more` : ""}`;

/** Prints one environment's migration; returns whether it still waits on an unmet criterion (legacy answers, criterion unmet). */
function printEnvironment(env: MigrationEnvironment, io: Io): boolean {
  const { criterion, status, coverage } = env;
  const answering =
    env.authority === "edgeflags"
      ? `edgeflags answers since ${env.since ?? "?"}${env.graceUntil ? ` (comparisons until ${env.graceUntil})` : ""}`
      : `the legacy system answers${env.since ? ` (cut back ${env.since})` : ""}`;
  io.print(`${env.environment}: ${answering}`);
  const window = `the last ${criterion.days} days`;
  io.print(
    `  criterion ${status.met ? "met" : "not met"}: ${status.mismatched} differences over ${status.compared} comparisons in ${window}` +
      ` (needs ≥ ${criterion.minComparisons} comparisons, ≤ ${criterion.maxMismatches} differences, ${criterion.days} days seen)`,
  );
  for (const reason of status.reasons) io.print(`    - ${reason}`);
  if (status.uncompared > 0)
    io.print(
      `  not compared: ${status.uncompared} evaluations in ${window} (the legacy system failed to answer, or the application had too many comparisons waiting)`,
    );
  io.print(`  coverage: ${coverage.compared} of ${coverage.flags} flags compared in ${window}`);
  if (coverage.uncompared.count > 0)
    io.print(`    not compared (${coverage.uncompared.count}): ${list(coverage.uncompared.keys, coverage.uncompared.count)}`);
  if (coverage.missing.count > 0)
    io.print(`    compared but not in edgeflags (${coverage.missing.count}): ${list(coverage.missing.keys, coverage.missing.count)}`);
  const differing = env.flags.filter((flag) => flag.recent.mismatched > 0).sort((a, b) => b.recent.mismatched - a.recent.mismatched);
  if (differing.length > 0) {
    io.print(`  flags that differed in ${window} (${differing.length}):`);
    for (const flag of differing.slice(0, LISTED_FLAGS))
      io.print(`    ! ${flag.flag}: ${flag.recent.mismatched} of ${flag.recent.compared} (last ${flag.lastMismatchAt ?? "?"})`);
    if (differing.length > LISTED_FLAGS)
      io.print(`    … ${differing.length - LISTED_FLAGS} more (the console's Migration page lists them all, with samples)`);
  }
  return env.authority === "legacy" && !status.met;
}

/** Runs `migration`; returns the exit code: 1 when an environment the legacy system answers has its criterion unmet. */
export async function runMigration(options: MigrationOptions, io: Io): Promise<number> {
  const service = new Service(options.url, options.token, io);
  const response = await service.request("GET", `${adminPath(options.project)}/migration`);
  const answer = MigrationOverviewSchema.safeParse(await service.json(response, `reading the migration of ${options.project}`));
  if (!answer.success) throw new CliError(`${options.url} answered with something that is not a migration overview; is it edgeflags?`, 2);
  let environments = answer.data.environments;
  if (options.env !== null) {
    const name = options.env;
    environments = environments.filter((env) => env.environment === name);
    if (environments.length === 0) {
      const known = answer.data.environments.map((env) => env.environment).join(", ") || "none";
      throw new CliError(`${options.project} has no environment "${name}" (it has: ${known})`, 2);
    }
  }
  let waiting = false;
  for (const env of environments) waiting = printEnvironment(env, io) || waiting;
  return waiting ? 1 : 0;
}

/** Runs `cut-over`; returns the exit code: 1 when the service refuses (the criterion is unmet). */
export async function runCutOver(options: CutOverOptions, io: Io): Promise<number> {
  const service = new Service(options.url, options.token, io);
  const where = `${options.project}/${options.env}`;
  const body = {
    authority: options.to,
    ...(options.override ? { override: true } : {}),
    ...(options.graceDays === null ? {} : { graceDays: options.graceDays }),
    ...(options.reason ? { reason: options.reason } : {}),
  };
  const response = await service.request("POST", `${adminPath(options.project, options.env)}/migration/cut-over`, {
    body: JSON.stringify(body),
  });
  if (response.status === 409) {
    io.print(`refused: ${await problemOf(response)}`);
    io.print(`nothing changed; ${where} is answered as before (--override cuts over anyway, and the audit log records it as overridden)`);
    return 1;
  }
  const answer = CutOverSchema.safeParse(await service.json(response, `cutting ${where} over to ${options.to}`));
  if (!answer.success)
    throw new CliError(`${options.url} answered the cut-over with something that is not a cut-over; is it edgeflags?`, 2);
  const cut = answer.data;
  const who = cut.authority === "edgeflags" ? "edgeflags" : "the legacy system";
  if (!cut.changed) {
    io.print(`nothing to do: ${who} already answers for ${where} (version ${cut.version}); nothing written`);
    return 0;
  }
  io.print(
    `${who} answers for ${where} from version ${cut.version}${cut.overridden ? ", overriding the unmet criterion" : ""}` +
      (cut.graceUntil ? `; audit mode keeps comparing until ${cut.graceUntil}` : ""),
  );
  io.print("every edge follows within the propagation bound; the audit log records the decision with its evidence");
  return 0;
}
