/**
 * What a flag's own rules serve, read from its targeting without evaluating it: the weights of
 * its fractional split (an experiment's intended weights default to them), and whether the rules
 * answer every context by themselves (a ramp placed after them would never decide anyone).
 * Pure: the console uses it too.
 */

type Rule = unknown;

function operator(rule: Rule): [string, unknown[]] | null {
  if (rule === null || typeof rule !== "object" || Array.isArray(rule)) return null;
  const keys = Object.keys(rule);
  if (keys.length !== 1) return null;
  const args = (rule as Record<string, unknown>)[keys[0]!];
  return [keys[0]!, Array.isArray(args) ? args : [args]];
}

/**
 * Variant → weight of the split a flag serves everyone, when its targeting is one `fractional`
 * (flagd's weights: a bucket without a weight counts 1); null when the targeting is anything else,
 * since then the split is not what every context gets.
 *
 * @example
 * servedWeights({ fractional: [["on", 20], ["off", 80]] }) // { on: 20, off: 80 }
 */
export function servedWeights(targeting: Rule): Record<string, number> | null {
  const op = operator(targeting);
  if (op?.[0] !== "fractional") return null;
  const buckets = op[1].filter((arg): arg is unknown[] => Array.isArray(arg));
  const weights: Record<string, number> = {};
  for (const bucket of buckets) {
    const [variant, weight = 1] = bucket;
    if (typeof variant !== "string" || typeof weight !== "number" || !(weight >= 0)) return null;
    weights[variant] = (weights[variant] ?? 0) + weight;
  }
  return Object.values(weights).filter((w) => w > 0).length >= 2 ? weights : null;
}

/**
 * A short description of the part of `rule` that answers every context with a variant, or null
 * when some context falls through (gets no variant from it). Conservative: only shapes known to
 * always answer are reported — a variant name, a `fractional`, an `if` whose every branch does.
 */
export function answersEveryone(rule: Rule): string | null {
  if (typeof rule === "string") return `it always answers "${rule}"`;
  const op = operator(rule);
  if (!op) return null;
  const [name, args] = op;
  if (name === "fractional") return "its fractional split answers every context";
  if (name === "if" && args.length % 2 === 1) {
    const branches = [...args.filter((_, i) => i % 2 === 1), args[args.length - 1]];
    return branches.every((branch) => answersEveryone(branch) !== null)
      ? "every branch of its `if` (including the last) answers with a variant"
      : null;
  }
  if (name === "or") {
    for (const arg of args) {
      const reason = answersEveryone(arg);
      if (reason) return reason;
    }
  }
  return null;
}
