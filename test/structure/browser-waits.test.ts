/**
 * Browser tests wait by the one unit sized for a loaded machine (`test/browser/wait.ts`):
 * `expect.poll` gives up after one second by default, which a shared 2-core CI machine misses, so
 * every `expect.poll` in `test/browser/` passes its options (`POLL` or `WAIT`).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const DIR = join(import.meta.dirname, "../browser");

/** `expect.poll(probe)` closed without a second argument: the probe's call ends the poll's. */
const BARE_POLL = /expect\.poll\(\s*(?:async\s*)?\(\)\s*=>[^;]*?\)\s*\)\s*\./g;

describe("browser waits", () => {
  it("every expect.poll in test/browser passes a timeout sized for CI", () => {
    const bare = readdirSync(DIR)
      .filter((name) => name.endsWith(".ts"))
      .flatMap((name) => (readFileSync(join(DIR, name), "utf8").match(BARE_POLL) ?? []).map((call) => `${name}: ${call}`));
    expect(bare).toEqual([]);
  });

  it("recognises a bare poll (the check can fail)", () => {
    expect('await expect.poll(() => page.getByText("x").count()).toBe(1);'.match(BARE_POLL)).toHaveLength(1);
    expect('await expect.poll(() => page.getByText("x").count(), POLL).toBe(1);'.match(BARE_POLL)).toBeNull();
  });
});
