/**
 * A homegrown export too large for one admin call (the API takes at most 8 MiB), split into parts
 * the CLI imports one after the other: environment by environment, and an environment's flags
 * over several parts when it alone is too large. Each flag of each environment travels whole in
 * one part (its CSV rows together, so they still merge), with the pins that name it. The parts are
 * the export's own text or JSON, cut, never reinterpreted: the service validates each as it would
 * the whole.
 *
 * @example
 * splitHomegrown(csvText, "csv", [], 7 * 1024 * 1024); // [{ label: "production, part 1 of 2", data: "flag,environment,…\n…", pin: [] }, …]
 */
import type { ImportPin } from "../../contracts/import-result.ts";
import { parseCsv } from "../import/csv.ts";
import { CliError, isObject } from "./io.ts";

/** One part of a split import: what it covers, its data (CSV text or the JSON document) and its pins. */
export interface ImportPart {
  label: string;
  data: unknown;
  pin: ImportPin[];
}

/** One flag in one environment, as the export gives it. */
interface Unit {
  environment: string;
  flag: string;
  /** CSV: the unit's rows as text; JSON: the flag with only this environment. */
  item: string | Record<string, unknown>;
  bytes: number;
}

const utf8 = new TextEncoder();
/** Bytes of a text, or of a value as JSON. */
export const sizeOf = (value: unknown) => utf8.encode(typeof value === "string" ? value : JSON.stringify(value)).length;
/** A size for people: KiB below a MiB, else MiB with one decimal. */
export const mib = (bytes: number) =>
  bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KiB` : `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

/**
 * Splits a homegrown export into parts of at most `partBytes` of data. An export the CLI cannot
 * read as homegrown is one part, for the service to refuse with its own detail.
 */
export function splitHomegrown(data: unknown, format: "csv" | "json", pins: ImportPin[], partBytes: number): ImportPart[] {
  const read = format === "csv" ? csvUnits(data) : jsonUnits(data);
  if (read === null) return [{ label: "the export", data, pin: pins }];
  const { units, assemble } = read;
  const oversized = units.find((unit) => unit.bytes > partBytes);
  if (oversized)
    throw new CliError(
      `flag "${oversized.flag}" in environment "${oversized.environment}" alone is ${mib(oversized.bytes)}, more than one call to the admin API can carry; give it fewer or shorter customer ids`,
      2,
    );
  const byEnvironment = new Map<string, Unit[]>();
  for (const unit of units) {
    const list = byEnvironment.get(unit.environment) ?? [];
    list.push(unit);
    byEnvironment.set(unit.environment, list);
  }
  const parts: ImportPart[] = [];
  for (const [environment, list] of byEnvironment) {
    const packed: Unit[][] = [[]];
    let bytes = 0;
    for (const unit of list) {
      if (bytes + unit.bytes > partBytes && packed.at(-1)!.length > 0) {
        packed.push([]);
        bytes = 0;
      }
      packed.at(-1)!.push(unit);
      bytes += unit.bytes;
    }
    packed.forEach((group, i) => {
      const names = new Set(group.map((unit) => unit.flag));
      parts.push({
        label: packed.length === 1 ? environment : `${environment}, part ${i + 1} of ${packed.length}`,
        data: assemble(group),
        pin: pins.filter((p) => p.environment === environment && names.has(p.flag)),
      });
    });
  }
  // A pin naming no flag of the export goes with the first part, which the service refuses naming it.
  const placed = new Set(parts.flatMap((part) => part.pin));
  const stray = pins.filter((p) => !placed.has(p));
  if (parts.length === 0) return [{ label: "the export", data, pin: pins }];
  parts[0]!.pin.push(...stray);
  return parts;
}

/** The units of a homegrown JSON export (`{"flags": [{key, …, environments}]}`), or null. */
function jsonUnits(data: unknown): { units: Unit[]; assemble: (units: Unit[]) => unknown } | null {
  if (!isObject(data) || !Array.isArray(data.flags)) return null;
  const units: Unit[] = [];
  for (const flag of data.flags) {
    if (!isObject(flag) || typeof flag.key !== "string" || !isObject(flag.environments)) return null;
    for (const [environment, setting] of Object.entries(flag.environments)) {
      const item = { ...flag, environments: { [environment]: setting } };
      units.push({ environment, flag: flag.key, item, bytes: sizeOf(item) + 1 });
    }
  }
  return { units, assemble: (group) => ({ ...data, flags: group.map((unit) => unit.item) }) };
}

/** The units of a homegrown CSV export (a flag's rows of one environment together), or null. */
function csvUnits(data: unknown): { units: Unit[]; assemble: (units: Unit[]) => unknown } | null {
  if (typeof data !== "string") return null;
  const read = parseCsv(data);
  if (!read.ok) return null;
  const [header, ...rows] = read.rows;
  if (!header) return null;
  const columns = header.fields.map((name) => name.trim().toLowerCase());
  const flagAt = columns.indexOf("flag");
  const environmentAt = columns.indexOf("environment");
  if (flagAt < 0 || environmentAt < 0) return null;
  const byKey = new Map<string, { environment: string; flag: string; lines: string[] }>();
  for (const row of rows) {
    const flag = row.fields[flagAt]?.trim() ?? "";
    const environment = row.fields[environmentAt]?.trim() ?? "";
    const key = JSON.stringify([flag, environment]);
    const unit = byKey.get(key) ?? { environment, flag, lines: [] };
    unit.lines.push(row.fields.map(csvField).join(","));
    byKey.set(key, unit);
  }
  const units = [...byKey.values()].map(({ environment, flag, lines }) => {
    const item = `${lines.join("\n")}\n`;
    return { environment, flag, item, bytes: sizeOf(item) };
  });
  const head = `${header.fields.map(csvField).join(",")}\n`;
  return { units, assemble: (group) => head + group.map((unit) => unit.item).join("") };
}

/** A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
