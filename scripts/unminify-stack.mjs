#!/usr/bin/env node
// Maps a stack trace from the Worker's logs back to the source. The bundle is minified without
// `keep_names` (wrangler.toml), so a logged `stack` names minified functions at positions in one
// line of index.js; Cloudflare applies the uploaded source map only to uncaught exceptions, and
// every error the Worker logs is caught (`unhandled-error`, …). Reads the stack on stdin (or a
// JSON log line holding one) and prints each frame at its place in the source, `<file>:<line>:<col>`,
// through the source map of the same build (`npm run build` writes dist/index.js.map); the function
// is the one enclosing that line.
//
//   pbpaste | node scripts/unminify-stack.mjs
//   node scripts/unminify-stack.mjs --map dist/index.js.map < stack.txt
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const mapAt = process.argv.indexOf("--map");
const mapFile = mapAt > 0 ? process.argv[mapAt + 1] : join(root, "dist", "index.js.map");
const map = JSON.parse(readFileSync(mapFile, "utf8"));

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** The segments of each generated line: [column, source, line, column], all absolute. */
function decode(mappings) {
  const lines = [];
  const state = [0, 0, 0, 0, 0];
  for (const line of mappings.split(";")) {
    const segments = [];
    state[0] = 0;
    for (const segment of line.split(",")) {
      if (!segment) continue;
      const fields = [];
      let value = 0;
      let shift = 0;
      for (const char of segment) {
        const digit = BASE64.indexOf(char);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      for (const [i, delta] of fields.entries()) state[i] += delta;
      segments.push(fields.length >= 4 ? state.slice(0, 4) : [state[0]]);
    }
    lines.push(segments);
  }
  return lines;
}

const lines = decode(map.mappings);

/** The original position of a generated 1-based line and column, or null. */
function original(line, column) {
  const segments = lines[line - 1] ?? [];
  let found = null;
  for (const segment of segments) {
    if (segment[0] > column - 1) break;
    if (segment.length >= 4) found = segment;
  }
  if (!found) return null;
  return { source: map.sources[found[1]], line: found[2] + 1, column: found[3] + 1 };
}

let input = readFileSync(0, "utf8");
try {
  const parsed = JSON.parse(input);
  const stack = parsed?.error?.stack ?? parsed?.stack;
  if (typeof stack === "string") input = stack;
} catch {
  // a plain stack trace
}
const FRAME = /^(\s*at\s+)(?:\S+\s+\()?[^()\s]*?[^/()\s]+\.m?js:(\d+):(\d+)\)?\s*$/;
for (const text of input.split("\n")) {
  const frame = FRAME.exec(text);
  const at = frame && original(Number(frame[2]), Number(frame[3]));
  if (!at) {
    console.log(text);
    continue;
  }
  const source = at.source.replace(/^(\.\.\/)+/, "");
  console.log(`${frame[1]}${source}:${at.line}:${at.column}`);
}
