/**
 * Browser tests wait by the one unit sized for a loaded machine (`test/browser/wait.ts`):
 * `expect.poll` gives up after one second by default, which a shared 2-core CI machine misses, so
 * every `expect.poll` in `test/browser/` passes its options (`POLL` or `WAIT`).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const DIR = join(import.meta.dirname, "../browser");

/**
 * Each `expect.poll(…)` call in `source` given a single argument (no options): the call's
 * parentheses are matched, skipping string and template literals, and a comma at its top level
 * means a second argument.
 */
function barePolls(source: string): string[] {
  const bare: string[] = [];
  const opening = "expect.poll(";
  for (let at = source.indexOf(opening); at >= 0; at = source.indexOf(opening, at + 1)) {
    let depth = 1;
    let options = false;
    let i = at + opening.length;
    for (; i < source.length && depth > 0; i++) {
      const ch = source[i]!;
      if (ch === '"' || ch === "'" || ch === "`") {
        for (i++; i < source.length && source[i] !== ch; i++) if (source[i] === "\\") i++;
      } else if (ch === "(" || ch === "[" || ch === "{") depth++;
      else if (ch === ")" || ch === "]" || ch === "}") depth--;
      else if (ch === "," && depth === 1) options = true;
    }
    if (!options) bare.push(source.slice(at, Math.min(i, at + 80)));
  }
  return bare;
}

describe("browser waits", () => {
  it("every expect.poll in test/browser passes a timeout sized for CI", () => {
    const bare = readdirSync(DIR)
      .filter((name) => name.endsWith(".ts"))
      .flatMap((name) => barePolls(readFileSync(join(DIR, name), "utf8")).map((call) => `${name}: ${call}`));
    expect(bare).toEqual([]);
  });

  it("recognises a bare poll (the check can fail)", () => {
    expect(barePolls('await expect.poll(() => page.getByText("x").count()).toBe(1);')).toHaveLength(1);
    expect(barePolls('await expect.poll(() => page.getByText("x, y").count()).toBe(1);')).toHaveLength(1);
    expect(barePolls("await expect.poll(async () => (await worker.ofrep(key, flag)).body.value).toBe(true);")).toHaveLength(1);
    expect(barePolls('await expect.poll(() => page.getByText("x").count(), POLL).toBe(1);')).toEqual([]);
    expect(barePolls("await expect.poll(async () => (await worker.ofrep(key, flag)).body.value, POLL).toBe(true);")).toEqual([]);
  });
});
