/**
 * The guardrails a ramp names (`ramp_guardrails`): read, checked and written by the ramps and
 * metrics aggregates, inside their own transactions.
 */
import type { Guardrail } from "../contracts/metrics";
import type { UnitOfWork } from "./unit-of-work";

/** Problems with guardrails to set: each names a defined metric. */
export function checkGuardrails(w: UnitOfWork, guardrails: readonly Guardrail[]): { path: string; message: string }[] {
  const known = w.sql
    .exec<{ name: string }>("SELECT name FROM metrics ORDER BY name")
    .toArray()
    .map((r) => r.name);
  return guardrails.flatMap((g, i) =>
    known.includes(g.metric)
      ? []
      : [
          {
            path: `guardrails.${i}.metric`,
            message: `there is no metric "${g.metric}" (defined: ${known.join(", ") || "none"}; define it with PUT /metrics/${g.metric})`,
          },
        ],
  );
}

/** The guardrails of a ramp, in the order given. */
export function rampGuardrails(w: UnitOfWork, ramp: string): Guardrail[] {
  return w.sql
    .exec<{ config: string }>("SELECT config FROM ramp_guardrails WHERE ramp = ? ORDER BY position", ramp)
    .toArray()
    .map((r) => JSON.parse(r.config) as Guardrail);
}

/** Replaces a ramp's guardrails; call inside the change's transaction (after `checkGuardrails`). */
export function writeGuardrails(w: UnitOfWork, ramp: string, guardrails: readonly Guardrail[]): void {
  w.sql.exec("DELETE FROM ramp_guardrails WHERE ramp = ?", ramp);
  guardrails.forEach((g, position) => {
    w.sql.exec(
      "INSERT INTO ramp_guardrails (ramp, metric, position, config) VALUES (?, ?, ?, ?)",
      ramp,
      g.metric,
      position,
      JSON.stringify(g),
    );
  });
}
