/**
 * The pure evaluation engine: flagd flag sets in, OpenFeature results out. No I/O, no bindings;
 * imports nothing outside this folder.
 */
export { compileFlagSet } from "./evaluate";
export { validateFlagSet } from "./validate";
export { toPlainFlagd } from "./export";
export { shareConstantLists } from "./share-lists";
export { findPrerequisiteCycle, MAX_PREREQUISITE_TREE, prerequisiteTreeSizes } from "./prerequisites";
export type { FlagSetProblem, ValidateOptions, ValidationResult } from "./validate";
export { murmur3, murmur3Bytes } from "./murmur3";
export { encodeCbor } from "./cbor";
export { bucketOf, hashV2, hashV3, MAX_TOTAL_WEIGHT } from "./fractional";
export { compareSemVer, parseSemVer, semVerOperator } from "./sem-ver";
export { EXPORTED_STATE_METADATA_KEY, FRACTIONAL_MODE_METADATA_KEY, OFF_VARIANT_METADATA_KEY } from "./types";
export { FLAG_KEY_CHARACTERS, flagKeyProblem, MAX_FLAG_KEY_LENGTH, RESERVED_FLAG_KEYS } from "./names";
export type * from "./types";
