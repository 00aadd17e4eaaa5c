/**
 * The custom fields of a tracking event: what OpenFeature's `TrackingEventDetails` carries beside
 * `value` (`client.track("checkout", context, { value: 42.5, currency: "EUR", items: 3 })`). The
 * bounds and the one check live here, apart from the request schema, so the providers check an
 * event before it is queued with the same rules the service applies (and carry no zod).
 *
 * A field is a string key (at most `MAX_TRACK_DETAIL_KEY_LENGTH` characters) to a string (at most
 * `MAX_TRACK_DETAIL_STRING_LENGTH` characters), a finite number or a boolean; at most
 * `MAX_TRACK_DETAIL_FIELDS` fields and `MAX_TRACK_DETAIL_BYTES` of JSON per event. Nested
 * structures, arrays and `null` are refused: a field is one column of an export, not a document.
 */

/** Custom fields of one event. */
export type TrackDetails = Record<string, string | number | boolean>;

/** Custom fields per event. */
export const MAX_TRACK_DETAIL_FIELDS = 20;
/** Characters in a field's name. */
export const MAX_TRACK_DETAIL_KEY_LENGTH = 64;
/** Characters in a string field's value. */
export const MAX_TRACK_DETAIL_STRING_LENGTH = 256;
/** The fields of one event as JSON, in UTF-8 bytes. */
export const MAX_TRACK_DETAIL_BYTES = 2_048;

/** Names a field may not have: `value` is the event's own, the others are not data. */
const RESERVED = new Set(["value", "__proto__", "constructor", "prototype"]);

/**
 * Checks the custom fields of one event; answers them as kept, or a sentence saying which field
 * breaks which bound and what to send instead.
 *
 * @example
 * checkTrackDetails({ currency: "EUR", items: 3 }) // { ok: true, details: { currency: "EUR", items: 3 } }
 * checkTrackDetails({ cart: { items: 3 } })        // { ok: false, detail: "custom field 'cart' is an object; …" }
 */
export function checkTrackDetails(
  fields: Readonly<Record<string, unknown>>,
): { ok: true; details: TrackDetails } | { ok: false; detail: string } {
  const names = Object.keys(fields);
  if (names.length > MAX_TRACK_DETAIL_FIELDS) {
    return {
      ok: false,
      detail: `an event has at most ${MAX_TRACK_DETAIL_FIELDS} custom fields (this one has ${names.length}); send fewer`,
    };
  }
  const details: TrackDetails = {};
  for (const name of names) {
    if (name === "" || name.length > MAX_TRACK_DETAIL_KEY_LENGTH) {
      return {
        ok: false,
        detail: `a custom field's name is 1 to ${MAX_TRACK_DETAIL_KEY_LENGTH} characters ('${name.slice(0, 80)}' is not)`,
      };
    }
    if (RESERVED.has(name)) return { ok: false, detail: `'${name}' is not a custom field name (reserved); rename the field` };
    const value = fields[name];
    if (typeof value === "string") {
      if (value.length > MAX_TRACK_DETAIL_STRING_LENGTH) {
        return {
          ok: false,
          detail: `custom field '${name}' is ${value.length} characters; a string field is at most ${MAX_TRACK_DETAIL_STRING_LENGTH}`,
        };
      }
    } else if (typeof value === "number") {
      if (!Number.isFinite(value)) return { ok: false, detail: `custom field '${name}' is not a finite number` };
    } else if (typeof value !== "boolean") {
      const kind = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value;
      return {
        ok: false,
        detail: `custom field '${name}' is ${kind}; a custom field is a string, a number or a boolean (flatten structures into separate fields)`,
      };
    }
    details[name] = value;
  }
  const bytes = new TextEncoder().encode(JSON.stringify(details)).length;
  if (bytes > MAX_TRACK_DETAIL_BYTES) {
    return {
      ok: false,
      detail: `an event's custom fields are at most ${MAX_TRACK_DETAIL_BYTES} bytes of JSON (these are ${bytes}); send fewer or shorter fields`,
    };
  }
  return { ok: true, details };
}
