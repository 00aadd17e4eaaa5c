/** Shared helpers of the engine tests. */
import { compileRule, createCompileEnv } from "../../engine/compile";
import { ROOT } from "../../engine/json-logic";
import type { Scope } from "../../engine/json-logic";
import type { FractionalMode } from "../../engine/types";

/** Compiles `rule` and applies it to `context` as the flag `flagKey` at unix second `timestamp`. */
export function apply(
  rule: unknown,
  context: Record<string, unknown> = {},
  options: { flagKey?: string; timestamp?: number; evaluators?: Record<string, unknown>; fractional?: FractionalMode } = {},
): unknown {
  const compiled = compileRule(rule, "", createCompileEnv(options.evaluators ?? {}, options.fractional ?? "v2"));
  const scope: Scope = { ctx: context, flagKey: options.flagKey ?? "flag", timestamp: options.timestamp ?? 1_700_000_000 };
  return compiled(scope, ROOT);
}

/** The UTF-8 bytes of `text`. */
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
