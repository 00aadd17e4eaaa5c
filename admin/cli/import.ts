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
import { MAX_ADMIN_BODY_BYTES } from "../json-body.ts";
import { mib, sizeOf, splitHomegrown, type ImportPart } from "./import-split.ts";
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
  for (const [environment, diff] of Object.entries(result.environments)) {
    if (diff.absent.length === 0) continue;
    const shown = diff.absent.slice(0, 20).join(", ");
    lines.push(
      `  ${environment}: ${diff.absent.length} flags are not in this export and ${done} left alone (deleted in the old system? delete them here too): ${shown}${diff.absent.length > 20 ? ", …" : ""}`,
    );
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
  const pin = options.pin === null ? [] : parsePins(await readText(io, options.pin, "the pins"), options.pin);
  const service = new Service(options.url, options.token, io);
  const send = (part: ImportPart, dryRun: boolean) => importPart(service, options, part, dryRun);
  const whole: ImportPart = { label: options.file, data, pin };
  const limit = io.maxBodyBytes ?? MAX_ADMIN_BODY_BYTES;
  const bytes = sizeOf(body(options, whole));
  if (bytes <= limit) {
    const result = await send(whole, options.dryRun);
    for (const line of describeImport(result, options.project)) io.print(line);
    return result.dryRun && result.changed ? 1 : 0;
  }
  if (options.source !== "homegrown")
    throw new CliError(
      `${options.file} is ${mib(bytes)} as a request, over the ${mib(limit)} the admin API takes in one call, and a ${options.source} export cannot be split by the CLI: export fewer environments at a time`,
      2,
    );
  // Room for the wrapper and the pins around each part's data.
  const parts = splitHomegrown(data, options.format, pin, Math.floor(limit * 0.85) - sizeOf(pin));
  io.print(
    `${options.file} is ${mib(bytes)}, over the ${mib(limit)} the admin API takes in one call: importing it in ${parts.length} parts (${parts.map((p) => p.label).join("; ")}), each one transaction`,
  );
  // Every part is checked first, so a refusal or an invalid part writes nothing at all.
  const checked: ImportResult[] = [];
  for (const part of parts) checked.push(await send(part, true));
  const preview = mergeResults(checked);
  if (options.dryRun) {
    for (const line of describeImport(preview, options.project)) io.print(line);
    return preview.changed ? 1 : 0;
  }
  if (preview.edited.some((e) => e.outcome === "refused")) {
    for (const line of describeImport(preview, options.project)) io.print(line);
    throw new CliError(
      `the import was refused: ${preview.edited.length} flags were changed in edgeflags since an import wrote them; nothing was written`,
      1,
    );
  }
  const applied: ImportResult[] = [];
  for (const part of parts) {
    try {
      applied.push(await send(part, false));
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      const done = parts.slice(0, applied.length).map((p) => p.label);
      throw new CliError(
        `${error.message}\n${applied.length} of ${parts.length} parts were imported (${done.join("; ") || "none"}), the others not; running the same command again is safe: what was imported is unchanged and writes nothing`,
        error.exitCode,
      );
    }
  }
  for (const line of describeImport(mergeResults(applied), options.project)) io.print(line);
  return 0;
}

/** The body of one import call. */
function body(options: ImportOptions, part: ImportPart) {
  return {
    source: options.source,
    ...(options.source === "homegrown" ? { format: options.format } : {}),
    data: part.data,
    ...(part.pin.length > 0 ? { pin: part.pin } : {}),
    ...(options.edited ? { edited: options.edited } : {}),
    ...(options.reason ? { reason: options.reason } : {}),
  };
}

/** One import call: its answer, or a CliError (exit 1 when refused, 2 when it failed). */
async function importPart(service: Service, options: ImportOptions, part: ImportPart, dryRun: boolean): Promise<ImportResult> {
  const response = await service.request("POST", `${adminPath(options.project)}/import${dryRun ? "?dryRun=true" : ""}`, {
    body: JSON.stringify(body(options, part)),
  });
  // Refused, not failed: e.g. the import would undo changes made in edgeflags (the detail names them).
  if (response.status === 409) throw new CliError(`the import was refused: ${await problemOf(response)}`, 1);
  const answer = ImportResultSchema.safeParse(await service.json(response, `importing ${part.label} into ${options.project}`));
  if (!answer.success)
    throw new CliError(`${options.url} answered the import with something that is not an import result; is it edgeflags?`, 2);
  return answer.data;
}

/** The answers of a split import's parts as one: per environment the flags of every part. */
export function mergeResults(results: ImportResult[]): ImportResult {
  const merged: ImportResult = {
    ...results[0]!,
    changed: results.some((r) => r.changed),
    environments: {},
    segments: { created: [], updated: [] },
    edited: results.flatMap((r) => r.edited),
    unmapped: results.flatMap((r) => r.unmapped),
    notes: results.flatMap((r) => r.notes),
  };
  for (const result of results) {
    merged.segments.created.push(...result.segments.created);
    merged.segments.updated.push(...result.segments.updated);
    for (const [name, diff] of Object.entries(result.environments)) {
      const into = merged.environments[name];
      if (!into) {
        merged.environments[name] = { ...diff, created: [...diff.created], updated: [...diff.updated], absent: [...diff.absent] };
        continue;
      }
      // Each part leaves out the flags of the others: absent is what no part mentions.
      into.absent = into.absent.filter((key) => diff.absent.includes(key));
      into.version = Math.max(into.version, diff.version);
      into.created.push(...diff.created);
      into.updated.push(...diff.updated);
      into.unchanged += diff.unchanged;
    }
  }
  return merged;
}
