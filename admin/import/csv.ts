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
  const end = input.length;
  const rows: CsvRow[] = [];
  let line = 1;
  let fields: string[] = [];
  let rowLine = 1;
  // Whether the last field read was quoted (a quoted empty field is a row; an empty line is not).
  let endQuoted = false;
  let i = 0;
  while (i <= end) {
    if (i === end) {
      if (fields.length > 0 && !(fields.length === 1 && fields[0] === "" && !endQuoted)) rows.push({ line: rowLine, fields });
      break;
    }
    if (fields.length === 0) rowLine = line;
    let field: string;
    const quoted = input.charCodeAt(i) === QUOTE;
    if (quoted) {
      // A quoted field: runs of text between quotes, `""` standing for one quote.
      const parts: string[] = [];
      let from = i + 1;
      for (;;) {
        const close = input.indexOf('"', from);
        if (close < 0) return { ok: false, line: rowLine, detail: "a quoted field is never closed (a missing closing quote)" };
        line += lineBreaks(input, from, close);
        parts.push(input.slice(from, close));
        if (input.charCodeAt(close + 1) === QUOTE) {
          parts.push('"');
          from = close + 2;
          continue;
        }
        i = close + 1;
        break;
      }
      field = parts.join("");
      const next = input.charCodeAt(i);
      if (i < end && next !== COMMA && next !== CR && next !== LF) {
        return { ok: false, line, detail: "a quoted field must end at its closing quote, before a comma or the end of the line" };
      }
    } else {
      const from = i;
      while (i < end) {
        const ch = input.charCodeAt(i);
        if (ch === COMMA || ch === CR || ch === LF) break;
        if (ch === QUOTE)
          return { ok: false, line, detail: `a quote inside an unquoted field; quote the whole field and double the quote ("")` };
        i++;
      }
      field = input.slice(from, i);
    }
    fields.push(field);
    endQuoted = quoted;
    if (i === end) continue;
    const ch = input.charCodeAt(i);
    i++;
    if (ch === COMMA) {
      // A comma at the very end still ends in one more (empty) field.
      if (i === end) fields.push("");
      continue;
    }
    if (ch === CR && input.charCodeAt(i) === LF) i++;
    // A line with nothing on it is no row (a trailing newline, blank separators).
    if (!(fields.length === 1 && field === "" && !quoted)) rows.push({ line: rowLine, fields });
    fields = [];
    line++;
  }
  return { ok: true, rows };
}

/** The line breaks (CRLF, LF or CR) in `text` between `from` and `to`. */
function lineBreaks(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) {
    const ch = text.charCodeAt(i);
    if (ch === LF || (ch === CR && text.charCodeAt(i + 1) !== LF)) count++;
  }
  return count;
}
