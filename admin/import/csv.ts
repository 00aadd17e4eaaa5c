/**
 * A small RFC 4180 CSV reader for imports: quoted fields (with `""` for a quote, and line breaks
 * inside quotes), CRLF, LF or CR line ends, a leading byte-order mark, blank lines skipped. One
 * pass over the text, no regular expressions: linear in the input, whatever it holds. Every row
 * carries the line it starts on, so a problem can name it.
 *
 * @example
 * parseCsv('flag,enabled\r\n"new-checkout",true\r\n'); // ok: [{ line: 1, fields: ["flag", "enabled"] }, { line: 2, … }]
 */

export interface CsvRow {
  /** The 1-based line the row starts on. */
  line: number;
  fields: string[];
}

export type CsvRead = { ok: true; rows: CsvRow[] } | { ok: false; line: number; detail: string };

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

/** Parses CSV text into rows of fields; a malformed quote is refused with its line. */
export function parseCsv(text: string): CsvRead {
  const input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows: CsvRow[] = [];
  let line = 1;
  let rowLine = 1;
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  // Whether the current field began with a quote (and so may only continue after its closing one).
  let wasQuoted = false;
  let i = 0;
  const endRow = () => {
    fields.push(field);
    // A line with nothing on it is no row (a trailing newline, blank separators).
    if (!(fields.length === 1 && fields[0] === "" && !wasQuoted)) rows.push({ line: rowLine, fields });
    fields = [];
    field = "";
    wasQuoted = false;
  };
  while (i < input.length) {
    const ch = input.charCodeAt(i);
    if (quoted) {
      if (ch === QUOTE) {
        if (input.charCodeAt(i + 1) === QUOTE) {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        const next = input.charCodeAt(i);
        if (i < input.length && next !== COMMA && next !== CR && next !== LF) {
          return { ok: false, line, detail: `a quoted field must end at its closing quote, before a comma or the end of the line` };
        }
        continue;
      }
      if (ch === LF || (ch === CR && input.charCodeAt(i + 1) !== LF)) line++;
      field += input[i];
      i++;
      continue;
    }
    if (ch === QUOTE) {
      if (field !== "") return { ok: false, line, detail: `a quote inside an unquoted field; quote the whole field and double the quote ("")` };
      quoted = true;
      wasQuoted = true;
      i++;
      continue;
    }
    if (ch === COMMA) {
      fields.push(field);
      field = "";
      wasQuoted = false;
      i++;
      continue;
    }
    if (ch === CR || ch === LF) {
      endRow();
      i += ch === CR && input.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
      rowLine = line;
      continue;
    }
    field += input[i];
    i++;
  }
  if (quoted) return { ok: false, line: rowLine, detail: "a quoted field is never closed (a missing closing quote)" };
  if (field !== "" || fields.length > 0 || wasQuoted) endRow();
  return { ok: true, rows };
}
