/**
 * A small JSON Schema (draft-07) checker for the keywords the OpenFeature CLI's manifest schema
 * uses: `type`, `enum`, `properties`, `patternProperties`, `additionalProperties`, `required`,
 * `oneOf` and local `$ref`s. Any other validation keyword throws, so a schema that grows a
 * keyword this does not know fails the test instead of passing unchecked. (A full validator such
 * as Ajv compiles with `new Function`, which workerd refuses during a test.)
 */
type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set(["$schema", "$id", "$defs", "title", "description"]);
const KNOWN = new Set(["type", "enum", "properties", "patternProperties", "additionalProperties", "required", "oneOf", "$ref"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    case "number":
      return typeof value === "number";
    case "integer":
      return Number.isInteger(value);
    case "null":
      return value === null;
    default:
      throw new Error(`unsupported type "${type}"`);
  }
}

/** Every violation of `schema` by `value`, as `path: message`; empty when it conforms. */
export function checkSchema(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  const resolve = (ref: string): Schema => {
    if (!ref.startsWith("#/")) throw new Error(`unsupported $ref ${ref}`);
    let node: unknown = root;
    for (const part of ref.slice(2).split("/")) node = isObject(node) ? node[part] : undefined;
    if (!isObject(node)) throw new Error(`$ref ${ref} resolves to nothing`);
    return node;
  };
  const visit = (schema: Schema, at: unknown, path: string, out: string[]): void => {
    for (const keyword of Object.keys(schema)) {
      if (!ANNOTATIONS.has(keyword) && !KNOWN.has(keyword)) throw new Error(`unsupported keyword "${keyword}" at ${path}`);
    }
    if (typeof schema["$ref"] === "string") visit(resolve(schema["$ref"]), at, path, out);
    if (typeof schema["type"] === "string" && !typeMatches(schema["type"], at)) out.push(`${path}: is not of type ${schema["type"]}`);
    if (Array.isArray(schema["enum"]) && !schema["enum"].some((option) => JSON.stringify(option) === JSON.stringify(at)))
      out.push(`${path}: is not one of ${JSON.stringify(schema["enum"])}`);
    if (isObject(at)) {
      for (const name of Array.isArray(schema["required"]) ? schema["required"] : [])
        if (!(String(name) in at)) out.push(`${path}: misses required property "${String(name)}"`);
      const properties = isObject(schema["properties"]) ? schema["properties"] : {};
      const patterns = isObject(schema["patternProperties"]) ? Object.entries(schema["patternProperties"]) : [];
      for (const [name, member] of Object.entries(at)) {
        let matched = false;
        const sub = properties[name];
        if (isObject(sub)) {
          matched = true;
          visit(sub, member, `${path}.${name}`, out);
        }
        for (const [pattern, patternSchema] of patterns) {
          if (new RegExp(pattern, "u").test(name) && isObject(patternSchema)) {
            matched = true;
            visit(patternSchema, member, `${path}.${name}`, out);
          }
        }
        if (!matched && schema["additionalProperties"] === false) out.push(`${path}: property "${name}" is not allowed`);
        else if (!matched && isObject(schema["additionalProperties"]))
          visit(schema["additionalProperties"], member, `${path}.${name}`, out);
      }
    }
    if (Array.isArray(schema["oneOf"])) {
      const passing = schema["oneOf"].filter((option) => {
        if (!isObject(option)) throw new Error(`a oneOf member at ${path} is not a schema`);
        const inner: string[] = [];
        visit(option, at, path, inner);
        return inner.length === 0;
      }).length;
      if (passing !== 1) out.push(`${path}: matches ${passing} of the oneOf schemas, not exactly one`);
    }
  };
  visit(root, value, "$", errors);
  return errors;
}
