/**
 * Turns `.feature` text into pickles (Scenario Outlines expanded, Background steps included)
 * with the real Cucumber parser and compiler, and filters them with a tag expression.
 */
import { AstBuilder, compile, GherkinClassicTokenMatcher, Parser } from "@cucumber/gherkin";
import { IdGenerator } from "@cucumber/messages";
import type { Pickle } from "@cucumber/messages";
import { parse as parseTagExpression } from "@cucumber/tag-expressions";
import { describe, it } from "vitest";
import type { ConformancePayload } from "./provide";

/**
 * Defines a conformance suite when the shared conformance folder was found. When it is missing,
 * says so plainly: a skipped suite naming the folder and EDGEFLAGS_CONFORMANCE_DIR, or a failing
 * test when CI is set (CI always has the folder).
 */
export function conformanceSuite(name: string, payload: ConformancePayload, define: () => void): void {
  if (payload.found) {
    define();
    return;
  }
  const message = `flagd-testbed conformance files not found at ${payload.dir}; set EDGEFLAGS_CONFORMANCE_DIR to the conformance folder`;
  if (payload.ci) {
    it("conformance folder is present (required when CI is set)", () => {
      throw new Error(message);
    });
  } else {
    console.warn(message);
    describe.skip(`${name} (${message})`, () => {
      it("skipped", () => {});
    });
  }
}

/** Parses one feature file into its pickles. */
export function picklesOf(uri: string, text: string): readonly Pickle[] {
  const newId = IdGenerator.incrementing();
  const parser = new Parser(new AstBuilder(newId), new GherkinClassicTokenMatcher());
  const document = parser.parse(text);
  return compile(document, uri, newId);
}

/** Whether a pickle's tags satisfy `expression` (e.g. `not @fractional-v1 and not @deprecated`). */
export function matchesTags(pickle: Pickle, expression: string): boolean {
  return parseTagExpression(expression).evaluate(pickle.tags.map((tag) => tag.name));
}

/** A readable, unique-enough test name: scenario name plus the example row's values. */
export function pickleTitle(pickle: Pickle, index: number): string {
  return `${pickle.name} #${index + 1}`;
}
