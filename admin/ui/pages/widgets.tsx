/** Small pieces the console's forms share: field errors, a secret shown once, a one-button form. */
import type { Child } from "hono/jsx";
import { OFF_VARIANT_METADATA_KEY } from "../../../engine/index";
import { showValue } from "../model";
import type { Permission } from "../../../contracts/roles";
import { useAllows } from "../offer";

/** The parts of a flag that decide what a kill serves. */
export interface KillableFlag {
  variants: Record<string, unknown>;
  metadata?: Record<string, string | number | boolean> | undefined;
}

/**
 * What callers get while the flag is DISABLED: its off variant's value, or, without one, nothing
 * (their code default), as a sentence for the kill-switch dialog.
 *
 * @example whenKilled({ variants: { on: true, off: false }, metadata: { "edgeflags.offVariant": "off" } }) // "Callers get false (off variant \"off\")."
 */
export function whenKilled(flag: KillableFlag): string {
  const off = offVariant(flag);
  if (off !== undefined) return `Callers get ${showValue(flag.variants[off])} (off variant "${off}").`;
  return "Callers get their code default: no value is served.";
}

/** The flag's off variant (`metadata["edgeflags.offVariant"]`) when it names one of its variants. */
export function offVariant(flag: KillableFlag): string | undefined {
  const off = flag.metadata && Object.hasOwn(flag.metadata, OFF_VARIANT_METADATA_KEY) ? flag.metadata[OFF_VARIANT_METADATA_KEY] : undefined;
  return typeof off === "string" && Object.hasOwn(flag.variants, off) ? off : undefined;
}

/** Problems from the admin API under the field they name (`id` is what `aria-describedby` points at). */
export function Errors({ id, messages }: { id: string; messages: string[] | undefined }) {
  if (!messages || messages.length === 0) return null;
  return (
    <div class="field-error" id={id} role="alert">
      {messages.length === 1 ? (
        messages[0]
      ) : (
        <ul>
          {messages.map((m) => (
            <li>{m}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** `aria-invalid` and `aria-describedby` for a field with (or without) errors. */
export function invalid(id: string, messages: string[] | undefined, hint?: string) {
  const bad = !!messages && messages.length > 0;
  return { "aria-invalid": bad ? ("true" as const) : undefined, "aria-describedby": bad ? `${id}-error` : hint };
}

/** A secret shown once: a read-only field and a copy button (the button needs the script). */
export function Secret({ id, label, value }: { id: string; label: string; value: string }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <div class="secret">
        <input id={id} type="text" readonly value={value} spellcheck={false} autocomplete="off" />
        <button type="button" data-copy={id} data-js-only hidden aria-label={`Copy ${label.toLowerCase()}`}>
          Copy
        </button>
      </div>
    </div>
  );
}

/** A form that is one button (pause, ping, delete …), with an optional confirmation and hidden fields. */
export function ActionButton(props: {
  action: string;
  label: string;
  kind?: "primary" | "danger";
  confirm?: string;
  hidden?: Record<string, string>;
  small?: boolean;
  ariaLabel?: string;
  children?: Child;
  /** What the person's role must allow (default `edit`, in the `env` it posts; none: project-wide). */
  needs?: Permission;
}) {
  if (!useAllows(props.needs ?? "edit", props.hidden?.["env"] ?? null)) return null;
  const classes = [props.kind ?? "", props.small === false ? "" : "small"].filter(Boolean).join(" ");
  return (
    <form method="post" action={props.action} class="inline" data-confirm={props.confirm}>
      {Object.entries(props.hidden ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      {props.children}
      <button type="submit" class={classes || undefined} aria-label={props.ariaLabel}>
        {props.label}
      </button>
    </form>
  );
}

/** "in 3 h" / "3 h ago" with the exact time in `title`. */
export function Relative({ at }: { at: string }) {
  const ms = Date.parse(at) - Date.now();
  if (!Number.isFinite(ms)) return <time>{at}</time>;
  const abs = Math.abs(ms);
  const amount =
    abs < 60_000
      ? "under a minute"
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 86_400_000
          ? `${Math.round(abs / 3_600_000)} h`
          : `${Math.round(abs / 86_400_000)} d`;
  return (
    <time datetime={at} title={at}>
      {ms >= 0 ? `in ${amount}` : `${amount} ago`}
    </time>
  );
}
