/**
 * Turns `.feature` text into pickles (Scenario Outlines expanded, Background steps included)
 * with the real Cucumber parser and compiler, and filters them with a tag expression.
 */
import { AstBuilder, compile, GherkinClassicTokenMatcher, Parser } from "@cucumber/gherkin";
import { IdGenerator } from "@cucumber/messages";
import type { Pickle } from "@cucumber/messages";
import { parse as parseTagExpression } from "@cucumber/tag-expressions";

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
