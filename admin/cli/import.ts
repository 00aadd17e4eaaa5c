/**
 * `import`: brings flags from another system (a homegrown export, LaunchDarkly, Unleash) into a
 * project through `POST /admin/v1/projects/{p}/import`, and prints per environment what it
 * created, updated and left alone, then every construct it could not map and every note (such as
 * re-bucketed percentage rollouts). `--dry-run` prints the same and writes nothing; `--pin`
 * keeps today's assignment of the listed units (a CSV of flag,environment,targetingKey,variant).
 * A flag changed in edgeflags since an import wrote it makes the import refuse (exit 1) unless
 * `--edited keep` or `--edited overwrite` says what to do with it.
 */
import { ImportResultSchema, type ImportPin, type ImportResult } from "../../contracts/import-result.ts";
import { parseCsv } from "../import/csv.ts";
import type { ImportOptions } from "./args.ts";
import { CliError, readText, type Io } from "./io.ts";
import { adminPath, problemOf, Service } from "./service.ts";

const PIN_COLUMNS = ["flag", "environment", "targetingKey", "variant"] as const;

/** Reads a pins CSV (a header naming the four columns, in any order, then one pin a row). */
export function parsePins(text: string, file: string): ImportPin[] {
  const read = parseCsv(text);
  if (!read.ok) throw new CliError(`${file} line ${read.line}: ${read.detail}`, 2);
  const [header, ...rows] = read.rows;
  const at = PIN_COLUMNS.map((column) => header?.fields.map((f) => f.trim()).indexOf(column) ?? -1);
  if (!header || at.some((i) => i < 0))
    throw new CliError(
      `${file} needs a header row naming the columns ${PIN_COLUMNS.join(",")} (got "${header?.fields.join(",") ?? ""}")`,
      2,
    );
  return rows.map((row) => {
    const [flag, environment, targetingKey, variant] = at.map((i) => row.fields[i]?.trim() ?? "");
    if (!flag || !environment || !targetingKey || !variant)
      throw new CliError(`${file} line ${row.line}: every pin needs a flag, an environment, a targetingKey and a variant`, 2);
    return { flag, environment, targetingKey, variant };
  });
}

/** The lines describing an import's answer: the diff per environment, segments, unmapped constructs, notes. */
export function describeImport(result: ImportResult, project: string): string[] {
  const lines: string[] = [];
  const done = result.dryRun ? "would be" : "were";
  lines.push(
    result.changed
      ? `${result.dryRun ? "dry run: importing" : "imported"} ${result.source} into ${project}${result.dryRun ? " would change:" : ":"}`
      : `nothing to import: ${project} already holds what this ${result.source} export describes; nothing written`,
  );
  for (const [environment, diff] of Object.entries(result.environments)) {
    const created = diff.created.length;
    const updated = diff.updated.length;
    if (created === 0 && updated === 0 && !result.changed) continue;
    lines.push(
      `  ${environment} (${result.dryRun ? "now at" : "now"} version ${diff.version}): ${created} created, ${updated} updated, ${diff.unchanged} unchanged`,
    );
    for (const key of diff.created) lines.push(`    + ${key}`);
    for (const key of diff.updated) lines.push(`    ~ ${key}`);
  }
  if (result.edited.length > 0) {
    const what = {
      refused: "the import refuses them: pass --edited keep to leave them, or --edited overwrite to replace them",
      kept: `${done} kept as edgeflags has them`,
      overwritten: `${done} overwritten with the export`,
    }[result.edited[0]!.outcome];
    lines.push(`${result.edited.length} flags were changed in edgeflags since an import wrote them (${what}):`);
    for (const e of result.edited) lines.push(`  ! ${e.environment ?? "(project facts)"}/${e.flag}: ${e.change} by ${e.by} at ${e.at}`);
  }
  const { created, updated } = result.segments;
  if (created.length || updated.length) {
    lines.push(`  segments: ${created.length} created, ${updated.length} updated`);
    for (const name of created) lines.push(`    + ${name}`);
    for (const name of updated) lines.push(`    ~ ${name}`);
  }
  if (result.unmapped.length > 0) {
    lines.push(
      `could not map ${result.unmapped.length} constructs (left out or approximated as described; check each before relying on the flag):`,
    );
    for (const u of result.unmapped)
      lines.push(`  ! ${u.flag ?? "(project)"}${u.environment ? ` [${u.environment}]` : ""}: ${u.construct}: ${u.detail}`);
  }
  if (result.notes.length > 0) {
    lines.push(`notes (${result.notes.length}):`);
    for (const n of result.notes) lines.push(`  - ${n.flag}${n.environment ? ` [${n.environment}]` : ""} ${n.kind}: ${n.detail}`);
    if (result.notes.some((n) => n.kind === "rebucketed"))
      lines.push(`  percentage rollouts ${done} re-bucketed: to keep today's assignments of some units, pass them with --pin pins.csv`);
  }
  return lines;
}

/** Runs `import`; returns the exit code: 1 for a dry run that would change something, else 0. */
export async function runImport(options: ImportOptions, io: Io): Promise<number> {
  const text = await readText(io, options.file, "the export");
  let data: unknown = text;
  if (options.format === "json") {
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new CliError(
        `${options.file} is not JSON (${error instanceof Error ? error.message : String(error)}); for a CSV export pass --format csv`,
        2,
      );
    }
  }
  const pin = options.pin === null ? undefined : parsePins(await readText(io, options.pin, "the pins"), options.pin);
  const body = {
    source: options.source,
    ...(options.source === "homegrown" ? { format: options.format } : {}),
    data,
    ...(pin ? { pin } : {}),
    ...(options.edited ? { edited: options.edited } : {}),
    ...(options.reason ? { reason: options.reason } : {}),
  };
  const service = new Service(options.url, options.token, io);
  const response = await service.request("POST", `${adminPath(options.project)}/import${options.dryRun ? "?dryRun=true" : ""}`, {
    body: JSON.stringify(body),
  });
  // Refused, not failed: the import would undo changes made in edgeflags (the detail names them).
  if (response.status === 409) throw new CliError(`the import was refused: ${await problemOf(response)}`, 1);
  const answer = ImportResultSchema.safeParse(await service.json(response, `importing ${options.file} into ${options.project}`));
  if (!answer.success)
    throw new CliError(`${options.url} answered the import with something that is not an import result; is it edgeflags?`, 2);
  for (const line of describeImport(answer.data, options.project)) io.print(line);
  return answer.data.dryRun && answer.data.changed ? 1 : 0;
}
